/** Per-channel pacing in PostgreSQL, so every replica honours one schedule. */
import type { Pool } from 'pg';
import type { Pacer } from '../../ports/card-store';

export class PgLanePacer implements Pacer {
  constructor(
    private readonly pool: Pool,
    private readonly intervalMs: number,
  ) {}

  async reserve(channelId: string): Promise<{ ok: true } | { ok: false; waitUntil: Date }> {
    // Take the slot only if it is free now; otherwise report when it will be.
    const took = await this.pool.query(
      `INSERT INTO lane (id, next_at) VALUES ($1, now() + make_interval(secs => $2::float8 / 1000))
       ON CONFLICT (id) DO UPDATE SET next_at = EXCLUDED.next_at WHERE lane.next_at <= now()
       RETURNING next_at`,
      [channelId, this.intervalMs],
    );
    if ((took.rowCount ?? 0) > 0) return { ok: true };
    const res = await this.pool.query<{ next_at: Date }>('SELECT next_at FROM lane WHERE id = $1', [channelId]);
    return { ok: false, waitUntil: res.rows[0]?.next_at ?? new Date() };
  }

  async block(channelId: string, until: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO lane (id, next_at) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET next_at = GREATEST(lane.next_at, EXCLUDED.next_at)`,
      [channelId, until],
    );
  }
}

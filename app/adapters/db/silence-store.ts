/** Silences and their append-only audit trail (silence_change). */
import type { Pool, PoolClient } from 'pg';
import type { SilenceChange, SilenceStore, StoredSilence } from '../../ports/silence-store';
import type { JobSpec } from '../../ports/triage-store';
import { ENQUEUE_SQL, enqueueParams } from './enqueue';

interface Row {
  id: string;
  type_pattern: string;
  account_id: string | null;
  resource_id: string | null;
  reason: string;
  created_by_id: string;
  created_by_name: string;
  channel_id: string;
  created_at: Date;
  expires_at: Date;
  lifted_at: Date | null;
  lifted_by_id: string | null;
  hits: number;
  last_hit_at: Date | null;
  stale_notified_at: Date | null;
}

const COLUMNS = `id::text, type_pattern, account_id, resource_id, reason, created_by_id, created_by_name, channel_id,
  created_at, expires_at, lifted_at, lifted_by_id, hits, last_hit_at, stale_notified_at`;

function toSilence(r: Row): StoredSilence {
  return {
    id: r.id,
    typePattern: r.type_pattern,
    accountId: r.account_id ?? undefined,
    resourceId: r.resource_id ?? undefined,
    reason: r.reason,
    createdById: r.created_by_id,
    createdByName: r.created_by_name,
    channelId: r.channel_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    liftedAt: r.lifted_at,
    liftedById: r.lifted_by_id,
    hits: r.hits,
    lastHitAt: r.last_hit_at,
    staleNotifiedAt: r.stale_notified_at,
  };
}

const AUDIT = `INSERT INTO silence_change (silence_id, action, outcome, actor_id, actor_name, detail)
VALUES ($1, $2, $3, $4, $5, $6)`;

export class PgSilenceStore implements SilenceStore {
  constructor(private readonly pool: Pool) {}

  async create(
    s: Parameters<SilenceStore['create']>[0],
    actor: { id: string; name: string },
    jobs: (silenceId: string) => JobSpec[],
  ): Promise<StoredSilence> {
    return this.tx(async (c) => {
      const res = await c.query<Row>(
        `INSERT INTO silence (type_pattern, type_like, account_id, resource_id, reason, created_by_id, created_by_name,
                              channel_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
        [
          s.typePattern,
          s.typeLike,
          s.accountId ?? null,
          s.resourceId ?? null,
          s.reason,
          actor.id,
          actor.name,
          s.channelId,
          s.createdAt,
          s.expiresAt,
        ],
      );
      const row = res.rows[0];
      if (!row) throw new Error('silence insert returned nothing');
      await c.query(AUDIT, [
        row.id,
        'create',
        'applied',
        actor.id,
        actor.name,
        JSON.stringify({
          typePattern: s.typePattern,
          accountId: s.accountId,
          resourceId: s.resourceId,
          reason: s.reason,
          expiresAt: s.expiresAt,
        }),
      ]);
      for (const job of jobs(row.id)) await c.query(ENQUEUE_SQL[job.mode], enqueueParams(job));
      return toSilence(row);
    });
  }

  async find(ref: string): Promise<StoredSilence | undefined | 'ambiguous'> {
    const full = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
    const res = full
      ? await this.pool.query<Row>(`SELECT ${COLUMNS} FROM silence WHERE id = $1`, [ref])
      : await this.pool.query<Row>(`SELECT ${COLUMNS} FROM silence WHERE id::text LIKE $1 || '%' LIMIT 2`, [
          ref.toLowerCase(),
        ]);
    if (res.rows.length > 1) return 'ambiguous';
    const row = res.rows[0];
    return row ? toSilence(row) : undefined;
  }

  async list(opts: { includeEnded: boolean; now: Date; limit: number }): Promise<StoredSilence[]> {
    const res = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM silence
       WHERE $1 OR (lifted_at IS NULL AND expires_at > $2)
       ORDER BY (lifted_at IS NULL AND expires_at > $2) DESC, expires_at, id LIMIT $3`,
      [opts.includeEnded, opts.now, opts.limit],
    );
    return res.rows.map(toSilence);
  }

  async lift(id: string, actor: { id: string; name: string }, now: Date, jobs: JobSpec[]): Promise<boolean> {
    return this.tx(async (c) => {
      const res = await c.query(
        `UPDATE silence SET lifted_at = $2, lifted_by_id = $3
         WHERE id = $1 AND lifted_at IS NULL AND expires_at > $2 RETURNING id`,
        [id, now, actor.id],
      );
      const lifted = (res.rowCount ?? 0) > 0;
      await c.query(AUDIT, [
        id,
        'lift',
        lifted ? 'applied' : 'refused',
        actor.id,
        actor.name,
        JSON.stringify(lifted ? {} : { why: 'not_active' }),
      ]);
      if (lifted) for (const job of jobs) await c.query(ENQUEUE_SQL[job.mode], enqueueParams(job));
      return lifted;
    });
  }

  async audit(silenceId: string, change: SilenceChange): Promise<void> {
    await this.pool.query(AUDIT, [
      silenceId,
      change.action,
      change.outcome,
      change.actor.id,
      change.actor.name,
      JSON.stringify(change.detail ?? {}),
    ]);
  }

  async markStaleNotified(id: string, now: Date): Promise<void> {
    await this.pool.query('UPDATE silence SET stale_notified_at = $2 WHERE id = $1', [id, now]);
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}

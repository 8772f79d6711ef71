/** Small stores for the follow-up jobs: scheduling, GuardDuty sync state and the PagerDuty call log. */
import type { Pool } from 'pg';
import type {
  EnrichmentStore,
  GuardDutyPending,
  GuardDutySyncStore,
  JobScheduler,
  PageCallStore,
} from '../../ports/follow-up-stores';
import type { JobSpec } from '../../ports/triage-store';
import { ENQUEUE_SQL, enqueueParams, REARM_ON_CONFLICT } from './enqueue';
import { guardDb } from './errors';

// The card job key is 'card:<finding id>' (app/jobs/names.ts); re-arming it
// here keeps the card in step with the GuardDuty state in the same transaction.
const REARM_CARDS = `
INSERT INTO job (kind, key, lane, payload)
SELECT 'card.sync', 'card:' || a.finding_id, COALESCE(a.card_channel_id, a.channel_id), jsonb_build_object('alertId', a.id)
FROM alert a WHERE a.id = ANY($1::uuid[])
${REARM_ON_CONFLICT}`;

export class PgFollowUpStores implements JobScheduler, GuardDutySyncStore, PageCallStore, EnrichmentStore {
  constructor(private readonly pool: Pool) {}

  async enqueue(job: JobSpec): Promise<void> {
    await guardDb(() => this.pool.query(ENQUEUE_SQL[job.mode], enqueueParams(job)));
  }

  async pending(region: string, limit: number): Promise<GuardDutyPending[]> {
    // The alerts' own findings in this region, and other regions' findings folded into alerts.
    const res = await this.pool.query<{ alert_id: string; finding_id: string; wanted: boolean; folded: boolean }>(
      `(SELECT id::text AS alert_id, finding_id, gd_archive_wanted AS wanted, false AS folded FROM alert
        WHERE region = $1 AND gd_archive_wanted <> gd_archived AND gd_sync_error IS NULL
        ORDER BY updated_at LIMIT $2)
       UNION ALL
       (SELECT a.id::text, f.finding_id, a.gd_archive_wanted, true FROM alert_finding f JOIN alert a ON a.id = f.alert_id
        WHERE f.region = $1 AND a.gd_archive_wanted <> f.gd_archived AND a.gd_sync_error IS NULL
        ORDER BY a.updated_at LIMIT $2)
       LIMIT $2`,
      [region, limit],
    );
    return res.rows.map((r) => ({ alertId: r.alert_id, findingId: r.finding_id, wanted: r.wanted, folded: r.folded }));
  }

  recordSynced(alertIds: string[], archived: boolean, foldedFindingIds: string[] = []): Promise<void> {
    if (foldedFindingIds.length > 0 && alertIds.length === 0) {
      return this.pool
        .query('UPDATE alert_finding SET gd_archived = $2 WHERE finding_id = ANY($1::text[])', [
          foldedFindingIds,
          archived,
        ])
        .then(() => undefined);
    }
    return this.inTransaction(alertIds, async (c) => {
      if (foldedFindingIds.length > 0) {
        await c.query('UPDATE alert_finding SET gd_archived = $2 WHERE finding_id = ANY($1::text[])', [
          foldedFindingIds,
          archived,
        ]);
      }
      await c.query(
        `UPDATE alert SET gd_archived = $2, gd_archived_at = CASE WHEN $2 THEN now() ELSE gd_archived_at END,
                gd_sync_error = NULL, revision = revision + 1, updated_at = now()
         WHERE id = ANY($1::uuid[]) AND gd_archive_wanted = $2`,
        [alertIds, archived],
      );
    });
  }

  recordFailed(alertIds: string[], error: string, spell: { region: string; notice: JobSpec }): Promise<void> {
    return this.inTransaction(alertIds, async (c) => {
      await c.query(
        `UPDATE alert SET gd_sync_error = $2, revision = revision + 1, updated_at = now() WHERE id = ANY($1::uuid[])`,
        [alertIds, error.slice(0, 500)],
      );
      const started = await c.query(
        `INSERT INTO guardduty_health (region, error) VALUES ($1, $2) ON CONFLICT (region, error) DO NOTHING
         RETURNING region`,
        [spell.region, error.slice(0, 500)],
      );
      if ((started.rowCount ?? 0) > 0) await c.query(ENQUEUE_SQL[spell.notice.mode], enqueueParams(spell.notice));
    });
  }

  async endFailureSpells(region: string): Promise<void> {
    await this.pool.query('DELETE FROM guardduty_health WHERE region = $1', [region]);
  }

  async record(call: {
    alertId: string;
    action: string;
    ok: boolean;
    httpStatus?: number;
    error?: string;
  }): Promise<void> {
    await this.pool.query(
      'INSERT INTO page_call (alert_id, action, ok, http_status, error) VALUES ($1, $2, $3, $4, $5)',
      [call.alertId, call.action, call.ok, call.httpStatus ?? null, call.error?.slice(0, 500) ?? null],
    );
  }

  async rawFindingDetail(findingId: string): Promise<unknown> {
    const res = await this.pool.query<{ detail: unknown }>(
      `SELECT payload->'detail' AS detail FROM finding_event WHERE finding_id = $1
       ORDER BY finding_updated_at DESC LIMIT 1`,
      [findingId],
    );
    return res.rows[0]?.detail;
  }

  saveEnrichment(alertId: string, enrichment: unknown): Promise<void> {
    return this.inTransaction([alertId], async (c) => {
      await c.query(
        'UPDATE alert SET enrichment = $2, enriched_at = now(), revision = revision + 1, updated_at = now() WHERE id = $1',
        [alertId, JSON.stringify(enrichment)],
      );
    });
  }

  private async inTransaction(alertIds: string[], fn: (c: { query: Pool['query'] }) => Promise<void>): Promise<void> {
    if (alertIds.length === 0) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await fn(client);
      await client.query(REARM_CARDS, [alertIds]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

/**
 * The ingest write path as one SQL statement: one round trip, one implicit
 * transaction holding the raw event, the alert and its card job. Duplicates
 * are absorbed by the (finding id, updatedAt) unique index; an older update is
 * kept as an event but never regresses the alert.
 */
import type { Pool } from 'pg';
import type {
  IngestRecord,
  IngestStatus,
  IngestStore,
  QuarantineEntry,
  QuarantineStore,
} from '../../ports/ingest-store';
import { REARM_ON_CONFLICT } from './enqueue';
import { guardDb } from './errors';

// Re-arming follows enqueue.ts, so an update re-renders the card exactly as a triage action does.
const RECORD_FINDING = `
WITH ev AS (
  INSERT INTO finding_event (envelope_id, finding_id, finding_updated_at, payload)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (finding_id, finding_updated_at) DO NOTHING
  RETURNING id
), al AS (
  INSERT INTO alert (finding_id, source, finding_type, account_id, region, severity, severity_label, title,
                     finding_updated_at, first_seen, last_seen, count, is_sample, finding, channel_id)
  -- An /alert route override for the account wins over the file's routing ($17).
  SELECT $2, $5, $6, $7, $8, $9, $10, $11, $3, $12, $13, $14, $15, $16,
         COALESCE((SELECT r.channel_id FROM account_route r WHERE r.account_id = $7), $17)
  FROM ev
  ON CONFLICT (finding_id) DO UPDATE SET
    finding_type = EXCLUDED.finding_type,
    severity = EXCLUDED.severity,
    severity_label = EXCLUDED.severity_label,
    title = EXCLUDED.title,
    finding_updated_at = EXCLUDED.finding_updated_at,
    first_seen = LEAST(alert.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(alert.last_seen, EXCLUDED.last_seen),
    count = EXCLUDED.count,
    is_sample = EXCLUDED.is_sample,
    finding = EXCLUDED.finding,
    revision = alert.revision + 1,
    updated_at = now()
  WHERE alert.finding_updated_at < EXCLUDED.finding_updated_at
  RETURNING id, (xmax = 0) AS inserted, COALESCE(card_channel_id, channel_id) AS lane
), job_row AS (
  INSERT INTO job (kind, key, lane, payload)
  SELECT $18, $19, al.lane, jsonb_build_object('alertId', al.id) FROM al
  ${REARM_ON_CONFLICT}
  RETURNING id
), nudge AS (
  -- The first nudge for a new alert; its key never re-arms (see app/jobs/names.ts).
  INSERT INTO job (kind, key, lane, payload, run_at)
  SELECT $20::text, $21::text, NULL::text, jsonb_build_object('alertId', al.id, 'round', 0, 'step', 1), $22::timestamptz
  FROM al WHERE al.inserted AND $20::text IS NOT NULL
  ON CONFLICT (key) DO NOTHING
  RETURNING id
)
SELECT (SELECT count(*) FROM ev)::int AS event_inserted,
       (SELECT id::text FROM al) AS alert_id,
       (SELECT inserted FROM al) AS inserted,
       (SELECT count(*) FROM job_row)::int AS jobs,
       (SELECT count(*) FROM nudge)::int AS nudges
`;

interface Row {
  event_inserted: number;
  alert_id: string | null;
  inserted: boolean | null;
}

export class PgIngestStore implements IngestStore, QuarantineStore {
  constructor(private readonly pool: Pool) {}

  async recordFinding(r: IngestRecord): Promise<{ status: IngestStatus; alertId: string }> {
    const f = r.finding;
    const res = await guardDb(() =>
      this.pool.query<Row>({
        name: 'kanshi_record_finding',
        text: RECORD_FINDING,
        values: [
          r.envelope.id,
          f.id,
          f.updatedAt,
          JSON.stringify(r.raw),
          f.source,
          f.type,
          f.accountId,
          f.region,
          f.severity,
          f.severityLabel,
          f.title,
          f.firstSeen ?? null,
          f.lastSeen ?? null,
          f.count,
          f.isSample,
          JSON.stringify(f),
          r.channelId,
          r.cardJob.kind,
          r.cardJob.key,
          r.nudgeJob?.kind ?? null,
          r.nudgeJob?.key ?? null,
          r.nudgeJob?.runAt.toISOString() ?? null,
        ],
      }),
    );
    const row = res.rows[0];
    if (row?.alert_id) return { status: row.inserted ? 'accepted' : 'updated', alertId: row.alert_id };
    // Duplicate or stale: the alert exists (its insert committed before ours
    // could conflict), so report its id.
    const existing = await guardDb(() =>
      this.pool.query<{ id: string }>('SELECT id::text AS id FROM alert WHERE finding_id = $1', [f.id]),
    );
    const alertId = existing.rows[0]?.id;
    if (!alertId) throw new Error(`alert for finding ${f.id} vanished after ingest`);
    return { status: row?.event_inserted ? 'stale' : 'duplicate', alertId };
  }

  async quarantine(e: QuarantineEntry): Promise<void> {
    await guardDb(() =>
      this.pool.query(
        `INSERT INTO quarantine (request_id, http_status, reason, detail, content_type, user_agent, body_size, truncated, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          e.requestId,
          e.httpStatus,
          e.reason,
          JSON.stringify(e.detail),
          e.contentType ?? null,
          e.userAgent ?? null,
          e.bodySize,
          e.truncated,
          e.body,
        ],
      ),
    );
  }
}

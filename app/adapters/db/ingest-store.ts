/**
 * The ingest write path as one SQL statement: one round trip, one implicit
 * transaction holding the raw event, the alert and its card job. Duplicates
 * are absorbed by the (finding id, updatedAt) unique index; an older update is
 * kept as an event but never regresses the alert.
 */
import type { Pool } from 'pg';
import type {
  Delivery,
  IngestRecord,
  IngestStore,
  QuarantineEntry,
  QuarantineStore,
  RecordedFinding,
} from '../../ports/ingest-store';
import { REARM_ON_CONFLICT } from './enqueue';
import { guardDb } from './errors';

// Re-arming follows enqueue.ts, so an update re-renders the card exactly as a triage action does.
//
// Parameters: $1 envelope id, $2 finding id, $3 updatedAt, $4 raw event, $5 source, $6 type,
// $7 account, $8 region, $9 score, $10 final severity label, $11 title, $12 first seen,
// $13 last seen, $14 count, $15 sample, $16 finding JSON, $17 rule route channel, $18 rule
// name, $19 fallback channel, $20 fallback reason, $21 original label, $22 rule outcome,
// $23 resource id, $24 delivery decided by rules, $25 first_only rule, $26 its key,
// $27 its window (ms), $28 stateful rule names, $29 their keys, $30 storm threshold
// (0: off), $31 storm window (ms), $32 card job kind, $33 card job key, $34 digest job
// kind, $35 digest close job kind, $36 close after (ms), $37 reply job kind, $38 reply
// job key, $39 nudge kind, $40 nudge key, $41 nudge due, $42 extra jobs (JSON array),
// $43 now by Kanshi's clock (silences expire by it, so tests can move time), $44 whether
// the finding may fold into another region's alert (IAM findings: same account, type
// and resource, open, raised within a day). Two regions' findings arriving at the same
// instant can still make two alerts: each statement sees only what was committed.
// $45 the account-notice job kind (key account-notice:<account>), or null for none.
//
// Only a new alert is silenced, threaded or digested; an update keeps its delivery,
// except that a silenced alert whose silence has ended gets its card.
// The storm count reads this statement's snapshot, so under heavy concurrency a
// few more cards than the threshold can get out before the digest takes over.
const RECORD_FINDING = `
WITH ev AS (
  INSERT INTO finding_event (envelope_id, finding_id, finding_updated_at, payload)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (finding_id, finding_updated_at) DO NOTHING
  RETURNING id
), fresh AS (
  SELECT EXISTS (SELECT 1 FROM ev) AND NOT EXISTS (SELECT 1 FROM alert WHERE finding_id = $2) AS yes
), fold_target AS (
  SELECT alert_id AS id FROM (
    SELECT f.alert_id, 0 AS pri, f.created_at AS at FROM alert_finding f
    WHERE f.finding_id = $2 AND EXISTS (SELECT 1 FROM ev)
    UNION ALL
    SELECT a.id, 1, a.created_at FROM alert a
    WHERE $44::boolean AND (SELECT yes FROM fresh)
      AND a.account_id = $7 AND a.finding_type = $6 AND a.resource_id = $23 AND a.region <> $8
      AND a.state NOT IN ('archived', 'resolved') AND a.created_at > now() - interval '24 hours'
  ) t
  ORDER BY pri, at
  LIMIT 1
), fold_link AS (
  INSERT INTO alert_finding (finding_id, alert_id, region, finding_updated_at)
  SELECT $2, id, $8, $3 FROM fold_target
  ON CONFLICT (finding_id) DO UPDATE SET
    finding_updated_at = GREATEST(alert_finding.finding_updated_at, EXCLUDED.finding_updated_at)
  RETURNING alert_id
), folded AS (
  UPDATE alert SET
    regions = CASE WHEN $8 = ANY(regions) THEN regions
                   ELSE array_append(CASE WHEN cardinality(regions) = 0 THEN ARRAY[region] ELSE regions END, $8) END,
    last_seen = GREATEST(last_seen, $13),
    revision = revision + 1,
    updated_at = now()
  WHERE id = (SELECT alert_id FROM fold_link)
  RETURNING id, delivery, digest_id, channel_id, route_reason, COALESCE(card_channel_id, channel_id) AS lane
), ovr AS (
  SELECT channel_id FROM account_route WHERE account_id = $7
), dest AS (
  SELECT COALESCE($17::text, (SELECT channel_id FROM ovr), $19::text) AS channel_id,
         CASE WHEN $17::text IS NOT NULL THEN 'rule:' || $18::text
              WHEN EXISTS (SELECT 1 FROM ovr) THEN 'override'
              ELSE $20::text END AS reason
), sil AS (
  SELECT s.id FROM silence s
  WHERE $24::text = 'card' AND (SELECT yes FROM fresh)
    AND s.lifted_at IS NULL AND s.expires_at > $43::timestamptz AND s.created_at <= $43::timestamptz
    AND $6::text LIKE s.type_like ESCAPE '\\'
    AND (s.account_id IS NULL OR s.account_id = $7)
    AND (s.resource_id IS NULL OR s.resource_id = $23::text)
  ORDER BY s.created_at, s.id
  LIMIT 1
), parent AS (
  SELECT h.alert_id FROM rule_hit h
  WHERE $25::text IS NOT NULL AND (SELECT yes FROM fresh)
    AND h.rule = $25::text AND h.key = $26::text AND h.delivery = 'card'
    AND h.at > now() - make_interval(secs => $27::float8 / 1000)
  ORDER BY h.at, h.id
  LIMIT 1
), storm AS (
  -- A storm is on while the channel has an open digest (of any type), or once
  -- it got the threshold's worth of cards within the window.
  SELECT EXISTS (
           SELECT 1 FROM storm_digest d
           WHERE $30::int > 0 AND (SELECT yes FROM fresh)
             AND d.channel_id = (SELECT channel_id FROM dest) AND d.closed_at IS NULL
         )
         OR (SELECT count(*) >= $30::int FROM (
               SELECT 1 FROM alert a
               WHERE $30::int > 0 AND (SELECT yes FROM fresh)
                 AND a.channel_id = (SELECT channel_id FROM dest) AND a.delivery = 'card'
                 AND a.created_at > now() - make_interval(secs => $31::float8 / 1000)
               LIMIT $30::int
             ) recent) AS active
), decide AS (
  SELECT CASE WHEN $24::text <> 'card' THEN $24::text
              WHEN EXISTS (SELECT 1 FROM sil) THEN 'silenced'
              WHEN EXISTS (SELECT 1 FROM parent) THEN 'thread'
              WHEN $30::int > 0 AND (SELECT active FROM storm) THEN 'digest'
              ELSE 'card' END AS delivery
), dg_open AS (
  -- In a storm the open digest exists: read it, never update it (no lock to queue on).
  SELECT d.id FROM storm_digest d, dest, decide
  WHERE decide.delivery = 'digest' AND (SELECT yes FROM fresh)
    AND d.channel_id = dest.channel_id AND d.finding_type = $6 AND d.closed_at IS NULL
), dg_new AS (
  -- The storm's first alert of this type opens it; a concurrent opener's row is taken over.
  INSERT INTO storm_digest (channel_id, finding_type)
  SELECT dest.channel_id, $6 FROM dest, decide
  WHERE decide.delivery = 'digest' AND (SELECT yes FROM fresh) AND NOT EXISTS (SELECT 1 FROM dg_open)
  ON CONFLICT (channel_id, finding_type) WHERE closed_at IS NULL DO UPDATE SET opened_at = storm_digest.opened_at
  RETURNING id, (xmax = 0) AS opened
), dg AS (
  SELECT id, false AS opened FROM dg_open
  UNION ALL
  SELECT id, opened FROM dg_new
), al AS (
  INSERT INTO alert (finding_id, source, finding_type, account_id, region, severity, severity_label, title,
                     finding_updated_at, first_seen, last_seen, count, is_sample, finding, channel_id,
                     route_reason, original_severity_label, rule_outcome, resource_id, delivery,
                     silence_id, digest_id, parent_alert_id)
  SELECT $2, $5, $6, $7, $8, $9, $10, $11, $3, $12, $13, $14, $15, $16, dest.channel_id,
         dest.reason, $21, $22::jsonb, $23, decide.delivery,
         (SELECT id FROM sil), (SELECT id FROM dg), (SELECT alert_id FROM parent)
  FROM ev, dest, decide
  WHERE NOT EXISTS (SELECT 1 FROM fold_target)
  ON CONFLICT (finding_id) DO UPDATE SET
    finding_type = EXCLUDED.finding_type,
    severity = EXCLUDED.severity,
    severity_label = EXCLUDED.severity_label,
    original_severity_label = EXCLUDED.original_severity_label,
    rule_outcome = EXCLUDED.rule_outcome,
    resource_id = EXCLUDED.resource_id,
    title = EXCLUDED.title,
    finding_updated_at = EXCLUDED.finding_updated_at,
    first_seen = LEAST(alert.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(alert.last_seen, EXCLUDED.last_seen),
    count = EXCLUDED.count,
    is_sample = EXCLUDED.is_sample,
    finding = EXCLUDED.finding,
    revision = alert.revision + 1,
    updated_at = now(),
    -- A finding first seen under a silence gets its card when it recurs after
    -- the silence ended (GuardDuty folds repeats into the same finding).
    delivery = CASE
      WHEN alert.delivery = 'silenced' AND NOT EXISTS (
        SELECT 1 FROM silence s
        WHERE s.id = alert.silence_id AND s.lifted_at IS NULL AND s.expires_at > $43::timestamptz)
      THEN 'card' ELSE alert.delivery END
  WHERE alert.finding_updated_at < EXCLUDED.finding_updated_at
  RETURNING id, (xmax = 0) AS inserted, delivery, digest_id, parent_alert_id, channel_id, route_reason,
            COALESCE(card_channel_id, channel_id) AS lane
), changed AS (
  SELECT id, delivery, digest_id, channel_id, lane FROM al
  UNION ALL
  SELECT id, delivery, digest_id, channel_id, lane FROM folded
), card_job AS (
  -- A folded finding re-renders its alert's card (keyed by the alert's own finding).
  INSERT INTO job (kind, key, lane, payload)
  SELECT $32, COALESCE((SELECT 'card:' || a.finding_id FROM alert a WHERE a.id = (SELECT id FROM folded)), $33),
         c.lane, jsonb_build_object('alertId', c.id)
  FROM changed c WHERE c.delivery = 'card'
  ${REARM_ON_CONFLICT}
  RETURNING id
), digest_job AS (
  -- Already pending: it will render this alert too (it reads the digest's alerts when it runs),
  -- so leave the job row alone rather than queue on its lock.
  INSERT INTO job (kind, key, lane, payload)
  SELECT $34::text, 'digest:' || c.digest_id, c.channel_id, jsonb_build_object('digestId', c.digest_id::text)
  FROM changed c WHERE c.delivery = 'digest' AND c.digest_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM job j WHERE j.key = 'digest:' || c.digest_id AND j.status = 'pending')
  ${REARM_ON_CONFLICT}
  RETURNING id
), digest_close AS (
  INSERT INTO job (kind, key, lane, payload, run_at)
  SELECT $35::text, 'digest-close:' || dg.id, NULL::text, jsonb_build_object('digestId', dg.id::text),
         now() + make_interval(secs => $36::float8 / 1000)
  FROM dg WHERE dg.opened
  ON CONFLICT (key) DO NOTHING
  RETURNING id
), reply_job AS (
  INSERT INTO job (kind, key, lane, payload)
  SELECT $37::text, $38::text, p.lane, jsonb_build_object('alertId', al.id)
  FROM al JOIN (SELECT id, COALESCE(card_channel_id, channel_id) AS lane FROM alert) p ON p.id = al.parent_alert_id
  WHERE al.inserted AND al.delivery = 'thread'
  ON CONFLICT (key) DO NOTHING
  RETURNING id
), hits AS (
  INSERT INTO rule_hit (rule, key, alert_id, delivery)
  SELECT u.rule, u.key, al.id, al.delivery FROM al, unnest($28::text[], $29::text[]) AS u(rule, key)
  WHERE al.inserted
  RETURNING id
), sil_hit AS (
  UPDATE silence SET hits = hits + 1, last_hit_at = now()
  WHERE id = (SELECT id FROM sil) AND EXISTS (SELECT 1 FROM al WHERE al.inserted AND al.delivery = 'silenced')
  RETURNING id
), nudge AS (
  -- The first nudge for a new carded alert; its key never re-arms (see app/jobs/names.ts).
  INSERT INTO job (kind, key, lane, payload, run_at)
  SELECT $39::text, $40::text, NULL::text, jsonb_build_object('alertId', al.id, 'round', 0, 'step', 1), $41::timestamptz
  FROM al WHERE al.inserted AND al.delivery = 'card' AND $39::text IS NOT NULL
  ON CONFLICT (key) DO NOTHING
  RETURNING id
), extra AS (
  INSERT INTO job (kind, key, lane, payload)
  SELECT j->>'kind', j->>'key', j->>'lane', (j->'payload') || jsonb_build_object('alertId', al.id)
  FROM al, jsonb_array_elements($42::jsonb) AS j
  WHERE al.inserted AND al.delivery IN ('card', 'thread', 'digest')
  ON CONFLICT (key) DO NOTHING
  RETURNING id
), notice AS (
  -- An account with no route at all: tell the security channel, once per account,
  -- in the same commit as the alert (so a crash or outage right after cannot lose it).
  INSERT INTO job (kind, key, lane, payload)
  SELECT $45::text, 'account-notice:' || $7::text, NULL::text,
         jsonb_build_object('accountId', $7::text, 'reason', 'unrouted', 'source', 'ingest')
  FROM al, dest WHERE al.inserted AND $45::text IS NOT NULL AND dest.reason = 'default:unlisted'
  ON CONFLICT (key) DO NOTHING
  RETURNING id
)
SELECT (SELECT count(*) FROM ev)::int AS event_inserted,
       COALESCE(al.id, f.id)::text AS alert_id, al.inserted, f.id IS NOT NULL AS folded,
       COALESCE(al.delivery, f.delivery) AS delivery, COALESCE(al.channel_id, f.channel_id) AS channel_id,
       COALESCE(al.route_reason, f.route_reason) AS route_reason,
       (SELECT count(*) FROM card_job)::int + (SELECT count(*) FROM digest_job)::int
         + (SELECT count(*) FROM digest_close)::int + (SELECT count(*) FROM reply_job)::int
         + (SELECT count(*) FROM hits)::int + (SELECT count(*) FROM sil_hit)::int
         + (SELECT count(*) FROM nudge)::int + (SELECT count(*) FROM extra)::int
         + (SELECT count(*) FROM notice)::int AS side_effects
FROM (SELECT 1) one LEFT JOIN al ON true LEFT JOIN folded f ON true
`;

const COUNT_RULE_HITS = `
SELECT u.rule, u.key, (SELECT count(*) FROM rule_hit h
                       WHERE h.rule = u.rule AND h.key = u.key
                         AND h.at > now() - make_interval(secs => u.within::float8 / 1000))::int AS n
FROM unnest($1::text[], $2::text[], $3::int8[]) AS u(rule, key, within)`;

interface Row {
  event_inserted: number;
  alert_id: string | null;
  inserted: boolean | null;
  folded: boolean;
  delivery: Delivery | null;
  channel_id: string | null;
  route_reason: string | null;
}

export class PgIngestStore implements IngestStore, QuarantineStore {
  constructor(private readonly pool: Pool) {}

  async recordFinding(r: IngestRecord): Promise<RecordedFinding> {
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
          r.severityLabel,
          f.title,
          f.firstSeen ?? null,
          f.lastSeen ?? null,
          f.count,
          f.isSample,
          JSON.stringify(f),
          r.ruleRoute?.channelId ?? null,
          r.ruleRoute?.rule ?? null,
          r.fallback.channelId,
          r.fallback.reason,
          r.originalSeverityLabel ?? null,
          r.ruleOutcome === undefined ? null : JSON.stringify(r.ruleOutcome),
          r.resourceId,
          r.delivery,
          r.firstOnly?.rule ?? null,
          r.firstOnly?.key ?? null,
          r.firstOnly?.withinMs ?? 0,
          r.ruleHits.map((h) => h.rule),
          r.ruleHits.map((h) => h.key),
          r.storm?.threshold ?? 0,
          r.storm?.windowMs ?? 0,
          r.jobs.card.kind,
          r.jobs.card.key,
          r.jobs.digest.kind,
          r.jobs.digest.closeKind,
          r.jobs.digest.closeAfterMs,
          r.jobs.reply.kind,
          r.jobs.reply.key,
          r.jobs.nudge?.kind ?? null,
          r.jobs.nudge?.key ?? null,
          r.jobs.nudge?.runAt.toISOString() ?? null,
          JSON.stringify(r.jobs.extra),
          r.now.toISOString(),
          r.foldable,
          r.jobs.accountNotice?.kind ?? null,
        ],
      }),
    );
    const row = res.rows[0];
    if (row?.alert_id && row.delivery && row.channel_id) {
      return {
        status: row.folded ? 'folded' : row.inserted ? 'accepted' : 'updated',
        alertId: row.alert_id,
        delivery: row.delivery,
        channelId: row.channel_id,
        routeReason: row.route_reason ?? 'unknown',
      };
    }
    // Duplicate or stale: the alert exists (its insert committed before ours
    // could conflict), so report it as it is.
    const existing = await guardDb(() =>
      this.pool.query<{ id: string; delivery: Delivery; channel_id: string; route_reason: string | null }>(
        // A folded finding's alert is found through alert_finding.
        `SELECT id::text AS id, delivery, channel_id, route_reason FROM alert WHERE finding_id = $1
         UNION ALL
         SELECT a.id::text, a.delivery, a.channel_id, a.route_reason
         FROM alert_finding f JOIN alert a ON a.id = f.alert_id WHERE f.finding_id = $1
         LIMIT 1`,
        [f.id],
      ),
    );
    const found = existing.rows[0];
    if (!found) throw new Error(`alert for finding ${f.id} vanished after ingest`);
    return {
      status: row?.event_inserted ? 'stale' : 'duplicate',
      alertId: found.id,
      delivery: found.delivery,
      channelId: found.channel_id,
      routeReason: found.route_reason ?? 'unknown',
    };
  }

  async countRuleHits(keys: Array<{ rule: string; key: string; withinMs: number }>): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (keys.length === 0) return counts;
    const res = await guardDb(() =>
      this.pool.query<{ rule: string; n: number }>(COUNT_RULE_HITS, [
        keys.map((k) => k.rule),
        keys.map((k) => k.key),
        keys.map((k) => Math.round(k.withinMs)),
      ]),
    );
    // +1: the alert being ingested counts too.
    for (const r of res.rows) counts.set(r.rule, r.n + 1);
    return counts;
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

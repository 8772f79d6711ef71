/**
 * The ingest write path as one SQL statement per batch of findings: one round
 * trip, one implicit transaction holding each raw event, its alert and its
 * card job. Duplicates are absorbed by the (finding id, updatedAt) unique
 * index; an older update is kept as an event but never regresses the alert.
 */
import type { Pool } from 'pg';
import { StorageUnavailableError } from '../../ports/errors';
import type {
  Delivery,
  IngestRecord,
  IngestStore,
  QuarantineEntry,
  QuarantineStore,
  RecordedFinding,
} from '../../ports/ingest-store';
import type { Logger } from '../../ports/logger';
import { REARM_ON_CONFLICT, REARM_STARTED } from './enqueue';
import { guardDb } from './errors';

// Re-arming follows enqueue.ts, so an update re-renders the card exactly as a triage action does.
//
// Parameters: $1 the batch (a JSON array, one object per finding, fields as in `inp` below),
// $2 now by Kanshi's clock (silences expire by it, so tests can move time), $3 card job kind,
// $4 digest job kind, $5 digest close job kind, $6 close after (ms), $7 reply job kind,
// $8 storm threshold (0: off), $9 storm window (ms), $10 the account-notice job kind (key
// account-notice:<account>), or null for none.
//
// Each finding id appears at most once in a batch (ON CONFLICT DO UPDATE may not touch a
// row twice in one statement); rows that write shared keys (digests, their jobs, account
// notices) are deduplicated first and written in key order, so two concurrent batches
// take those locks in the same order.
//
// Only a new alert is silenced, threaded or digested; an update keeps its delivery,
// except that a silenced alert whose silence has ended gets its card.
// Storm control counts the channel's recent cards in this statement's snapshot plus the
// batch's own new cards before each row; concurrent batches do not see each other's, so
// under heavy concurrency a few more cards than the threshold can get out before the
// digest takes over. Two regions' IAM findings arriving at the same instant can likewise
// make two alerts: each statement sees only what was committed.
export const RECORD_FINDINGS = `
WITH inp AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    ord int, envelope_id text, finding_id text, updated_at timestamptz, payload jsonb, source text,
    finding_type text, account_id text, region text, severity numeric, severity_label text, title text,
    first_seen timestamptz, last_seen timestamptz, count int, is_sample boolean, finding jsonb,
    rule_channel text, rule_name text, fallback_channel text, fallback_reason text, original_label text,
    rule_outcome jsonb, resource_id text, delivery text, first_only_rule text, first_only_key text,
    first_only_ms float8, hit_rules text[], hit_keys text[], card_key text, reply_key text,
    nudge_kind text, nudge_key text, nudge_at timestamptz, extra jsonb, foldable boolean)
), ev AS (
  INSERT INTO finding_event (envelope_id, finding_id, finding_updated_at, payload)
  SELECT envelope_id, finding_id, updated_at, payload FROM inp ORDER BY finding_id
  ON CONFLICT (finding_id, finding_updated_at) DO NOTHING
  RETURNING finding_id
), r AS (
  SELECT i.*, e.finding_id IS NOT NULL AS ev_new,
         e.finding_id IS NOT NULL
           AND (SELECT true FROM alert a WHERE a.finding_id = i.finding_id LIMIT 1) IS NULL AS fresh
  FROM inp i LEFT JOIN ev e ON e.finding_id = i.finding_id
), fold AS (
  -- An update of a finding already folded into an alert, or an IAM finding from another region.
  SELECT r.ord, r.finding_id, r.region, r.updated_at, r.last_seen, t.alert_id
  FROM r CROSS JOIN LATERAL (
    SELECT c.alert_id FROM (
      SELECT f.alert_id, 0 AS pri, f.created_at AS at FROM alert_finding f
      WHERE f.finding_id = r.finding_id AND r.ev_new
      UNION ALL
      SELECT a.id, 1, a.created_at FROM alert a
      WHERE r.foldable AND r.fresh
        AND a.account_id = r.account_id AND a.finding_type = r.finding_type AND a.resource_id = r.resource_id
        AND a.region <> r.region AND a.state NOT IN ('archived', 'resolved')
        -- alert_fold_idx's condition (only IAM alerts are indexed): true of every alert that
        -- can match, since a finding type always has the same resource type.
        AND a.finding -> 'resource' ->> 'type' = 'AccessKey'
        AND a.created_at > now() - interval '24 hours'
    ) c
    ORDER BY c.pri, c.at
    LIMIT 1
  ) t
), fold_link AS (
  INSERT INTO alert_finding (finding_id, alert_id, region, finding_updated_at)
  SELECT finding_id, alert_id, region, updated_at FROM fold ORDER BY finding_id
  ON CONFLICT (finding_id) DO UPDATE SET
    finding_updated_at = GREATEST(alert_finding.finding_updated_at, EXCLUDED.finding_updated_at)
  RETURNING finding_id, alert_id
), fold_agg AS (
  SELECT l.alert_id, array_agg(DISTINCT f.region) AS regions, max(f.last_seen) AS last_seen
  FROM fold_link l JOIN fold f ON f.finding_id = l.finding_id
  GROUP BY l.alert_id
), folded AS (
  UPDATE alert SET
    regions = CASE WHEN cardinality(alert.regions) = 0 THEN ARRAY[alert.region] ELSE alert.regions END
              || ARRAY(SELECT g FROM fold_agg fa, unnest(fa.regions) g
                       WHERE fa.alert_id = alert.id AND g <> alert.region AND g <> ALL (alert.regions)
                       ORDER BY g),
    last_seen = GREATEST(alert.last_seen, (SELECT fa.last_seen FROM fold_agg fa WHERE fa.alert_id = alert.id)),
    revision = alert.revision + 1,
    updated_at = now()
  -- The EXISTS is a one-time filter: with nothing to fold (nearly always) the scan never
  -- starts, whatever plan a cached statement holds (one made on a small table scans it all).
  WHERE alert.id = ANY (ARRAY(SELECT alert_id FROM fold_agg)) AND EXISTS (SELECT 1 FROM fold_agg)
  RETURNING alert.id, alert.finding_id, alert.delivery, alert.digest_id, alert.channel_id, alert.route_reason,
            COALESCE(alert.card_channel_id, alert.channel_id) AS lane
), d AS (
  SELECT r.*,
         COALESCE(r.rule_channel, o.channel_id, r.fallback_channel) AS channel_id,
         CASE WHEN r.rule_channel IS NOT NULL THEN 'rule:' || r.rule_name
              WHEN o.channel_id IS NOT NULL THEN 'override'
              ELSE r.fallback_reason END AS reason
  FROM r LEFT JOIN account_route o ON o.account_id = r.account_id
  WHERE r.ev_new AND NOT EXISTS (SELECT 1 FROM fold WHERE fold.ord = r.ord)
), gated AS (
  SELECT d.*,
    (SELECT s.id FROM silence s
     WHERE d.delivery = 'card' AND d.fresh
       AND s.lifted_at IS NULL AND s.expires_at > $2::timestamptz AND s.created_at <= $2::timestamptz
       AND d.finding_type LIKE s.type_like ESCAPE '\\'
       AND (s.account_id IS NULL OR s.account_id = d.account_id)
       AND (s.resource_id IS NULL OR s.resource_id = d.resource_id)
     ORDER BY s.created_at, s.id
     LIMIT 1) AS silence_id,
    (SELECT h.alert_id FROM rule_hit h
     WHERE d.first_only_rule IS NOT NULL AND d.fresh
       AND h.rule = d.first_only_rule AND h.key = d.first_only_key AND h.delivery = 'card'
       AND h.at > now() - make_interval(secs => d.first_only_ms / 1000)
     ORDER BY h.at, h.id
     LIMIT 1) AS parent_id
  FROM d
), pre AS (
  SELECT g.*,
         CASE WHEN g.delivery <> 'card' THEN g.delivery
              WHEN g.silence_id IS NOT NULL THEN 'silenced'
              WHEN g.parent_id IS NOT NULL THEN 'thread'
              ELSE 'card' END AS pre_delivery,
         g.fresh AND g.delivery = 'card' AND g.silence_id IS NULL AND g.parent_id IS NULL AND $8::int > 0 AS stormable
  FROM gated g
), storm AS MATERIALIZED (
  -- A storm is on while the channel has an open digest (of any type), or once it got the
  -- threshold's worth of cards within the window.
  -- The recent cards are counted only where no digest is open: in a storm (when ingest is
  -- busiest) that count would read the threshold's worth of index entries for nothing.
  SELECT c.channel_id, o.open,
         CASE WHEN o.open THEN 0 ELSE (SELECT count(*) FROM (
            SELECT 1 FROM alert a
            WHERE a.channel_id = c.channel_id AND a.delivery = 'card'
              AND a.created_at > now() - make_interval(secs => $9::float8 / 1000)
            LIMIT $8::int) recent)::int END AS recent
  FROM (SELECT DISTINCT channel_id FROM pre WHERE stormable) c
  CROSS JOIN LATERAL (
    SELECT EXISTS (SELECT 1 FROM storm_digest sd WHERE sd.channel_id = c.channel_id AND sd.closed_at IS NULL) AS open
  ) o
), decided AS (
  SELECT p.*,
         CASE WHEN p.stormable AND (s.open OR s.recent + count(*) FILTER (WHERE p.stormable)
                 OVER (PARTITION BY p.channel_id ORDER BY p.ord) > $8::int)
              THEN 'digest' ELSE p.pre_delivery END AS final_delivery
  FROM pre p LEFT JOIN storm s ON s.channel_id = p.channel_id
), dg_key AS (
  SELECT DISTINCT channel_id, finding_type FROM decided WHERE final_delivery = 'digest'
), dg_open AS (
  -- In a storm the open digest exists: read it, never update it (no lock to queue on).
  SELECT sd.id, sd.channel_id, sd.finding_type FROM storm_digest sd
  JOIN dg_key k ON k.channel_id = sd.channel_id AND k.finding_type = sd.finding_type
  WHERE sd.closed_at IS NULL
), dg_new AS (
  -- The storm's first alert of a type opens its digest; a concurrent opener's row is taken over.
  INSERT INTO storm_digest (channel_id, finding_type)
  SELECT k.channel_id, k.finding_type FROM dg_key k
  WHERE NOT EXISTS (SELECT 1 FROM dg_open o WHERE o.channel_id = k.channel_id AND o.finding_type = k.finding_type)
  ORDER BY k.channel_id, k.finding_type
  ON CONFLICT (channel_id, finding_type) WHERE closed_at IS NULL DO UPDATE SET opened_at = storm_digest.opened_at
  RETURNING id, channel_id, finding_type, (xmax = 0) AS opened
), dg AS (
  SELECT id, channel_id, finding_type, false AS opened FROM dg_open
  UNION ALL
  SELECT id, channel_id, finding_type, opened FROM dg_new
), al AS (
  INSERT INTO alert (finding_id, source, finding_type, account_id, region, severity, severity_label, title,
                     finding_updated_at, first_seen, last_seen, count, is_sample, finding, channel_id,
                     route_reason, original_severity_label, rule_outcome, resource_id, delivery,
                     silence_id, digest_id, parent_alert_id)
  SELECT x.finding_id, x.source, x.finding_type, x.account_id, x.region, x.severity, x.severity_label, x.title,
         x.updated_at, x.first_seen, x.last_seen, x.count, x.is_sample, x.finding, x.channel_id,
         x.reason, x.original_label, x.rule_outcome, x.resource_id, x.final_delivery,
         x.silence_id, g.id, x.parent_id
  FROM decided x
  LEFT JOIN dg g ON x.final_delivery = 'digest' AND g.channel_id = x.channel_id AND g.finding_type = x.finding_type
  ORDER BY x.finding_id
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
        WHERE s.id = alert.silence_id AND s.lifted_at IS NULL AND s.expires_at > $2::timestamptz)
      THEN 'card' ELSE alert.delivery END
  WHERE alert.finding_updated_at < EXCLUDED.finding_updated_at
  RETURNING id, finding_id, (xmax = 0) AS inserted, delivery, digest_id, parent_alert_id, silence_id, channel_id,
            route_reason, account_id, COALESCE(card_channel_id, channel_id) AS lane
), changed AS (
  -- A folded finding re-renders its alert's card (keyed by the alert's own finding).
  SELECT al.id, COALESCE(i.card_key, 'card:' || al.finding_id) AS card_key, al.delivery, al.digest_id,
         al.channel_id, al.lane
  FROM al LEFT JOIN inp i ON i.finding_id = al.finding_id
  UNION ALL
  SELECT id, 'card:' || finding_id, delivery, digest_id, channel_id, lane FROM folded
), armed AS (
  -- Card and digest jobs, re-armed where they exist. One INSERT for both, and one below for
  -- the jobs armed once: each INSERT in the statement costs its setup (the job table and its
  -- indexes) whether or not it writes a row.
  INSERT INTO job (kind, key, lane, payload)
  SELECT u.kind, u.key, u.lane, u.payload FROM (
    SELECT $3::text AS kind, c.card_key AS key, c.lane, jsonb_build_object('alertId', c.id) AS payload
    FROM changed c WHERE c.delivery = 'card'
    UNION ALL
    -- A digest job pending in our snapshot is left alone rather than queue on its lock behind
    -- every other batch of the storm. A worker may claim it and read the digest before we
    -- commit, so such keys are returned (digest_key below) and re-armed after the commit if
    -- the job has started by then (see PgIngestStore.rearmStartedDigests).
    SELECT $4::text, 'digest:' || c.digest_id, c.channel_id, jsonb_build_object('digestId', c.digest_id::text)
    FROM (SELECT DISTINCT digest_id, channel_id FROM changed WHERE delivery = 'digest' AND digest_id IS NOT NULL) c
    -- Looked up by key alone, so only the key index fits (with a status condition a plan
    -- could walk every pending job instead).
    WHERE (SELECT j.status FROM job j WHERE j.key = 'digest:' || c.digest_id) IS DISTINCT FROM 'pending'
  ) u
  ORDER BY u.key
  ${REARM_ON_CONFLICT}
  RETURNING key
), hits AS (
  INSERT INTO rule_hit (rule, key, alert_id, delivery)
  SELECT u.rule, u.key, al.id, al.delivery
  FROM al JOIN inp i ON i.finding_id = al.finding_id CROSS JOIN LATERAL unnest(i.hit_rules, i.hit_keys) AS u(rule, key)
  WHERE al.inserted
  RETURNING id
), sil_hit AS (
  UPDATE silence SET hits = silence.hits + n.hits, last_hit_at = now()
  FROM (SELECT silence_id, count(*)::int AS hits FROM al
        WHERE al.inserted AND al.delivery = 'silenced' GROUP BY silence_id) n
  WHERE silence.id = n.silence_id
  RETURNING silence.id
), once AS (
  -- Jobs armed once (a key that exists is left alone): a new digest's close, a threaded
  -- alert's reply, a new card's first nudge (its key never re-arms, see app/jobs/names.ts),
  -- rule jobs (also-notify, page), and the notice for an account with no route at all, sent
  -- to the security channel once per account, in the same commit as the alert (so a crash
  -- or outage right after cannot lose it).
  INSERT INTO job (kind, key, lane, payload, run_at)
  SELECT u.kind, u.key, u.lane, u.payload, COALESCE(u.run_at, now()) FROM (
    SELECT $5::text AS kind, 'digest-close:' || dg.id AS key, NULL::text AS lane,
           jsonb_build_object('digestId', dg.id::text) AS payload,
           now() + make_interval(secs => $6::float8 / 1000) AS run_at
    FROM dg WHERE dg.opened
    UNION ALL
    SELECT $7::text, i.reply_key,
           (SELECT COALESCE(p.card_channel_id, p.channel_id) FROM alert p WHERE p.id = al.parent_alert_id),
           jsonb_build_object('alertId', al.id), NULL
    FROM al JOIN inp i ON i.finding_id = al.finding_id
    WHERE al.inserted AND al.delivery = 'thread' AND al.parent_alert_id IS NOT NULL
    UNION ALL
    SELECT i.nudge_kind, i.nudge_key, NULL, jsonb_build_object('alertId', al.id, 'round', 0, 'step', 1), i.nudge_at
    FROM al JOIN inp i ON i.finding_id = al.finding_id
    WHERE al.inserted AND al.delivery = 'card' AND i.nudge_key IS NOT NULL
    UNION ALL
    SELECT j->>'kind', j->>'key', j->>'lane', (j->'payload') || jsonb_build_object('alertId', al.id), NULL
    FROM al JOIN inp i ON i.finding_id = al.finding_id CROSS JOIN LATERAL jsonb_array_elements(i.extra) AS j
    WHERE al.inserted AND al.delivery IN ('card', 'thread', 'digest')
    UNION ALL
    SELECT $10::text, 'account-notice:' || n.account_id, NULL,
           jsonb_build_object('accountId', n.account_id, 'reason', 'unrouted', 'source', 'ingest'), NULL
    FROM (SELECT DISTINCT account_id FROM al WHERE al.inserted AND al.route_reason = 'default:unlisted') n
    WHERE $10::text IS NOT NULL
  ) u
  ORDER BY u.key
  ON CONFLICT (key) DO NOTHING
  RETURNING id
)
SELECT i.ord, e.finding_id IS NOT NULL AS event_inserted,
       COALESCE(al.id, f.id)::text AS alert_id, al.inserted, f.id IS NOT NULL AS folded,
       COALESCE(al.delivery, f.delivery) AS delivery, COALESCE(al.channel_id, f.channel_id) AS channel_id,
       COALESCE(al.route_reason, f.route_reason) AS route_reason,
       CASE WHEN COALESCE(al.delivery, f.delivery) = 'digest' AND COALESCE(al.digest_id, f.digest_id) IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM armed aj
                                 WHERE aj.key = 'digest:' || COALESCE(al.digest_id, f.digest_id))
            THEN 'digest:' || COALESCE(al.digest_id, f.digest_id) END AS digest_key
FROM inp i
LEFT JOIN ev e ON e.finding_id = i.finding_id
LEFT JOIN al ON al.finding_id = i.finding_id
LEFT JOIN fold fl ON fl.ord = i.ord
LEFT JOIN folded f ON f.id = fl.alert_id
ORDER BY i.ord
`;

const COUNT_RULE_HITS = `
SELECT u.rule, u.key, (SELECT count(*) FROM rule_hit h
                       WHERE h.rule = u.rule AND h.key = u.key
                         AND h.at > now() - make_interval(secs => u.within::float8 / 1000))::int AS n
FROM unnest($1::text[], $2::text[], $3::int8[]) AS u(rule, key, within)`;

interface Row {
  ord: number;
  event_inserted: boolean;
  alert_id: string | null;
  inserted: boolean | null;
  folded: boolean;
  delivery: Delivery | null;
  channel_id: string | null;
  route_reason: string | null;
  /** A digest job this statement found pending and left alone. */
  digest_key: string | null;
}

type RecordedRow = Row & { alert_id: string; delivery: Delivery; channel_id: string };

function isRecorded(row: Row): row is RecordedRow {
  return Boolean(row.alert_id && row.delivery && row.channel_id);
}

interface ExistingAlert {
  id: string;
  delivery: Delivery;
  channel_id: string;
  route_reason: string | null;
}

export interface IngestBatchOptions {
  /** Findings per statement at most. */
  maxBatch: number;
  /** Ingest statements running at once (each holds a pool connection while it runs). */
  maxStatements: number;
  /**
   * While a statement runs, another starts only once this many findings wait, or the
   * oldest of them has waited `maxWaitMs`. Most of a small statement's cost is per
   * statement (EXPLAIN ANALYZE on 20,000 alerts: 0.5 ms for one finding, 2.4 ms for 32,
   * before its commit), so under load fewer, fuller statements leave more of the
   * machine for findings.
   */
  minBatch: number;
  maxWaitMs: number;
  /**
   * Digest jobs to re-arm after a commit (see rearmStartedDigests) are collected for this
   * long and re-armed by one query, not one per statement: in a storm nearly every
   * statement has some, and that query per statement cost a tenth of ingest's throughput.
   */
  rearmDelayMs: number;
}

export const DEFAULT_INGEST_BATCH: IngestBatchOptions = {
  maxBatch: 64,
  maxStatements: 3,
  minBatch: 8,
  maxWaitMs: 2,
  rearmDelayMs: 25,
};

interface Waiting {
  /** When it arrived (performance.now()). */
  since: number;
  record: IngestRecord;
  resolve: (r: RecordedFinding) => void;
  reject: (err: unknown) => void;
}

/** What a batch's statement shares: the job kinds, storm settings and notice kind of its records. */
function sharedParams(r: IngestRecord): unknown[] {
  const j = r.jobs;
  return [
    j.card.kind,
    j.digest.kind,
    j.digest.closeKind,
    j.digest.closeAfterMs,
    j.reply.kind,
    r.storm?.threshold ?? 0,
    r.storm?.windowMs ?? 0,
    j.accountNotice?.kind ?? null,
  ];
}

function rowOf(r: IngestRecord, ord: number): Record<string, unknown> {
  const f = r.finding;
  return {
    ord,
    envelope_id: r.envelope.id,
    finding_id: f.id,
    updated_at: f.updatedAt,
    // Spliced in as sent by rowJson when there is text to splice (undefined leaves the key out).
    payload: r.rawJson === undefined ? r.raw : undefined,
    source: f.source,
    finding_type: f.type,
    account_id: f.accountId,
    region: f.region,
    severity: f.severity,
    severity_label: r.severityLabel,
    title: f.title,
    first_seen: f.firstSeen ?? null,
    last_seen: f.lastSeen ?? null,
    count: f.count,
    is_sample: f.isSample,
    finding: f,
    rule_channel: r.ruleRoute?.channelId ?? null,
    rule_name: r.ruleRoute?.rule ?? null,
    fallback_channel: r.fallback.channelId,
    fallback_reason: r.fallback.reason,
    original_label: r.originalSeverityLabel ?? null,
    rule_outcome: r.ruleOutcome ?? null,
    resource_id: r.resourceId,
    delivery: r.delivery,
    first_only_rule: r.firstOnly?.rule ?? null,
    first_only_key: r.firstOnly?.key ?? null,
    first_only_ms: r.firstOnly?.withinMs ?? 0,
    hit_rules: r.ruleHits.map((h) => h.rule),
    hit_keys: r.ruleHits.map((h) => h.key),
    card_key: r.jobs.card.key,
    reply_key: r.jobs.reply.key,
    nudge_kind: r.jobs.nudge?.kind ?? null,
    nudge_key: r.jobs.nudge?.key ?? null,
    nudge_at: r.jobs.nudge?.runAt ?? null,
    extra: r.jobs.extra,
    foldable: r.foldable,
  };
}

/** A finding's row of the batch as JSON; the raw event's own text goes in as it is, if it has one. */
function rowJson(r: IngestRecord, ord: number): string {
  const row = JSON.stringify(rowOf(r, ord));
  return r.rawJson === undefined ? row : `${row.slice(0, -1)},"payload":${r.rawJson}}`;
}

/**
 * Ingest writes in batches: findings that arrive while earlier statements run
 * wait, and go together in the next statement (one execution, one commit and
 * one WAL flush for the lot). A finding that arrives when no statement runs
 * goes at once, alone, so a quiet system answers without delay; while one
 * runs, another starts only for `minBatch` findings or after `maxWaitMs`, so a
 * busy one shares the per-statement cost among more findings.
 *
 * A batch that fails for any reason but an outage (a deadlock with another
 * batch, a statement timeout, a row the database refuses) is retried one
 * finding per statement, so one bad finding fails only its own request.
 */
export class PgIngestStore implements IngestStore, QuarantineStore {
  private readonly waiting: Waiting[] = [];
  private running = 0;
  private readonly opts: IngestBatchOptions;
  private timer: NodeJS.Timeout | undefined;
  /** Digest job keys waiting to be re-armed, and the re-arm under way (see rearmStartedDigests). */
  private readonly rearmKeys = new Set<string>();
  private rearmTimer: NodeJS.Timeout | undefined;
  private rearming: Promise<void> | undefined;

  private readonly statementPool: Pool;

  /**
   * `opts.statementPool`: where the ingest statement runs (Database.ingestPool in the app);
   * `pool` otherwise. Follow-up queries and quarantine use `pool`.
   */
  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    opts: Partial<IngestBatchOptions> & { statementPool?: Pool } = {},
  ) {
    const { statementPool, ...batching } = opts;
    this.opts = { ...DEFAULT_INGEST_BATCH, ...batching };
    this.statementPool = statementPool ?? pool;
  }

  recordFinding(record: IngestRecord): Promise<RecordedFinding> {
    return new Promise<RecordedFinding>((resolve, reject) => {
      this.waiting.push({ since: performance.now(), record, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running < this.opts.maxStatements && this.waiting.length > 0) {
      if (this.running > 0 && this.waiting.length < this.opts.minBatch) {
        const waited = performance.now() - (this.waiting[0] as Waiting).since;
        if (waited < this.opts.maxWaitMs) {
          this.timer = setTimeout(() => this.pump(), this.opts.maxWaitMs - waited);
          return;
        }
      }
      const batch = this.takeBatch();
      this.running++;
      void this.settle(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  /** The oldest waiting findings that can share a statement: distinct finding ids, same shared parameters. */
  private takeBatch(): Waiting[] {
    const first = this.waiting[0] as Waiting;
    const shape = JSON.stringify(sharedParams(first.record));
    const ids = new Set<string>();
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const w of this.waiting) {
      const id = w.record.finding.id;
      if (batch.length < this.opts.maxBatch && !ids.has(id) && JSON.stringify(sharedParams(w.record)) === shape) {
        ids.add(id);
        batch.push(w);
      } else rest.push(w);
    }
    this.waiting.splice(0, this.waiting.length, ...rest);
    return batch;
  }

  private async settle(batch: Waiting[]): Promise<void> {
    let results: RecordedFinding[];
    try {
      results = await this.write(batch.map((w) => w.record));
    } catch (err) {
      const only = batch.length === 1 ? (batch[0] as Waiting) : undefined;
      if (err instanceof StorageUnavailableError || (only && only.record.rawJson === undefined)) {
        for (const w of batch) w.reject(err);
      } else if (!only) {
        await Promise.all(batch.map((w) => this.settle([w])));
      } else {
        // PostgreSQL can refuse text that JavaScript parsed (a number past numeric's range,
        // such as 1e999999, which JavaScript reads as Infinity): store the event as parsed.
        this.log.info(
          { findingId: only.record.finding.id, code: (err as { code?: unknown }).code },
          'the raw event was refused as sent; storing it as parsed',
        );
        await this.settle([{ ...only, record: { ...only.record, rawJson: undefined } }]);
      }
      return;
    }
    batch.forEach((w, i) => {
      w.resolve(results[i] as RecordedFinding);
    });
  }

  private async write(records: IngestRecord[]): Promise<RecordedFinding[]> {
    const now = new Date(Math.max(...records.map((r) => r.now.getTime())));
    const res = await guardDb(() =>
      this.statementPool.query<Row>({
        name: 'kanshi_record_findings',
        text: RECORD_FINDINGS,
        values: [`[${records.map(rowJson).join(',')}]`, now.toISOString(), ...sharedParams(records[0] as IngestRecord)],
      }),
    );
    if (res.rows.length !== records.length) {
      throw new Error(`ingest statement returned ${res.rows.length} rows for ${records.length} findings`);
    }
    const rows = res.rows;
    this.rearmStartedDigests(rows);
    // Duplicate or stale: the alert exists (its insert committed before ours
    // could conflict), so report it as it is; one lookup for the batch.
    const missing = records.filter((_, i) => !isRecorded(rows[i] as Row)).map((r) => r.finding.id);
    const existing = missing.length > 0 ? await this.existingAlerts(missing) : new Map<string, ExistingAlert>();
    return records.map((r, i) => {
      const row = rows[i] as Row;
      if (isRecorded(row)) {
        return {
          status: row.folded ? 'folded' : row.inserted ? 'accepted' : 'updated',
          alertId: row.alert_id,
          delivery: row.delivery,
          channelId: row.channel_id,
          routeReason: row.route_reason ?? 'unknown',
        };
      }
      const found = existing.get(r.finding.id);
      if (!found) throw new Error(`alert for finding ${r.finding.id} vanished after ingest`);
      return {
        status: row.event_inserted ? 'stale' : 'duplicate',
        alertId: found.id,
        delivery: found.delivery,
        channelId: found.channel_id,
        routeReason: found.route_reason ?? 'unknown',
      };
    });
  }

  /**
   * The statement left pending digest jobs alone, but a worker may have claimed one and read
   * the digest before our commit. Now that it is committed, any job that is no longer pending
   * is re-armed, so the digest card is rendered again with these alerts. A job still pending
   * has not read yet and will see them.
   *
   * The keys of all statements within `rearmDelayMs` go in one query, after the answer (the
   * alerts are stored whatever it does). If it fails, or the process stops before it runs,
   * the digest's next alert or its close renders the card, so it is logged, not raised.
   */
  private rearmStartedDigests(rows: Row[]): void {
    for (const r of rows) if (r.digest_key !== null) this.rearmKeys.add(r.digest_key);
    this.scheduleRearm();
  }

  private scheduleRearm(): void {
    if (this.rearmKeys.size === 0 || this.rearmTimer || this.rearming) return;
    this.rearmTimer = setTimeout(() => this.startRearm(), this.opts.rearmDelayMs);
  }

  private startRearm(): void {
    clearTimeout(this.rearmTimer);
    this.rearmTimer = undefined;
    this.rearming = this.rearmNow().finally(() => {
      this.rearming = undefined;
      this.scheduleRearm();
    });
  }

  private async rearmNow(): Promise<void> {
    const keys = [...this.rearmKeys];
    this.rearmKeys.clear();
    try {
      // Unnamed, so planned each time: a plan cached while the job table was small could scan it.
      await this.pool.query(REARM_STARTED, [keys]);
    } catch (err) {
      this.log.warn({ err, keys }, 'could not re-arm digest jobs after ingest; the next alert or close renders them');
    }
  }

  /** Resolves once every digest re-arm collected so far has run (for a clean stop, and tests). */
  async rearmed(): Promise<void> {
    while (this.rearmTimer || this.rearming) {
      if (this.rearmTimer) this.startRearm();
      await this.rearming;
    }
  }

  /** The alerts of these findings, by finding id; a folded finding's alert is found through alert_finding. */
  private async existingAlerts(findingIds: string[]): Promise<Map<string, ExistingAlert>> {
    const res = await guardDb(() =>
      this.pool.query<ExistingAlert & { finding_id: string }>(
        `SELECT finding_id, id::text AS id, delivery, channel_id, route_reason FROM alert
         WHERE finding_id = ANY($1::text[])
         UNION ALL
         SELECT f.finding_id, a.id::text, a.delivery, a.channel_id, a.route_reason
         FROM alert_finding f JOIN alert a ON a.id = f.alert_id WHERE f.finding_id = ANY($1::text[])`,
        [findingIds],
      ),
    );
    return new Map(res.rows.map((r) => [r.finding_id, r]));
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

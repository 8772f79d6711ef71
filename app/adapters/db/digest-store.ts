/** Storm digests: the digest row, its alerts' counts, and its card's progress. */
import type { Pool } from 'pg';
import type { SeverityLabel } from '../../domain/severity';
import type { DigestReview, DigestReviewStore, DigestStore, StoredDigest } from '../../ports/digest-store';
import type { DigestMember } from '../../slack/blocks/digest';

const LOAD = `
SELECT d.id::text, d.channel_id, d.finding_type, d.opened_at, COALESCE(max(a.created_at), d.opened_at) AS last_alert_at,
       d.closed_at, d.card_ts, d.card_post_started_at,
       count(a.id)::int AS total,
       count(DISTINCT a.resource_id)::int AS resources,
       -- In the same statement, so the states add up to the total (one snapshot).
       (SELECT COALESCE(jsonb_object_agg(s.state, s.n), '{}'::jsonb)
        FROM (SELECT state, count(*)::int AS n FROM alert WHERE digest_id = d.id GROUP BY state) s) AS states,
       -- The newest alert's resource type: one row through alert_digest_idx, rather than
       -- reading every alert's finding (a storm's digest holds thousands).
       (SELECT l.finding->'resource'->>'type' FROM alert l
        WHERE l.digest_id = d.id ORDER BY l.created_at DESC LIMIT 1) AS resource_type,
       max(CASE a.severity_label WHEN 'Critical' THEN 5 WHEN 'High' THEN 4 WHEN 'Medium' THEN 3
                                 WHEN 'Low' THEN 2 ELSE 1 END) AS highest
FROM storm_digest d
LEFT JOIN alert a ON a.digest_id = d.id
WHERE d.id = $1
GROUP BY d.id`;

const HIGHEST: SeverityLabel[] = ['Info', 'Info', 'Low', 'Medium', 'High', 'Critical'];

interface Row {
  id: string;
  channel_id: string;
  finding_type: string;
  opened_at: Date;
  last_alert_at: Date;
  closed_at: Date | null;
  card_ts: string | null;
  card_post_started_at: Date | null;
  total: number;
  resources: number;
  resource_type: string | null;
  highest: number | null;
  states: Record<string, number>;
}

export class PgDigestStore implements DigestStore, DigestReviewStore {
  constructor(private readonly pool: Pool) {}

  async load(digestId: string): Promise<StoredDigest | undefined> {
    const res = await this.pool.query<Row>(LOAD, [digestId]);
    const r = res.rows[0];
    if (!r) return undefined;
    return {
      id: r.id,
      channelId: r.channel_id,
      findingType: r.finding_type,
      openedAt: r.opened_at,
      lastAlertAt: r.last_alert_at,
      closedAt: r.closed_at,
      total: r.total,
      resources: r.resources,
      resourceType: r.resource_type ?? 'Unknown',
      highest: HIGHEST[r.highest ?? 1] ?? 'Info',
      states: r.states,
      cardTs: r.card_ts,
      cardPostStartedAt: r.card_post_started_at,
    };
  }

  async members(digestId: string, limit: number): Promise<DigestMember[]> {
    const res = await this.pool.query<{
      id: string;
      finding_id: string;
      severity_label: SeverityLabel;
      resource: string | null;
      account_id: string;
      region: string;
      state: string;
      created_at: Date;
    }>(
      `SELECT id::text, finding_id, severity_label, finding->'resource'->>'label' AS resource, account_id, region,
              state, created_at
       FROM alert WHERE digest_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
      [digestId, limit],
    );
    return res.rows.map((r) => ({
      id: r.id,
      findingId: r.finding_id,
      severityLabel: r.severity_label,
      resource: r.resource ?? 'unknown',
      accountId: r.account_id,
      region: r.region,
      state: r.state,
      createdAt: r.created_at,
    }));
  }

  async alertIdsFor(digestId: string, scope: 'open' | 'review_pending', limit: number): Promise<string[]> {
    const where = scope === 'open' ? `state = 'open'` : `review_status = 'pending'`;
    const res = await this.pool.query<{ id: string }>(
      `SELECT id::text FROM alert WHERE digest_id = $1 AND ${where} ORDER BY created_at, id LIMIT $2`,
      [digestId, limit],
    );
    return res.rows.map((r) => r.id);
  }

  async review(digestId: string): Promise<DigestReview | undefined> {
    const d = await this.pool.query<{ channel_id: string; finding_type: string; review_card_ts: string | null }>(
      'SELECT channel_id, finding_type, review_card_ts FROM storm_digest WHERE id = $1',
      [digestId],
    );
    const row = d.rows[0];
    if (!row) return undefined;
    const [counts, latest] = await Promise.all([
      this.pool.query<{ review_status: string; n: number }>(
        `SELECT review_status, count(*)::int AS n FROM alert
         WHERE digest_id = $1 AND review_status IS NOT NULL GROUP BY review_status`,
        [digestId],
      ),
      // The bulk archive's reason: the audit row of the latest archive among the digest's alerts.
      this.pool.query<{ reason_category: string | null; reason: string | null; actor_id: string }>(
        `SELECT e.reason_category, e.reason, e.actor_id FROM audit_event e JOIN alert a ON a.id = e.alert_id
         WHERE a.digest_id = $1 AND e.action = 'archive' AND e.outcome = 'applied'
         ORDER BY e.id DESC LIMIT 1`,
        [digestId],
      ),
    ]);
    const l = latest.rows[0];
    return {
      digestId,
      channelId: row.channel_id,
      findingType: row.finding_type,
      reviews: Object.fromEntries(counts.rows.map((c) => [c.review_status, c.n])),
      category: l?.reason_category ?? null,
      reason: l?.reason ?? null,
      archivedById: l?.actor_id ?? null,
      reviewCardTs: row.review_card_ts,
    };
  }

  async recordReviewCard(digestId: string, ts: string): Promise<void> {
    await this.pool.query('UPDATE storm_digest SET review_card_ts = $2 WHERE id = $1', [digestId, ts]);
  }

  async beginPost(digestId: string): Promise<void> {
    await this.pool.query('UPDATE storm_digest SET card_post_started_at = now() WHERE id = $1', [digestId]);
  }

  async clearPostStarted(digestId: string): Promise<void> {
    await this.pool.query('UPDATE storm_digest SET card_post_started_at = NULL WHERE id = $1', [digestId]);
  }

  async recordPosted(digestId: string, ts: string): Promise<void> {
    await this.pool.query('UPDATE storm_digest SET card_ts = $2 WHERE id = $1', [digestId, ts]);
  }

  async closeIfQuiet(digestId: string, quietMs: number): Promise<{ closed: true } | { closed: false; quietAt: Date }> {
    const res = await this.pool.query<{ closed: boolean; quiet_at: Date }>(
      `WITH locked AS (SELECT id, opened_at FROM storm_digest WHERE id = $1 FOR UPDATE),
       d AS (
         SELECT l.id, COALESCE((SELECT max(created_at) FROM alert WHERE digest_id = l.id), l.opened_at) AS last_alert_at
         FROM locked l),
       upd AS (
         UPDATE storm_digest s SET closed_at = now()
         FROM d WHERE s.id = d.id AND s.closed_at IS NULL
           AND d.last_alert_at <= now() - make_interval(secs => $2::float8 / 1000)
         RETURNING s.id)
       SELECT EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM storm_digest WHERE id = $1 AND closed_at IS NOT NULL) AS closed,
              (SELECT last_alert_at FROM d) + make_interval(secs => $2::float8 / 1000) AS quiet_at`,
      [digestId, quietMs],
    );
    const r = res.rows[0];
    if (!r || r.closed) return { closed: true };
    return { closed: false, quietAt: r.quiet_at };
  }
}

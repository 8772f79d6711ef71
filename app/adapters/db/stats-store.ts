/** Alert statistics, computed by PostgreSQL in one statement (one snapshot, one round trip). */
import type { Pool } from 'pg';
import { ALERT_STATES } from '../../domain/triage';
import type { AlertStats, Durations, StatsQuery, StatsStore } from '../../ports/stats-store';

const SEVERITY_ORDER = ['Critical', 'High', 'Medium', 'Low', 'Info'];
const DELIVERIES = ['card', 'digest', 'thread', 'silenced', 'suppressed'];

/** Milliseconds as a float8 expression, for percentile_cont. */
const ms = (end: string) => `extract(epoch FROM ${end} - created_at)::float8 * 1000`;

// percentile_cont interpolates, so p90 of whole milliseconds can land on a
// fraction (and float error adds its own): rounded to whole milliseconds,
// the precision of the timestamps themselves.
const durations = (end: string, where: string) => `(
  SELECT json_build_object(
    'count', count(*)::int,
    'medianMs', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ${ms(end)})),
    'p90Ms', round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ${ms(end)})))
  FROM w WHERE ${where})`;

// Names are compared with COLLATE "C" so ties break the same way whatever
// locale the database was created with.
const counted = (key: string, column: string, from: string, order: string, limit = '') => `(
  SELECT COALESCE(json_agg(json_build_object('${key}', k, 'count', n) ORDER BY ${order}), '[]'::json)
  FROM (
    SELECT k, n FROM (SELECT ${column} AS k, count(*)::int AS n FROM ${from} GROUP BY 1) c ORDER BY ${order} ${limit}
  ) g)`;

// Only the constant fragments above are interpolated; every value is a parameter.
function statsSql(byAccount: boolean): string {
  return `
WITH w AS (
  SELECT * FROM alert
  WHERE created_at >= $1 AND created_at < $2 AND NOT is_sample
  ${byAccount ? 'AND account_id = ANY($5::text[])' : 'AND $5::text[] IS NULL'}
)
SELECT
  (SELECT count(*)::int FROM w) AS total,
  ${counted('severity', 'severity_label', 'w', 'array_position($3::text[], k) NULLS LAST, k COLLATE "C"')} AS by_severity,
  ${counted('state', 'state', 'w', 'array_position($4::text[], k) NULLS LAST, k COLLATE "C"')} AS by_state,
  ${counted('type', 'finding_type', 'w', 'n DESC, k COLLATE "C"', 'LIMIT 5')} AS noisiest_types,
  ${durations('acknowledged_at', 'acknowledged_at IS NOT NULL')} AS time_to_acknowledge,
  ${durations('disposed_at', "state IN ('resolved', 'archived') AND disposed_at IS NOT NULL")} AS time_to_resolve,
  ${counted('category', "COALESCE(state_reason_category, 'unspecified')", "w WHERE state = 'archived'", 'n DESC, k COLLATE "C"')} AS archive_reasons,
  ${counted('accountId', 'account_id', "w WHERE state = 'open' AND acknowledged_at IS NULL AND delivery NOT IN ('suppressed', 'silenced')", 'n DESC, k COLLATE "C"', 'LIMIT 10')} AS unacknowledged_by_account,
  ${counted('delivery', 'delivery', 'w', 'array_position($6::text[], k) NULLS LAST, k COLLATE "C"')} AS by_delivery,
  ${counted('rule', "rule_outcome->'suppressed'->>'rule'", "w WHERE delivery = 'suppressed'", 'n DESC, k COLLATE "C"', 'LIMIT 5')} AS suppressed_by_rule`;
}

interface StatsRow {
  total: number;
  by_severity: Array<{ severity: string; count: number }>;
  by_state: Array<{ state: string; count: number }>;
  noisiest_types: Array<{ type: string; count: number }>;
  time_to_acknowledge: Durations;
  time_to_resolve: Durations;
  archive_reasons: Array<{ category: string; count: number }>;
  unacknowledged_by_account: Array<{ accountId: string; count: number }>;
  by_delivery: Array<{ delivery: string; count: number }>;
  suppressed_by_rule: Array<{ rule: string; count: number }>;
}

export class PgStatsStore implements StatsStore {
  constructor(private readonly pool: Pool) {}

  async stats(q: StatsQuery): Promise<AlertStats> {
    const params: unknown[] = [q.since, q.until, SEVERITY_ORDER, ALERT_STATES, q.accountIds ?? null, DELIVERIES];
    const res = await this.pool.query<StatsRow>(statsSql(q.accountIds !== undefined), params);
    const row = res.rows[0];
    if (!row) throw new Error('stats query returned no row');
    return {
      since: q.since,
      until: q.until,
      total: row.total,
      bySeverity: row.by_severity,
      byState: row.by_state,
      noisiestTypes: row.noisiest_types,
      timeToAcknowledge: row.time_to_acknowledge,
      timeToResolve: row.time_to_resolve,
      archiveReasons: row.archive_reasons,
      unacknowledgedByAccount: row.unacknowledged_by_account,
      byDelivery: row.by_delivery,
      suppressedByRule: row.suppressed_by_rule,
    };
  }
}

/** Alert statistics for a period: what arrived, how it was handled, and what is still waiting. */

export interface StatsQuery {
  /** Inclusive: alerts whose arrival (created_at) is at or after this. */
  since: Date;
  /** Exclusive, so consecutive periods never count an alert twice. */
  until: Date;
  /** Undefined: all accounts. An empty list matches nothing. */
  accountIds?: string[] | undefined;
}

export interface Durations {
  count: number;
  /** Whole milliseconds; null when count is 0. */
  medianMs: number | null;
  p90Ms: number | null;
}

/** Every figure is over the non-sample alerts that arrived in [since, until). */
export interface AlertStats {
  since: Date;
  until: Date;
  total: number;
  /** Critical, High, Medium, Low order; zeros omitted. */
  bySeverity: Array<{ severity: string; count: number }>;
  /** Lifecycle order (app/domain/triage.ts ALERT_STATES); zeros omitted. */
  byState: Array<{ state: string; count: number }>;
  /** Top 5 finding types by count, ties by type name. */
  noisiestTypes: Array<{ type: string; count: number }>;
  /** acknowledged_at - created_at, over alerts that were acknowledged (whatever happened next). */
  timeToAcknowledge: Durations;
  /** disposed_at - created_at, over alerts now resolved or archived. */
  timeToResolve: Durations;
  /** Archived alerts by archive reason category, most frequent first ('unspecified' when none was recorded). */
  archiveReasons: Array<{ category: string; count: number }>;
  /** Alerts still open and never acknowledged (not counting suppressed or silenced ones), by account; top 10, most first. */
  unacknowledgedByAccount: Array<{ accountId: string; count: number }>;
  /** How alerts reached Slack (card, digest, thread, silenced, suppressed); zeros omitted. */
  byDelivery: Array<{ delivery: string; count: number }>;
  /** Alerts suppressed by rules, by rule; top 5, most first. Suppressed is never dropped silently. */
  suppressedByRule: Array<{ rule: string; count: number }>;
}

export interface StatsStore {
  stats(q: StatsQuery): Promise<AlertStats>;
}

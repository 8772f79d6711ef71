/** Job names and keys, shared by the code that enqueues and the catalog that runs them. */
export const CARD_SYNC_JOB = 'card.sync';
/** One card job per finding (and so per alert): re-arming it can never double-post. */
export const cardJobKey = (findingId: string): string => `card:${findingId}`;

/** A timeline reply in the card's thread, one per audit row. */
export const THREAD_POST_JOB = 'thread.post';
export const threadJobKey = (auditId: string): string => `thread:${auditId}`;

/** The archive-review card in the security channel, one per alert. */
export const REVIEW_SYNC_JOB = 'review.sync';
export const reviewJobKey = (alertId: string): string => `review:${alertId}`;

/** The escalation card in the security channel, one per alert. */
export const ESCALATION_SYNC_JOB = 'escalation.sync';
export const escalationJobKey = (alertId: string): string => `escalation:${alertId}`;

/** Syncs wanted vs actual GuardDuty archive state for one region, in batches. */
export const GUARDDUTY_SYNC_JOB = 'guardduty.sync';
export const guardDutyJobKey = (region: string): string => `guardduty:${region}`;

/** One PagerDuty call, per audit row that asks for it. */
export const PAGE_JOB = 'page.send';
export const pageJobKey = (alertId: string, action: string, auditId: string): string =>
  `page:${alertId}:${action}:${auditId}`;

/** A nudge step for an unacknowledged alert; `round` counts recurrences. */
export const NUDGE_JOB = 'nudge';
export const nudgeJobKey = (findingId: string, round: number, step: number): string =>
  `nudge:${findingId}:${round}:${step}`;

/** Auto-investigation of an alert's resource and account; `run` is 'first' or the audit id of a re-run. */
export const INVESTIGATE_JOB = 'investigate';
export const investigateJobKey = (alertId: string, run: string): string => `investigate:${alertId}:${run}`;

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

/** Tells the security channel that GuardDuty archiving fails in a region, once per failure spell. */
export const GUARDDUTY_NOTICE_JOB = 'guardduty.notice';
export const guardDutyNoticeJobKey = (region: string, error: string, atMs: number): string =>
  `guardduty-notice:${region}:${error}:${atMs}`;

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

/** The card of a storm digest (one per channel and finding type while a storm lasts): re-armed per alert. */
export const DIGEST_SYNC_JOB = 'digest.sync';
/** Closes a digest once its channel has been quiet for the storm window. */
export const DIGEST_CLOSE_JOB = 'digest.close';
export const digestJobKey = (digestId: string): string => `digest:${digestId}`;

/** A first_only rule's later alert: one reply under the first alert's card. */
export const REPLY_JOB = 'alert.reply';
export const replyJobKey = (findingId: string): string => `reply:${findingId}`;

/** A rule's also_notify: a short notice in another channel, once per alert and channel. */
export const ALSO_NOTIFY_JOB = 'also.notify';
export const alsoNotifyJobKey = (findingId: string, channelId: string): string => `notify:${findingId}:${channelId}`;

/** Tells the security channel about a new or unrouted account, once per account. */
export const ACCOUNT_NOTICE_JOB = 'account.notice';
export const accountNoticeJobKey = (accountId: string): string => `account-notice:${accountId}`;

/** Tells the security channel that Kanshi cannot post to a channel, once per failure spell. */
export const CHANNEL_HEALTH_JOB = 'channel.health';
export const channelHealthJobKey = (channelId: string): string => `channel-health:${channelId}`;

/** The periodic AWS Organizations sync: one job that reschedules itself. */
export const ORG_SYNC_JOB = 'org.sync';
export const orgSyncJobKey = 'org-sync';

/** A silence's notices: a day before expiry, at expiry, and when it matched nothing for 7 days. */
export const SILENCE_NOTICE_JOB = 'silence.notice';
export const silenceNoticeJobKey = (silenceId: string, notice: string): string => `silence:${silenceId}:${notice}`;

/** Acknowledge all / Archive all on a storm digest: one job per click. */
export const DIGEST_BULK_JOB = 'digest.bulk';

/** A digest's one review card in the security channel, for its bulk archive. */
export const DIGEST_REVIEW_JOB = 'digest.review';
export const digestReviewJobKey = (digestId: string): string => `digest-review:${digestId}`;

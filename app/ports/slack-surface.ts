import type { CardMessage } from '../slack/blocks/finding-card';

/**
 * How a Slack write failed. `retryable` failures (429, 5xx, timeouts, network)
 * are tried again later; `permanent` ones are recorded and surfaced.
 * `outcomeUnknown` means the request may have reached Slack (a timeout or a
 * dropped connection), so a post must be reconciled before it is retried.
 */
export type SlackFailure =
  | { kind: 'retryable'; error: string; retryAfterMs?: number | undefined; outcomeUnknown: boolean }
  | { kind: 'permanent'; error: string };

export type SlackResult<T> = { ok: true; value: T } | { ok: false; failure: SlackFailure };

/** Any message we post that is not an alert card (review and escalation cards, thread replies). */
export interface SlackMessage {
  text: string;
  blocks?: Array<Record<string, unknown>> | undefined;
  threadTs?: string | undefined;
  /** Carried as message metadata, so that a retry can find this post (see findPost). */
  postKey?: string | undefined;
}

export interface SlackSurface {
  postMessage(channelId: string, message: SlackMessage): Promise<SlackResult<{ ts: string }>>;
  updateMessage(channelId: string, ts: string, message: SlackMessage): Promise<SlackResult<void>>;
  postEphemeral(channelId: string, userId: string, text: string): Promise<SlackResult<void>>;
  /** Channels the user is a member of (for App Home). */
  userChannels(userId: string): Promise<SlackResult<string[]>>;
  /** Members of a user group (for the security team). */
  usergroupMembers(usergroupId: string): Promise<SlackResult<string[]>>;
  postCard(channelId: string, card: CardMessage): Promise<SlackResult<{ ts: string; channelId: string }>>;
  updateCard(channelId: string, ts: string, card: CardMessage): Promise<SlackResult<void>>;
  /** Finds a message posted with this postKey: in the thread of `threadTs`, or in the channel's last day. */
  findPost(channelId: string, postKey: string, threadTs?: string | undefined): Promise<SlackResult<string | undefined>>;
  /** Finds a card for this alert posted to the channel since `since`, by its message metadata. */
  findCard(channelId: string, alertId: string, since: Date): Promise<SlackResult<string | undefined>>;
}

/** Slack errors that mean "this channel cannot take our card": fall back to the default channel. */
export const CHANNEL_UNUSABLE_ERRORS = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);

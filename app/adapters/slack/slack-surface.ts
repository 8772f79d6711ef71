/**
 * SlackSurface over @slack/web-api. The client is configured for alerting:
 * no retries of its own and no queue-wide pause on 429 (the durable outbox
 * decides when to try again), and a finite timeout.
 */
import { ErrorCode, type WebAPICallResult, WebClient, type WebClientOptions } from '@slack/web-api';
import type { SlackFailure, SlackMessage, SlackResult, SlackSurface } from '../../ports/slack-surface';
import type { CardMessage } from '../../slack/blocks/finding-card';
import { CARD_METADATA_EVENT_TYPE, POST_METADATA_EVENT_TYPE } from '../../slack/ids';

export interface SlackClientOptions {
  token: string;
  apiUrl: string;
  timeoutMs: number;
}

export function slackClientOptions(o: Omit<SlackClientOptions, 'token'>): WebClientOptions {
  return {
    slackApiUrl: o.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: o.timeoutMs,
  };
}

export function createSlackClient(o: SlackClientOptions, logger?: WebClientOptions['logger']): WebClient {
  return new WebClient(o.token, { ...slackClientOptions(o), ...(logger ? { logger } : {}) });
}

/** Transient on Slack's side: try again later. */
const RETRYABLE_PLATFORM = new Set(['ratelimited', 'service_unavailable', 'team_added_to_org']);
/** Slack may have done the write before failing: reconcile before repeating a post. */
const UNKNOWN_OUTCOME_PLATFORM = new Set(['internal_error', 'fatal_error', 'request_timeout']);
/**
 * Our token or app is misconfigured. Not the card's fault: keep it queued
 * (with backoff) so it goes out once the configuration is fixed.
 */
const CONFIG_PLATFORM = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
]);

interface SlackErrorShape {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string };
}

export function classifySlackError(err: unknown): SlackFailure {
  const e = (err ?? {}) as SlackErrorShape;
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return {
        kind: 'retryable',
        error: 'ratelimited',
        retryAfterMs: (e.retryAfter ?? 1) * 1000,
        outcomeUnknown: false,
      };
    case ErrorCode.HTTPError: {
      const status = e.statusCode ?? 0;
      if (status >= 500 || status === 408) return { kind: 'retryable', error: `http_${status}`, outcomeUnknown: true };
      return { kind: 'permanent', error: `http_${status}` };
    }
    case ErrorCode.RequestError:
      return { kind: 'retryable', error: 'request_failed', outcomeUnknown: true };
    case ErrorCode.PlatformError: {
      const code = e.data?.error ?? 'unknown_error';
      if (RETRYABLE_PLATFORM.has(code) || CONFIG_PLATFORM.has(code)) {
        return { kind: 'retryable', error: code, outcomeUnknown: false };
      }
      if (UNKNOWN_OUTCOME_PLATFORM.has(code)) return { kind: 'retryable', error: code, outcomeUnknown: true };
      return { kind: 'permanent', error: code };
    }
    default:
      return { kind: 'retryable', error: 'unexpected_error', outcomeUnknown: true };
  }
}

async function call<T>(fn: () => Promise<T>): Promise<SlackResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, failure: classifySlackError(err) };
  }
}

interface HistoryMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: { alert_id?: unknown; key?: unknown } };
}

/** How far back to look, in pages of history, for a card or post of unknown outcome. */
const MAX_HISTORY_PAGES = 5;

type HistoryPage = WebAPICallResult & { messages?: HistoryMessage[]; response_metadata?: { next_cursor?: string } };

/** The ts of the first message that matches, following the cursor for at most MAX_HISTORY_PAGES pages. */
async function firstInHistory(
  page: (cursor: string | undefined) => Promise<HistoryPage>,
  matches: (m: HistoryMessage) => boolean,
): Promise<string | undefined> {
  let cursor: string | undefined;
  for (let n = 0; n < MAX_HISTORY_PAGES; n++) {
    const res = await page(cursor);
    const hit = (res.messages ?? []).find(matches);
    if (hit?.ts) return hit.ts;
    cursor = res.response_metadata?.next_cursor || undefined;
    if (!cursor) return undefined;
  }
  return undefined;
}

export class WebApiSlackSurface implements SlackSurface {
  constructor(private readonly client: WebClient) {}

  postMessage(channelId: string, m: SlackMessage): Promise<SlackResult<{ ts: string }>> {
    return call(async () => {
      const res = await this.client.chat.postMessage({
        channel: channelId,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks } : {}),
        ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
        ...(m.postKey ? { metadata: { event_type: POST_METADATA_EVENT_TYPE, event_payload: { key: m.postKey } } } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
      return { ts: String(res.ts) };
    });
  }

  updateMessage(channelId: string, ts: string, m: SlackMessage): Promise<SlackResult<void>> {
    return call(async () => {
      await this.client.chat.update({
        channel: channelId,
        ts,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks } : {}),
      });
    });
  }

  postEphemeral(channelId: string, userId: string, text: string): Promise<SlackResult<void>> {
    return call(async () => {
      await this.client.chat.postEphemeral({ channel: channelId, user: userId, text });
    });
  }

  userChannels(userId: string): Promise<SlackResult<string[]>> {
    return call(async () => {
      const channels: string[] = [];
      let cursor: string | undefined;
      // A few pages are plenty for one person's channels.
      for (let page = 0; page < 5; page++) {
        const res = await this.client.users.conversations({
          user: userId,
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        });
        for (const c of res.channels ?? []) if (c.id) channels.push(c.id);
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) break;
      }
      return channels;
    });
  }

  usergroupMembers(usergroupId: string): Promise<SlackResult<string[]>> {
    return call(async () => {
      const res = await this.client.usergroups.users.list({ usergroup: usergroupId });
      return (res.users ?? []).filter((u): u is string => typeof u === 'string');
    });
  }

  postCard(channelId: string, card: CardMessage): Promise<SlackResult<{ ts: string; channelId: string }>> {
    return call(async () => {
      const res = await this.client.chat.postMessage({
        channel: channelId,
        text: card.text,
        blocks: card.blocks,
        metadata: card.metadata,
        unfurl_links: false,
        unfurl_media: false,
      });
      return { ts: String(res.ts), channelId: String(res.channel ?? channelId) };
    });
  }

  updateCard(channelId: string, ts: string, card: CardMessage): Promise<SlackResult<void>> {
    return call(async () => {
      await this.client.chat.update({
        channel: channelId,
        ts,
        text: card.text,
        blocks: card.blocks,
        metadata: card.metadata,
      });
    });
  }

  findPost(
    channelId: string,
    postKey: string,
    threadTs?: string | undefined,
  ): Promise<SlackResult<string | undefined>> {
    const oldest = (Math.floor(Date.now() / 1000) - 86_400).toString();
    return call(() =>
      firstInHistory(
        (cursor) => {
          const args = { channel: channelId, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
          return threadTs
            ? this.client.conversations.replies({ ...args, ts: threadTs })
            : this.client.conversations.history({ ...args, oldest });
        },
        (m) => m.metadata?.event_type === POST_METADATA_EVENT_TYPE && m.metadata.event_payload?.key === postKey,
      ),
    );
  }

  findCard(channelId: string, alertId: string, since: Date): Promise<SlackResult<string | undefined>> {
    // A minute of slack for clock skew between us and Slack.
    const oldest = (Math.floor(since.getTime() / 1000) - 60).toString();
    return call(() =>
      firstInHistory(
        (cursor) =>
          this.client.conversations.history({
            channel: channelId,
            oldest,
            limit: 200,
            include_all_metadata: true,
            ...(cursor ? { cursor } : {}),
          }),
        (m) => m.metadata?.event_type === CARD_METADATA_EVENT_TYPE && m.metadata.event_payload?.alert_id === alertId,
      ),
    );
  }
}

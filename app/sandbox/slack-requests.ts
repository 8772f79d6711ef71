/**
 * What Slack sends an app, built and signed the way Slack does: button clicks
 * (block_actions), modal submissions (view_submission) and slash commands.
 * The sandbox sends these to Kanshi's /slack/events, the path real Slack uses;
 * the test suite builds its requests with them too.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SANDBOX_TEAM = { id: 'T0TEST', domain: 'kanshi-test' } as const;

export interface SlackActor {
  id: string;
  name: string;
}

/** Slack's v0 signature: HMAC-SHA256 over `v0:<timestamp>:<body>` with the app's signing secret. */
export function slackSignature(body: string, timestamp: number, secret: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedHeaders(
  body: string,
  contentType: string,
  secret: string,
  at = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': slackSignature(body, at, secret),
  };
}

export const newTriggerId = (): string => `trigger-${randomBytes(6).toString('hex')}`;

const userOf = (u: SlackActor) => ({ id: u.id, username: u.name, name: u.name, team_id: SANDBOX_TEAM.id });

export function blockActionsPayload(a: {
  user: SlackActor;
  actionId: string;
  value: string;
  blockId?: string | undefined;
  triggerId: string;
  responseUrl: string;
  /** A button in a message… */
  channel?: string | undefined;
  messageTs?: string | undefined;
  /** …or in a modal. */
  view?: { id: string; callback_id?: unknown; private_metadata?: unknown } | undefined;
}): Record<string, unknown> {
  const inMessage = a.view === undefined;
  return {
    type: 'block_actions',
    team: SANDBOX_TEAM,
    user: userOf(a.user),
    api_app_id: 'A0KANSHI',
    token: 'legacy-verification-token',
    container: inMessage
      ? { type: 'message', message_ts: a.messageTs, channel_id: a.channel, is_ephemeral: false }
      : { type: 'view', view_id: a.view?.id },
    trigger_id: a.triggerId,
    ...(inMessage
      ? {
          channel: { id: a.channel, name: 'channel' },
          message: { type: 'message', ts: a.messageTs, text: '' },
          response_url: a.responseUrl,
        }
      : { view: { ...a.view, type: 'modal', team_id: SANDBOX_TEAM.id } }),
    actions: [
      {
        type: 'button',
        action_id: a.actionId,
        block_id: a.blockId ?? 'actions',
        value: a.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

export function viewSubmissionPayload(s: {
  user: SlackActor;
  viewId: string;
  callbackId: string;
  privateMetadata: string;
  values: Record<string, Record<string, unknown>>;
}): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: SANDBOX_TEAM,
    user: userOf(s.user),
    api_app_id: 'A0KANSHI',
    token: 'legacy-verification-token',
    trigger_id: newTriggerId(),
    view: {
      id: s.viewId,
      team_id: SANDBOX_TEAM.id,
      type: 'modal',
      callback_id: s.callbackId,
      private_metadata: s.privateMetadata,
      state: { values: s.values },
      hash: 'h',
    },
  };
}

/** The form body of an interaction: Slack sends `payload=<json>`. */
export function interactionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function slashCommandBody(c: {
  user: SlackActor;
  channel: string;
  text: string;
  responseUrl: string;
  triggerId: string;
}): string {
  return new URLSearchParams({
    command: '/alert',
    text: c.text,
    team_id: SANDBOX_TEAM.id,
    channel_id: c.channel,
    user_id: c.user.id,
    user_name: c.user.name,
    response_url: c.responseUrl,
    trigger_id: c.triggerId,
  }).toString();
}

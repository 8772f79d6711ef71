/**
 * Signed interaction requests, shaped like Slack's own payloads (see
 * ../shared/fixtures/slack): button clicks (block_actions) and modal
 * submissions (view_submission), sent to /slack/events.
 */
import { randomBytes } from 'node:crypto';
import type { Harness } from './app-harness';
import { signedSlackHeaders } from './app-harness';

export interface SlackUser {
  id: string;
  name: string;
}

export const ALICE: SlackUser = { id: 'U0ALICE0001', name: 'alice' };
export const BOB: SlackUser = { id: 'U0BOB00001', name: 'bob' };
export const SECENG: SlackUser = { id: 'U0SECENG001', name: 'sam-security' };

async function sendPayload(h: Harness, payload: unknown): Promise<Response> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return h.post('/slack/events', body, signedSlackHeaders(body, 'application/x-www-form-urlencoded'));
}

export interface Click {
  actionId: string;
  value: string;
  user: SlackUser;
  channel: string;
  messageTs: string;
}

/** Clicks a button; returns the HTTP answer and the path of the response_url the fake Slack records. */
export async function click(
  h: Harness,
  c: Click,
): Promise<{ status: number; responsePath: string; triggerId: string }> {
  const responsePath = `response/${randomBytes(6).toString('hex')}`;
  const triggerId = `trigger-${randomBytes(6).toString('hex')}`;
  const res = await sendPayload(h, {
    type: 'block_actions',
    team: { id: 'T0TEST', domain: 'kanshi-test' },
    user: { id: c.user.id, username: c.user.name, name: c.user.name, team_id: 'T0TEST' },
    api_app_id: 'A0KANSHI',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: c.messageTs, channel_id: c.channel, is_ephemeral: false },
    trigger_id: triggerId,
    channel: { id: c.channel, name: 'alerts' },
    message: { type: 'message', ts: c.messageTs, text: 'card' },
    response_url: `${h.slack.apiUrl}${responsePath}`,
    actions: [
      {
        type: 'button',
        action_id: c.actionId,
        block_id: 'kanshi_card_actions',
        value: c.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  });
  return { status: res.status, responsePath, triggerId };
}

/** Submits a modal as the user filled it in: `values` is block id → action id → element state. */
export async function submit(
  h: Harness,
  s: { callbackId: string; privateMetadata: string; user: SlackUser; values: Record<string, Record<string, unknown>> },
): Promise<{ status: number; body: string }> {
  const res = await sendPayload(h, {
    type: 'view_submission',
    team: { id: 'T0TEST', domain: 'kanshi-test' },
    user: { id: s.user.id, username: s.user.name, name: s.user.name, team_id: 'T0TEST' },
    api_app_id: 'A0KANSHI',
    token: 'legacy-verification-token',
    trigger_id: `trigger-${randomBytes(6).toString('hex')}`,
    view: {
      id: `V${randomBytes(4).toString('hex').toUpperCase()}`,
      team_id: 'T0TEST',
      type: 'modal',
      callback_id: s.callbackId,
      private_metadata: s.privateMetadata,
      state: { values: s.values },
      hash: 'h',
    },
  });
  return { status: res.status, body: await res.text() };
}

export const textValue = (value: string) => ({ type: 'plain_text_input', value });
export const selectValue = (value: string) => ({ type: 'static_select', selected_option: { value } });

/** The modal Kanshi opened in answer to the click with this trigger id. */
export async function openedView(h: Harness, triggerId: string) {
  const call = await h.slack.waitFor(() => h.slack.callsTo('views.open').find((c) => c.args.trigger_id === triggerId));
  return call.args.view as { callback_id: string; private_metadata: string };
}

/**
 * Sends a signed `/alert <text>` from `channel` as `user`; returns the reply
 * Kanshi sent to the response_url (its text, and all of it as JSON).
 */
export async function slashCommand(
  h: Harness,
  text: string,
  user: SlackUser,
  channel: string,
): Promise<{ text: string; json: string }> {
  const hook = `response/${randomBytes(4).toString('hex')}`;
  const body = new URLSearchParams({
    command: '/alert',
    text,
    team_id: 'T0TEST',
    channel_id: channel,
    user_id: user.id,
    user_name: user.name,
    response_url: `${h.slack.apiUrl}${hook}`,
    trigger_id: `trigger-${randomBytes(4).toString('hex')}`,
  }).toString();
  const res = await h.post('/slack/events', body, signedSlackHeaders(body, 'application/x-www-form-urlencoded'));
  if (res.status !== 200) throw new Error(`/alert ${text} answered ${res.status}`);
  const call = await h.slack.waitFor(() => h.slack.callsTo(hook)[0]);
  return { text: String(call.args.text ?? ''), json: JSON.stringify(call.args) };
}

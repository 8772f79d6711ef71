import type {
  HeaderBlock,
  SectionBlock,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from '@slack/web-api';
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import { FakeSlack } from '../fakes/fake-slack';

const TOKEN = 'xoxb-test-token';

function clientFor(fake: FakeSlack, token = TOKEN, timeout = 2000): WebClient {
  return new WebClient(token, {
    slackApiUrl: fake.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout,
    // Only ERROR: the client warns on every expected failure we provoke below.
    logLevel: LogLevel.ERROR,
  });
}

/** Awaits a promise that must reject and returns the error for inspection. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to reject, but it resolved');
}

function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

describe('FakeSlack driven by a real WebClient', () => {
  let fake: FakeSlack;
  let client: WebClient;

  beforeEach(async () => {
    fake = new FakeSlack();
    await fake.start();
    client = clientFor(fake);
  });

  afterEach(async () => {
    await fake.stop();
  });

  it('answers auth.test with the fake bot identity', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, team_id: 'T0TEST', user_id: 'U0KANSHI', bot_id: 'B0KANSHI' });
  });

  it('returns a posted message with its metadata from conversations.history', async () => {
    const metadata = { event_type: 'kanshi_alert', event_payload: { alert_id: 'a1' } };
    const posted = await client.chat.postMessage({ channel: 'C0ALERTS', text: 'finding!', metadata });
    expect(posted.ok).toBe(true);
    expect(posted.ts).toMatch(/^\d+\.\d{6}$/);

    const withMeta = await client.conversations.history({ channel: 'C0ALERTS', include_all_metadata: true });
    expect(withMeta.messages).toHaveLength(1);
    expect(withMeta.messages?.[0]).toMatchObject({ ts: posted.ts, text: 'finding!', metadata });

    const withoutMeta = await client.conversations.history({ channel: 'C0ALERTS' });
    expect(withoutMeta.messages?.[0]?.metadata).toBeUndefined();

    // The form-encoded JSON string was decoded into an object when recorded.
    expect(fake.callsTo('chat.postMessage')[0]?.args.metadata).toEqual(metadata);
    expect(fake.messages('C0ALERTS')[0]).toMatchObject({ text: 'finding!', metadata, edits: 0 });
  });

  it('lists history newest first and filters by oldest and latest', async () => {
    const a = await client.chat.postMessage({ channel: 'C1', text: 'a' });
    const b = await client.chat.postMessage({ channel: 'C1', text: 'b' });
    const c = await client.chat.postMessage({ channel: 'C1', text: 'c' });
    expect(Number(a.ts)).toBeLessThan(Number(b.ts));
    expect(Number(b.ts)).toBeLessThan(Number(c.ts));

    const all = await client.conversations.history({ channel: 'C1' });
    expect(all.messages?.map((m) => m.text)).toEqual(['c', 'b', 'a']);

    const after = await client.conversations.history({ channel: 'C1', oldest: a.ts });
    expect(after.messages?.map((m) => m.text)).toEqual(['c', 'b']);

    const between = await client.conversations.history({ channel: 'C1', oldest: a.ts, latest: c.ts, inclusive: true });
    expect(between.messages?.map((m) => m.text)).toEqual(['c', 'b', 'a']);
  });

  it('keeps thread replies out of history but returns them from conversations.replies', async () => {
    const parent = await client.chat.postMessage({ channel: 'C1', text: 'parent' });
    await client.chat.postMessage({ channel: 'C1', text: 'reply', thread_ts: parent.ts as string });

    const history = await client.conversations.history({ channel: 'C1' });
    expect(history.messages?.map((m) => m.text)).toEqual(['parent']);
    expect(history.messages?.[0]).toMatchObject({ reply_count: 1 });

    const thread = await client.conversations.replies({ channel: 'C1', ts: parent.ts as string });
    expect(thread.messages?.map((m) => m.text)).toEqual(['parent', 'reply']);
    expect(fake.replies('C1', parent.ts as string)).toHaveLength(1);
  });

  it('replaces blocks on chat.update and counts the edit', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'v1', blocks: [section('old')] });
    const ts = posted.ts as string;

    const updated = await client.chat.update({ channel: 'C1', ts, text: 'v2', blocks: [section('new')] });
    expect(updated).toMatchObject({ ok: true, channel: 'C1', ts, text: 'v2' });

    const [message] = fake.messages('C1');
    expect(message?.blocks).toEqual([section('new')]);
    expect(message?.edits).toBe(1);

    const history = await client.conversations.history({ channel: 'C1' });
    expect(history.messages?.[0]?.blocks).toEqual([section('new')]);
  });

  it('answers message_not_found when updating a message that does not exist', async () => {
    const err = (await rejection(
      client.chat.update({ channel: 'C1', ts: '1.000001', text: 'x' }),
    )) as WebAPIPlatformError;
    expect(err.code).toBe(ErrorCode.PlatformError);
    expect(err.data.error).toBe('message_not_found');
  });

  it('surfaces a programmed 429 as a rate-limited error with retryAfter, once', async () => {
    fake.failNext('chat.postMessage', { kind: 'ratelimited', retryAfter: 7 });

    const err = (await rejection(client.chat.postMessage({ channel: 'C1', text: 'hi' }))) as WebAPIRateLimitedError;
    expect(err.code).toBe('slack_webapi_rate_limited_error');
    expect(err.retryAfter).toBe(7);

    // The failure was consumed: the next post goes through.
    await expect(client.chat.postMessage({ channel: 'C1', text: 'hi' })).resolves.toMatchObject({ ok: true });
    expect(fake.callsTo('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
  });

  it('surfaces a programmed 500 as an HTTP error', async () => {
    fake.failNext('chat.postMessage', { kind: 'http', status: 500 });
    const err = (await rejection(client.chat.postMessage({ channel: 'C1', text: 'hi' }))) as WebAPIHTTPError;
    expect(err.code).toBe('slack_webapi_http_error');
    expect(err.statusCode).toBe(500);
  });

  it('surfaces channel_not_found as a platform error, only for the targeted channel', async () => {
    fake.failNext('chat.postMessage', { kind: 'error', error: 'channel_not_found' }, { channel: 'C0GONE' });

    await expect(client.chat.postMessage({ channel: 'C0OK', text: 'hi' })).resolves.toMatchObject({ ok: true });
    const err = (await rejection(client.chat.postMessage({ channel: 'C0GONE', text: 'hi' }))) as WebAPIPlatformError;
    expect(err.code).toBe('slack_webapi_platform_error');
    expect(err.data.error).toBe('channel_not_found');
  });

  it('answers channel_not_found for a missing or malformed channel', async () => {
    fake.setChannelMissing('C0MISSING');
    const missing = (await rejection(
      client.chat.postMessage({ channel: 'C0MISSING', text: 'x' }),
    )) as WebAPIPlatformError;
    expect(missing.data.error).toBe('channel_not_found');
    const malformed = (await rejection(
      client.chat.postMessage({ channel: '#alerts', text: 'x' }),
    )) as WebAPIPlatformError;
    expect(malformed.data.error).toBe('channel_not_found');
  });

  it('keeps failing with failAlways until clearFailures', async () => {
    fake.failAlways('chat.postMessage', { kind: 'error', error: 'is_archived' });
    for (let i = 0; i < 2; i++) {
      const err = (await rejection(client.chat.postMessage({ channel: 'C1', text: 'x' }))) as WebAPIPlatformError;
      expect(err.data.error).toBe('is_archived');
    }
    fake.clearFailures();
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).resolves.toMatchObject({ ok: true });
  });

  it('rejects a wrong token with invalid_auth', async () => {
    const intruder = clientFor(fake, 'xoxb-wrong-token');
    const err = (await rejection(intruder.auth.test())) as WebAPIPlatformError;
    expect(err.code).toBe('slack_webapi_platform_error');
    expect(err.data.error).toBe('invalid_auth');
    expect(fake.calls).toHaveLength(1);
  });

  it('answers no_text when neither text nor blocks are given', async () => {
    const err = (await rejection(client.chat.postMessage({ channel: 'C1' } as never))) as WebAPIPlatformError;
    expect(err.data.error).toBe('no_text');
  });

  it('rejects 51 blocks with invalid_blocks but accepts 50', async () => {
    const blocks = (n: number) => Array.from({ length: n }, (_, i) => section(`line ${i}`));

    const err = (await rejection(
      client.chat.postMessage({ channel: 'C1', text: 'x', blocks: blocks(51) }),
    )) as WebAPIPlatformError;
    expect(err.code).toBe('slack_webapi_platform_error');
    expect(err.data.error).toBe('invalid_blocks');

    await expect(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: blocks(50) })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('rejects over-long section and header text with invalid_blocks', async () => {
    const longSection = (await rejection(
      client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [section('a'.repeat(3001))] }),
    )) as WebAPIPlatformError;
    expect(longSection.data.error).toBe('invalid_blocks');

    const header: HeaderBlock = { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } };
    const longHeader = (await rejection(
      client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [header] }),
    )) as WebAPIPlatformError;
    expect(longHeader.data.error).toBe('invalid_blocks');
  });

  it('answers unknown_method for methods the fake does not implement', async () => {
    const err = (await rejection(
      client.apiCall('reactions.add', { channel: 'C1', name: 'eyes' }),
    )) as WebAPIPlatformError;
    expect(err.data.error).toBe('unknown_method');
  });

  it("makes the client time out on 'hang', and stop() still returns promptly", async () => {
    fake.failAlways('chat.postMessage', { kind: 'hang' });

    const timedOut = (await rejection(client.chat.postMessage({ channel: 'C1', text: 'x' }))) as WebAPIRequestError;
    expect(timedOut.code).toBe('slack_webapi_request_error');

    // A client without a timeout stays hung until the fake is stopped.
    const patient = clientFor(fake, TOKEN, 0);
    const hung = rejection(patient.chat.postMessage({ channel: 'C1', text: 'y' }));
    await fake.waitFor(() => fake.callsTo('chat.postMessage').length === 2);

    const started = Date.now();
    await fake.stop();
    expect(Date.now() - started).toBeLessThan(500);
    const err = (await hung) as WebAPIRequestError;
    expect(err.code).toBe('slack_webapi_request_error');
    expect(fake.messages('C1')).toHaveLength(0);
  });

  it('answers after a programmed delay', async () => {
    fake.failNext('chat.postMessage', { kind: 'delay', ms: 100 });
    const started = Date.now();
    await expect(client.chat.postMessage({ channel: 'C1', text: 'slow' })).resolves.toMatchObject({ ok: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('answers 429 to the second immediate post to a channel under enforcePostRate', async () => {
    fake.enforcePostRate({ perChannelPerSecond: 1 });

    await expect(client.chat.postMessage({ channel: 'C1', text: 'first' })).resolves.toMatchObject({ ok: true });
    const err = (await rejection(client.chat.postMessage({ channel: 'C1', text: 'second' }))) as WebAPIRateLimitedError;
    expect(err.code).toBe('slack_webapi_rate_limited_error');
    expect(err.retryAfter).toBe(1);

    // Other channels have their own budget.
    await expect(client.chat.postMessage({ channel: 'C2', text: 'other' })).resolves.toMatchObject({ ok: true });
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['first']);
  });

  it('stores ephemerals, views, users and usergroups', async () => {
    await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'psst' });
    expect(fake.ephemerals('C1')).toMatchObject([{ user: 'U1', text: 'psst' }]);

    const opened = await client.views.open({
      trigger_id: 't1',
      view: { type: 'modal', title: { type: 'plain_text', text: 'Snooze' }, blocks: [] },
    });
    expect(opened.view?.id).toMatch(/^V/);
    expect(fake.views()[0]?.view).toMatchObject({ type: 'modal' });

    const user = await client.users.info({ user: 'U1ABC' });
    expect(user.user).toMatchObject({ id: 'U1ABC', name: 'user-u1abc' });

    fake.setUsergroup('S1', ['U1', 'U2']);
    const group = await client.usergroups.users.list({ usergroup: 'S1' });
    expect(group.users).toEqual(['U1', 'U2']);
  });

  it('explains what happened when waitFor times out', async () => {
    await client.auth.test();
    await expect(fake.waitFor(() => fake.callsTo('chat.postMessage').length > 0, 50)).rejects.toThrow(
      /not met within 50 ms.*Calls so far: auth.test/,
    );
  });

  it('clears calls, messages and failures on reset', async () => {
    fake.failAlways('chat.update', { kind: 'error', error: 'is_archived' });
    await client.chat.postMessage({ channel: 'C1', text: 'x' });
    fake.reset();
    expect(fake.calls).toHaveLength(0);
    expect(fake.allMessages()).toHaveLength(0);
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'y' });
    await expect(client.chat.update({ channel: 'C1', ts: posted.ts as string, text: 'z' })).resolves.toMatchObject({
      ok: true,
    });
  });
});

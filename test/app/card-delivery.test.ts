/**
 * Cards reach Slack exactly once, whatever Slack or the process does:
 * rate limits, errors, unusable channels, restarts and lost responses.
 */

import { PgCardStore } from '../../app/adapters/db/card-store';
import { DEFAULT_CHANNEL, type Harness, PROD_ACCOUNT, PROD_CHANNEL, startHarness } from '../support/app-harness';
import { alertRow, cardJobOf, cardsFor, freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { wrapFinding } from '../support/fixtures';

const finding = freshFinding;
const jobOf = cardJobOf;

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

describe('delivering cards to Slack', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.slack.reset();
    h.slack.clearFailures();
  });

  it('waits as long as a 429 says, then posts the card once', async () => {
    h.slack.failNext('chat.postMessage', { kind: 'ratelimited', retryAfter: 1 }, { channel: PROD_CHANNEL });
    const { body } = await h.ingest(wrapFinding(finding()));
    await eventually(async () => cardsFor(h, body.alertId).length === 1);
    const posts = h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === PROD_CHANNEL);
    expect(posts.map((p) => p.status)).toEqual([429, 200]);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    await settle();
    expect(cardsFor(h, body.alertId)).toHaveLength(1);
  });

  it('retries after a Slack 500 and posts one card', async () => {
    h.slack.failNext('chat.postMessage', { kind: 'http', status: 500 }, { channel: PROD_CHANNEL });
    const { body } = await h.ingest(wrapFinding(finding()));
    // A 500 may have posted the message, so the worker checks history before posting again.
    const ts = await eventually(async () => (await alertRow(h, body.alertId)).card_ts, 15_000);
    expect(h.slack.callsTo('conversations.history').length).toBeGreaterThan(0);
    expect(cardsFor(h, body.alertId)[0]?.ts).toBe(ts);
    await settle();
    expect(cardsFor(h, body.alertId)).toHaveLength(1);
  });

  it('posts in the default channel, saying why, when the account channel is gone', async () => {
    h.slack.setChannelMissing(PROD_CHANNEL);
    const { body } = await h.ingest(wrapFinding(finding()));
    const card = await eventually(async () => cardsFor(h, body.alertId)[0]);
    expect(card.channel).toBe(DEFAULT_CHANNEL);
    expect(JSON.stringify(card.blocks)).toContain(
      `could not post in this account's channel ${PROD_CHANNEL} (channel_not_found)`,
    );
    const row = await eventually(async () => {
      const r = await alertRow(h, body.alertId);
      return r.card_ts && r;
    });
    expect(row).toEqual(expect.objectContaining({ card_error: 'channel_not_found', card_channel_id: DEFAULT_CHANNEL }));
    h.slack.setChannelMissing(PROD_CHANNEL, false);
  });

  it.each(['not_in_channel', 'is_archived'])('falls back to the default channel on %s', async (error) => {
    h.slack.failNext('chat.postMessage', { kind: 'error', error }, { channel: PROD_CHANNEL });
    const { body } = await h.ingest(wrapFinding(finding()));
    const card = await eventually(async () => cardsFor(h, body.alertId)[0]);
    expect(card.channel).toBe(DEFAULT_CHANNEL);
    expect(JSON.stringify(card.blocks)).toContain(`(${error})`);
  });

  it('posts a plain-text card when Slack rejects the blocks', async () => {
    h.slack.failNext('chat.postMessage', { kind: 'error', error: 'invalid_blocks' }, { channel: PROD_CHANNEL });
    const { body } = await h.ingest(wrapFinding(finding()));
    const card = await eventually(async () => cardsFor(h, body.alertId)[0]);
    expect(card.channel).toBe(DEFAULT_CHANNEL);
    expect(card.blocks).toHaveLength(1);
    expect(JSON.stringify(card.blocks)).toContain('Open in the GuardDuty console');
    expect((await alertRow(h, body.alertId)).card_error).toBe('invalid_blocks');
  });

  it('gives up on an update Slack refuses for good, recording why, without posting a second card', async () => {
    const f = finding(PROD_ACCOUNT, { updatedAt: '2026-03-01T00:00:00.000Z' });
    const { body } = await h.ingest(wrapFinding(f));
    await eventually(async () => (await alertRow(h, body.alertId)).card_ts);
    h.slack.failNext('chat.update', { kind: 'error', error: 'message_not_found' });
    await h.ingest(wrapFinding({ ...f, updatedAt: '2026-03-01T01:00:00.000Z' }));
    await eventually(async () => (await jobOf(h, body.alertId)).status === 'failed');
    expect((await alertRow(h, body.alertId)).card_error).toBe('message_not_found');
    expect(cardsFor(h, body.alertId)).toHaveLength(1);
  });
});

describe('when Kanshi restarts or loses a response', () => {
  it('posts every pending card after a restart, each exactly once', async () => {
    const h = await startHarness({ runWorker: false });
    try {
      const ids: unknown[] = [];
      for (let i = 0; i < 5; i++) ids.push((await h.ingest(wrapFinding(finding()))).body.alertId);
      await settle();
      expect(h.slack.allMessages()).toHaveLength(0);
      await h.restart();
      await eventually(async () => ids.every((id) => cardsFor(h, id).length === 1));
      await settle();
      expect(ids.map((id) => cardsFor(h, id).length)).toEqual([1, 1, 1, 1, 1]);
    } finally {
      await h.close();
    }
  });

  it('finds the card of a post whose answer was lost instead of posting it again', async () => {
    // Slack posts the message but answers after our 300 ms timeout: the outcome is unknown to Kanshi.
    const h = await startHarness({ env: { SLACK_TIMEOUT_MS: '300' } });
    try {
      h.slack.failNext('chat.postMessage', { kind: 'delay', ms: 800 }, { channel: PROD_CHANNEL });
      const { body } = await h.ingest(wrapFinding(finding()));
      await eventually(async () => (await alertRow(h, body.alertId)).card_ts, 15_000);
      await settle(500);
      expect(cardsFor(h, body.alertId)).toHaveLength(1);
      expect(h.slack.callsTo('chat.postMessage')).toHaveLength(1);
      expect(h.slack.callsTo('conversations.history').length).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  it('completes a post interrupted by a crash without posting twice', async () => {
    const h = await startHarness({ runWorker: false });
    try {
      const { body } = await h.ingest(wrapFinding(finding()));
      // Simulate a worker that posted and died before recording the ts:
      // the card is in Slack and the alert says a post had started.
      const loaded = await new PgCardStore(h.db.pool).load(String(body.alertId));
      if (!loaded) throw new Error('alert not stored');
      const card = h.app.cardSync.render(loaded);
      await fetch(`${h.slack.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: 'Bearer xoxb-test-token', 'content-type': 'application/json' },
        body: JSON.stringify({ channel: PROD_CHANNEL, ...card }),
      });
      await h.db.pool.query(
        'UPDATE alert SET card_channel_id = channel_id, card_post_started_at = now() WHERE id = $1',
        [body.alertId],
      );
      await h.db.pool.query(
        `UPDATE job SET status = 'running', locked_until = now() - interval '1 second' WHERE kind = 'card.sync' AND payload->>'alertId' = $1`,
        [body.alertId],
      );
      await h.restart();
      await eventually(async () => (await jobOf(h, body.alertId)).status === 'done', 20_000);
      expect(cardsFor(h, body.alertId)).toHaveLength(1);
      expect((await alertRow(h, body.alertId)).card_ts).toBe(cardsFor(h, body.alertId)[0]?.ts);
    } finally {
      await h.close();
    }
  });
});

describe('pacing and shutdown', () => {
  it('posts to one channel no faster than Slack allows, so Slack never has to refuse', async () => {
    const h = await startHarness({ env: { SLACK_CHANNEL_INTERVAL_MS: '1100', WORKER_CONCURRENCY: '4' } });
    try {
      h.slack.enforcePostRate({ perChannelPerSecond: 1 });
      const ids: unknown[] = [];
      for (let i = 0; i < 4; i++) ids.push((await h.ingest(wrapFinding(finding()))).body.alertId);
      await eventually(async () => ids.every((id) => cardsFor(h, id).length === 1), 15_000);
      const posts = h.slack.callsTo('chat.postMessage');
      expect(posts.map((p) => p.status)).toEqual([200, 200, 200, 200]);
      const gaps = posts.slice(1).map((p, i) => p.at - (posts[i]?.at ?? 0));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(950);
    } finally {
      await h.close();
    }
  });

  it('finishes a card in flight before stopping', async () => {
    const h = await startHarness();
    try {
      h.slack.failNext('chat.postMessage', { kind: 'delay', ms: 700 });
      const { body } = await h.ingest(wrapFinding(finding()));
      await h.slack.waitFor(() => h.slack.callsTo('chat.postMessage').length === 1);
      await h.app.stop();
      // stop() returned only after the post was answered and recorded.
      expect((await alertRow(h, body.alertId)).card_ts).toBe(cardsFor(h, body.alertId)[0]?.ts);
      expect((await jobOf(h, body.alertId)).status).toBe('done');
    } finally {
      await h.close();
    }
  });
});

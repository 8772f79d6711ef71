/**
 * A job's post happens once per job generation even when the job runs again
 * (a crash after the post, a timeout that posted, a lock that expired): the
 * post carries the job's key as message metadata, and a retried run looks for
 * it before posting.
 */
import { ACTION_IDS } from '../../app/slack/ids';
import { type Harness, PROD_CHANNEL, startHarness } from '../support/app-harness';
import { postedCard } from '../support/cards';
import { eventually } from '../support/eventually';
import { ALICE, click } from '../support/slack-interactions';

describe('posts made by jobs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const acknowledge = (alertId: string, ts: string) =>
    click(h, { actionId: ACTION_IDS.acknowledge, value: alertId, user: ALICE, channel: PROD_CHANNEL, messageTs: ts });

  async function acknowledged(): Promise<{ ts: string; key: string }> {
    const { alertId, ts } = await postedCard(h);
    await acknowledge(alertId, ts);
    await h.slack.waitFor(() => h.slack.replies(PROD_CHANNEL, ts)[0]);
    const job = await eventually(async () => {
      const r = await h.db.pool.query<{ key: string }>(
        `SELECT key FROM job WHERE kind = 'thread.post' AND payload->>'alertId' = $1 AND status = 'done'`,
        [alertId],
      );
      return r.rows[0];
    });
    return { ts, key: job.key };
  }

  it('carries the job key as metadata, and a re-run finds the reply instead of posting it again', async () => {
    const { ts, key } = await acknowledged();
    const [reply] = h.slack.replies(PROD_CHANNEL, ts);
    expect(reply?.metadata).toEqual({ event_type: 'kanshi_post', event_payload: { key: `${key}#1` } });

    // As if the worker had died after posting and its claim had expired: the job runs again.
    await h.db.pool.query(`UPDATE job SET status = 'pending', run_at = now() WHERE key = $1`, [key]);
    await eventually(async () => {
      const r = await h.db.pool.query<{ status: string; attempts: number }>(
        'SELECT status, attempts FROM job WHERE key = $1',
        [key],
      );
      return r.rows[0]?.status === 'done' && r.rows[0].attempts === 2;
    });
    expect(h.slack.callsTo('conversations.replies').some((c) => c.args.ts === ts)).toBe(true);
    expect(h.slack.replies(PROD_CHANNEL, ts)).toHaveLength(1);
  });

  it('posts on a re-run when the earlier run never reached Slack', async () => {
    const { alertId, ts } = await postedCard(h);
    // The timeline reply's first post fails (Slack answered 500): the retry looks, finds nothing, posts once.
    h.slack.failNext('chat.postMessage', { kind: 'http', status: 500 });
    await acknowledge(alertId, ts);
    const reply = await h.slack.waitFor(() => h.slack.replies(PROD_CHANNEL, ts)[0], 15_000);
    expect(reply.text).toContain(`<@${ALICE.id}> acknowledged this`);
    expect(h.slack.callsTo('conversations.replies').some((c) => c.args.ts === ts)).toBe(true);
    await eventually(async () => {
      const r = await h.db.pool.query<{ status: string }>(
        `SELECT status FROM job WHERE kind = 'thread.post' AND payload->>'alertId' = $1`,
        [alertId],
      );
      return r.rows[0]?.status === 'done';
    });
    expect(h.slack.replies(PROD_CHANNEL, ts)).toHaveLength(1);
  });
});

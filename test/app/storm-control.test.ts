/**
 * Storm control, end to end: thousands of findings for one channel over HTTP
 * to the real app, real PostgreSQL and the fake Slack. Past STORM_THRESHOLD
 * cards in a channel within the window, new alerts join one digest card per
 * finding type, which is edited in place and offers bulk triage.
 */

import { DIGEST_ACTION_IDS, DIGEST_CALLBACK_IDS, INPUT_IDS } from '../../app/slack/ids';
import type { FakeMessage } from '../fakes/fake-slack';
import {
  DEFAULT_CHANNEL,
  type Harness,
  PROD_ACCOUNT,
  PROD_CHANNEL,
  SECURITY_CHANNEL,
  startHarness,
} from '../support/app-harness';
import { freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { type Json, wrapFinding } from '../support/fixtures';
import {
  ALICE,
  BOB,
  click,
  openedView,
  SECENG,
  selectValue,
  slashCommand,
  submit,
  textValue,
} from '../support/slack-interactions';

const TYPES = [
  'UnauthorizedAccess:EC2/MaliciousIPCaller.Custom',
  'Recon:EC2/PortProbeUnprotectedPort',
  'UnauthorizedAccess:EC2/SSHBruteForce',
  'Backdoor:EC2/DenialOfService.Tcp',
] as const;
const INSTANCES_PER_TYPE = 25;
const STORM_SIZE = 5000;
const THRESHOLD = 20;
const CONCURRENCY = 16;

/** The n-th finding of a storm: types take turns, and each type hits INSTANCES_PER_TYPE instances. */
function stormFinding(n: number, accountId = PROD_ACCOUNT, types: readonly string[] = TYPES): Json {
  const f = freshFinding(accountId, { type: types[n % types.length] });
  const resource = f.resource as { instanceDetails: Json };
  const instance = Math.floor(n / types.length) % INSTANCES_PER_TYPE;
  return {
    ...f,
    resource: {
      ...resource,
      instanceDetails: { ...resource.instanceDetails, instanceId: `i-${String(instance).padStart(17, '0')}` },
    },
  };
}

/** Ingests every finding with at most `concurrency` requests in flight; returns the HTTP statuses. */
async function ingestAll(h: Harness, findings: Json[], concurrency = CONCURRENCY): Promise<number[]> {
  const statuses: number[] = new Array(findings.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < findings.length; i = next++) {
      statuses[i] = (await h.ingest(wrapFinding(findings[i] as Json))).status;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

async function query<T = Record<string, unknown>>(h: Harness, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await h.db.pool.query(sql, params)).rows as T[];
}

async function deliveries(h: Harness, channel: string): Promise<Record<string, number>> {
  const rows = await query<{ delivery: string; n: number }>(
    h,
    'SELECT delivery, count(*)::int AS n FROM alert WHERE channel_id = $1 GROUP BY delivery',
    [channel],
  );
  return Object.fromEntries(rows.map((r) => [r.delivery, r.n]));
}

/** Until no card or digest job is waiting or running: what Slack shows is then final. */
async function drained(h: Harness, timeoutMs = 30_000): Promise<void> {
  await eventually(async () => {
    const [r] = await query<{ n: number }>(
      h,
      `SELECT count(*)::int AS n FROM job
       WHERE kind IN ('card.sync', 'digest.sync', 'digest.bulk', 'digest.review', 'thread.post')
         AND status IN ('pending', 'running')`,
    );
    return r?.n === 0;
  }, timeoutMs);
}

function isDigestCard(m: FakeMessage): boolean {
  const id = (m.metadata as { event_payload?: { alert_id?: unknown } } | undefined)?.event_payload?.alert_id;
  return typeof id === 'string' && id.startsWith('digest:');
}

/** Top-level cards in the channel that are finding cards (not digests). */
function findingCards(h: Harness, channel: string): FakeMessage[] {
  return h.slack.messages(channel).filter((m) => !isDigestCard(m));
}

function digestCards(h: Harness, channel: string): FakeMessage[] {
  return h.slack.messages(channel).filter(isDigestCard);
}

interface DigestRow {
  id: string;
  finding_type: string;
  card_ts: string | null;
  closed_at: Date | null;
  total: number;
}

async function digests(h: Harness, channel: string): Promise<DigestRow[]> {
  return query<DigestRow>(
    h,
    `SELECT d.id::text, d.finding_type, d.card_ts, d.closed_at,
            (SELECT count(*)::int FROM alert a WHERE a.digest_id = d.id) AS total
     FROM storm_digest d WHERE d.channel_id = $1 ORDER BY d.id`,
    [channel],
  );
}

function digestOf(rows: DigestRow[], type: string): DigestRow {
  const d = rows.find((r) => r.finding_type === type && r.closed_at === null);
  if (!d) throw new Error(`no open digest for ${type}`);
  return d;
}

function cardOf(h: Harness, channel: string, digestId: string): FakeMessage {
  const card = digestCards(h, channel).find(
    (m) => (m.metadata as { event_payload: { alert_id: string } }).event_payload.alert_id === `digest:${digestId}`,
  );
  if (!card) throw new Error(`no card for digest ${digestId}`);
  return card;
}

const blocksOf = (m: FakeMessage) => JSON.stringify(m.blocks);

/** Sends `/alert <text>` as Alice from a channel; returns the reply posted to the response_url. */
async function slash(h: Harness, text: string, channel = PROD_CHANNEL) {
  return (await slashCommand(h, text, ALICE, channel)).text;
}

describe('storm control in a channel that gets thousands of findings', () => {
  let h: Harness;
  let carded = 0;
  beforeAll(async () => {
    h = await startHarness({
      env: { STORM_THRESHOLD: String(THRESHOLD), SECURITY_ENGINEER_IDS: SECENG.id },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('stores and lists all 5,000 alerts but posts only about the threshold in cards, plus one digest card per finding type', async () => {
    const statuses = await ingestAll(
      h,
      Array.from({ length: STORM_SIZE }, (_, n) => stormFinding(n)),
    );
    expect(statuses.filter((s) => s !== 202)).toEqual([]);

    const [{ n: stored } = { n: 0 }] = await query<{ n: number }>(h, 'SELECT count(*)::int AS n FROM alert');
    expect(stored).toBe(STORM_SIZE);
    const byDelivery = await deliveries(h, PROD_CHANNEL);
    carded = byDelivery.card ?? 0;
    expect(carded).toBeGreaterThanOrEqual(THRESHOLD);
    expect(carded).toBeLessThanOrEqual(THRESHOLD + CONCURRENCY);
    expect(byDelivery).toEqual({ card: carded, digest: STORM_SIZE - carded });

    // Every alert, carded or not, is in the channel's list.
    expect(await slash(h, 'list')).toContain(`: ${STORM_SIZE} alert(s)`);

    await drained(h);
    const posts = h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === PROD_CHANNEL);
    expect(posts.length).toBe(carded + TYPES.length);
    expect(posts.length).toBeLessThanOrEqual(40);
    expect(findingCards(h, PROD_CHANNEL)).toHaveLength(carded);

    // One digest per finding type, each with one card, edited in place to the final count.
    const rows = await digests(h, PROD_CHANNEL);
    expect(rows.map((r) => r.finding_type).sort()).toEqual([...TYPES].sort());
    expect(digestCards(h, PROD_CHANNEL)).toHaveLength(TYPES.length);
    expect(rows.reduce((sum, r) => sum + r.total, 0)).toBe(STORM_SIZE - carded);
    for (const d of rows) {
      const card = cardOf(h, PROD_CHANNEL, d.id);
      expect(card.ts).toBe(d.card_ts);
      expect(card.edits).toBeGreaterThan(0);
      expect(card.text).toBe(`${d.total} more ${d.finding_type} alerts (storm digest)`);
      expect(blocksOf(card)).toContain(`*${d.total} more* \`${d.finding_type}\` on ${INSTANCES_PER_TYPE} instances`);
      expect(blocksOf(card)).toContain(`${d.total} open`);
      expect(blocksOf(card)).toContain(`Acknowledge all ${d.total}`);
    }
    const updates = h.slack.callsTo('chat.update').filter((c) => c.args.channel === PROD_CHANNEL);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.every((u) => u.status === 200)).toBe(true);
    // Slack never had to refuse anything, and nothing failed.
    expect(h.slack.calls.filter((c) => c.status !== 200 && !c.method.startsWith('response/'))).toEqual([]);
    const failed = await query(h, `SELECT kind, last_error FROM job WHERE status = 'failed'`);
    expect(failed).toEqual([]);
  }, 90_000);

  it('lists a digest’s alerts in a modal, newest first, pointing at /alert list for the rest', async () => {
    const d = digestOf(await digests(h, PROD_CHANNEL), TYPES[2]);
    const opened = await click(h, {
      actionId: DIGEST_ACTION_IDS.list,
      value: d.id,
      user: BOB,
      channel: PROD_CHANNEL,
      messageTs: String(d.card_ts),
    });
    const call = await h.slack.waitFor(() =>
      h.slack.callsTo('views.open').find((c) => c.args.trigger_id === opened.triggerId),
    );
    const view = call.args.view as { callback_id: string; blocks: unknown[] };
    expect(view.callback_id).toBe(DIGEST_CALLBACK_IDS.list);
    expect(call.status).toBe(200);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain(`${d.total} × ${TYPES[2]}`);
    expect(text).toContain(`…and ${d.total - 45} more`);
    expect((text.match(/\/alert show /g) ?? []).length).toBe(45);
  });

  it('acknowledges every alert of a digest with one click, each audited once in the clicker’s name', async () => {
    const d = digestOf(await digests(h, PROD_CHANNEL), TYPES[0]);
    const res = await click(h, {
      actionId: DIGEST_ACTION_IDS.acknowledgeAll,
      value: d.id,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: String(d.card_ts),
    });
    expect(res.status).toBe(200);
    const reply = await h.slack.waitFor(() => h.slack.callsTo(res.responsePath)[0]);
    expect(String(reply.args.text)).toContain('Acknowledging every open alert of this digest');

    await eventually(async () => {
      const [r] = await query<{ n: number }>(
        h,
        `SELECT count(*)::int AS n FROM alert WHERE digest_id = $1 AND state = 'open'`,
        [d.id],
      );
      return r?.n === 0;
    }, 45_000);
    const states = await query<{ state: string; by: string; n: number }>(
      h,
      `SELECT state, acknowledged_by_id AS by, count(*)::int AS n FROM alert WHERE digest_id = $1 GROUP BY 1, 2`,
      [d.id],
    );
    expect(states).toEqual([{ state: 'acknowledged', by: ALICE.id, n: d.total }]);
    const audit = await query<{ action: string; outcome: string; actor_id: string; rows: number; alerts: number }>(
      h,
      `SELECT e.action, e.outcome, e.actor_id, count(*)::int AS rows, count(DISTINCT e.alert_id)::int AS alerts
       FROM audit_event e JOIN alert a ON a.id = e.alert_id WHERE a.digest_id = $1 GROUP BY 1, 2, 3`,
      [d.id],
    );
    expect(audit).toEqual([
      { action: 'acknowledge', outcome: 'applied', actor_id: ALICE.id, rows: d.total, alerts: d.total },
    ]);

    // Alerts in a digest have no card of their own, so no thread replies either.
    await drained(h);
    expect(h.slack.messages(PROD_CHANNEL).every((m) => h.slack.replies(PROD_CHANNEL, m.ts).length === 0)).toBe(true);
  }, 60_000);

  it('shows the acknowledgements on the digest card and stops offering bulk actions once none is open', async () => {
    const d = digestOf(await digests(h, PROD_CHANNEL), TYPES[0]);
    await drained(h);
    const card = cardOf(h, PROD_CHANNEL, d.id);
    expect(blocksOf(card)).toContain(`${d.total} acknowledged`);
    expect(blocksOf(card)).not.toContain(`${d.total} open`);
    expect(blocksOf(card)).not.toContain(DIGEST_ACTION_IDS.acknowledgeAll);
    expect(blocksOf(card)).not.toContain(DIGEST_ACTION_IDS.archiveAll);
    expect(blocksOf(card)).toContain(DIGEST_ACTION_IDS.list);
  });

  it('closes a digest once its storm has been quiet for the window, and edits its card to say the storm is over', async () => {
    const d = digestOf(await digests(h, PROD_CHANNEL), TYPES[3]);
    const editsBefore = cardOf(h, PROD_CHANNEL, d.id).edits;
    // Its last alert six minutes ago (the digest's times come from its alerts).
    await h.db.pool.query(`UPDATE alert SET created_at = now() - interval '6 minutes' WHERE digest_id = $1`, [d.id]);
    const moved = await h.db.pool.query(
      `UPDATE job SET run_at = now() WHERE kind = 'digest.close' AND key = $1 AND status = 'pending'`,
      [`digest-close:${d.id}`],
    );
    expect(moved.rowCount).toBe(1);
    await eventually(async () => {
      const [r] = await query<{ closed_at: Date | null }>(h, 'SELECT closed_at FROM storm_digest WHERE id = $1', [
        d.id,
      ]);
      return r?.closed_at instanceof Date;
    });
    await eventually(async () => blocksOf(cardOf(h, PROD_CHANNEL, d.id)).includes('Storm over'), 10_000);
    const card = cardOf(h, PROD_CHANNEL, d.id);
    expect(card.edits).toBeGreaterThan(editsBefore);
    expect(blocksOf(card)).toMatch(/Storm over: from \d\d:\d\d to \d\d:\d\d UTC\./);
    expect(blocksOf(card)).toContain(`*${d.total} more*`);
    // The digest card was edited, never posted again.
    expect(digestCards(h, PROD_CHANNEL)).toHaveLength(TYPES.length);
  });

  it('opens a new digest with a card of its own when the storm goes on after a digest closed', async () => {
    const before = await digests(h, PROD_CHANNEL);
    const closed = before.find((r) => r.finding_type === TYPES[3]);
    expect(closed?.closed_at).toBeInstanceOf(Date);
    expect(await ingestAll(h, [stormFinding(3), stormFinding(7)], 1)).toEqual([202, 202]);
    await drained(h);
    const reopened = digestOf(await digests(h, PROD_CHANNEL), TYPES[3]);
    expect(reopened.id).not.toBe(closed?.id);
    expect(reopened.total).toBe(2);
    expect(digestCards(h, PROD_CHANNEL)).toHaveLength(TYPES.length + 1);
    expect(cardOf(h, PROD_CHANNEL, reopened.id).text).toBe(`2 more ${TYPES[3]} alerts (storm digest)`);
    expect(findingCards(h, PROD_CHANNEL)).toHaveLength(carded);
  });

  it('keeps a digest open while its last alert is younger than the window, and looks again when it would be quiet', async () => {
    const d = digestOf(await digests(h, PROD_CHANNEL), TYPES[2]);
    const key = `digest-close:${d.id}`;
    await h.db.pool.query(`UPDATE alert SET created_at = now() - interval '2 minutes' WHERE digest_id = $1`, [d.id]);
    await h.db.pool.query(`UPDATE job SET run_at = now() WHERE key = $1 AND status = 'pending'`, [key]);
    // The job ran and put itself off until five minutes after the last alert.
    const job = await eventually(async () => {
      const [r] = await query<{ status: string; run_at: Date }>(
        h,
        `SELECT j.status, j.run_at FROM job j
         WHERE j.key = $1
           AND j.run_at = (SELECT max(created_at) FROM alert WHERE digest_id = $2) + interval '5 minutes'`,
        [key, d.id],
      );
      return r;
    });
    expect(job.status).toBe('pending');
    expect(job.run_at.getTime()).toBeGreaterThan(Date.now() + 60_000);
    const [row] = await query<{ closed_at: Date | null }>(h, 'SELECT closed_at FROM storm_digest WHERE id = $1', [
      d.id,
    ]);
    expect(row?.closed_at).toBeNull();
    expect(blocksOf(cardOf(h, PROD_CHANNEL, d.id))).not.toContain('Storm over');
  });
});

describe.each([
  { review: 'after', state: 'archived', shown: 'archived' },
  { review: 'before', state: 'archive_requested', shown: 'archive requested' },
])('Archive all on a small storm with ARCHIVE_REVIEW=$review', ({ review, state, shown }) => {
  const type = 'Recon:EC2/PortProbeUnprotectedPort';
  const reason = 'load balancer health checks from inside the VPC';
  let h: Harness;
  let d: DigestRow;
  beforeAll(async () => {
    h = await startHarness({ env: { STORM_THRESHOLD: '3', ARCHIVE_REVIEW: review, SECURITY_ENGINEER_IDS: SECENG.id } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('cards exactly the threshold when findings come one at a time, and digests the rest', async () => {
    const findings = Array.from({ length: 10 }, (_, n) => stormFinding(n, PROD_ACCOUNT, [type]));
    expect(await ingestAll(h, findings, 1)).toEqual(new Array(10).fill(202));
    expect(await deliveries(h, PROD_CHANNEL)).toEqual({ card: 3, digest: 7 });
    await drained(h);
    expect(findingCards(h, PROD_CHANNEL)).toHaveLength(3);
    const rows = await digests(h, PROD_CHANNEL);
    expect(rows).toHaveLength(1);
    d = rows[0] as DigestRow;
    expect(d.total).toBe(7);
    expect(cardOf(h, PROD_CHANNEL, d.id).text).toBe(`7 more ${type} alerts (storm digest)`);
  });

  it(`sets each open alert of the digest to ${state}, each audited with the category and reason`, async () => {
    const card = cardOf(h, PROD_CHANNEL, d.id);
    const opened = await click(h, {
      actionId: DIGEST_ACTION_IDS.archiveAll,
      value: d.id,
      user: BOB,
      channel: PROD_CHANNEL,
      messageTs: card.ts,
    });
    const view = await openedView(h, opened.triggerId);
    expect(view.callback_id).toBe(DIGEST_CALLBACK_IDS.archiveAll);
    expect(JSON.stringify(view)).toContain(`7 open ${type} alerts`);

    const values = (category: string | undefined, text: string) => ({
      ...(category ? { [INPUT_IDS.category.block]: { [INPUT_IDS.category.action]: selectValue(category) } } : {}),
      [INPUT_IDS.reason.block]: { [INPUT_IDS.reason.action]: textValue(text) },
    });
    const meta = { callbackId: DIGEST_CALLBACK_IDS.archiveAll, privateMetadata: view.private_metadata, user: BOB };
    const tooShort = await submit(h, { ...meta, values: values('false_positive', 'scan') });
    expect(JSON.parse(tooShort.body)).toEqual({
      response_action: 'errors',
      errors: { [INPUT_IDS.reason.block]: expect.stringContaining('at least 10 characters') },
    });
    const noCategory = await submit(h, { ...meta, values: values(undefined, reason) });
    expect(JSON.parse(noCategory.body)).toEqual({
      response_action: 'errors',
      errors: { [INPUT_IDS.category.block]: 'Choose why.' },
    });
    expect(await query(h, `SELECT id FROM alert WHERE state <> 'open'`)).toEqual([]);

    const ok = await submit(h, { ...meta, values: values('false_positive', reason) });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    const rows = await eventually(async () => {
      const r = await query<{ state: string; review_status: string; category: string; reason: string }>(
        h,
        `SELECT state, review_status, state_reason_category AS category, state_reason AS reason
         FROM alert WHERE digest_id = $1`,
        [d.id],
      );
      return r.every((a) => a.state === state) && r;
    }, 15_000);
    expect(rows).toEqual(new Array(7).fill({ state, review_status: 'pending', category: 'false_positive', reason }));
    const audit = await query(
      h,
      `SELECT e.action, e.outcome, e.to_state, e.reason_category, e.reason, e.actor_id,
              count(*)::int AS rows, count(DISTINCT e.alert_id)::int AS alerts
       FROM audit_event e JOIN alert a ON a.id = e.alert_id WHERE a.digest_id = $1 GROUP BY 1, 2, 3, 4, 5, 6`,
      [d.id],
    );
    expect(audit).toEqual([
      {
        action: 'archive',
        outcome: 'applied',
        to_state: state,
        reason_category: 'false_positive',
        reason,
        actor_id: BOB.id,
        rows: 7,
        alerts: 7,
      },
    ]);
    // The carded alerts were left alone.
    expect(await query(h, `SELECT id FROM alert WHERE delivery = 'card' AND state <> 'open'`)).toEqual([]);
    // Security reviews the bulk archive on one card, not one card per alert.
    const review = await h.slack.waitFor(() => h.slack.messages(SECURITY_CHANNEL)[0], 15_000);
    await drained(h);
    expect(h.slack.messages(SECURITY_CHANNEL)).toHaveLength(1);
    expect(review.text).toBe(`Review: 7 ${type} alerts archived at once`);
    const text = JSON.stringify(review.blocks);
    expect(text).toContain(`<@${BOB.id}> archived *7*`);
    expect(text).toContain('Waiting for review: 7 · approved: 0 · rejected: 0');
    expect(text).toContain(reason);
    expect(text).toContain(DIGEST_ACTION_IDS.approveAll);
  });

  it(`shows the alerts as ${shown} on the digest card`, async () => {
    await drained(h);
    const card = cardOf(h, PROD_CHANNEL, d.id);
    expect(blocksOf(card)).toContain(`7 ${shown}`);
    expect(blocksOf(card)).not.toContain('7 open');
    expect(blocksOf(card)).not.toContain(DIGEST_ACTION_IDS.archiveAll);
  });

  it('refuses Approve all to someone who is not a security engineer, auditing the attempt once', async () => {
    const review = h.slack.messages(SECURITY_CHANNEL)[0] as FakeMessage;
    await click(h, {
      actionId: DIGEST_ACTION_IDS.approveAll,
      value: d.id,
      user: BOB,
      channel: SECURITY_CHANNEL,
      messageTs: review.ts,
    });
    // The click is answered before the bulk job is queued: wait for its audit row, then for the queue.
    const approvals = () =>
      query(
        h,
        `SELECT e.actor_id, e.outcome FROM audit_event e JOIN alert a ON a.id = e.alert_id
         WHERE a.digest_id = $1 AND e.action = 'approve_archive'`,
        [d.id],
      );
    await eventually(async () => (await approvals()).length > 0, 15_000);
    await drained(h);
    expect(await approvals()).toEqual([{ actor_id: BOB.id, outcome: 'refused' }]);
    expect(await query(h, `SELECT DISTINCT review_status FROM alert WHERE digest_id = $1`, [d.id])).toEqual([
      { review_status: 'pending' },
    ]);
  });

  it('approves every archive of the digest for a security engineer, each audited, and updates the one review card', async () => {
    const review = h.slack.messages(SECURITY_CHANNEL)[0] as FakeMessage;
    await click(h, {
      actionId: DIGEST_ACTION_IDS.approveAll,
      value: d.id,
      user: SECENG,
      channel: SECURITY_CHANNEL,
      messageTs: review.ts,
    });
    await eventually(async () => {
      const r = await query(h, `SELECT DISTINCT review_status, state FROM alert WHERE digest_id = $1`, [d.id]);
      return r.length === 1 && r[0]?.review_status === 'approved' && r[0]?.state === 'archived';
    }, 15_000);
    const audit = await query(
      h,
      `SELECT count(*)::int AS rows, count(DISTINCT e.alert_id)::int AS alerts FROM audit_event e
       JOIN alert a ON a.id = e.alert_id
       WHERE a.digest_id = $1 AND e.action = 'approve_archive' AND e.outcome = 'applied' AND e.actor_id = $2`,
      [d.id, SECENG.id],
    );
    expect(audit).toEqual([{ rows: 7, alerts: 7 }]);
    await drained(h);
    expect(h.slack.messages(SECURITY_CHANNEL)).toHaveLength(1);
    const updated = JSON.stringify((h.slack.messages(SECURITY_CHANNEL)[0] as FakeMessage).blocks);
    expect(updated).toContain('Waiting for review: 0 · approved: 7 · rejected: 0');
    expect(updated).not.toContain(DIGEST_ACTION_IDS.approveAll);
  });
});

describe('without a storm', () => {
  it('posts one card per alert in a quiet channel, below the threshold', async () => {
    const h = await startHarness({ env: { STORM_THRESHOLD: String(THRESHOLD) } });
    try {
      const findings = Array.from({ length: THRESHOLD - 1 }, (_, n) => stormFinding(n));
      expect(await ingestAll(h, findings)).toEqual(new Array(THRESHOLD - 1).fill(202));
      // Another channel's storm does not touch this one.
      const other = Array.from({ length: THRESHOLD + 5 }, (_, n) => stormFinding(n, '555566667777'));
      expect(await ingestAll(h, other, 1)).toEqual(new Array(THRESHOLD + 5).fill(202));
      await drained(h);
      expect(await deliveries(h, PROD_CHANNEL)).toEqual({ card: THRESHOLD - 1 });
      expect(findingCards(h, PROD_CHANNEL)).toHaveLength(THRESHOLD - 1);
      expect(digestCards(h, PROD_CHANNEL)).toEqual([]);
      expect(await deliveries(h, DEFAULT_CHANNEL)).toEqual({ card: THRESHOLD, digest: 5 });
      expect(digestCards(h, DEFAULT_CHANNEL)).toHaveLength(TYPES.length);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('posts one card per alert when storm control is off', async () => {
    const h = await startHarness({ env: { STORM_THRESHOLD: '0' } });
    try {
      const n = 60;
      const statuses = await ingestAll(
        h,
        Array.from({ length: n }, (_, i) => stormFinding(i)),
      );
      expect(statuses).toEqual(new Array(n).fill(202));
      await drained(h);
      expect(await deliveries(h, PROD_CHANNEL)).toEqual({ card: n });
      expect(findingCards(h, PROD_CHANNEL)).toHaveLength(n);
      expect(digestCards(h, PROD_CHANNEL)).toEqual([]);
      expect(await query(h, 'SELECT id FROM storm_digest')).toEqual([]);
    } finally {
      await h.close();
    }
  }, 60_000);
});

describe('a storm longer than the window', () => {
  it('keeps digesting while the channel has an open digest, even after its first cards are older than the window', async () => {
    const h = await startHarness({ env: { STORM_THRESHOLD: '3' } });
    try {
      const type = 'Recon:EC2/Portscan';
      const first = Array.from({ length: 5 }, (_, n) => stormFinding(n, PROD_ACCOUNT, [type]));
      expect(await ingestAll(h, first, 1)).toEqual(new Array(5).fill(202));
      expect(await deliveries(h, PROD_CHANNEL)).toEqual({ card: 3, digest: 2 });
      // Ten minutes later by the database's clock: the cards left the window, the digest is still open.
      await h.db.pool.query(`UPDATE alert SET created_at = created_at - interval '10 minutes' WHERE delivery = 'card'`);
      // Another type joins the same storm: it gets a digest of its own, not cards.
      const more = Array.from({ length: 4 }, (_, n) =>
        stormFinding(100 + n, PROD_ACCOUNT, ['Recon:EC2/PortProbeEMRUnprotectedPort']),
      );
      expect(await ingestAll(h, more, 1)).toEqual(new Array(4).fill(202));
      expect(await deliveries(h, PROD_CHANNEL)).toEqual({ card: 3, digest: 6 });
      await drained(h);
      expect(findingCards(h, PROD_CHANNEL)).toHaveLength(3);
      expect(digestCards(h, PROD_CHANNEL)).toHaveLength(2);

      // Once every digest is closed and the cards are old, the channel is quiet again: cards resume.
      await h.db.pool.query(`UPDATE storm_digest SET closed_at = now()`);
      expect(await ingestAll(h, [stormFinding(200, PROD_ACCOUNT, [type])], 1)).toEqual([202]);
      expect(await deliveries(h, PROD_CHANNEL)).toEqual({ card: 4, digest: 6 });
    } finally {
      await h.close();
    }
  }, 60_000);
});

describe('Reject all on a digest’s review card', () => {
  it('reopens every archive of the digest with the reviewer’s comment, each audited, after asking for the comment', async () => {
    const h = await startHarness({ env: { STORM_THRESHOLD: '2', SECURITY_ENGINEER_IDS: SECENG.id } });
    try {
      const type = 'Recon:EC2/Portscan';
      const findings = Array.from({ length: 6 }, (_, n) => stormFinding(300 + n, PROD_ACCOUNT, [type]));
      expect(await ingestAll(h, findings, 1)).toEqual(new Array(6).fill(202));
      await drained(h);
      const [digest] = await digests(h, PROD_CHANNEL);
      if (!digest) throw new Error('no digest');
      const digestCard = cardOf(h, PROD_CHANNEL, digest.id);
      const opened = await click(h, {
        actionId: DIGEST_ACTION_IDS.archiveAll,
        value: digest.id,
        user: BOB,
        channel: PROD_CHANNEL,
        messageTs: digestCard.ts,
      });
      const archiveView = await openedView(h, opened.triggerId);
      await submit(h, {
        callbackId: DIGEST_CALLBACK_IDS.archiveAll,
        privateMetadata: archiveView.private_metadata,
        user: BOB,
        values: {
          [INPUT_IDS.category.block]: { [INPUT_IDS.category.action]: selectValue('expected_activity') },
          [INPUT_IDS.reason.block]: { [INPUT_IDS.reason.action]: textValue('our own scanner, ticket SEC-42') },
        },
      });
      const review = await h.slack.waitFor(() => h.slack.messages(SECURITY_CHANNEL)[0], 15_000);

      const rejecting = await click(h, {
        actionId: DIGEST_ACTION_IDS.rejectAll,
        value: digest.id,
        user: SECENG,
        channel: SECURITY_CHANNEL,
        messageTs: review.ts,
      });
      const view = await openedView(h, rejecting.triggerId);
      expect(view.callback_id).toBe(DIGEST_CALLBACK_IDS.rejectAll);
      const meta = { callbackId: DIGEST_CALLBACK_IDS.rejectAll, privateMetadata: view.private_metadata, user: SECENG };
      const blank = await submit(h, {
        ...meta,
        values: { [INPUT_IDS.comment.block]: { [INPUT_IDS.comment.action]: textValue(' ') } },
      });
      expect(JSON.parse(blank.body).response_action).toBe('errors');
      const comment = 'not our scanner: its source is outside our ranges';
      await submit(h, {
        ...meta,
        values: { [INPUT_IDS.comment.block]: { [INPUT_IDS.comment.action]: textValue(comment) } },
      });

      const rows = await eventually(async () => {
        const r = await query<{ review_status: string; review_comment: string }>(
          h,
          'SELECT review_status, review_comment FROM alert WHERE digest_id = $1',
          [digest.id],
        );
        return r.length === 4 && r.every((a) => a.review_status === 'rejected') && r;
      }, 15_000);
      expect(rows).toEqual(new Array(4).fill({ review_status: 'rejected', review_comment: comment }));
      const audit = await query(
        h,
        `SELECT count(DISTINCT e.alert_id)::int AS alerts, count(*)::int AS rows FROM audit_event e
         JOIN alert a ON a.id = e.alert_id
         WHERE a.digest_id = $1 AND e.action = 'reject_archive' AND e.outcome = 'applied' AND e.reason = $2`,
        [digest.id, comment],
      );
      expect(audit).toEqual([{ alerts: 4, rows: 4 }]);
      await drained(h);
      expect(h.slack.messages(SECURITY_CHANNEL)).toHaveLength(1);
      expect(JSON.stringify(h.slack.messages(SECURITY_CHANNEL)[0]?.blocks)).toContain(
        'Waiting for review: 0 · approved: 0 · rejected: 4',
      );
    } finally {
      await h.close();
    }
  }, 60_000);
});

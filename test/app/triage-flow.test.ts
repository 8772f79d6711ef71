/**
 * Triage from the card, end to end: signed clicks and modal submissions to
 * the real Bolt app, the fake Slack, real PostgreSQL, and GuardDuty through
 * aws-sdk-client-mock.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ArchiveFindingsCommand } from '@aws-sdk/client-guardduty';
import { ACTION_IDS, CALLBACK_IDS, INPUT_IDS } from '../../app/slack/ids';
import { type Harness, PROD_CHANNEL, SECURITY_CHANNEL, startHarness } from '../support/app-harness';
import { ADMIN_ROLE_ARN, gd, mockHealthyAws } from '../support/aws-mocks';
import { alertRow, auditTrail, cardsFor, postedCard } from '../support/cards';
import { eventually } from '../support/eventually';
import { ALICE, BOB, click, openedView, SECENG, selectValue, submit, textValue } from '../support/slack-interactions';

process.env.AWS_REGION = 'us-east-1';

function lastCard(h: Harness, alertId: string) {
  const card = cardsFor(h, alertId)[0];
  if (!card) throw new Error('no card');
  return JSON.stringify(card.blocks);
}

async function response(h: Harness, path: string): Promise<string> {
  const call = await h.slack.waitFor(() => h.slack.callsTo(path)[0]);
  return String(call.args.text);
}

describe('triage from the card', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        SECURITY_ENGINEER_IDS: SECENG.id,
        GUARDDUTY_ADMIN_ROLE_ARN: ADMIN_ROLE_ARN,
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => mockHealthyAws());

  it('acknowledges: the card says who and when, the thread says so, and the audit has one row', async () => {
    const { alertId, ts } = await postedCard(h);
    const res = await click(h, {
      actionId: ACTION_IDS.acknowledge,
      value: alertId,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    expect(res.status).toBe(200);
    await eventually(async () => lastCard(h, alertId).includes(`Acknowledged* by <@${ALICE.id}>`));
    expect(lastCard(h, alertId)).toContain('after the alert');
    expect(lastCard(h, alertId)).toContain(ACTION_IDS.resolve);
    expect(lastCard(h, alertId)).not.toContain(ACTION_IDS.acknowledge);
    const reply = await h.slack.waitFor(() => h.slack.replies(PROD_CHANNEL, ts)[0]);
    expect(reply.text).toContain(`<@${ALICE.id}> acknowledged this`);
    const rows = await auditTrail(h, alertId);
    expect(
      rows.map((r) => [r.action, r.outcome, r.actor_id, r.from_state, r.to_state, r.slack_channel, r.slack_message_ts]),
    ).toEqual([['acknowledge', 'applied', ALICE.id, 'open', 'acknowledged', PROD_CHANNEL, ts]]);
    const row = await alertRow(h, alertId);
    expect(row.acknowledged_by_id).toBe(ALICE.id);
    expect(row.acknowledged_at).toBeInstanceOf(Date);
  });

  it('lets the first of two clicks win and tells the second who acted first', async () => {
    const { alertId, ts } = await postedCard(h);
    const [a, b] = await Promise.all([
      click(h, { actionId: ACTION_IDS.acknowledge, value: alertId, user: ALICE, channel: PROD_CHANNEL, messageTs: ts }),
      click(h, { actionId: ACTION_IDS.acknowledge, value: alertId, user: BOB, channel: PROD_CHANNEL, messageTs: ts }),
    ]);
    const rows = await eventually(async () => {
      const r = await auditTrail(h, alertId);
      return r.length === 2 && r;
    });
    const applied = rows.filter((r) => r.outcome === 'applied');
    const refused = rows.filter((r) => r.outcome === 'refused');
    expect(applied).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const loser = refused[0]?.actor_id === ALICE.id ? a : b;
    const winner = applied[0]?.actor_id as string;
    expect(await response(h, loser.responsePath)).toMatch(new RegExp(`^Already acknowledged by <@${winner}>`));
  });

  it('archives with a reason after validating it, archives in GuardDuty, and asks security to review', async () => {
    const { alertId, ts, findingId } = await postedCard(h);
    const opened = await click(h, {
      actionId: ACTION_IDS.archive,
      value: alertId,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    const view = await openedView(h, opened.triggerId);
    expect(view.callback_id).toBe(CALLBACK_IDS.archive);
    expect(JSON.parse(view.private_metadata)).toEqual({ alertId, channel: PROD_CHANNEL, messageTs: ts });

    const tooShort = await submit(h, {
      callbackId: CALLBACK_IDS.archive,
      privateMetadata: view.private_metadata,
      user: ALICE,
      values: {
        [INPUT_IDS.category.block]: { [INPUT_IDS.category.action]: selectValue('false_positive') },
        [INPUT_IDS.reason.block]: { [INPUT_IDS.reason.action]: textValue('too short') },
      },
    });
    expect(JSON.parse(tooShort.body)).toEqual({
      response_action: 'errors',
      errors: { [INPUT_IDS.reason.block]: expect.stringContaining('at least 10 characters') },
    });
    expect((await alertRow(h, alertId)).state).toBe('open');

    const ok = await submit(h, {
      callbackId: CALLBACK_IDS.archive,
      privateMetadata: view.private_metadata,
      user: ALICE,
      values: {
        [INPUT_IDS.category.block]: { [INPUT_IDS.category.action]: selectValue('false_positive') },
        [INPUT_IDS.reason.block]: { [INPUT_IDS.reason.action]: textValue('scanner from our own VPC <!channel>') },
      },
    });
    expect(ok.status).toBe(200);
    await eventually(async () => (await alertRow(h, alertId)).gd_archived === true);
    const calls = gd.commandCalls(ArchiveFindingsCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([{ DetectorId: 'admin-detector-1', FindingIds: [findingId] }]);
    expect((await alertRow(h, alertId)).gd_archived_at).toBeInstanceOf(Date);

    const review = await h.slack.waitFor(() =>
      h.slack.messages(SECURITY_CHANNEL).find((m) => JSON.stringify(m.blocks).includes(alertId)),
    );
    const reviewText = JSON.stringify(review.blocks);
    expect(reviewText).toContain('false positive');
    expect(reviewText).toContain('scanner from our own VPC &lt;!channel&gt;');
    expect(reviewText).toContain(ACTION_IDS.approveArchive);
    expect(reviewText).toContain(ACTION_IDS.rejectArchive);
    await eventually(async () => lastCard(h, alertId).includes('Archived* by'));
    const reply = await h.slack.waitFor(() => h.slack.replies(PROD_CHANNEL, ts)[0]);
    expect(reply.text).toBe(
      `:file_cabinet: <@${ALICE.id}> archived this as false positive: “scanner from our own VPC &lt;!channel&gt;”`,
    );

    // Someone who is not a security engineer cannot approve: refused and audited.
    const refused = await click(h, {
      actionId: ACTION_IDS.approveArchive,
      value: alertId,
      user: BOB,
      channel: SECURITY_CHANNEL,
      messageTs: review.ts,
    });
    expect(await response(h, refused.responsePath)).toContain('Only security engineers');
    const approved = await click(h, {
      actionId: ACTION_IDS.approveArchive,
      value: alertId,
      user: SECENG,
      channel: SECURITY_CHANNEL,
      messageTs: review.ts,
    });
    expect(approved.status).toBe(200);
    await eventually(async () => (await alertRow(h, alertId)).review_status === 'approved');
    await eventually(async () =>
      JSON.stringify(h.slack.messages(SECURITY_CHANNEL).find((m) => m.ts === review.ts)?.blocks).includes(
        `Approved by <@${SECENG.id}>`,
      ),
    );
    const rows = await auditTrail(h, alertId);
    expect(rows.map((r) => [r.action, r.outcome, r.actor_id])).toEqual([
      ['archive', 'applied', ALICE.id],
      ['approve_archive', 'refused', BOB.id],
      ['approve_archive', 'applied', SECENG.id],
    ]);
    expect(rows[1]?.detail).toEqual({ why: 'not_authorised' });
    // The archive's audit row says which runbook the responder had, by content hash.
    const file = readFileSync(resolve(__dirname, '..', '..', 'runbooks', 'ec2-unauthorized-access.md'), 'utf8');
    expect(rows[0]?.detail).toEqual({
      runbook: {
        file: 'ec2-unauthorized-access.md',
        sha256: createHash('sha256').update(file).digest('hex'),
        guidance: 'specific',
      },
    });
  });

  it('opens the runbook for the finding type from the card', async () => {
    const { alertId, ts } = await postedCard(h);
    const opened = await click(h, {
      actionId: ACTION_IDS.runbook,
      value: alertId,
      user: BOB,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    const call = await h.slack.waitFor(() =>
      h.slack.callsTo('views.open').find((c) => c.args.trigger_id === opened.triggerId),
    );
    const view = JSON.stringify(call.args.view);
    expect(view).toContain('UnauthorizedAccess:EC2/MaliciousIPCaller.Custom');
    expect(view).toContain('*How to tell a false positive*');
    // Reading the runbook changes nothing.
    expect(await auditTrail(h, alertId)).toEqual([]);
  });
});

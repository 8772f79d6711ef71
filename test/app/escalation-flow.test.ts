/**
 * Escalation, review rejection, resolution, paging, nudges and GuardDuty
 * edge cases, through signed requests to the real app.
 */
import { ArchiveFindingsCommand, UnarchiveFindingsCommand } from '@aws-sdk/client-guardduty';
import { ACTION_IDS, CALLBACK_IDS, INPUT_IDS } from '../../app/slack/ids';
import { FakePagerDuty } from '../fakes/fake-pagerduty';
import { type Harness, PROD_CHANNEL, SECURITY_CHANNEL, startHarness } from '../support/app-harness';
import { ADMIN_ROLE_ARN, gd, mockHealthyAws } from '../support/aws-mocks';
import { alertRow, auditTrail, cardJson, cardsFor, postedCard } from '../support/cards';
import { eventually } from '../support/eventually';
import { type Json, wrapFinding } from '../support/fixtures';
import { ALICE, BOB, click, openedView, SECENG, selectValue, submit, textValue } from '../support/slack-interactions';

process.env.AWS_REGION = 'us-east-1';
const GROUP = 'S0SECURITY1';

function securityMessage(h: Harness, text: string) {
  return h.slack.messages(SECURITY_CHANNEL).find((m) => JSON.stringify(m.blocks ?? m.text).includes(text));
}

/** GuardDuty failure notices posted in the security channel. */
function securityNotices(h: Harness): number {
  return h.slack.messages(SECURITY_CHANNEL).filter((m) => String(m.text).includes('could not archive')).length;
}

async function noticeJobs(h: Harness): Promise<number> {
  const r = await h.db.pool.query(`SELECT count(*)::int AS n FROM job WHERE kind = 'guardduty.notice'`);
  return r.rows[0].n as number;
}

async function archiveAs(h: Harness, alertId: string, ts: string) {
  const opened = await click(h, {
    actionId: ACTION_IDS.archive,
    value: alertId,
    user: ALICE,
    channel: PROD_CHANNEL,
    messageTs: ts,
  });
  const view = await openedView(h, opened.triggerId);
  await submit(h, {
    callbackId: CALLBACK_IDS.archive,
    privateMetadata: view.private_metadata,
    user: ALICE,
    values: {
      [INPUT_IDS.category.block]: { [INPUT_IDS.category.action]: selectValue('expected_activity') },
      [INPUT_IDS.reason.block]: { [INPUT_IDS.reason.action]: textValue('nightly backup job talks to this host') },
    },
  });
}

describe('escalation, review and paging', () => {
  let h: Harness;
  const pd = new FakePagerDuty();
  beforeAll(async () => {
    await pd.start();
    h = await startHarness({
      env: {
        SECURITY_ENGINEER_IDS: SECENG.id,
        SECURITY_USERGROUP_ID: GROUP,
        GUARDDUTY_ADMIN_ROLE_ARN: ADMIN_ROLE_ARN,
        PAGERDUTY_ROUTING_KEY: 'R0UTINGKEY0123456789abcdef',
        PAGERDUTY_EVENTS_URL: pd.url,
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await pd.stop();
  });
  beforeEach(() => {
    mockHealthyAws();
    pd.reset();
  });

  it('rejecting an archive unarchives the finding in GuardDuty and reopens the alert with the comment in its thread', async () => {
    const { alertId, ts, finding } = await postedCard(h);
    await archiveAs(h, alertId, ts);
    await eventually(async () => (await alertRow(h, alertId)).gd_archived === true);
    const review = await h.slack.waitFor(() => securityMessage(h, alertId));
    // Someone who is not a security engineer gets no modal: refused and audited.
    const bobTries = await click(h, {
      actionId: ACTION_IDS.rejectArchive,
      value: alertId,
      user: BOB,
      channel: SECURITY_CHANNEL,
      messageTs: review.ts,
    });
    const refusal = await h.slack.waitFor(() => h.slack.callsTo(bobTries.responsePath)[0]);
    expect(refusal.args.text).toContain('Only security engineers');
    expect(h.slack.callsTo('views.open').find((c) => c.args.trigger_id === bobTries.triggerId)).toBeUndefined();
    expect((await auditTrail(h, alertId)).filter((r) => r.outcome === 'refused')).toEqual([
      expect.objectContaining({ action: 'reject_archive', actor_id: BOB.id }),
    ]);
    const rejectClick = await click(h, {
      actionId: ACTION_IDS.rejectArchive,
      value: alertId,
      user: SECENG,
      channel: SECURITY_CHANNEL,
      messageTs: review.ts,
    });
    const view = await openedView(h, rejectClick.triggerId);
    expect(view.callback_id).toBe(CALLBACK_IDS.reject);
    await submit(h, {
      callbackId: CALLBACK_IDS.reject,
      privateMetadata: view.private_metadata,
      user: SECENG,
      values: {
        [INPUT_IDS.comment.block]: {
          [INPUT_IDS.comment.action]: textValue('that host has no backup job; investigate'),
        },
      },
    });
    await eventually(async () => {
      const r = await alertRow(h, alertId);
      return r.state === 'open' && r.gd_archived === false && r;
    });
    expect(gd.commandCalls(UnarchiveFindingsCommand).map((c) => c.args[0].input.FindingIds)).toEqual([[finding.id]]);
    const reply = await h.slack.waitFor(() =>
      h.slack.replies(PROD_CHANNEL, ts).find((m) => String(m.text).includes('rejected')),
    );
    expect(reply.text).toContain('that host has no backup job; investigate');
    await eventually(async () => cardJson(h, alertId).includes('Archive rejected by'));
    expect(cardJson(h, alertId)).toContain(ACTION_IDS.acknowledge);
  });

  it('escalates with a note, pages PagerDuty, lets a security engineer take it, and resolves the page on resolve', async () => {
    const { alertId, ts } = await postedCard(h);
    const opened = await click(h, {
      actionId: ACTION_IDS.escalate,
      value: alertId,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    const view = await openedView(h, opened.triggerId);
    await submit(h, {
      callbackId: CALLBACK_IDS.escalate,
      privateMetadata: view.private_metadata,
      user: ALICE,
      values: { [INPUT_IDS.note.block]: { [INPUT_IDS.note.action]: textValue('looks like real exfiltration') } },
    });
    const escalation = await h.slack.waitFor(() => securityMessage(h, ACTION_IDS.take));
    const text = JSON.stringify(escalation.blocks);
    expect(text).toContain(`<!subteam^${GROUP}>`);
    expect(text).toContain(`<@${ALICE.id}> escalated this alert`);
    expect(text).toContain(`https://slack.com/archives/${PROD_CHANNEL}/p${ts.replace('.', '')}`);
    const trigger = await eventually(async () => pd.events.find((e) => (e.body as Json).event_action === 'trigger'));
    expect(trigger.body).toEqual(
      expect.objectContaining({ dedup_key: alertId, routing_key: 'R0UTINGKEY0123456789abcdef' }),
    );

    await click(h, {
      actionId: ACTION_IDS.take,
      value: alertId,
      user: SECENG,
      channel: SECURITY_CHANNEL,
      messageTs: escalation.ts,
    });
    await eventually(async () =>
      JSON.stringify(h.slack.messages(SECURITY_CHANNEL).find((m) => m.ts === escalation.ts)?.blocks).includes(
        `Taken by <@${SECENG.id}>`,
      ),
    );
    await eventually(async () => cardJson(h, alertId).includes(`Taken by <@${SECENG.id}>`));

    const resolveClick = await click(h, {
      actionId: ACTION_IDS.resolve,
      value: alertId,
      user: SECENG,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    const resolveView = await openedView(h, resolveClick.triggerId);
    await submit(h, {
      callbackId: CALLBACK_IDS.resolve,
      privateMetadata: resolveView.private_metadata,
      user: SECENG,
      values: { [INPUT_IDS.note.block]: { [INPUT_IDS.note.action]: textValue('keys rotated, instance rebuilt') } },
    });
    const resolve = await eventually(async () => pd.events.find((e) => (e.body as Json).event_action === 'resolve'));
    expect((resolve.body as Json).dedup_key).toBe(alertId);
    const row = await alertRow(h, alertId);
    expect(row).toEqual(expect.objectContaining({ state: 'resolved', assignee_id: SECENG.id }));
    expect(row.disposed_at).toBeInstanceOf(Date);
    // The call is recorded after PagerDuty answers, so wait for the row rather than the request.
    const calls = await eventually(async () => {
      const r = await h.db.pool.query('SELECT action, ok, http_status FROM page_call WHERE alert_id = $1 ORDER BY id', [
        alertId,
      ]);
      return r.rows.length === 2 && r;
    });
    expect(calls.rows).toEqual([
      { action: 'trigger', ok: true, http_status: 202 },
      { action: 'resolve', ok: true, http_status: 202 },
    ]);
    expect((await auditTrail(h, alertId)).map((r) => r.action)).toEqual(['escalate', 'take', 'resolve']);
  });

  it('retries a page PagerDuty answers with 500, recording every call', async () => {
    pd.failNext(500);
    const { alertId, ts } = await postedCard(h);
    const opened = await click(h, {
      actionId: ACTION_IDS.escalate,
      value: alertId,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    const view = await openedView(h, opened.triggerId);
    await submit(h, {
      callbackId: CALLBACK_IDS.escalate,
      privateMetadata: view.private_metadata,
      user: ALICE,
      values: {},
    });
    await eventually(async () => {
      const r = await h.db.pool.query('SELECT ok, http_status FROM page_call WHERE alert_id = $1 ORDER BY id', [
        alertId,
      ]);
      return r.rows.length === 2 && r.rows;
    }, 15_000).then((rows) =>
      expect(rows).toEqual([
        { ok: false, http_status: 500 },
        { ok: true, http_status: 202 },
      ]),
    );
  });

  it('shows a permanent GuardDuty failure on the card and tells the security channel', async () => {
    gd.on(ArchiveFindingsCommand).rejects(
      Object.assign(new Error('not allowed'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }),
    );
    const { alertId, ts } = await postedCard(h);
    await archiveAs(h, alertId, ts);
    await eventually(async () => (await alertRow(h, alertId)).gd_sync_error);
    expect(String((await alertRow(h, alertId)).gd_sync_error)).toContain('AccessDeniedException');
    await eventually(async () => cardJson(h, alertId).includes('GuardDuty archiving failed'));
    await h.slack.waitFor(() =>
      h.slack.messages(SECURITY_CHANNEL).find((m) => String(m.text).includes('could not archive')),
    );
  });

  it('tells the security channel once per failure spell in a region, and again once a call there has worked', async () => {
    const denied = Object.assign(new Error('not allowed'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    // A spell left open by an earlier test would keep this one quiet.
    await h.db.pool.query('DELETE FROM guardduty_health');
    const noticesBefore = await noticeJobs(h);
    const postedBefore = securityNotices(h);
    const archived = async (until: (row: Record<string, unknown>) => unknown) => {
      const { alertId, ts } = await postedCard(h);
      await archiveAs(h, alertId, ts);
      await eventually(async () => until(await alertRow(h, alertId)));
    };
    gd.on(ArchiveFindingsCommand).rejects(denied);
    await archived((row) => row.gd_sync_error);
    await archived((row) => row.gd_sync_error);
    // The notice job is armed with the failure, in its transaction: what is there now is all.
    expect((await noticeJobs(h)) - noticesBefore).toBe(1);
    gd.on(ArchiveFindingsCommand).resolves({});
    await archived((row) => row.gd_archived);
    gd.on(ArchiveFindingsCommand).rejects(denied);
    await archived((row) => row.gd_sync_error);
    expect((await noticeJobs(h)) - noticesBefore).toBe(2);
    // Both are posted.
    await eventually(async () => securityNotices(h) - postedBefore === 2);
  });

  it('archives the alert when GuardDuty says the finding was archived elsewhere, without a new card', async () => {
    const { alertId, finding } = await postedCard(h, { updatedAt: '2026-05-01T00:00:00.000Z' });
    const archived = {
      ...finding,
      updatedAt: '2026-05-01T01:00:00.000Z',
      service: { ...(finding.service as Json), archived: true },
    };
    const res = await h.ingest(wrapFinding(archived));
    expect(res.body).toEqual(expect.objectContaining({ status: 'updated', alertId }));
    await eventually(async () => (await alertRow(h, alertId)).state === 'archived');
    expect((await auditTrail(h, alertId)).map((r) => [r.action, r.actor_id])).toEqual([
      ['archived_in_guardduty', 'guardduty'],
    ]);
    await eventually(async () => cardJson(h, alertId).includes('Archived*'));
    expect(cardsFor(h, alertId)).toHaveLength(1);
    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(0);
  });

  it('reopens an archived alert when a newer update arrives, and the card says it recurred', async () => {
    const { alertId, ts, finding } = await postedCard(h, { updatedAt: '2026-06-01T00:00:00.000Z' });
    await archiveAs(h, alertId, ts);
    await eventually(async () => (await alertRow(h, alertId)).gd_archived === true);
    const later = new Date(Date.now() + 60_000).toISOString();
    await h.ingest(wrapFinding({ ...finding, updatedAt: later, service: { ...(finding.service as Json), count: 9 } }));
    await eventually(async () => (await alertRow(h, alertId)).state === 'open');
    await eventually(async () => cardJson(h, alertId).includes('Recurred after it was closed'));
    expect((await auditTrail(h, alertId)).map((r) => r.action)).toEqual(['archive', 'recur']);
    // It is open again, so it is no longer archived in GuardDuty either.
    await eventually(async () => gd.commandCalls(UnarchiveFindingsCommand).length === 1);
  });
});

describe('nudges', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { NUDGE_AFTER_MEDIUM: '1s', SECURITY_USERGROUP_ID: GROUP } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('nudges an unacknowledged alert in its thread, then escalates it as Kanshi', async () => {
    const { alertId, ts } = await postedCard(h, { severity: 5 });
    const nudge = await h.slack.waitFor(
      () => h.slack.replies(PROD_CHANNEL, ts).find((m) => String(m.text).includes('<!here>')),
      8000,
    );
    expect(nudge.text).toContain('this alert has not been acknowledged after less than a minute');
    await eventually(async () => (await alertRow(h, alertId)).state === 'escalated', 8000);
    expect((await auditTrail(h, alertId)).map((r) => [r.action, r.actor_id])).toEqual([['escalate', 'kanshi']]);
    await h.slack.waitFor(() =>
      h.slack
        .messages(SECURITY_CHANNEL)
        .find((m) => JSON.stringify(m.blocks).includes('nobody acknowledged it in time')),
    );
  });

  it('stops nudging once someone acknowledges', async () => {
    const { alertId, ts } = await postedCard(h, { severity: 5 });
    await click(h, {
      actionId: ACTION_IDS.acknowledge,
      value: alertId,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(h.slack.replies(PROD_CHANNEL, ts).filter((m) => String(m.text).includes('<!here>'))).toHaveLength(0);
    expect((await alertRow(h, alertId)).state).toBe('acknowledged');
    const jobs = await h.db.pool.query(`SELECT status FROM job WHERE kind = 'nudge' AND payload->>'alertId' = $1`, [
      alertId,
    ]);
    expect(jobs.rows).toEqual([{ status: 'done' }]);
  });
});

describe('archiving in GuardDuty across a restart, and review before archiving', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        SECURITY_ENGINEER_IDS: SECENG.id,
        GUARDDUTY_ADMIN_ROLE_ARN: ADMIN_ROLE_ARN,
        ARCHIVE_REVIEW: 'before',
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => mockHealthyAws());

  it('waits for approval before archiving in GuardDuty, then archives exactly once even across a restart', async () => {
    const { alertId, ts, finding } = await postedCard(h);
    await archiveAs(h, alertId, ts);
    await eventually(async () => (await alertRow(h, alertId)).state === 'archive_requested');
    const review = await h.slack.waitFor(() => securityMessage(h, alertId));
    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(0);

    // The worker stops (as in a crash) before the approval's GuardDuty job runs.
    await h.app.runner.stop(1000);
    await click(h, {
      actionId: ACTION_IDS.approveArchive,
      value: alertId,
      user: SECENG,
      channel: SECURITY_CHANNEL,
      messageTs: review.ts,
    });
    await eventually(async () => (await alertRow(h, alertId)).state === 'archived');
    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(0);

    gd.on(ArchiveFindingsCommand)
      .rejectsOnce(
        Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }),
      )
      .resolves({});
    await h.restart();
    await eventually(async () => (await alertRow(h, alertId)).gd_archived === true, 10_000);
    await h.restart();
    await new Promise((r) => setTimeout(r, 500));
    const archivedIds = gd.commandCalls(ArchiveFindingsCommand).map((c) => c.args[0].input.FindingIds);
    // One throttled attempt, then exactly one successful call: never again after it succeeded.
    expect(archivedIds).toEqual([[finding.id], [finding.id]]);
    expect((await auditTrail(h, alertId)).map((r) => [r.action, r.from_state, r.to_state])).toEqual([
      ['archive', 'open', 'archive_requested'],
      ['approve_archive', 'archive_requested', 'archived'],
    ]);
  });
});

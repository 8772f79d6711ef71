/** Every /alert subcommand through signed slash-command requests to the real app. */
import { randomBytes } from 'node:crypto';
import { ACTION_IDS, CALLBACK_IDS } from '../../app/slack/ids';
import {
  DEFAULT_CHANNEL,
  type Harness,
  PROD_ACCOUNT,
  PROD_CHANNEL,
  signedSlackHeaders,
  startHarness,
} from '../support/app-harness';
import { alertRow, cardsFor, freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { wrapFinding } from '../support/fixtures';
import { ALICE, BOB, click, SECENG, type SlackUser } from '../support/slack-interactions';

describe('/alert subcommands', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SECURITY_ENGINEER_IDS: SECENG.id } });
  });
  afterAll(async () => {
    await h.close();
  });

  /** Sends /alert <text> from a channel; returns the reply sent to the response_url, or the views.open call. */
  async function alert(text: string, user: SlackUser = ALICE, channel = PROD_CHANNEL) {
    const hook = `response/${randomBytes(4).toString('hex')}`;
    const triggerId = `trigger-${randomBytes(4).toString('hex')}`;
    const body = new URLSearchParams({
      command: '/alert',
      text,
      team_id: 'T0TEST',
      channel_id: channel,
      user_id: user.id,
      user_name: user.name,
      response_url: `${h.slack.apiUrl}${hook}`,
      trigger_id: triggerId,
    }).toString();
    const res = await h.post('/slack/events', body, signedSlackHeaders(body, 'application/x-www-form-urlencoded'));
    expect(res.status).toBe(200);
    const call = await h.slack.waitFor(
      () => h.slack.callsTo(hook)[0] ?? h.slack.callsTo('views.open').find((c) => c.args.trigger_id === triggerId),
    );
    return {
      method: call.method,
      args: call.args,
      text: String(call.args.text ?? ''),
      json: JSON.stringify(call.args),
    };
  }

  async function newAlert(accountId = PROD_ACCOUNT) {
    const f = freshFinding(accountId);
    const { body } = await h.ingest(wrapFinding(f));
    const id = String(body.alertId);
    await eventually(async () => (await alertRow(h, id)).card_ts);
    return { id, findingId: String(f.id) };
  }

  it('lists the channel’s account alerts newest first, and pages with buttons', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await newAlert()).id);
    await newAlert('555566667777'); // another account's alert, not in this channel's list
    const first = await alert('list');
    expect(first.json).toContain('Open alerts · this channel’s account');
    expect(first.json).toContain('page 1 of 2');
    expect(first.json).toContain(ids[11]);
    expect(first.json).not.toContain(ids[0]);
    expect(first.json).toContain(ACTION_IDS.listNext);
    const next = JSON.parse(first.json)
      .blocks.at(-1)
      .elements.find((e: { action_id: string }) => e.action_id === ACTION_IDS.listNext);
    const paged = await click(h, {
      actionId: ACTION_IDS.listNext,
      value: next.value,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: '1.1',
    });
    const page2 = await h.slack.waitFor(() => h.slack.callsTo(paged.responsePath)[0]);
    expect(JSON.stringify(page2.args)).toContain('page 2 of 2');
    expect(JSON.stringify(page2.args)).toContain(ids[0]);
  });

  it('acts on an alert by id, and shows its card with the timeline', async () => {
    const { id, findingId } = await newAlert();
    expect((await alert(`ack ${id}`)).text).toBe('Done: the alert is now acknowledged.');
    expect((await alert(`ack ${id}`, BOB)).text).toMatch(new RegExp(`^Already acknowledged by <@${ALICE.id}>`));
    expect((await alert(`resolve ${findingId} keys rotated and instance rebuilt`)).text).toBe(
      'Done: the alert is now resolved.',
    );
    const shown = await alert(`show ${id}`);
    expect(shown.json).toContain('*Timeline*');
    expect(shown.json).toContain(`<@${ALICE.id}> acknowledged this`);
    expect(shown.json).toContain(`<@${ALICE.id}> resolved this`);
    expect(shown.json).not.toContain(ACTION_IDS.acknowledge);
  });

  it('opens the modal when archive, escalate or resolve come without a reason, and archives with one', async () => {
    const { id } = await newAlert();
    const modal = await alert(`archive ${id}`);
    expect(modal.method).toBe('views.open');
    expect((modal.args.view as { callback_id: string }).callback_id).toBe(CALLBACK_IDS.archive);
    expect((await alert(`archive ${id} false_positive short`)).text).toContain('at least 10 characters');
    expect((await alert(`archive ${id} expected_activity weekly vulnerability scan from our VPC`)).text).toBe(
      'Done: the alert is now archived.',
    );
    expect((await alertRow(h, id)).state_reason_category).toBe('expected_activity');
    // No GuardDuty administrator role here: archived in Kanshi only, and the card does not pretend otherwise.
    expect((await alertRow(h, id)).gd_archive_wanted).toBe(false);
    await eventually(async () => JSON.stringify(cardsFor(h, id)[0]?.blocks).includes('Archived*'));
    expect(JSON.stringify(cardsFor(h, id)[0]?.blocks)).not.toContain('Archiving in GuardDuty');

    const other = await newAlert();
    expect((await alert(`escalate ${other.id}`)).method).toBe('views.open');
    expect((await alert(`escalate ${other.id} possible credential theft`)).text).toBe(
      'Done: the alert is now escalated.',
    );
    expect((await alertRow(h, other.id)).state_reason).toBe('possible credential theft');
    expect((await alert(`resolve ${other.id}`)).method).toBe('views.open');
  });

  it('reports statistics computed from the stored alerts', async () => {
    const stats = await alert('stats 7d');
    expect(stats.json).toContain('Alert statistics');
    expect(stats.json).toContain('all accounts');
  });

  it('shows the review queue to security engineers only', async () => {
    const { id } = await newAlert();
    await alert(`archive ${id} false_positive load balancer health checks from AWS`);
    expect((await alert('review', BOB)).text).toBe('Only security engineers review archives.');
    const queue = await alert('review', SECENG);
    expect(queue.json).toContain(id);
  });

  it('lets security engineers route an account to a channel, audited, and refuses everyone else', async () => {
    const refused = await alert(`route 555566667777 <#C0NEWCHAN1|aws-new>`, BOB);
    expect(refused.text).toContain('Only security engineers');
    const routed = await alert(`route 555566667777 <#C0NEWCHAN1|aws-new>`, SECENG);
    expect(routed.text).toBe(
      `New alerts of account 555566667777 now go to <#C0NEWCHAN1> (before: <#${DEFAULT_CHANNEL}>).`,
    );
    const history = await h.db.pool.query(
      'SELECT account_id, from_channel_id, to_channel_id, actor_id, outcome FROM route_change ORDER BY id',
    );
    expect(history.rows).toEqual([
      {
        account_id: '555566667777',
        from_channel_id: null,
        to_channel_id: 'C0NEWCHAN1',
        actor_id: BOB.id,
        outcome: 'refused',
      },
      {
        account_id: '555566667777',
        from_channel_id: null,
        to_channel_id: 'C0NEWCHAN1',
        actor_id: SECENG.id,
        outcome: 'applied',
      },
    ]);
    const { id } = await newAlert('555566667777');
    expect(cardsFor(h, id)[0]?.channel).toBe('C0NEWCHAN1');
  });
});

describe('App Home', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SECURITY_ENGINEER_IDS: SECENG.id } });
  });
  afterAll(async () => {
    await h.close();
  });

  async function openHome(user: SlackUser) {
    const body = JSON.stringify({
      token: 'legacy',
      team_id: 'T0TEST',
      api_app_id: 'A0KANSHI',
      type: 'event_callback',
      event_id: `Ev${randomBytes(4).toString('hex')}`,
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'app_home_opened',
        user: user.id,
        channel: 'D0HOME',
        tab: 'home',
        event_ts: `${Date.now() / 1000}`,
      },
    });
    const res = await h.post('/slack/events', body, signedSlackHeaders(body, 'application/json'));
    expect(res.status).toBe(200);
    return h.slack.waitFor(() => h.slack.homeOf(user.id) && JSON.stringify(h.slack.homeOf(user.id)));
  }

  it('shows your alerts, the open alerts of your channels, reviews for engineers, and response times', async () => {
    const f = freshFinding();
    const { body } = await h.ingest(wrapFinding(f));
    const mineId = String(body.alertId);
    const ts = String(await eventually(async () => (await alertRow(h, mineId)).card_ts));
    await click(h, {
      actionId: ACTION_IDS.acknowledge,
      value: mineId,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    await eventually(async () => (await alertRow(h, mineId)).state === 'acknowledged');
    const open = await h.ingest(wrapFinding(freshFinding()));
    h.slack.setUserChannels(ALICE.id, [PROD_CHANNEL]);

    const home = await openHome(ALICE);
    expect(home).toContain('Your alerts');
    expect(home).toContain(mineId);
    expect(home).toContain('Open in your channels');
    expect(home).toContain(String(open.body.alertId));
    expect(home).toContain('Last 7 days in your accounts');
    expect(home).toContain(PROD_ACCOUNT);
    expect(home).not.toContain('Archives to review');

    const engineerHome = await openHome(SECENG);
    expect(engineerHome).toContain('Archives to review');
    expect(engineerHome).toContain('None of your channels receives alerts for an account.');
  });
});

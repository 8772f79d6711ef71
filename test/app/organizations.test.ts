/**
 * The AWS Organizations sync through the real app: a real AwsOrgDirectory
 * over aws-sdk-client-mock lists the organization, the app stores it, shows
 * names and OUs on cards, routes by OU, and tells the security channel about
 * new and unrouted accounts (with a "Route to channel…" button). Channel
 * health is here too: an unusable channel is reported once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ROUTE_ACTION_IDS, ROUTE_CALLBACK_IDS, ROUTE_INPUT_IDS } from '../../app/slack/ids';
import type { FakeMessage } from '../fakes/fake-slack';
import {
  DEFAULT_CHANNEL,
  type Harness,
  PROD_ACCOUNT,
  PROD_CHANNEL,
  SECURITY_CHANNEL,
  startHarness,
} from '../support/app-harness';
import { alertRow, cardsFor, freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { wrapFinding } from '../support/fixtures';
import { type OrgMember, organizationDirectory, serveOrganization } from '../support/org-mocks';
import {
  ALICE,
  BOB,
  click,
  openedView,
  SECENG,
  type SlackUser,
  slashCommand,
  submit,
} from '../support/slack-interactions';

const DEV_ACCOUNT = '333300000003';
const SANDBOX_ACCOUNT = '777700000007';
const LEGACY_ACCOUNT = '666600000006';
const MANAGEMENT_ACCOUNT = '999900000001';

const WORKLOADS_CHANNEL = 'C0WORKLD001';
/** Kanshi was never invited here: every post answers not_in_channel. */
const LEGACY_CHANNEL = 'C0LEGACY001';

const OU_ROUTES = `
- ou: Root/Workloads
  channel: ${WORKLOADS_CHANNEL}
- ou: Root/Legacy
  channel: ${LEGACY_CHANNEL}
`;

/**
 * Root
 * ├── 999900000001 management
 * ├── Workloads
 * │   ├── Prod: 123456789012 payments-prod (also in accounts.yml)
 * │   └── Dev:  333300000003 web-dev
 * ├── Legacy:   666600000006 legacy-billing (SUSPENDED)
 * └── Sandbox:  777700000007 alice-sandbox (no route at all)
 *
 * Tests add accounts to it; the next sync sees them.
 */
const ROOT = 'r-kanshi';
const OUS: Record<string, Array<{ Id: string; Name: string }>> = {
  [ROOT]: [
    { Id: 'ou-kanshi-work', Name: 'Workloads' },
    { Id: 'ou-kanshi-legacy', Name: 'Legacy' },
    { Id: 'ou-kanshi-sandbox', Name: 'Sandbox' },
  ],
  'ou-kanshi-work': [
    { Id: 'ou-kanshi-prod', Name: 'Prod' },
    { Id: 'ou-kanshi-dev', Name: 'Dev' },
  ],
};
const MEMBERS: Record<string, OrgMember[]> = {
  [ROOT]: [{ id: MANAGEMENT_ACCOUNT, name: 'management' }],
  'ou-kanshi-prod': [{ id: PROD_ACCOUNT, name: 'payments-prod', tags: { team: 'payments', tier: 'production' } }],
  'ou-kanshi-dev': [{ id: DEV_ACCOUNT, name: 'web-dev', tags: { team: 'web' } }],
  'ou-kanshi-legacy': [{ id: LEGACY_ACCOUNT, name: 'legacy-billing', state: 'SUSPENDED' }],
  'ou-kanshi-sandbox': [{ id: SANDBOX_ACCOUNT, name: 'alice-sandbox', tags: { owner: 'alice' } }],
};
const INITIAL_ACCOUNTS = 5;

/** The sync job, waiting for its next run (it reschedules itself an interval ahead). */
async function syncIsWaiting(h: Harness, since: Date): Promise<boolean> {
  const r = await h.db.pool.query(
    `SELECT 1 FROM job WHERE key = 'org-sync' AND status = 'pending'
       AND run_at > now() + interval '30 minutes' AND updated_at > $1`,
    [since],
  );
  return r.rows.length === 1;
}

/** Lets the sync interval pass: the sync runs now, and this returns when it has finished. */
async function syncAgain(h: Harness): Promise<void> {
  await eventually(() => syncIsWaiting(h, new Date(0)));
  const now = (await h.db.pool.query<{ now: Date }>('SELECT now()')).rows[0]?.now as Date;
  await h.db.pool.query(`UPDATE job SET run_at = now() WHERE key = 'org-sync'`);
  await eventually(() => syncIsWaiting(h, now));
}

function addAccount(parent: string, member: OrgMember): void {
  MEMBERS[parent] = [...(MEMBERS[parent] ?? []), member];
}

// ─── What Slack shows ───────────────────────────────────────────────────────

async function ingestFor(h: Harness, accountId: string): Promise<string> {
  const res = await h.ingest(wrapFinding(freshFinding(accountId)));
  expect(res.status).toBe(202);
  return String(res.body.alertId);
}

async function cardOf(h: Harness, alertId: string): Promise<FakeMessage> {
  return h.slack.waitFor(() => cardsFor(h, alertId)[0]);
}

function fieldOf(card: FakeMessage, label: string): string | undefined {
  const head = `*${label}*\n`;
  for (const block of card.blocks as Array<{ fields?: Array<{ text: string }> }>) {
    const hit = block.fields?.find((f) => f.text.startsWith(head));
    if (hit) return hit.text.slice(head.length);
  }
  return undefined;
}

function textOf(m: FakeMessage): string {
  return JSON.stringify(m.blocks ?? []) + (m.text ?? '');
}

/** The messages in the security channel that mention this text. */
function securityMessages(h: Harness, needle: string): FakeMessage[] {
  return h.slack.messages(SECURITY_CHANNEL).filter((m) => textOf(m).includes(needle));
}

/** The notice's section text and its button. */
function noticeParts(m: FakeMessage): {
  text: string;
  button: { action_id: string; text: { text: string }; value: string };
} {
  const section = (m.blocks as Array<{ type: string; text?: { text: string }; accessory?: unknown }>)[0];
  return {
    text: section?.text?.text ?? '',
    button: section?.accessory as { action_id: string; text: { text: string }; value: string },
  };
}

async function jobsDone(h: Harness, kind: string): Promise<boolean> {
  const r = await h.db.pool.query(`SELECT 1 FROM job WHERE kind = $1 AND status NOT IN ('done', 'failed')`, [kind]);
  return r.rows.length === 0;
}

/** Clicks "Route to channel…" on a notice and submits the modal choosing `channelId`. */
async function routeFromNotice(h: Harness, notice: FakeMessage, user: SlackUser, channelId: string): Promise<string> {
  const { button } = noticeParts(notice);
  const answered = h.slack.ephemerals(SECURITY_CHANNEL).length;
  const clicked = await click(h, {
    actionId: button.action_id,
    value: button.value,
    user,
    channel: SECURITY_CHANNEL,
    messageTs: notice.ts,
  });
  expect(clicked.status).toBe(200);
  const view = await openedView(h, clicked.triggerId);
  expect(view.callback_id).toBe(ROUTE_CALLBACK_IDS.routeAccount);
  const submitted = await submit(h, {
    callbackId: view.callback_id,
    privateMetadata: view.private_metadata,
    user,
    values: {
      [ROUTE_INPUT_IDS.channel.block]: {
        [ROUTE_INPUT_IDS.channel.action]: { type: 'conversations_select', selected_conversation: channelId },
      },
    },
  });
  expect(submitted.status).toBe(200);
  const answer = await h.slack.waitFor(() =>
    h.slack
      .ephemerals(SECURITY_CHANNEL)
      .slice(answered)
      .find((e) => e.user === user.id),
  );
  return answer.text ?? '';
}

async function routeHistory(h: Harness, accountId: string) {
  const r = await h.db.pool.query(
    'SELECT from_channel_id, to_channel_id, actor_id, outcome FROM route_change WHERE account_id = $1 ORDER BY id',
    [accountId],
  );
  return r.rows;
}

/** Sends `/alert <text>` from a channel and returns the reply as JSON text. */
async function alertCommand(h: Harness, text: string, user: SlackUser, channel: string): Promise<string> {
  return (await slashCommand(h, text, user, channel)).json;
}

/** A CloudTrail "CreateAccountResult" record as EventBridge delivers it from the management account. */
function createAccountResult(accountId: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.organizations',
    account: MANAGEMENT_ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { accountId: MANAGEMENT_ACCOUNT, invokedBy: 'AWS Internal' },
      eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'organizations.amazonaws.com',
      eventName: 'CreateAccountResult',
      awsRegion: 'us-east-1',
      sourceIPAddress: 'AWS Internal',
      userAgent: 'AWS Internal',
      requestParameters: null,
      responseElements: null,
      eventID: randomUUID(),
      readOnly: false,
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      recipientAccountId: MANAGEMENT_ACCOUNT,
      serviceEventDetails: {
        createAccountStatus: {
          id: `car-${randomBytes(16).toString('hex')}`,
          state: 'SUCCEEDED',
          accountName: '****',
          accountId,
          requestedTimestamp: 'Apr 2, 2025 10:15:31 AM',
          completedTimestamp: 'Apr 2, 2025 10:15:40 AM',
        },
      },
      eventCategory: 'Management',
    },
  };
}

describe('AWS Organizations sync', () => {
  let h: Harness;
  beforeAll(async () => {
    serveOrganization({ rootId: ROOT, ous: OUS, members: MEMBERS });
    h = await startHarness({
      env: { SECURITY_ENGINEER_IDS: SECENG.id, STORM_THRESHOLD: '0' },
      ouRoutes: OU_ROUTES,
      orgDirectory: organizationDirectory(),
    });
    await eventually(async () => h.app.accounts.size === INITIAL_ACCOUNTS);
  });
  afterAll(async () => {
    await h.close();
  });

  it('stores every account at start with its name, email, state, OU path and tags, and announces none of them', async () => {
    const stored = await h.db.pool.query(
      'SELECT account_id, name, email, status, ou_path, tags FROM org_account ORDER BY account_id',
    );
    expect(stored.rows).toEqual([
      {
        account_id: PROD_ACCOUNT,
        name: 'payments-prod',
        email: 'aws+payments-prod@example.com',
        status: 'ACTIVE',
        ou_path: 'Root/Workloads/Prod',
        tags: { team: 'payments', tier: 'production' },
      },
      {
        account_id: DEV_ACCOUNT,
        name: 'web-dev',
        email: 'aws+web-dev@example.com',
        status: 'ACTIVE',
        ou_path: 'Root/Workloads/Dev',
        tags: { team: 'web' },
      },
      {
        account_id: LEGACY_ACCOUNT,
        name: 'legacy-billing',
        email: 'aws+legacy-billing@example.com',
        status: 'SUSPENDED',
        ou_path: 'Root/Legacy',
        tags: {},
      },
      {
        account_id: SANDBOX_ACCOUNT,
        name: 'alice-sandbox',
        email: 'aws+alice-sandbox@example.com',
        status: 'ACTIVE',
        ou_path: 'Root/Sandbox',
        tags: { owner: 'alice' },
      },
      {
        account_id: MANAGEMENT_ACCOUNT,
        name: 'management',
        email: 'aws+management@example.com',
        status: 'ACTIVE',
        ou_path: 'Root',
        tags: {},
      },
    ]);
    // The first sync learns the organization: nothing in it is "new".
    expect(securityMessages(h, 'New AWS account')).toEqual([]);
  });

  it('shows the account name and OU on the card of a later alert', async () => {
    const id = await ingestFor(h, PROD_ACCOUNT);
    const card = await cardOf(h, id);
    expect(card.channel).toBe(PROD_CHANNEL);
    expect(fieldOf(card, 'Account')).toBe(`${PROD_ACCOUNT} (payments-prod)\nOU Root/Workloads/Prod`);
  });

  it('routes an account that only the OU mapping knows to its OU’s channel', async () => {
    const id = await ingestFor(h, DEV_ACCOUNT);
    const card = await cardOf(h, id);
    expect(card.channel).toBe(WORKLOADS_CHANNEL);
    expect(fieldOf(card, 'Account')).toBe(`${DEV_ACCOUNT} (web-dev)\nOU Root/Workloads/Dev`);
    const alert = await alertRow(h, id);
    expect([alert.channel_id, alert.route_reason]).toEqual([WORKLOADS_CHANNEL, 'ou:Root/Workloads']);
    expect(securityMessages(h, DEV_ACCOUNT)).toEqual([]);
  });

  it('lists only the OU’s accounts when /alert list is used in the OU’s channel', async () => {
    const prod = await ingestFor(h, PROD_ACCOUNT);
    const dev = await ingestFor(h, DEV_ACCOUNT);
    await Promise.all([cardOf(h, prod), cardOf(h, dev)]);

    const list = await alertCommand(h, 'list', ALICE, WORKLOADS_CHANNEL);

    expect(list).toContain('Open alerts · this channel’s account');
    expect(list).toContain(dev);
    expect(list).not.toContain(prod);
  });

  it('posts one notice with a Route to channel… button for an account that a later sync finds', async () => {
    addAccount('ou-kanshi-dev', { id: '888800000008', name: 'data-lake', tags: { team: 'data' } });
    await syncAgain(h);
    const notice = await h.slack.waitFor(() => securityMessages(h, '888800000008')[0]);

    const { text, button } = noticeParts(notice);
    expect(text).toBe(
      `:new: New AWS account *888800000008* (data-lake, OU Root/Workloads/Dev).\nIts alerts go to <#${WORKLOADS_CHANNEL}> (ou:Root/Workloads). Security engineers can route it to the owners' channel.`,
    );
    expect(button).toEqual(
      expect.objectContaining({
        action_id: ROUTE_ACTION_IDS.routeAccount,
        value: '888800000008',
        text: expect.objectContaining({ text: 'Route to channel…' }),
      }),
    );
    // Later syncs and alerts of the account do not announce it again.
    await syncAgain(h);
    await cardOf(h, await ingestFor(h, '888800000008'));
    await eventually(() => jobsDone(h, 'account.notice'));
    expect(securityMessages(h, '888800000008')).toHaveLength(1);
    expect(securityMessages(h, 'New AWS account')).toHaveLength(1);
  });

  it('lets a security engineer route a new account from its notice: the override is stored, audited, and the next alert goes there', async () => {
    addAccount('ou-kanshi-dev', { id: '121200000012', name: 'ml-research' });
    await syncAgain(h);
    const notice = await h.slack.waitFor(() => securityMessages(h, '121200000012')[0]);

    const answer = await routeFromNotice(h, notice, SECENG, 'C0MLTEAM001');

    const route = await h.db.pool.query('SELECT channel_id, set_by_id FROM account_route WHERE account_id = $1', [
      '121200000012',
    ]);
    expect(route.rows).toEqual([{ channel_id: 'C0MLTEAM001', set_by_id: SECENG.id }]);
    expect(await routeHistory(h, '121200000012')).toEqual([
      { from_channel_id: null, to_channel_id: 'C0MLTEAM001', actor_id: SECENG.id, outcome: 'applied' },
    ]);
    // The notice is marked as answered, by whom.
    const answered = await h.db.pool.query(
      'SELECT routed_by_id, routed_at IS NOT NULL AS routed FROM account_notice WHERE account_id = $1',
      ['121200000012'],
    );
    expect(answered.rows).toEqual([{ routed_by_id: SECENG.id, routed: true }]);
    const id = await ingestFor(h, '121200000012');
    expect((await cardOf(h, id)).channel).toBe('C0MLTEAM001');
    expect((await alertRow(h, id)).route_reason).toBe('override');
    // Until now its alerts went to its OU's channel, and the answer says so.
    expect(answer).toBe(
      `New alerts of account 121200000012 now go to <#C0MLTEAM001> (before: <#${WORKLOADS_CHANNEL}>).`,
    );
  });

  it('refuses the Route to channel… modal to anyone but a security engineer, records the attempt, and keeps the route', async () => {
    const unrouted = '545400000054';
    await cardOf(h, await ingestFor(h, unrouted));
    const notice = await h.slack.waitFor(() => securityMessages(h, unrouted)[0]);

    const answer = await routeFromNotice(h, notice, BOB, 'C0BOBSTEAM1');

    expect(answer).toBe('Only security engineers can change routing. Your attempt was recorded.');
    expect(await routeHistory(h, unrouted)).toEqual([
      { from_channel_id: null, to_channel_id: 'C0BOBSTEAM1', actor_id: BOB.id, outcome: 'refused' },
    ]);
    const route = await h.db.pool.query('SELECT 1 FROM account_route WHERE account_id = $1', [unrouted]);
    expect(route.rows).toEqual([]);
    const id = await ingestFor(h, unrouted);
    expect((await cardOf(h, id)).channel).toBe(DEFAULT_CHANNEL);
    expect((await alertRow(h, id)).route_reason).toBe('default:unlisted');
  });

  it('answers a CreateAccountResult event with 202 and tells the security channel about the new account', async () => {
    const res = await h.ingest(createAccountResult('131300000013'));

    expect(res.status).toBe(202);
    expect(res.body).toEqual(expect.objectContaining({ status: 'account_created', accountId: '131300000013' }));
    const notice = await h.slack.waitFor(() => securityMessages(h, '131300000013')[0]);
    expect(noticeParts(notice).text).toMatch(/^:new: New AWS account \*131300000013\*/);
    expect(noticeParts(notice).button.value).toBe('131300000013');
    const stored = await h.db.pool.query('SELECT count(*)::int AS n FROM alert WHERE account_id = $1', [
      '131300000013',
    ]);
    expect(stored.rows[0].n).toBe(0);
  });

  it('syncs the organization again on a CreateAccountResult, so the new account’s name and OU are known without waiting for the interval', async () => {
    await eventually(() => syncIsWaiting(h, new Date(0)));
    addAccount('ou-kanshi-dev', { id: '141400000014', name: 'search-dev' });
    expect((await h.ingest(createAccountResult('141400000014'))).status).toBe(202);

    await eventually(async () => h.app.accounts.get('141400000014')?.name === 'search-dev');
    const id = await ingestFor(h, '141400000014');
    expect(fieldOf(await cardOf(h, id), 'Account')).toBe('141400000014 (search-dev)\nOU Root/Workloads/Dev');
  });

  it('tells the security channel once about an account with no route, however many alerts it has', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, () => ingestFor(h, SANDBOX_ACCOUNT)));
    const cards = await Promise.all(ids.map((id) => cardOf(h, id)));
    expect(cards.map((c) => c.channel)).toEqual(Array(4).fill(DEFAULT_CHANNEL));
    await cardOf(h, await ingestFor(h, SANDBOX_ACCOUNT));
    await eventually(() => jobsDone(h, 'account.notice'));

    const notices = securityMessages(h, SANDBOX_ACCOUNT);
    expect(notices).toHaveLength(1);
    expect(noticeParts(notices[0] as FakeMessage).text).toBe(
      `:compass: Alerts arrived for AWS account *${SANDBOX_ACCOUNT}* (alice-sandbox, OU Root/Sandbox), which has no route.\nIts alerts go to <#${DEFAULT_CHANNEL}> (default:unlisted). Security engineers can route it to the owners' channel.`,
    );
  });
});

describe('channel health', () => {
  let h: Harness;
  beforeAll(async () => {
    serveOrganization({ rootId: ROOT, ous: OUS, members: MEMBERS });
    h = await startHarness({
      env: { STORM_THRESHOLD: '0' },
      ouRoutes: OU_ROUTES,
      orgDirectory: organizationDirectory(),
    });
    await eventually(async () => h.app.accounts.size >= INITIAL_ACCOUNTS);
  });
  afterAll(async () => {
    await h.close();
  });

  it('posts every card of a channel Kanshi is not in to the default channel, and tells the security channel once', async () => {
    h.slack.failAlways('chat.postMessage', { kind: 'error', error: 'not_in_channel' }, { channel: LEGACY_CHANNEL });

    const ids = await Promise.all(Array.from({ length: 5 }, () => ingestFor(h, LEGACY_ACCOUNT)));
    const cards = await Promise.all(ids.map((id) => cardOf(h, id)));

    expect(cards.map((c) => c.channel)).toEqual(Array(5).fill(DEFAULT_CHANNEL));
    for (const card of cards) {
      expect(JSON.stringify(card.blocks)).toContain(
        `Posted here because Kanshi could not post in this account's channel ${LEGACY_CHANNEL} (not_in_channel).`,
      );
    }
    const rows = await Promise.all(ids.map((id) => alertRow(h, id)));
    expect(rows.map((r) => [r.channel_id, r.card_channel_id])).toEqual(
      Array(5).fill([LEGACY_CHANNEL, DEFAULT_CHANNEL]),
    );
    await eventually(() => jobsDone(h, 'channel.health'));
    const told = securityMessages(h, LEGACY_CHANNEL);
    expect(told).toHaveLength(1);
    expect(told[0]?.text).toMatch(
      new RegExp(`^:warning: Kanshi cannot post in <#${LEGACY_CHANNEL}> \\(\`not_in_channel\`\\)`),
    );
    expect(told[0]?.text).toContain(`Its alerts go to <#${DEFAULT_CHANNEL}>`);
    expect(h.slack.messages(LEGACY_CHANNEL)).toEqual([]);
  });
});

/**
 * Rules in ingest and routing precedence, through the real app: findings from
 * the shared fixtures are POSTed to /ingest/eventbridge and we look at what
 * lands in PostgreSQL and in the fake Slack. The accounts' OU paths and tags
 * come from a real AwsOrgDirectory over aws-sdk-client-mock.
 */
import { randomBytes } from 'node:crypto';
import { FakePagerDuty } from '../fakes/fake-pagerduty';
import type { FakeMessage } from '../fakes/fake-slack';
import { DEFAULT_CHANNEL, type Harness, PROD_ACCOUNT, PROD_CHANNEL, startHarness } from '../support/app-harness';
import { alertRow, cardsFor } from '../support/cards';
import { eventually } from '../support/eventually';
import { guardDutyFindings, type Json, wrapFinding } from '../support/fixtures';
import { type OrgMember, organizationDirectory, serveOrganization } from '../support/org-mocks';
import { SECENG, type SlackUser, slashCommand } from '../support/slack-interactions';

// ─── The organization, behind aws-sdk-client-mock ───────────────────────────

/** An account that is only in the OU mapping (Root/Workloads/Dev). */
const DEV_ACCOUNT = '333300000003';
/** In no file and not in the organization. */
const UNLISTED_ACCOUNT = '444400000004';

const OU_PROD_CHANNEL = 'C0PRODOU001';
const OU_WORKLOADS_CHANNEL = 'C0WORKLD001';
const OVERRIDE_CHANNEL = 'C0OVERRIDE1';
const INCIDENT_CHANNEL = 'C0INCIDENT1';
const PLATFORM_CHANNEL = 'C0PLATFORM1';
const SECOPS_CHANNEL = 'C0SECOPS01';

const OU_ROUTES = `
- ou: Root/Workloads/Prod
  channel: ${OU_PROD_CHANNEL}
- ou: Root/Workloads
  channel: ${OU_WORKLOADS_CHANNEL}
`;

/**
 * Root
 * └── Workloads
 *     ├── Prod: 123456789012 payments-prod (tier=production), also in accounts.yml
 *     └── Dev:  333300000003 web-dev
 */
const ROOT = 'r-kanshi';
const OUS: Record<string, Array<{ Id: string; Name: string }>> = {
  [ROOT]: [{ Id: 'ou-kanshi-work', Name: 'Workloads' }],
  'ou-kanshi-work': [
    { Id: 'ou-kanshi-prod', Name: 'Prod' },
    { Id: 'ou-kanshi-dev', Name: 'Dev' },
  ],
};
const MEMBERS: Record<string, OrgMember[]> = {
  'ou-kanshi-prod': [{ id: PROD_ACCOUNT, name: 'payments-prod', tags: { tier: 'production', team: 'payments' } }],
  'ou-kanshi-dev': [{ id: DEV_ACCOUNT, name: 'web-dev', tags: { team: 'web' } }],
};

/** Starts the app with this organization and waits for its first sync to be in memory. */
async function startWithOrganization(opts: Parameters<typeof startHarness>[0]): Promise<Harness> {
  serveOrganization({ rootId: ROOT, ous: OUS, members: MEMBERS });
  const h = await startHarness({ ...opts, ouRoutes: OU_ROUTES, orgDirectory: organizationDirectory() });
  await eventually(async () => h.app.accounts.size === 2);
  return h;
}

// ─── Findings and what Slack shows ──────────────────────────────────────────

/** A real fixture finding of this type, with a fresh id, owned by `accountId`. */
function finding(type: string, accountId = PROD_ACCOUNT, extra: Json = {}): Json {
  const found = guardDutyFindings().find((f) => f.finding.type === type);
  if (!found) throw new Error(`no fixture finding of type ${type}`);
  return { ...structuredClone(found.finding), id: randomBytes(16).toString('hex'), accountId, ...extra };
}

async function ingest(h: Harness, f: Json): Promise<string> {
  const res = await h.ingest(wrapFinding(f));
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('accepted');
  return String(res.body.alertId);
}

/** Waits for the alert's one card and returns it. */
async function cardOf(h: Harness, alertId: string): Promise<FakeMessage> {
  return h.slack.waitFor(() => cardsFor(h, alertId)[0]);
}

function headerOf(card: FakeMessage): string {
  const header = (card.blocks as Array<{ type: string; text?: { text: string } }>).find((b) => b.type === 'header');
  return header?.text?.text ?? '';
}

/** The value of a field of the card's facts, e.g. "Severity". */
function fieldOf(card: FakeMessage, label: string): string | undefined {
  const head = `*${label}*\n`;
  for (const block of card.blocks as Array<{ fields?: Array<{ text: string }> }>) {
    const hit = block.fields?.find((f) => f.text.startsWith(head));
    if (hit) return hit.text.slice(head.length);
  }
  return undefined;
}

/** The card's context lines (sample note, fallback note, why the severity changed). */
function contextOf(card: FakeMessage): string {
  return (card.blocks as Array<{ type: string; elements?: Array<{ text?: string }> }>)
    .filter((b) => b.type === 'context')
    .flatMap((b) => b.elements ?? [])
    .map((e) => e.text ?? '')
    .join('\n');
}

async function jobsOf(h: Harness, alertId: string, kind: string): Promise<Array<Record<string, unknown>>> {
  const r = await h.db.pool.query(`SELECT * FROM job WHERE kind = $1 AND payload->>'alertId' = $2`, [kind, alertId]);
  return r.rows as Array<Record<string, unknown>>;
}

/** Sends `/alert <text>` and returns Kanshi's answer. */
async function alertCommand(h: Harness, text: string, user: SlackUser): Promise<string> {
  return (await slashCommand(h, text, user, PROD_CHANNEL)).text;
}

const BASE_TYPE = 'UnauthorizedAccess:EC2/MaliciousIPCaller.Custom';

// ─── Routing precedence ─────────────────────────────────────────────────────

describe('routing precedence', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startWithOrganization({
      env: { SECURITY_ENGINEER_IDS: SECENG.id, STORM_THRESHOLD: '0' },
      rules: `
rules:
  - name: incident-region
    description: Nothing should run in eu-west-1; the incident room looks at anything there.
    match:
      regions: [eu-west-1]
    route: ${INCIDENT_CHANNEL}
`,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('lets each level win over the ones below it: rule route, /alert route override, accounts.yml, OU mapping, default channel', async () => {
    interface Row {
      levels: string;
      account: string;
      region?: string;
    }
    const delivered = async (row: Row) => {
      const id = await ingest(h, finding(BASE_TYPE, row.account, row.region ? { region: row.region } : {}));
      const card = await cardOf(h, id);
      const alert = await alertRow(h, id);
      return { levels: row.levels, channel: card.channel, stored: alert.channel_id, reason: alert.route_reason };
    };
    const seen = [];
    // Built up from the bottom: each row adds one level on top of those of the row before.
    seen.push(await delivered({ levels: 'default', account: UNLISTED_ACCOUNT }));
    seen.push(await delivered({ levels: 'OU mapping > default', account: DEV_ACCOUNT }));
    seen.push(await delivered({ levels: 'accounts.yml > OU mapping > default', account: PROD_ACCOUNT }));
    expect(await alertCommand(h, `route ${PROD_ACCOUNT} <#${OVERRIDE_CHANNEL}|aws-override>`, SECENG)).toContain(
      `now go to <#${OVERRIDE_CHANNEL}>`,
    );
    seen.push(await delivered({ levels: 'override > accounts.yml > OU mapping > default', account: PROD_ACCOUNT }));
    seen.push(
      await delivered({
        levels: 'rule > override > accounts.yml > OU mapping > default',
        account: PROD_ACCOUNT,
        region: 'eu-west-1',
      }),
    );

    const row = (levels: string, channel: string, reason: string) => ({ levels, channel, stored: channel, reason });
    expect(seen).toEqual([
      row('default', DEFAULT_CHANNEL, 'default:unlisted'),
      row('OU mapping > default', OU_WORKLOADS_CHANNEL, 'ou:Root/Workloads'),
      row('accounts.yml > OU mapping > default', PROD_CHANNEL, 'account'),
      row('override > accounts.yml > OU mapping > default', OVERRIDE_CHANNEL, 'override'),
      row('rule > override > accounts.yml > OU mapping > default', INCIDENT_CHANNEL, 'rule:incident-region'),
    ]);
  });
});

// ─── Rules ──────────────────────────────────────────────────────────────────

const RULES = `
rules:
  - name: scanner-probes
    description: The vulnerability scanner in 81.2.69.0/24 probes every instance each week.
    match:
      types: ['Recon:EC2/PortProbe*']
      fields:
        - path: service.action.portProbeAction.portProbeDetails.remoteIpDetails.ipAddressV4
          cidr: [81.2.69.0/24]
    suppress:
      reason: Weekly scan by the vulnerability scanner (SEC-1234).

  - name: tor-is-critical
    description: A Tor client on one of our instances is treated as a compromise.
    match:
      types: [UnauthorizedAccess:EC2/TorClient]
    severity: critical
    page: true

  - name: droppoint-low
    description: Our DNS firewall already blocks drop points; the daily sweep is enough.
    match:
      types: ['Trojan:EC2/DropPoint!DNS']
    severity: low

  - name: blackhole-info
    description: Blackholed traffic never leaves the VPC; nothing to do.
    match:
      types: ['Trojan:EC2/BlackholeTraffic!DNS']
    severity: info

  - name: kubernetes-to-platform
    description: The platform team runs the EKS clusters; security operations follows along.
    match:
      types: ['*:Kubernetes/*']
    route: ${PLATFORM_CHANNEL}
    also_notify: [${SECOPS_CHANNEL}, ${PLATFORM_CHANNEL}]

  - name: repeated-portscan
    description: One port scan is noise; three from the same instance within the hour is not.
    match:
      types: [Recon:EC2/Portscan]
    occurrences:
      at_least: 3
      within: 1h
      by: [type, account, resource]
    severity: high

  - name: rdp-brute-force-thread
    description: RDP brute force repeats for hours; one card per instance and day, the rest in its thread.
    match:
      types: [UnauthorizedAccess:EC2/RDPBruteForce]
    first_only:
      within: 24h
      by: [type, resource]

  - name: prod-outbound-backdoor
    description: A running instance in a production account sending denial-of-service traffic is an incident.
    match:
      expr: >-
        type.startsWith('Backdoor:EC2/') && severity >= 7 &&
        finding.service.action.networkConnectionAction.connectionDirection == 'OUTBOUND' &&
        finding.resource.instanceDetails.instanceState == 'running' &&
        'tier' in account.tags && account.tags['tier'] == 'production'
    severity: critical
`;

describe('rules applied at ingest', () => {
  let h: Harness;
  const pd = new FakePagerDuty();
  beforeAll(async () => {
    await pd.start();
    h = await startWithOrganization({
      rules: RULES,
      env: {
        STORM_THRESHOLD: '0',
        PAGERDUTY_ROUTING_KEY: 'R0UTINGKEY0123456789abcdef',
        PAGERDUTY_EVENTS_URL: pd.url,
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await pd.stop();
  });

  it('stores a suppressed alert with the rule’s reason and never posts a card for it', async () => {
    const id = await ingest(h, finding('Recon:EC2/PortProbeEMRUnprotectedPort'));
    // A later alert's card is in Slack, so the worker has had its chance.
    await cardOf(h, await ingest(h, finding(BASE_TYPE)));

    const alert = await alertRow(h, id);
    expect(alert.delivery).toBe('suppressed');
    expect(alert.rule_outcome).toEqual(
      expect.objectContaining({
        matched: ['scanner-probes'],
        suppressed: { rule: 'scanner-probes', reason: 'Weekly scan by the vulnerability scanner (SEC-1234).' },
      }),
    );
    expect(await jobsOf(h, id, 'card.sync')).toEqual([]);
    expect(await jobsOf(h, id, 'nudge')).toEqual([]);
    expect(cardsFor(h, id)).toEqual([]);
    expect(JSON.stringify(h.slack.allMessages())).not.toContain(id);
  });

  it('matches a CIDR field condition on any probe of the finding, and only addresses inside the network', async () => {
    const probe = finding('Recon:EC2/PortProbeEMRUnprotectedPort');
    const details = (probe.service as Json).action as Json;
    const first = ((details.portProbeAction as Json).portProbeDetails as Json[])[0] as Json;
    const from = (ip: string): Json => ({
      ...first,
      remoteIpDetails: { ...(first.remoteIpDetails as Json), ipAddressV4: ip },
    });
    const withProbesFrom = (...ips: string[]): Json => {
      const f = structuredClone(probe);
      f.id = randomBytes(16).toString('hex');
      (((f.service as Json).action as Json).portProbeAction as Json).portProbeDetails = ips.map(from);
      return f;
    };

    const oneOfTwoInside = await ingest(h, withProbesFrom('203.0.113.7', '81.2.69.200'));
    const justOutside = await ingest(h, withProbesFrom('81.2.70.1'));

    expect((await alertRow(h, oneOfTwoInside)).delivery).toBe('suppressed');
    const card = await cardOf(h, justOutside);
    expect((await alertRow(h, justOutside)).delivery).toBe('card');
    expect(headerOf(card)).toContain('High');
  });

  it('shows on the card that a rule raised the severity, and stores both severities', async () => {
    const id = await ingest(h, finding('UnauthorizedAccess:EC2/TorClient'));
    const card = await cardOf(h, id);

    expect(headerOf(card)).toMatch(/^:red_circle: Critical · /);
    expect(contextOf(card)).toContain(
      ':scales: Severity Critical: raised from high to critical by rule tor-is-critical',
    );
    expect(fieldOf(card, 'Severity')).toBe(':red_circle: Critical (GuardDuty: High 8.0)');
    expect(card.text).toMatch(/^Critical GuardDuty finding/);
    const alert = await alertRow(h, id);
    expect([alert.severity_label, alert.original_severity_label]).toEqual(['Critical', 'High']);
  });

  it('pages the on-call engineer for a rule with page: true, at the severity the rule set', async () => {
    const id = await ingest(h, finding('UnauthorizedAccess:EC2/TorClient'));
    const trigger = await eventually(async () =>
      pd.events.find((e) => (e.body as Json).dedup_key === id && (e.body as Json).event_action === 'trigger'),
    );
    const payload = (trigger.body as Json).payload as Json;
    expect(payload.severity).toBe('critical');
    expect(String(payload.summary)).toMatch(/^\[Critical\]/);
  });

  it('shows on the card that a rule lowered the severity, and stores both severities', async () => {
    const id = await ingest(h, finding('Trojan:EC2/DropPoint!DNS'));
    const card = await cardOf(h, id);

    expect(headerOf(card)).toMatch(/^:large_blue_circle: Low · /);
    expect(contextOf(card)).toContain(':scales: Severity Low: lowered from medium to low by rule droppoint-low');
    expect(fieldOf(card, 'Severity')).toBe(':large_blue_circle: Low (GuardDuty: Medium 5.0)');
    const alert = await alertRow(h, id);
    expect([alert.severity_label, alert.original_severity_label]).toEqual(['Low', 'Medium']);
  });

  it('leaves an alert no rule touches at GuardDuty’s severity, with no note', async () => {
    const id = await ingest(h, finding(BASE_TYPE));
    const card = await cardOf(h, id);

    expect(fieldOf(card, 'Severity')).toBe(':large_yellow_circle: Medium (5.0)');
    expect(contextOf(card)).not.toContain(':scales:');
    const alert = await alertRow(h, id);
    expect([alert.severity_label, alert.original_severity_label, alert.rule_outcome]).toEqual(['Medium', null, null]);
  });

  it('posts the card of an alert lowered to info but never arms a nudge for it', async () => {
    const info = await ingest(h, finding('Trojan:EC2/BlackholeTraffic!DNS'));
    const medium = await ingest(h, finding(BASE_TYPE));
    const card = await cardOf(h, info);
    await cardOf(h, medium);

    expect(headerOf(card)).toMatch(/^:white_circle: Info · /);
    expect(fieldOf(card, 'Severity')).toBe(':white_circle: Info (GuardDuty: Medium 5.0)');
    expect((await alertRow(h, info)).severity_label).toBe('Info');
    expect(await jobsOf(h, info, 'nudge')).toEqual([]);
    // The same GuardDuty severity without the rule is nudged.
    expect(await jobsOf(h, medium, 'nudge')).toHaveLength(1);
  });

  it('routes by rule and tells the also_notify channel once, linking to the card, but not the route channel', async () => {
    const id = await ingest(h, finding('Execution:Kubernetes/ExecInKubeSystemPod'));
    const card = await cardOf(h, id);
    expect(card.channel).toBe(PLATFORM_CHANNEL);
    expect((await alertRow(h, id)).route_reason).toBe('rule:kubernetes-to-platform');

    const notice = await h.slack.waitFor(() => h.slack.messages(SECOPS_CHANNEL)[0], 8000);
    expect(notice.text).toContain('A rule sends a copy here.');
    expect(notice.text).toContain(`https://slack.com/archives/${PLATFORM_CHANNEL}/p${card.ts.replace('.', '')}`);
    expect(notice.text).toContain(`account ${PROD_ACCOUNT}`);
    await eventually(async () => (await jobsOf(h, id, 'also.notify')).every((j) => j.status === 'done'));
    expect(h.slack.messages(SECOPS_CHANNEL)).toHaveLength(1);
    // The route channel has the card and nothing else.
    expect(h.slack.messages(PLATFORM_CHANNEL).map((m) => m.ts)).toEqual([card.ts]);
  });

  it('raises only the alert that makes the occurrences count, not the ones before it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await ingest(h, finding('Recon:EC2/Portscan')));
    const rows = await Promise.all(ids.map((id) => alertRow(h, id)));

    expect(rows.map((r) => r.severity_label)).toEqual(['Medium', 'Medium', 'High']);
    const third = rows[2] ?? {};
    expect(third.original_severity_label).toBe('Medium');
    expect((third.rule_outcome as Json).occurrences).toEqual([
      expect.objectContaining({ rule: 'repeated-portscan', count: 3 }),
    ]);
    expect(contextOf(await cardOf(h, String(ids[2])))).toContain(
      'raised from medium to high by rule repeated-portscan',
    );
    expect(headerOf(await cardOf(h, String(ids[0])))).toMatch(/^:large_yellow_circle: Medium · /);
  });

  it('threads a repeat of a first_only rule under the first alert’s card instead of posting a card', async () => {
    const first = await ingest(h, finding('UnauthorizedAccess:EC2/RDPBruteForce'));
    const parentCard = await cardOf(h, first);
    const second = await ingest(h, finding('UnauthorizedAccess:EC2/RDPBruteForce'));

    const reply = await h.slack.waitFor(() =>
      h.slack.replies(parentCard.channel, parentCard.ts).find((m) => m.text?.includes(second)),
    );
    expect(reply.text).toContain('Again: *');
    expect(reply.text).toContain('first_only');
    const alert = await alertRow(h, second);
    expect([alert.delivery, alert.parent_alert_id]).toEqual(['thread', first]);
    expect(cardsFor(h, second)).toEqual([]);
    expect(await jobsOf(h, second, 'card.sync')).toEqual([]);
    expect((await alertRow(h, first)).delivery).toBe('card');
  });

  it('applies a CEL rule that reads the finding and the account’s Organizations tags', async () => {
    const production = await ingest(h, finding('Backdoor:EC2/DenialOfService.Dns', PROD_ACCOUNT));
    const untagged = await ingest(h, finding('Backdoor:EC2/DenialOfService.Dns', DEV_ACCOUNT));

    const raised = await cardOf(h, production);
    expect(contextOf(raised)).toContain('raised from high to critical by rule prod-outbound-backdoor');
    expect((await alertRow(h, production)).severity_label).toBe('Critical');
    const kept = await cardOf(h, untagged);
    expect(headerOf(kept)).toMatch(/^:large_orange_circle: High · /);
    // The guard on the tag keeps the expression from failing on an account without one.
    expect(await alertRow(h, untagged)).toEqual(
      expect.objectContaining({ severity_label: 'High', rule_outcome: null }),
    );
  });
});

import { z } from 'zod';
import { actionLines, type Enrichment, type Facts, summarise, targetsOf } from '../../app/domain/investigation';
import type { InstanceFacts, SecurityGroupFacts } from '../../app/ports/investigator';
import { enrichmentBlocks, enrichmentThreadText } from '../../app/slack/blocks/enrichment';
import type { SlackBlock } from '../../app/slack/blocks/finding-card';
import { ACTION_IDS } from '../../app/slack/ids';
import { guardDutyFindings, type Json, readNdjson } from '../support/fixtures';

const AWS_SAMPLES = 'guardduty/aws-samples-amazon-guardduty-automated-response-sample.ndjson';
const ELASTIC = 'guardduty/elastic-integrations-guardduty-samples-a.ndjson';

function fixture(file: string, index: number): Json {
  const finding = readNdjson(file)[index];
  if (!finding) throw new Error(`no fixture ${file} #${index}`);
  return finding;
}

/** Canary:EC2/Stateless.IntegTest: an Instance finding with a real instance id, one security group, an outbound connection. */
const canaryInstance = (): Json => fixture(AWS_SAMPLES, 0);
/** Recon:IAMUser/MaliciousIPCaller.Custom: an AccessKey finding that also carries instanceDetails. */
const accessKeyWithInstance = (): Json => fixture(AWS_SAMPLES, 1);
/** UnauthorizedAccess:EC2/MaliciousIPCaller.Custom: an Instance finding whose group id is 'GeneratedFindingSecurityId'. */
const sampleInstance = (): Json => fixture(ELASTIC, 0);
/** Trojan:EC2/DropPoint!DNS: dnsRequestAction. */
const dnsFinding = (): Json => fixture(ELASTIC, 3);
/** Recon:EC2/PortProbeEMRUnprotectedPort: portProbeAction. */
const portProbeFinding = (): Json => fixture(ELASTIC, 43);
/** Policy:IAMUser/RootCredentialUsage: the root user calling guardduty ListFindings from AT&T. */
const rootCredentialUsage = (): Json => fixture(ELASTIC, 51);

const NOW = new Date('2024-06-15T12:00:00.000Z');

function runningInstance(overrides: Partial<InstanceFacts> = {}): InstanceFacts {
  return {
    instanceId: 'i-0abc1234def567890',
    exists: true,
    state: 'running',
    name: 'web-1',
    launchTime: '2024-06-01T12:00:00.000Z',
    tags: { Name: 'web-1', owner: 'alice', team: 'payments', env: 'prod', cost: 'cc-42' },
    instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/web',
    publicIps: ['203.0.113.7'],
    privateIps: ['10.0.0.5'],
    vpcId: 'vpc-0a1b2c3d',
    subnetId: 'subnet-0a1b2c3d',
    securityGroupIds: ['sg-0a1'],
    ...overrides,
  };
}

function goneInstance(state?: string): InstanceFacts {
  return {
    instanceId: 'i-0abc1234def567890',
    exists: false,
    ...(state !== undefined ? { state } : {}),
    tags: {},
    publicIps: [],
    privateIps: [],
    securityGroupIds: [],
  };
}

const openGroup: SecurityGroupFacts = {
  groupId: 'sg-0a1',
  groupName: 'web',
  worldOpen: [
    { protocol: 'tcp', ports: '22', cidr: '0.0.0.0/0' },
    { protocol: 'tcp', ports: '443', cidr: '::/0' },
  ],
  broad: [{ protocol: 'tcp', ports: '5432', cidr: '32.0.0.0/3' }],
};
const closedGroup: SecurityGroupFacts = { groupId: 'sg-0b2', worldOpen: [], broad: [] };

function sectionLines(e: Enrichment, title: string): string[] {
  const section = e.sections.find((s) => s.title === title);
  if (!section) throw new Error(`no section ${title} in ${JSON.stringify(e.sections.map((s) => s.title))}`);
  return section.lines;
}

function enrichment(overrides: Partial<Enrichment> = {}): Enrichment {
  return { summary: [], sections: [], unavailable: [], resourceGone: false, at: NOW.toISOString(), ...overrides };
}

const contextSchema = z.object({
  type: z.literal('context'),
  block_id: z.string(),
  elements: z.tuple([z.object({ type: z.literal('mrkdwn'), text: z.string() })]),
});
const actionsSchema = z.object({
  type: z.literal('actions'),
  block_id: z.string(),
  elements: z.array(
    z.object({
      type: z.literal('button'),
      action_id: z.string(),
      value: z.string(),
      text: z.object({ type: z.literal('plain_text'), text: z.string() }),
      style: z.string().optional(),
    }),
  ),
});

function cardParts(blocks: SlackBlock[]): {
  text: string;
  buttons: z.infer<typeof actionsSchema>['elements'];
} {
  expect(blocks).toHaveLength(2);
  const context = contextSchema.parse(blocks[0]);
  const actions = actionsSchema.parse(blocks[1]);
  return { text: context.elements[0].text, buttons: actions.elements };
}

/** The thread's rendering of a section whose title and lines need no escaping or fitting. */
const rendered = (s: { title: string; lines: string[] }): string =>
  `*${s.title}*\n${s.lines.map((l) => `• ${l}`).join('\n')}`;

describe('targetsOf', () => {
  it('takes the instance id and security group ids of an Instance finding', () => {
    const targets = targetsOf(canaryInstance());
    expect(targets.instanceId).toBe('i-05746eb48123455e0');
    expect(targets.securityGroupIds).toEqual(['sg-9918a123']);
    expect(targets.accessKey).toBeUndefined();
  });

  it('takes no instance from an AccessKey finding that also carries instanceDetails', () => {
    const finding = accessKeyWithInstance();
    expect(finding).toMatchObject({
      resource: { resourceType: 'AccessKey', instanceDetails: { instanceId: 'i-99999999' } },
    });
    const targets = targetsOf(finding);
    expect(targets.instanceId).toBeUndefined();
    expect(targets.securityGroupIds).toEqual([]);
  });

  it('reads accessKeyDetails', () => {
    expect(targetsOf(accessKeyWithInstance()).accessKey).toEqual({
      accessKeyId: 'GeneratedFindingAccessKeyId',
      userName: 'GeneratedFindingUserName',
      userType: 'IAMUser',
      principalId: 'GeneratedFindingPrincipalId',
    });
    expect(targetsOf(rootCredentialUsage()).accessKey).toEqual({
      accessKeyId: 'ASIAJZ3DXJKMP7MG3EKA',
      userName: 'Root',
      userType: 'Root',
      principalId: '973743533182',
    });
  });

  it('ignores a security group id that is not an sg- id', () => {
    const targets = targetsOf(sampleInstance());
    expect(targets.instanceId).toBe('i-99999999');
    expect(targets.securityGroupIds).toEqual([]);
  });

  it('ignores a malformed instance id and deduplicates group ids', () => {
    const targets = targetsOf({
      resource: {
        resourceType: 'Instance',
        instanceDetails: {
          instanceId: 'GeneratedFindingInstanceId',
          networkInterfaces: [
            { securityGroups: [{ groupId: 'sg-0a1' }, { groupId: 'sg-0A1; rm -rf' }, { groupId: 42 }] },
            { securityGroups: [{ groupId: 'sg-0a1' }, { groupId: 'sg-0b2' }] },
            { securityGroups: 'not a list' },
          ],
        },
      },
    });
    expect(targets.instanceId).toBeUndefined();
    expect(targets.securityGroupIds).toEqual(['sg-0a1', 'sg-0b2']);
  });

  it('returns nothing for input that is not a finding', () => {
    for (const input of [undefined, null, 'finding', 42, [], { resource: [] }]) {
      expect(targetsOf(input)).toEqual({ instanceId: undefined, securityGroupIds: [], accessKey: undefined });
    }
  });

  it('takes only well-formed ids, and an instance only for Instance resources, across every fixture finding', () => {
    const findings = guardDutyFindings();
    expect(findings.length).toBeGreaterThan(50);
    for (const { finding } of findings) {
      const targets = targetsOf(finding);
      const resourceType = (finding.resource as Json | undefined)?.resourceType;
      if (targets.instanceId !== undefined) {
        expect(resourceType).toBe('Instance');
        expect(targets.instanceId).toMatch(/^i-[0-9a-f]+$/);
      }
      if (resourceType !== 'Instance') expect(targets.securityGroupIds).toEqual([]);
      for (const id of targets.securityGroupIds) expect(id).toMatch(/^sg-[0-9a-f]+$/);
    }
  });
});

describe('actionLines', () => {
  it('reads an API call and its caller IP with ASN organisation and country', () => {
    expect(actionLines(rootCredentialUsage())).toEqual([
      'API call: guardduty.amazonaws.com ListFindings (caller: Remote IP)',
      'Caller IP: 81.2.69.144 · ATT-INTERNET4, AS7018 · San Antonio, United States',
    ]);
  });

  it('reads a network connection: direction, protocol, ports and caller', () => {
    expect(actionLines(canaryInstance())).toEqual([
      'Connection: outbound TCP local port 2000 ↔ remote port 22',
      'Caller IP: 0.0.0.0 · GeneratedFindingORG · GeneratedFindingCityName, United States',
    ]);
  });

  it('reads a DNS request', () => {
    expect(actionLines(dnsFinding())).toEqual(['DNS lookup: GeneratedFindingDomainName']);
  });

  it('reads a port probe and its caller', () => {
    expect(actionLines(portProbeFinding())).toEqual([
      'Probed port 22',
      'Caller IP: 81.2.69.144 · GeneratedFindingASNOrg · GeneratedFindingCityName, GeneratedFindingCountryName',
    ]);
  });

  it('notes the domain an API call came through', () => {
    const lines = actionLines({
      service: {
        action: {
          awsApiCallAction: {
            serviceName: 's3.amazonaws.com',
            api: 'GetObject',
            domainDetails: { domain: 'evil.example' },
          },
        },
      },
    });
    expect(lines).toEqual(['API call: s3.amazonaws.com GetObject', 'Called through: evil.example']);
  });

  it('returns no lines for a finding without an action', () => {
    expect(actionLines({})).toEqual([]);
    expect(actionLines({ service: { action: { actionType: 'KUBERNETES_API_CALL' } } })).toEqual([]);
  });

  it('gives at most 20 lines, and at most five probes', () => {
    const caller = { ipAddressV4: '198.51.100.1', organization: { asnOrg: 'Example', asn: 64500 } };
    const lines = actionLines({
      service: {
        action: {
          awsApiCallAction: {
            serviceName: 'ec2.amazonaws.com',
            api: 'RunInstances',
            remoteIpDetails: caller,
            domainDetails: { domain: 'x.example' },
          },
          networkConnectionAction: { connectionDirection: 'INBOUND', remoteIpDetails: caller },
          dnsRequestAction: { domain: 'y.example' },
          portProbeAction: {
            portProbeDetails: Array.from({ length: 50 }, (_, i) => ({
              localPortDetails: { port: 1000 + i },
              remoteIpDetails: caller,
            })),
          },
        },
      },
    });
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(lines.filter((l) => l.startsWith('Probed port'))).toEqual([
      'Probed port 1000',
      'Probed port 1001',
      'Probed port 1002',
      'Probed port 1003',
      'Probed port 1004',
    ]);
    expect(lines).toContain('Connection: inbound local port ? ↔ remote port ?');
  });

  it('gives at most 20 lines for every fixture finding', () => {
    for (const { finding } of guardDutyFindings()) {
      expect(actionLines(finding).length).toBeLessThanOrEqual(20);
    }
  });
});

describe('summarise', () => {
  it('summarises a running instance with its name, state, age and owner, team and env tags', () => {
    const finding = canaryInstance();
    const e = summarise(finding, targetsOf(finding), { instance: { ok: true, value: runningInstance() } }, NOW);
    expect(e.resourceGone).toBe(false);
    expect(e.at).toBe(NOW.toISOString());
    expect(e.summary).toEqual([
      'Instance web-1 (running, launched 14 d ago) · owner: alice · team: payments · env: prod',
    ]);
    expect(sectionLines(e, 'Instance')).toEqual([
      'i-0abc1234def567890 · web-1 · running · launched 2024-06-01T12:00:00.000Z',
      'Tags: owner: alice, team: payments, env: prod',
      'Instance profile: arn:aws:iam::123456789012:instance-profile/web',
      'Public IPs: 203.0.113.7 · private IPs: 10.0.0.5',
      'VPC vpc-0a1b2c3d · subnet subnet-0a1b2c3d · security groups sg-0a1',
    ]);
    expect(sectionLines(e, 'Activity')).toEqual(actionLines(finding));
    expect(e.unavailable).toEqual([]);
  });

  it('says launched today for an instance less than a day old, and calls out an environment tag', () => {
    const instance = runningInstance({
      name: undefined,
      launchTime: '2024-06-15T10:00:00.000Z',
      tags: { environment: 'staging' },
      instanceProfileArn: undefined,
      publicIps: [],
    });
    const e = summarise({}, { securityGroupIds: [] }, { instance: { ok: true, value: instance } }, NOW);
    expect(e.summary).toEqual(['Instance (running, launched today) · environment: staging']);
    expect(sectionLines(e, 'Instance')).toEqual(
      expect.arrayContaining(['Instance profile: none', 'Public IPs: none · private IPs: 10.0.0.5']),
    );
  });

  it('calls out capitalised Owner, Team and Environment tags', () => {
    const instance = runningInstance({
      tags: { Name: 'web-1', Owner: 'alice', Team: 'payments', Environment: 'prod' },
    });
    const e = summarise({}, { securityGroupIds: [] }, { instance: { ok: true, value: instance } }, NOW);
    expect(e.summary[0]).toContain('alice');
    expect(e.summary[0]).toContain('payments');
    expect(e.summary[0]).toContain('prod');
  });

  it('marks a terminated instance as gone', () => {
    const e = summarise(
      {},
      { securityGroupIds: [] },
      { instance: { ok: true, value: goneInstance('terminated') } },
      NOW,
    );
    expect(e.resourceGone).toBe(true);
    expect(e.summary).toEqual(['Instance i-0abc1234def567890 no longer exists (terminated)']);
    expect(sectionLines(e, 'Instance')).toEqual(['i-0abc1234def567890 no longer exists (terminated).']);
  });

  it('marks an instance that does not exist as gone', () => {
    const e = summarise({}, { securityGroupIds: [] }, { instance: { ok: true, value: goneInstance() } }, NOW);
    expect(e.resourceGone).toBe(true);
    expect(e.summary).toEqual(['Instance i-0abc1234def567890 no longer exists']);
  });

  it('does not mark the resource gone when the instance lookup failed', () => {
    const e = summarise({}, { securityGroupIds: [] }, { instance: { ok: false, reason: 'AccessDenied' } }, NOW);
    expect(e.resourceGone).toBe(false);
    expect(e.sections.find((s) => s.title === 'Instance')).toBeUndefined();
  });

  it('counts world-open and broad rules in the summary and lists them under Security groups', () => {
    const e = summarise({}, { securityGroupIds: [] }, { groups: { ok: true, value: [openGroup, closedGroup] } }, NOW);
    expect(e.summary).toEqual(['2 ingress rule(s) open to the world', '1 suspiciously broad ingress rule(s)']);
    expect(sectionLines(e, 'Security groups')).toEqual([
      'Open to the world:',
      'sg-0a1 (web): tcp 22 from 0.0.0.0/0',
      'sg-0a1 (web): tcp 443 from ::/0',
      'Suspiciously broad (prefix /0–/8: a typo for /32?):',
      'sg-0a1 (web): tcp 5432 from 32.0.0.0/3',
    ]);
  });

  it('says no ingress is open to the world when no rule is', () => {
    const e = summarise({}, { securityGroupIds: [] }, { groups: { ok: true, value: [closedGroup] } }, NOW);
    expect(e.summary).toEqual([]);
    expect(sectionLines(e, 'Security groups')).toEqual(['No ingress open to the world.']);
  });

  it('lists the instances and public IPs attached to the groups', () => {
    const facts: Facts = {
      attachments: {
        ok: true,
        value: [
          { groupId: 'sg-0a1', instanceIds: ['i-0aa', 'i-0bb'], publicIps: ['203.0.113.7'] },
          { groupId: 'sg-0b2', instanceIds: [], publicIps: [] },
        ],
      },
    };
    const e = summarise({}, { securityGroupIds: [] }, facts, NOW);
    expect(sectionLines(e, 'Attached to those groups')).toEqual([
      'sg-0a1: instances i-0aa, i-0bb · public IPs 203.0.113.7',
      'sg-0b2: instances none · public IPs none',
    ]);
  });

  it('leaves out the attachments section when nothing is attached', () => {
    const e = summarise({}, { securityGroupIds: [] }, { attachments: { ok: true, value: [] } }, NOW);
    expect(e.sections).toEqual([]);
  });

  it('records failed lookups as unavailable and ends the summary with them', () => {
    const finding = sampleInstance();
    const facts: Facts = {
      account: { ok: false, reason: 'AccessDenied' },
      instance: { ok: false, reason: 'timed out after 5 s' },
      groups: { ok: false, reason: 'Throttling' },
      attachments: { ok: false, reason: 'AccessDenied' },
    };
    const e = summarise(finding, targetsOf(finding), facts, NOW);
    expect(e.unavailable).toEqual([
      'account: AccessDenied',
      'instance: timed out after 5 s',
      'security groups: Throttling',
      'group attachments: AccessDenied',
    ]);
    expect(e.summary).toEqual([
      'enrichment unavailable: account: AccessDenied; instance: timed out after 5 s; security groups: Throttling; group attachments: AccessDenied',
    ]);
    expect(e.sections.map((s) => s.title)).toEqual(['Activity']);
    expect(e.resourceGone).toBe(false);
  });

  it('puts the unavailable line after what was found', () => {
    const facts: Facts = {
      account: { ok: true, value: { accountId: '123456789012', name: 'prod-payments' } },
      groups: { ok: false, reason: 'Throttling' },
    };
    const e = summarise({}, { securityGroupIds: [] }, facts, NOW);
    expect(e.summary).toEqual(['Account: prod-payments', 'enrichment unavailable: security groups: Throttling']);
  });

  it('describes the account', () => {
    const facts: Facts = {
      account: {
        ok: true,
        value: { accountId: '123456789012', name: 'prod-payments', email: 'aws@example.com', status: 'ACTIVE' },
      },
    };
    const e = summarise({}, { securityGroupIds: [] }, facts, NOW);
    expect(sectionLines(e, 'Account')).toEqual([
      '123456789012 · prod-payments',
      'Email: aws@example.com',
      'Status: ACTIVE',
    ]);
  });

  it('flags the root user', () => {
    const finding = rootCredentialUsage();
    const e = summarise(finding, targetsOf(finding), {}, NOW);
    expect(e.summary).toEqual(['Root account credentials · key ASIAJZ3DXJKMP7MG3EKA']);
    expect(sectionLines(e, 'Identity')).toEqual([
      'Access key: ASIAJZ3DXJKMP7MG3EKA',
      'Root: Root (the root user!)',
      'Principal id: 973743533182',
    ]);
    expect(sectionLines(e, 'Activity')).toContain(
      'Caller IP: 81.2.69.144 · ATT-INTERNET4, AS7018 · San Antonio, United States',
    );
  });

  it('does not flag an IAM user as the root user', () => {
    const finding = accessKeyWithInstance();
    const e = summarise(finding, targetsOf(finding), {}, NOW);
    expect(e.summary).toEqual(['IAMUser GeneratedFindingUserName · key GeneratedFindingAccessKeyId']);
    expect(sectionLines(e, 'Identity').join('\n')).not.toContain('the root user!');
  });

  const crowdedFacts: Facts = {
    account: { ok: true, value: { accountId: '123456789012', name: 'prod-payments' } },
    instance: { ok: true, value: runningInstance() },
    groups: { ok: true, value: [openGroup] },
    attachments: { ok: false, reason: 'AccessDenied' },
  };

  it('caps the summary at 4 lines', () => {
    const finding = rootCredentialUsage();
    const e = summarise(finding, targetsOf(finding), crowdedFacts, NOW);
    expect(e.summary).toHaveLength(4);
    expect(e.summary[0]).toBe('Account: prod-payments');
    expect(e.unavailable).toEqual(['group attachments: AccessDenied']);
  });

  it('keeps the enrichment unavailable line when the summary is capped', () => {
    const e = summarise({}, { securityGroupIds: [] }, crowdedFacts, NOW);
    expect(e.summary.length).toBeLessThanOrEqual(4);
    expect(e.summary.at(-1)).toBe('enrichment unavailable: group attachments: AccessDenied');
  });
});

describe('enrichmentBlocks', () => {
  it('shows the summary in a context block, with a Re-run button carrying the alert id', () => {
    const { text, buttons } = cardParts(
      enrichmentBlocks(
        'alert-1',
        enrichment({ summary: ['Account: prod', '2 ingress rule(s) open to the world'] }),
        true,
      ),
    );
    expect(text).toBe(':mag: Account: prod · 2 ingress rule(s) open to the world');
    expect(buttons.map((b) => [b.action_id, b.value, b.text.text])).toEqual([
      [ACTION_IDS.rerunInvestigation, 'alert-1', 'Re-run investigation'],
    ]);
  });

  it('says nothing more was found for an empty summary', () => {
    const { text } = cardParts(enrichmentBlocks('alert-1', enrichment(), false));
    expect(text).toBe(':mag: Nothing more found.');
  });

  it.each([
    [true, true, true],
    [true, false, false],
    [false, true, false],
    [false, false, false],
  ])(
    'offers Resolve: resource gone only when the resource is gone and the alert can be resolved (gone %s, can resolve %s)',
    (resourceGone, canResolveGone, offered) => {
      const { buttons } = cardParts(enrichmentBlocks('alert-7', enrichment({ resourceGone }), canResolveGone));
      expect(buttons.map((b) => b.action_id)).toEqual(
        offered ? [ACTION_IDS.rerunInvestigation, ACTION_IDS.resolveGone] : [ACTION_IDS.rerunInvestigation],
      );
      const resolve = buttons.find((b) => b.action_id === ACTION_IDS.resolveGone);
      if (offered) {
        expect(resolve).toMatchObject({ value: 'alert-7', style: 'primary', text: { text: 'Resolve: resource gone' } });
      }
    },
  );

  it('keeps the context text within 2000 characters', () => {
    const long = '&'.repeat(5000);
    for (const summary of [[long, long, long, long], Array.from({ length: 30 }, () => long)]) {
      const { text } = cardParts(enrichmentBlocks('alert-1', enrichment({ summary }), true));
      expect(text.length).toBeLessThanOrEqual(2000);
    }
    const fourLines = cardParts(enrichmentBlocks('alert-1', enrichment({ summary: [long, long, long, long] }), true));
    // Four fitted lines fit whole: no entity is cut.
    expect(fourLines.text).toMatch(/^(?::mag: |&amp;|… · |…$)+$/);
  });

  it('escapes hostile strings on the card', () => {
    const finding = accessKeyWithInstance();
    const targets = targetsOf(finding);
    const hostile = {
      ...targets,
      accessKey: { ...targets.accessKey, userName: '<https://evil|x>' },
    };
    const instance = runningInstance({ name: '<@U123>', tags: { owner: '<!channel>', team: 'a & b' } });
    const e = summarise(finding, hostile, { instance: { ok: true, value: instance } }, NOW);
    const { text } = cardParts(enrichmentBlocks('alert-1', e, true));
    expect(text).not.toMatch(/[<>]/);
    expect(text).toContain('owner: &lt;!channel&gt;');
    expect(text).toContain('team: a &amp; b');
    expect(text).toContain('Instance &lt;@U123&gt;');
    expect(text).toContain('IAMUser &lt;https://evil|x&gt;');
  });
});

describe('enrichmentThreadText', () => {
  it('escapes hostile strings in the thread', () => {
    const finding = {
      service: { action: { awsApiCallAction: { serviceName: 'iam.amazonaws.com', api: '<https://evil|x>' } } },
    };
    const instance = runningInstance({ tags: { owner: '<!channel>' } });
    const e = summarise(
      finding,
      { securityGroupIds: [] },
      { instance: { ok: true, value: instance }, groups: { ok: false, reason: '<!here> denied' } },
      NOW,
    );
    const text = enrichmentThreadText(e);
    expect(text).not.toMatch(/[<>]/);
    expect(text).toContain('• API call: iam.amazonaws.com &lt;https://evil|x&gt;');
    expect(text).toContain('• Tags: owner: &lt;!channel&gt;');
    expect(text).toContain('*Enrichment unavailable*\n• security groups: &lt;!here&gt; denied');
  });

  it('escapes section titles', () => {
    const text = enrichmentThreadText(enrichment({ sections: [{ title: '<!everyone>', lines: ['ok'] }] }));
    expect(text).toBe(':mag: *Investigation*\n\n*&lt;!everyone&gt;*\n• ok');
  });

  it('renders every section as a bulleted list under a bold title', () => {
    const finding = rootCredentialUsage();
    const e = summarise(finding, targetsOf(finding), { groups: { ok: true, value: [closedGroup] } }, NOW);
    expect(enrichmentThreadText(e)).toBe(
      [
        ':mag: *Investigation*',
        '*Security groups*\n• No ingress open to the world.',
        '*Identity*\n• Access key: ASIAJZ3DXJKMP7MG3EKA\n• Root: Root (the root user!)\n• Principal id: 973743533182',
        '*Activity*\n• API call: guardduty.amazonaws.com ListFindings (caller: Remote IP)\n' +
          '• Caller IP: 81.2.69.144 · ATT-INTERNET4, AS7018 · San Antonio, United States',
      ].join('\n\n'),
    );
  });

  it('says nothing more was found when there is nothing', () => {
    expect(enrichmentThreadText(enrichment())).toBe(':mag: *Investigation*\n\nNothing more found.');
  });

  it('stays within 3800 characters with 200 long lines and keeps only whole sections', () => {
    const sections = Array.from({ length: 200 }, (_, i) => ({
      title: `Section ${i}`,
      lines: [`${i} ${'x'.repeat(390)}`],
    }));
    const text = enrichmentThreadText(enrichment({ sections }));
    expect(text.length).toBeLessThanOrEqual(3800);
    expect(text.endsWith('\n\n…')).toBe(true);
    const [header, ...parts] = text.split('\n\n');
    expect(header).toBe(':mag: *Investigation*');
    expect(parts.at(-1)).toBe('…');
    const kept = parts.slice(0, -1);
    expect(kept.length).toBeGreaterThan(0);
    kept.forEach((part, i) => {
      const section = sections[i];
      if (!section) throw new Error(`no section ${i}`);
      expect(part).toBe(rendered(section));
    });
  });

  it('drops a section too long to fit whole rather than cutting it', () => {
    const big = {
      title: 'Security groups',
      lines: Array.from({ length: 200 }, (_, i) => `sg-${i} ${'y'.repeat(390)}`),
    };
    const small = { title: 'Account', lines: ['123456789012 · prod'] };
    const text = enrichmentThreadText(enrichment({ sections: [small, big] }));
    expect(text).toBe(`:mag: *Investigation*\n\n${rendered(small)}\n\n…`);
    expect(text).not.toContain('sg-0 ');
  });

  it('fits long lines to 400 characters each', () => {
    const text = enrichmentThreadText(enrichment({ sections: [{ title: 'Activity', lines: ['z'.repeat(1000)] }] }));
    const line = text.split('\n').find((l) => l.startsWith('• '));
    expect(line).toBe(`• ${'z'.repeat(399)}…`);
  });

  it('stays within 3800 characters when the kept sections end right at the limit', () => {
    const header = ':mag: *Investigation*';
    // One section whose rendering brings the text to exactly 3800: 10 lines of 'a'.
    const target = 3800 - header.length - 2;
    const overhead = '*A*\n'.length + 10 * '• '.length + 9;
    const total = target - overhead;
    const lengths = Array.from({ length: 10 }, (_, i) => Math.floor(total / 10) + (i < total % 10 ? 1 : 0));
    const first = { title: 'A', lines: lengths.map((n) => 'a'.repeat(n)) };
    expect(rendered(first).length).toBe(target);
    const text = enrichmentThreadText(enrichment({ sections: [first, { title: 'B', lines: ['b'] }] }));
    // That section leaves no room for the closing ellipsis, so it is dropped whole, not cut.
    expect(text).toBe(`${header}\n\n…`);
    expect(text.length).toBeLessThanOrEqual(3800);
  });
});

/**
 * Auto-investigation end to end: the card is posted first, then enriched from
 * (mocked) AWS in the finding's account; failures degrade to a reason.
 */

import { randomBytes } from 'node:crypto';
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { ACTION_IDS } from '../../app/slack/ids';
import { type Harness, startHarness } from '../support/app-harness';
import { sts } from '../support/aws-mocks';
import { alertRow, cardsFor } from '../support/cards';
import { eventually } from '../support/eventually';
import { guardDutyFindings, type Json, wrapFinding } from '../support/fixtures';
import { ALICE, click } from '../support/slack-interactions';

process.env.AWS_REGION = 'us-east-1';
const ec2 = mockClient(EC2Client);
const org = mockClient(OrganizationsClient);

/**
 * A fixture finding in a fresh account with a fresh instance id: the
 * investigation caches what it learns per resource for ten minutes.
 */
function fixture(type: string): Json {
  const f = guardDutyFindings().find((x) => x.finding.type === type)?.finding;
  if (!f) throw new Error(`no fixture ${type}`);
  const copy = structuredClone(f) as Json;
  const details = (copy.resource as Json | undefined)?.instanceDetails as Json | undefined;
  if (details) details.instanceId = `i-${randomBytes(8).toString('hex')}`;
  const accountId = String(100000000000 + (randomBytes(4).readUInt32BE(0) % 800000000000));
  return { ...copy, id: randomBytes(16).toString('hex'), accountId };
}

const INSTANCE = {
  InstanceId: 'i-99999999',
  State: { Name: 'running' as const },
  LaunchTime: new Date('2026-11-01T00:00:00Z'),
  Tags: [
    { Key: 'Name', Value: 'web-1' },
    { Key: 'owner', Value: 'team-payments' },
    { Key: 'env', Value: 'prod' },
  ],
  IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/web' },
  PublicIpAddress: '198.51.100.10',
  PrivateIpAddress: '10.0.0.1',
  VpcId: 'vpc-1234',
  SubnetId: 'subnet-1234',
  SecurityGroups: [{ GroupId: 'sg-0aaa', GroupName: 'web' }],
};

function mockAws(): void {
  ec2.reset();
  org.reset();
  sts.reset();
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIA',
      SecretAccessKey: 's',
      SessionToken: 't',
      Expiration: new Date(Date.now() + 3_600_000),
    },
  });
  org.on(DescribeAccountCommand).callsFake((input: { AccountId?: string }) => ({
    Account: { Id: input.AccountId, Name: 'payments-prod', Email: 'aws+payments@example.com' },
  }));
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
    Reservations: [{ Instances: [{ ...INSTANCE, InstanceId: input.InstanceIds?.[0] }] }],
  }));
  ec2.on(DescribeSecurityGroupsCommand).resolves({
    SecurityGroups: [
      {
        GroupId: 'sg-0aaa',
        GroupName: 'web',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '64.0.0.0/3' }] },
        ],
      },
    ],
  });
  ec2.on(DescribeNetworkInterfacesCommand).resolves({
    NetworkInterfaces: [
      {
        Groups: [{ GroupId: 'sg-0aaa' }],
        Attachment: { InstanceId: 'i-99999999' },
        Association: { PublicIp: '198.51.100.10' },
      },
      {
        Groups: [{ GroupId: 'sg-0aaa' }],
        Attachment: { InstanceId: 'i-0bbbbbbb' },
        Association: { PublicIp: '198.51.100.11' },
      },
    ],
  });
}

describe('auto-investigation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        INVESTIGATION: 'on',
        ORGANIZATIONS_ROLE_ARN: 'arn:aws:iam::999988887777:role/KanshiOrganizationsReadOnly',
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    mockAws();
    h.slack.reset();
  });

  async function investigated(f: Json) {
    const { body } = await h.ingest(wrapFinding(f));
    const alertId = String(body.alertId);
    await eventually(async () => (await alertRow(h, alertId)).enriched_at, 15_000);
    const row = await alertRow(h, alertId);
    const ts = String(row.card_ts);
    const channel = String(row.card_channel_id);
    const card = await eventually(async () => {
      const c = JSON.stringify(cardsFor(h, alertId)[0]?.blocks ?? []);
      return c.includes(':mag:') && c;
    });
    const thread = await h.slack.waitFor(() =>
      h.slack.replies(channel, ts).find((m) => String(m.text).includes('*Investigation*')),
    );
    const instanceId = String(((f.resource as Json).instanceDetails as Json | undefined)?.instanceId);
    return { alertId, ts, channel, card, thread: String(thread.text), instanceId };
  }

  it('adds the instance, its exposure and the account to an EC2 finding’s card and thread', async () => {
    const { card, thread } = await investigated(fixture('UnauthorizedAccess:EC2/MaliciousIPCaller.Custom'));
    expect(card).toContain('Instance web-1 (running');
    expect(card).toContain('owner: team-payments');
    expect(card).toContain('1 ingress rule(s) open to the world');
    expect(card).toContain('1 suspiciously broad ingress rule(s)');
    expect(card).toContain('Account: payments-prod');
    expect(thread).toContain('sg-0aaa (web): tcp 22 from 0.0.0.0/0');
    expect(thread).toContain('64.0.0.0/3');
    expect(thread).toContain('sg-0aaa: instances i-99999999, i-0bbbbbbb · public IPs 198.51.100.10, 198.51.100.11');
    expect(card).not.toContain('enrichment unavailable');
    expect(thread).toContain('Instance profile: arn:aws:iam::123456789012:instance-profile/web');
    const roles = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn);
    expect(roles.some((r) => /^arn:aws:iam::\d{12}:role\/KanshiReadOnly$/.test(String(r)))).toBe(true);
  });

  it('renders the identity and the API calls and callers of an IAM finding', async () => {
    const { card, thread } = await investigated(fixture('Recon:IAMUser/MaliciousIPCaller.Custom'));
    expect(card).toContain('key GeneratedFindingAccessKeyId');
    expect(thread).toContain('*Identity*');
    expect(thread).toContain('Caller IP: ');
    expect(thread).toMatch(/API call: \S+/);
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('gives S3 and Kubernetes findings their account and activity', async () => {
    const s3 = await investigated(fixture('Discovery:S3/MaliciousIPCaller.Custom'));
    expect(s3.thread).toContain('*Account*');
    expect(s3.thread).toContain('*Activity*');
    const eks = await investigated(fixture('Discovery:Kubernetes/MaliciousIPCaller.Custom'));
    expect(eks.thread).toContain('payments-prod');
  });

  it('posts the card before the investigation finishes', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .callsFake(
        (input: { InstanceIds?: string[] }) =>
          new Promise((resolve) =>
            setTimeout(
              () => resolve({ Reservations: [{ Instances: [{ ...INSTANCE, InstanceId: input.InstanceIds?.[0] }] }] }),
              1500,
            ),
          ),
      );
    const { body } = await h.ingest(wrapFinding(fixture('UnauthorizedAccess:EC2/MaliciousIPCaller.Custom')));
    const alertId = String(body.alertId);
    const first = await h.slack.waitFor(() => cardsFor(h, alertId)[0]);
    expect(JSON.stringify(first.blocks)).not.toContain(':mag:');
    expect((await alertRow(h, alertId)).enriched_at).toBeNull();
    await eventually(async () => JSON.stringify(cardsFor(h, alertId)[0]?.blocks).includes('Instance web-1'), 10_000);
  });

  it('says why enrichment is unavailable on AccessDenied and throttling, and the card stands', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('no'), { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } }));
    org
      .on(DescribeAccountCommand)
      .rejects(
        Object.assign(new Error('slow'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } }),
      );
    const { card, thread } = await investigated(fixture('UnauthorizedAccess:EC2/MaliciousIPCaller.Custom'));
    expect(card).toContain('enrichment unavailable:');
    expect(card).toContain('access denied (check the KanshiReadOnly role');
    expect(card).toContain('AWS throttled the request');
    expect(thread).toContain('*Enrichment unavailable*');
    expect(card).toContain(ACTION_IDS.acknowledge);
  });

  it('offers to resolve as resource gone when the instance is terminated, audited', async () => {
    ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
      Reservations: [
        { Instances: [{ ...INSTANCE, InstanceId: input.InstanceIds?.[0], State: { Name: 'terminated' as const } }] },
      ],
    }));
    const { alertId, ts, channel, card, instanceId } = await investigated(
      fixture('UnauthorizedAccess:EC2/MaliciousIPCaller.Custom'),
    );
    expect(card).toContain(`Instance ${instanceId} no longer exists (terminated)`);
    expect(card).toContain(ACTION_IDS.resolveGone);
    await click(h, {
      actionId: ACTION_IDS.resolveGone,
      value: alertId,
      user: ALICE,
      channel,
      messageTs: ts,
    });
    await eventually(async () => (await alertRow(h, alertId)).state === 'resolved');
    const audit = await h.db.pool.query('SELECT action, actor_id, reason FROM audit_event WHERE alert_id = $1', [
      alertId,
    ]);
    expect(audit.rows).toEqual([
      {
        action: 'resolve_gone',
        actor_id: ALICE.id,
        reason: 'resource gone: the investigated resource no longer exists',
      },
    ]);
  });

  it('re-runs the investigation from the card, audited', async () => {
    const { alertId, ts, channel } = await investigated(fixture('UnauthorizedAccess:EC2/MaliciousIPCaller.Custom'));
    await click(h, {
      actionId: ACTION_IDS.rerunInvestigation,
      value: alertId,
      user: ALICE,
      channel,
      messageTs: ts,
    });
    await h.slack.waitFor(
      () => h.slack.replies(channel, ts).filter((m) => String(m.text).includes('*Investigation*')).length === 2,
      10_000,
    );
    const audit = await h.db.pool.query('SELECT action, outcome, actor_id FROM audit_event WHERE alert_id = $1', [
      alertId,
    ]);
    expect(audit.rows).toEqual([{ action: 'investigate', outcome: 'applied', actor_id: ALICE.id }]);
  });
});

import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsInvestigator } from '../../app/adapters/aws/investigator';
import type { Clock } from '../../app/ports/clock';
import type { Logger } from '../../app/ports/logger';

// Stubbing the classes' send (not instances) also covers the clients that
// AwsInvestigator builds itself, and keeps every test off the network.
const sts = mockClient(STSClient);
const ec2 = mockClient(EC2Client);
const orgs = mockClient(OrganizationsClient);

const ROLE = 'KanshiReadOnly';
const ACCOUNT_A = '111111111111';
const ACCOUNT_B = '222222222222';
const REGION = 'eu-west-1';
const T0 = new Date('2025-03-01T12:00:00Z');
const clock: Clock = { now: () => T0 };

const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  child: () => silentLogger,
};

/** An error shaped like the SDK's for a service error without a modeled class. */
function awsError(name: string, httpStatusCode: number, extra: object = {}): Error {
  return Object.assign(new Error(`${name} from the mock`), { name, $metadata: { httpStatusCode }, ...extra });
}

/** Credentials whose access key id names the role they were issued for. */
function assumeRoleAnswers(): void {
  sts.on(AssumeRoleCommand).callsFake(async (input: { RoleArn?: string }) => ({
    Credentials: {
      AccessKeyId: `ASIA-${input.RoleArn}`,
      SecretAccessKey: 'assumed-secret',
      SessionToken: 'assumed-token',
      Expiration: new Date(T0.getTime() + 60 * 60 * 1000),
    },
  }));
}

function investigator(overrides: { externalId?: string; callTimeoutMs?: number } = {}): AwsInvestigator {
  return new AwsInvestigator({
    roleName: ROLE,
    clock,
    logger: silentLogger,
    stsClient: new STSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIABASE', secretAccessKey: 'base' },
    }),
    organizations: new OrganizationsClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIABASE', secretAccessKey: 'base' },
    }),
    ...overrides,
  });
}

const webInstance: Instance = {
  InstanceId: 'i-0abc',
  State: { Name: 'running', Code: 16 },
  LaunchTime: new Date('2025-02-20T08:30:00Z'),
  Tags: [
    { Key: 'Name', Value: 'web-1' },
    { Key: 'owner', Value: 'alice' },
    { Key: 'team', Value: 'payments' },
    { Key: 'env', Value: 'prod' },
  ],
  IamInstanceProfile: { Arn: 'arn:aws:iam::111111111111:instance-profile/web', Id: 'AIPAWEB' },
  PublicIpAddress: '198.51.100.10',
  PrivateIpAddress: '10.1.2.3',
  VpcId: 'vpc-1',
  SubnetId: 'subnet-1',
  SecurityGroups: [{ GroupId: 'sg-web', GroupName: 'web' }],
  NetworkInterfaces: [
    {
      Association: { PublicIp: '198.51.100.10' },
      PrivateIpAddress: '10.1.2.3',
      PrivateIpAddresses: [
        { PrivateIpAddress: '10.1.2.3', Association: { PublicIp: '198.51.100.10' } },
        { PrivateIpAddress: '10.1.2.4', Association: { PublicIp: '198.51.100.11' } },
      ],
      Groups: [{ GroupId: 'sg-web' }, { GroupId: 'sg-ssh' }],
    },
  ],
};

beforeAll(() => {
  // The default STS client built by create() resolves its region from here.
  process.env.AWS_REGION = 'us-east-1';
});

beforeEach(() => {
  sts.reset();
  ec2.reset();
  orgs.reset();
  assumeRoleAnswers();
});

describe('AwsInvestigator role assumption', () => {
  it('assumes the named role in the member account, with the external id', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    await investigator({ externalId: 'ext-123' }).describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    const calls = sts.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      RoleArn: `arn:aws:iam::${ACCOUNT_A}:role/${ROLE}`,
      ExternalId: 'ext-123',
    });
  });

  it('assumes the role once per account across calls and regions, and separately for a second account', async () => {
    const signedWith: string[] = [];
    ec2.on(DescribeInstancesCommand).callsFake(async (_input, getClient: () => EC2Client) => {
      signedWith.push((await getClient().config.credentials()).accessKeyId);
      return { Reservations: [] };
    });
    const inv = investigator();

    await inv.describeInstance(ACCOUNT_A, REGION, 'i-1');
    await inv.describeInstance(ACCOUNT_A, 'us-east-1', 'i-2');
    await inv.describeInstance(ACCOUNT_A, REGION, 'i-3');
    await inv.describeInstance(ACCOUNT_B, REGION, 'i-4');

    const arns = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn);
    expect(arns).toEqual([`arn:aws:iam::${ACCOUNT_A}:role/${ROLE}`, `arn:aws:iam::${ACCOUNT_B}:role/${ROLE}`]);
    // Each account's EC2 calls are signed with that account's credentials.
    const keyA = `ASIA-arn:aws:iam::${ACCOUNT_A}:role/${ROLE}`;
    const keyB = `ASIA-arn:aws:iam::${ACCOUNT_B}:role/${ROLE}`;
    expect(signedWith).toEqual([keyA, keyA, keyA, keyB]);
  });

  it('uses the configured partition in the role ARN', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const inv = new AwsInvestigator({
      roleName: ROLE,
      clock,
      logger: silentLogger,
      partition: 'aws-us-gov',
      stsClient: new STSClient({ region: 'us-gov-west-1' }),
    });

    await inv.describeInstance(ACCOUNT_A, 'us-gov-west-1', 'i-1');

    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input.RoleArn).toBe(
      `arn:aws-us-gov:iam::${ACCOUNT_A}:role/${ROLE}`,
    );
  });

  it('reports a refused AssumeRole as "cannot assume" with the role ARN, without calling EC2', async () => {
    sts.on(AssumeRoleCommand).rejects(awsError('AccessDenied', 403, { Type: 'Sender' }));
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    expect(result).toEqual({ ok: false, reason: `cannot assume arn:aws:iam::${ACCOUNT_A}:role/${ROLE}` });
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('refuses an account id that is not twelve digits instead of building an ARN from it', async () => {
    const result = await investigator().describeInstance('1111:role/Admin', REGION, 'i-0abc');

    expect(result.ok).toBe(false);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });
});

describe('AwsInvestigator.describeInstance', () => {
  it('maps the instance facts: state, name, tags, IPs, profile, network and groups', async () => {
    ec2.on(DescribeInstancesCommand, { InstanceIds: ['i-0abc'] }).resolves({
      Reservations: [{ Instances: [webInstance] }],
    });

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    expect(result).toEqual({
      ok: true,
      value: {
        instanceId: 'i-0abc',
        exists: true,
        state: 'running',
        name: 'web-1',
        launchTime: '2025-02-20T08:30:00.000Z',
        tags: { Name: 'web-1', owner: 'alice', team: 'payments', env: 'prod' },
        instanceProfileArn: 'arn:aws:iam::111111111111:instance-profile/web',
        publicIps: ['198.51.100.10', '198.51.100.11'],
        privateIps: ['10.1.2.3', '10.1.2.4'],
        vpcId: 'vpc-1',
        subnetId: 'subnet-1',
        securityGroupIds: ['sg-web', 'sg-ssh'],
      },
    });
  });

  it('answers exists:false when EC2 says the instance id is not found', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', 400));

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-gone');

    expect(result).toEqual({
      ok: true,
      value: { instanceId: 'i-gone', exists: false, tags: {}, publicIps: [], privateIps: [], securityGroupIds: [] },
    });
  });

  it('answers exists:false when there are no reservations', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-gone');

    expect(result).toMatchObject({ ok: true, value: { instanceId: 'i-gone', exists: false } });
  });

  it('answers exists:false with the state for a terminated instance', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ ...webInstance, State: { Name: 'terminated', Code: 48 } }] }],
    });

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    expect(result).toEqual({
      ok: true,
      value: {
        instanceId: 'i-0abc',
        exists: false,
        state: 'terminated',
        tags: {},
        publicIps: [],
        privateIps: [],
        securityGroupIds: [],
      },
    });
  });

  it('turns UnauthorizedOperation into a reason naming the role and account', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    expect(result).toEqual({ ok: false, reason: `access denied (check the ${ROLE} role in ${ACCOUNT_A})` });
  });

  it('treats any 403 as access denied, whatever the error is called', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('SomethingForbidden', 403));

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    expect(result).toEqual({ ok: false, reason: `access denied (check the ${ROLE} role in ${ACCOUNT_A})` });
  });

  it('reports throttling as "AWS throttled the request"', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', 503));

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    expect(result).toEqual({ ok: false, reason: 'AWS throttled the request' });
  });

  it('reports any other failure by its error name', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.Malformed', 400));

    const result = await investigator().describeInstance(ACCOUNT_A, REGION, 'not-an-id');

    expect(result).toEqual({ ok: false, reason: 'InvalidInstanceID.Malformed' });
  });

  it('gives up on a call that never answers after callTimeoutMs', async () => {
    ec2.on(DescribeInstancesCommand).callsFake(() => new Promise(() => {}));

    const started = Date.now();
    const result = await investigator({ callTimeoutMs: 100 }).describeInstance(ACCOUNT_A, REGION, 'i-0abc');
    const elapsed = Date.now() - started;

    expect(result).toEqual({ ok: false, reason: 'timed out after 100 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1000);
  });

  it('also bounds an AssumeRole that never answers', async () => {
    sts.on(AssumeRoleCommand).callsFake(() => new Promise(() => {}));

    const result = await investigator({ callTimeoutMs: 100 }).describeInstance(ACCOUNT_A, REGION, 'i-0abc');

    expect(result).toEqual({ ok: false, reason: 'timed out after 100 ms' });
  });

  it('words the default 5 s timeout as in the port', async () => {
    jest.useFakeTimers();
    try {
      ec2.on(DescribeInstancesCommand).callsFake(() => new Promise(() => {}));
      const pending = investigator().describeInstance(ACCOUNT_A, REGION, 'i-0abc');
      await jest.advanceTimersByTimeAsync(5000);

      expect(await pending).toEqual({ ok: false, reason: 'timed out after 5 s' });
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('AwsInvestigator.describeSecurityGroups', () => {
  it('classifies world-open and broad ingress, and leaves narrow ranges out', async () => {
    ec2.on(DescribeSecurityGroupsCommand, { GroupIds: ['sg-ssh', 'sg-db'] }).resolves({
      SecurityGroups: [
        {
          GroupId: 'sg-ssh',
          GroupName: 'ssh',
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
            { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
            { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '203.0.113.7/32' }] },
          ],
        },
        {
          GroupId: 'sg-db',
          GroupName: 'db',
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 5432,
              ToPort: 5439,
              IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '64.0.0.0/3' }, { CidrIp: '10.20.0.0/16' }],
              Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32' }, { CidrIpv6: '2001:db8:1::/48' }],
              // Group references open nothing to an address range by themselves.
              UserIdGroupPairs: [{ GroupId: 'sg-app' }],
            },
          ],
        },
      ],
    });

    const result = await investigator().describeSecurityGroups(ACCOUNT_A, REGION, ['sg-ssh', 'sg-db']);

    expect(result).toEqual({
      ok: true,
      value: [
        {
          groupId: 'sg-ssh',
          groupName: 'ssh',
          worldOpen: [
            { protocol: 'tcp', ports: '22', cidr: '0.0.0.0/0' },
            { protocol: 'all', ports: 'all', cidr: '::/0' },
          ],
          broad: [],
        },
        {
          groupId: 'sg-db',
          groupName: 'db',
          worldOpen: [],
          broad: [
            { protocol: 'tcp', ports: '5432-5439', cidr: '10.0.0.0/8' },
            { protocol: 'tcp', ports: '5432-5439', cidr: '64.0.0.0/3' },
            { protocol: 'tcp', ports: '5432-5439', cidr: '2001:db8::/32' },
          ],
        },
      ],
    });
  });

  it('does not call EC2 for an empty list, which would describe every group', async () => {
    const result = await investigator().describeSecurityGroups(ACCOUNT_A, REGION, []);

    expect(result).toEqual({ ok: true, value: [] });
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });

  it('turns access denied into a reason naming the role', async () => {
    ec2.on(DescribeSecurityGroupsCommand).rejects(awsError('UnauthorizedOperation', 403));

    const result = await investigator().describeSecurityGroups(ACCOUNT_B, REGION, ['sg-ssh']);

    expect(result).toEqual({ ok: false, reason: `access denied (check the ${ROLE} role in ${ACCOUNT_B})` });
  });
});

describe('AwsInvestigator.groupAttachments', () => {
  it('lists per group the attached instances and public IPs of its network interfaces', async () => {
    ec2.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [
        {
          Attachment: { InstanceId: 'i-1' },
          Association: { PublicIp: '198.51.100.10' },
          Groups: [{ GroupId: 'sg-ssh' }, { GroupId: 'sg-web' }],
        },
        { Attachment: { InstanceId: 'i-2' }, Groups: [{ GroupId: 'sg-ssh' }] },
        // An interface without an instance (e.g. a load balancer's) still exposes its IP.
        { Association: { PublicIp: '198.51.100.20' }, Groups: [{ GroupId: 'sg-web' }, { GroupId: 'sg-other' }] },
      ],
    });

    const result = await investigator().groupAttachments(ACCOUNT_A, REGION, ['sg-ssh', 'sg-web', 'sg-unused']);

    expect(result).toEqual({
      ok: true,
      value: [
        { groupId: 'sg-ssh', instanceIds: ['i-1', 'i-2'], publicIps: ['198.51.100.10'] },
        { groupId: 'sg-web', instanceIds: ['i-1'], publicIps: ['198.51.100.10', '198.51.100.20'] },
        { groupId: 'sg-unused', instanceIds: [], publicIps: [] },
      ],
    });
    expect(ec2.commandCalls(DescribeNetworkInterfacesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: 'group-id', Values: ['sg-ssh', 'sg-web', 'sg-unused'] },
    ]);
  });

  it('follows NextToken to later pages', async () => {
    ec2
      .on(DescribeNetworkInterfacesCommand)
      .resolvesOnce({
        NetworkInterfaces: [{ Attachment: { InstanceId: 'i-1' }, Groups: [{ GroupId: 'sg-a' }] }],
        NextToken: 't2',
      })
      .resolvesOnce({ NetworkInterfaces: [{ Attachment: { InstanceId: 'i-2' }, Groups: [{ GroupId: 'sg-a' }] }] });

    const result = await investigator().groupAttachments(ACCOUNT_A, REGION, ['sg-a']);

    expect(result).toEqual({ ok: true, value: [{ groupId: 'sg-a', instanceIds: ['i-1', 'i-2'], publicIps: [] }] });
    expect(ec2.commandCalls(DescribeNetworkInterfacesCommand)[1]?.args[0].input.NextToken).toBe('t2');
  });
});

describe('AwsInvestigator.describeAccount', () => {
  it('maps the account name, email and state', async () => {
    orgs.on(DescribeAccountCommand, { AccountId: ACCOUNT_A }).resolves({
      Account: { Id: ACCOUNT_A, Name: 'payments-prod', Email: 'aws+payments@example.com', State: 'ACTIVE' },
    });

    const result = await investigator().describeAccount(ACCOUNT_A);

    expect(result).toEqual({
      ok: true,
      value: { accountId: ACCOUNT_A, name: 'payments-prod', email: 'aws+payments@example.com', status: 'ACTIVE' },
    });
  });

  it('reports a missing account by its error name', async () => {
    orgs.on(DescribeAccountCommand).rejects(awsError('AccountNotFoundException', 400));

    const result = await investigator().describeAccount(ACCOUNT_A);

    expect(result).toEqual({ ok: false, reason: 'AccountNotFoundException' });
  });

  it('reads Organizations through the configured role when built by create', async () => {
    const orgRole = 'arn:aws:iam::999999999999:role/KanshiOrgRead';
    let signedWith: string | undefined;
    orgs.on(DescribeAccountCommand).callsFake(async (_input, getClient: () => OrganizationsClient) => {
      signedWith = (await getClient().config.credentials()).accessKeyId;
      return { Account: { Name: 'payments-prod', Status: 'ACTIVE' } };
    });
    const inv = AwsInvestigator.create({ roleName: ROLE, clock, logger: silentLogger, organizationsRoleArn: orgRole });

    const result = await inv.describeAccount(ACCOUNT_A);

    expect(result).toMatchObject({ ok: true, value: { name: 'payments-prod', status: 'ACTIVE' } });
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual([orgRole]);
    expect(signedWith).toBe(`ASIA-${orgRole}`);
  });

  it('reports a refused Organizations role as "cannot assume" with its ARN', async () => {
    const orgRole = 'arn:aws:iam::999999999999:role/KanshiOrgRead';
    sts.on(AssumeRoleCommand).rejects(awsError('AccessDenied', 403));
    orgs.on(DescribeAccountCommand).resolves({ Account: { Name: 'payments-prod' } });
    const inv = AwsInvestigator.create({ roleName: ROLE, clock, logger: silentLogger, organizationsRoleArn: orgRole });

    const result = await inv.describeAccount(ACCOUNT_A);

    expect(result).toEqual({ ok: false, reason: `cannot assume ${orgRole}` });
    expect(orgs.commandCalls(DescribeAccountCommand)).toHaveLength(0);
  });
});

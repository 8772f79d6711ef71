/**
 * Investigator over the AWS SDK: read-only EC2 lookups in member accounts
 * (through a role Kanshi assumes there) and account facts from AWS
 * Organizations, each bounded in time and answered as a value.
 */
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type Instance,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../../ports/clock';
import type {
  AccountFacts,
  GroupAttachment,
  InstanceFacts,
  Investigator,
  Lookup,
  SecurityGroupFacts,
  SecurityGroupRule,
} from '../../ports/investigator';
import type { Logger } from '../../ports/logger';
import { AssumedRoleCredentials } from './assume-role';
import { errorName, isThrottled, shapeOf } from './errors';

const DEFAULT_CALL_TIMEOUT_MS = 5000;

/**
 * One SDK attempt: an investigation is a best-effort enrichment of an alert,
 * and a retry with backoff would not fit in the per-call budget anyway.
 */
const SDK_MAX_ATTEMPTS = 1;

const SESSION_NAME = 'kanshi-investigator';

/**
 * Pages of network interfaces read per groupAttachments call. A group on
 * thousands of interfaces is already the answer ("everywhere"); reading on
 * would only eat the time budget.
 */
const MAX_INTERFACE_PAGES = 5;
const INTERFACES_PER_PAGE = 1000;

/** Organizations is a global service served from a single region per partition. */
const ORGANIZATIONS_REGION: Record<string, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-northwest-1',
};

/** "AccessDenied" is what STS calls it, UnauthorizedOperation what EC2 does. */
const ACCESS_DENIED_NAMES = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation']);
/** The SDK's own request timeout, and our abort when the deadline passes. */
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

export type Ec2ForAccount = (
  accountId: string,
  region: string,
  credentials: AwsCredentialIdentityProvider,
) => EC2Client;

export interface AwsInvestigatorDeps {
  /** The read-only role's name, the same in every member account. */
  roleName: string;
  externalId?: string;
  clock: Clock;
  logger: Logger;
  /** ARN partition of the member accounts' roles. */
  partition?: string;
  /** Assumes the member accounts' role; by default one with the SDK's default credential chain. */
  stsClient?: STSClient;
  /** Builds an EC2 client signing with the given member-account credentials. */
  ec2ForAccount?: Ec2ForAccount;
  /** Answers DescribeAccount; without it describeAccount reports Organizations as not configured. */
  organizations?: OrganizationsClient;
  /** The role the Organizations client assumes, if any: named in failures to assume it. */
  organizationsRoleArn?: string;
  callTimeoutMs?: number;
}

export interface AwsInvestigatorOptions {
  roleName: string;
  externalId?: string;
  clock: Clock;
  logger: Logger;
  /** A role in the management (or a delegated administrator) account to read Organizations with. */
  organizationsRoleArn?: string;
  partition?: string;
}

/** Why assuming a role failed, kept apart from the failure of the call it was for. */
class AssumeRoleFailed extends Error {
  override readonly name = 'AssumeRoleFailed';
  constructor(
    readonly roleArn: string,
    override readonly cause: unknown,
  ) {
    super(`cannot assume ${roleArn}`);
  }
}

/** The fields of an SDK or transport error we classify on; never its message. */

interface Member {
  roleArn: string;
  credentials: AwsCredentialIdentityProvider;
}

interface CallContext {
  operation: string;
  accountId: string;
  region?: string;
}

const TIMED_OUT = Symbol('timed out');

export class AwsInvestigator implements Investigator {
  private readonly roleName: string;
  private readonly externalId: string | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly partition: string;
  private readonly sts: STSClient;
  private readonly ec2ForAccount: Ec2ForAccount;
  private readonly organizations: OrganizationsClient | undefined;
  private readonly organizationsRoleArn: string | undefined;
  private readonly callTimeoutMs: number;
  /** Per member account: the role's credentials, cached until shortly before they expire. */
  private readonly members = new Map<string, Member>();
  /** Per account and region; clients hold sockets, so they are built once. */
  private readonly ec2Clients = new Map<string, EC2Client>();

  constructor(deps: AwsInvestigatorDeps) {
    this.roleName = deps.roleName;
    this.externalId = deps.externalId;
    this.clock = deps.clock;
    this.logger = deps.logger.child({ component: 'investigator' });
    this.partition = deps.partition ?? 'aws';
    this.callTimeoutMs = deps.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const requestHandler = { requestTimeout: this.callTimeoutMs, throwOnRequestTimeout: true };
    this.sts = deps.stsClient ?? new STSClient({ maxAttempts: SDK_MAX_ATTEMPTS, requestHandler });
    this.ec2ForAccount =
      deps.ec2ForAccount ??
      ((_accountId, region, credentials) =>
        new EC2Client({ region, credentials, maxAttempts: SDK_MAX_ATTEMPTS, requestHandler }));
    this.organizations = deps.organizations;
    this.organizationsRoleArn = deps.organizationsRoleArn;
  }

  /**
   * Builds the adapter with real clients. Endpoints come from the SDK's
   * defaults, so AWS_ENDPOINT_URL_STS / _EC2 / _ORGANIZATIONS point them at a
   * local stand-in.
   */
  static create(options: AwsInvestigatorOptions): AwsInvestigator {
    const requestHandler = { requestTimeout: DEFAULT_CALL_TIMEOUT_MS, throwOnRequestTimeout: true };
    const sts = new STSClient({ maxAttempts: SDK_MAX_ATTEMPTS, requestHandler });
    const partition = options.partition ?? 'aws';
    const organizationsCredentials =
      options.organizationsRoleArn !== undefined
        ? new AssumedRoleCredentials({
            sts,
            roleArn: options.organizationsRoleArn,
            // Harmless when that role's trust policy does not check it, and
            // required when the same external id guards every Kanshi role.
            ...(options.externalId !== undefined ? { externalId: options.externalId } : {}),
            sessionName: SESSION_NAME,
            clock: options.clock,
          }).provider()
        : undefined;
    const organizations = new OrganizationsClient({
      region: ORGANIZATIONS_REGION[partition] ?? 'us-east-1',
      maxAttempts: SDK_MAX_ATTEMPTS,
      requestHandler,
      ...(organizationsCredentials !== undefined ? { credentials: organizationsCredentials } : {}),
    });
    return new AwsInvestigator({
      roleName: options.roleName,
      ...(options.externalId !== undefined ? { externalId: options.externalId } : {}),
      clock: options.clock,
      logger: options.logger,
      partition,
      stsClient: sts,
      organizations,
      ...(options.organizationsRoleArn !== undefined ? { organizationsRoleArn: options.organizationsRoleArn } : {}),
    });
  }

  async describeInstance(accountId: string, region: string, instanceId: string): Promise<Lookup<InstanceFacts>> {
    const gone: InstanceFacts = {
      instanceId,
      exists: false,
      tags: {},
      publicIps: [],
      privateIps: [],
      securityGroupIds: [],
    };
    return this.inMember({ operation: 'DescribeInstances', accountId, region }, async (ec2, abortSignal) => {
      try {
        const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal });
        const instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
        if (!instance) return gone;
        const facts = instanceFacts(instanceId, instance);
        // Terminated instances stay visible for about an hour; for an
        // investigation they are gone, but their state says why.
        return facts.state === 'terminated' ? { ...gone, state: facts.state } : facts;
      } catch (err) {
        if (errorName(err) === 'InvalidInstanceID.NotFound') return gone;
        throw err;
      }
    });
  }

  async describeSecurityGroups(
    accountId: string,
    region: string,
    groupIds: string[],
  ): Promise<Lookup<SecurityGroupFacts[]>> {
    // An empty GroupIds would describe every group in the region.
    if (groupIds.length === 0) return { ok: true, value: [] };
    return this.inMember({ operation: 'DescribeSecurityGroups', accountId, region }, async (ec2, abortSignal) => {
      const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }), { abortSignal });
      return (out.SecurityGroups ?? []).map((group): SecurityGroupFacts => {
        const worldOpen: SecurityGroupRule[] = [];
        const broad: SecurityGroupRule[] = [];
        for (const rule of ingressRules(group.IpPermissions ?? [])) {
          const exposure = classifyCidr(rule.cidr);
          if (exposure === 'world') worldOpen.push(rule);
          else if (exposure === 'broad') broad.push(rule);
        }
        return { groupId: group.GroupId ?? '', groupName: group.GroupName, worldOpen, broad };
      });
    });
  }

  async groupAttachments(accountId: string, region: string, groupIds: string[]): Promise<Lookup<GroupAttachment[]>> {
    // A filter without values is rejected, and there is nothing to look for.
    if (groupIds.length === 0) return { ok: true, value: [] };
    return this.inMember({ operation: 'DescribeNetworkInterfaces', accountId, region }, async (ec2, abortSignal) => {
      const byGroup = new Map(
        groupIds.map((id) => [id, { instanceIds: new Set<string>(), publicIps: new Set<string>() }]),
      );
      let NextToken: string | undefined;
      for (let page = 0; page < MAX_INTERFACE_PAGES; page++) {
        const out = await ec2.send(
          new DescribeNetworkInterfacesCommand({
            Filters: [{ Name: 'group-id', Values: groupIds }],
            MaxResults: INTERFACES_PER_PAGE,
            ...(NextToken !== undefined ? { NextToken } : {}),
          }),
          { abortSignal },
        );
        for (const eni of out.NetworkInterfaces ?? []) {
          const instanceId = eni.Attachment?.InstanceId;
          const publicIps = [
            eni.Association?.PublicIp,
            ...(eni.PrivateIpAddresses ?? []).map((p) => p.Association?.PublicIp),
          ];
          // An interface can carry several of the requested groups.
          for (const group of eni.Groups ?? []) {
            const entry = group.GroupId !== undefined ? byGroup.get(group.GroupId) : undefined;
            if (!entry) continue;
            if (instanceId) entry.instanceIds.add(instanceId);
            for (const ip of publicIps) if (ip) entry.publicIps.add(ip);
          }
        }
        NextToken = out.NextToken;
        if (!NextToken) break;
      }
      return [...byGroup].map(([groupId, { instanceIds, publicIps }]) => ({
        groupId,
        instanceIds: [...instanceIds],
        publicIps: [...publicIps],
      }));
    });
  }

  async describeAccount(accountId: string): Promise<Lookup<AccountFacts>> {
    const organizations = this.organizations;
    if (!organizations) return { ok: false, reason: 'AWS Organizations is not configured' };
    return this.bounded({ operation: 'DescribeAccount', accountId }, async (abortSignal) => {
      // Resolved up front, as signing would, so that failing to assume the
      // Organizations role is told apart from DescribeAccount being denied.
      try {
        await organizations.config.credentials();
      } catch (err) {
        if (this.organizationsRoleArn !== undefined) throw new AssumeRoleFailed(this.organizationsRoleArn, err);
        throw err;
      }
      const out = await organizations.send(new DescribeAccountCommand({ AccountId: accountId }), { abortSignal });
      const account = out.Account;
      return {
        accountId,
        name: account?.Name,
        email: account?.Email,
        // Status is being retired in favour of State (same values).
        status: account?.State ?? account?.Status,
      };
    });
  }

  /** Runs an EC2 call in a member account, with the role assumed first. */
  private inMember<T>(
    context: CallContext & { region: string },
    call: (ec2: EC2Client, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<Lookup<T>> {
    const { accountId, region } = context;
    // Both end up in an ARN and an endpoint host name; findings are data from
    // outside, so anything unexpected is refused rather than interpolated.
    if (!/^\d{12}$/.test(accountId))
      return Promise.resolve({ ok: false, reason: `not an AWS account id: ${accountId}` });
    if (!/^[a-z0-9-]{1,32}$/.test(region))
      return Promise.resolve({ ok: false, reason: `not an AWS region: ${region}` });
    return this.bounded(context, async (abortSignal) => {
      const member = this.member(accountId);
      // Resolved up front (the provider caches, so signing reuses it) so that
      // a refused AssumeRole is reported as such, not as a denied EC2 call.
      try {
        await member.credentials();
      } catch (err) {
        throw new AssumeRoleFailed(member.roleArn, err);
      }
      return call(this.ec2(accountId, region, member), abortSignal);
    });
  }

  private member(accountId: string): Member {
    let member = this.members.get(accountId);
    if (!member) {
      const roleArn = `arn:${this.partition}:iam::${accountId}:role/${this.roleName}`;
      const credentials = new AssumedRoleCredentials({
        sts: this.sts,
        roleArn,
        ...(this.externalId !== undefined ? { externalId: this.externalId } : {}),
        sessionName: SESSION_NAME,
        clock: this.clock,
      }).provider();
      member = { roleArn, credentials };
      this.members.set(accountId, member);
    }
    return member;
  }

  private ec2(accountId: string, region: string, member: Member): EC2Client {
    const key = `${accountId}/${region}`;
    let client = this.ec2Clients.get(key);
    if (!client) {
      client = this.ec2ForAccount(accountId, region, member.credentials);
      this.ec2Clients.set(key, client);
    }
    return client;
  }

  /**
   * Bounds a lookup by callTimeoutMs. The SDK's request timeout covers one
   * HTTP request; this deadline also covers AssumeRole, credential
   * resolution and pagination, and aborts what is still in flight.
   */
  private async bounded<T>(context: CallContext, work: (abortSignal: AbortSignal) => Promise<T>): Promise<Lookup<T>> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve(TIMED_OUT);
      }, this.callTimeoutMs);
    });
    try {
      // Promise.race subscribes to the work, so its rejection after the
      // deadline is handled (and ignored) rather than left unhandled.
      const result = await Promise.race([work(controller.signal), deadline]);
      if (result === TIMED_OUT) return this.fail(context, this.timedOut(), undefined);
      return { ok: true, value: result };
    } catch (err) {
      return this.fail(context, this.reason(err, context.accountId), err);
    } finally {
      clearTimeout(timer);
    }
  }

  private reason(err: unknown, accountId: string): string {
    if (err instanceof AssumeRoleFailed) {
      const cause = err.cause;
      if (isThrottled(cause)) return 'AWS throttled the request';
      if (TIMEOUT_NAMES.has(errorName(cause))) return this.timedOut();
      if (isAccessDenied(cause)) return `cannot assume ${err.roleArn}`;
      return `cannot assume ${err.roleArn} (${errorName(cause)})`;
    }
    if (isThrottled(err)) return 'AWS throttled the request';
    if (TIMEOUT_NAMES.has(errorName(err))) return this.timedOut();
    if (isAccessDenied(err)) return `access denied (check the ${this.roleName} role in ${accountId})`;
    return errorName(err);
  }

  private fail(context: CallContext, reason: string, err: unknown): { ok: false; reason: string } {
    const cause = err instanceof AssumeRoleFailed ? err.cause : err;
    // The error's name and status, not the request: no credentials reach the log.
    this.logger.warn(
      {
        ...context,
        reason,
        ...(err !== undefined ? { error: errorName(cause), status: shapeOf(cause).$metadata?.httpStatusCode } : {}),
      },
      'investigation lookup failed',
    );
    return { ok: false, reason };
  }

  private timedOut(): string {
    const ms = this.callTimeoutMs;
    return `timed out after ${ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`}`;
  }
}

function instanceFacts(instanceId: string, instance: Instance): InstanceFacts {
  const tags: Record<string, string> = {};
  for (const { Key, Value } of instance.Tags ?? []) if (Key !== undefined) tags[Key] = Value ?? '';
  const interfaces = instance.NetworkInterfaces ?? [];
  const publicIps = [
    instance.PublicIpAddress,
    ...interfaces.flatMap((eni) => [
      eni.Association?.PublicIp,
      // Secondary private addresses can each carry an Elastic IP.
      ...(eni.PrivateIpAddresses ?? []).map((p) => p.Association?.PublicIp),
    ]),
  ];
  const privateIps = [
    instance.PrivateIpAddress,
    ...interfaces.flatMap((eni) => [
      eni.PrivateIpAddress,
      ...(eni.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress),
    ]),
  ];
  const securityGroupIds = [
    ...(instance.SecurityGroups ?? []).map((g) => g.GroupId),
    ...interfaces.flatMap((eni) => (eni.Groups ?? []).map((g) => g.GroupId)),
  ];
  return {
    instanceId,
    exists: true,
    state: instance.State?.Name,
    name: tags.Name,
    launchTime: instance.LaunchTime?.toISOString(),
    tags,
    instanceProfileArn: instance.IamInstanceProfile?.Arn,
    publicIps: distinct(publicIps),
    privateIps: distinct(privateIps),
    vpcId: instance.VpcId,
    subnetId: instance.SubnetId,
    securityGroupIds: distinct(securityGroupIds),
  };
}

/**
 * One rule per CIDR. Rules that reference other groups or prefix lists are
 * left out: they do not open the group to an address range by themselves.
 */
function ingressRules(permissions: IpPermission[]): SecurityGroupRule[] {
  const rules: SecurityGroupRule[] = [];
  for (const p of permissions) {
    const protocol = protocolName(p.IpProtocol);
    const ports = portRange(p);
    const cidrs = [...(p.IpRanges ?? []).map((r) => r.CidrIp), ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6)];
    for (const cidr of cidrs) if (cidr) rules.push({ protocol, ports, cidr });
  }
  return rules;
}

const PROTOCOL_NAMES: Record<string, string> = { '-1': 'all', '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'icmpv6' };

function protocolName(protocol: string | undefined): string {
  if (protocol === undefined) return 'all';
  return PROTOCOL_NAMES[protocol] ?? protocol;
}

function portRange(p: IpPermission): string {
  const { FromPort: from, ToPort: to } = p;
  // -1 means every protocol (and then ports do not apply), or for ICMP every type.
  if (p.IpProtocol === '-1' || from === undefined || to === undefined || from === -1) return 'all';
  return from === to ? `${from}` : `${from}-${to}`;
}

/**
 * world: /0, any address. broad: prefix length 1–8 for IPv4 (16M+ addresses,
 * e.g. a /3 typed for a /32), and 1–32 for IPv6: a /32 is a whole ISP's
 * allocation, equally absurd as an allow-list entry.
 */
function classifyCidr(cidr: string): 'world' | 'broad' | 'narrow' {
  const slash = cidr.lastIndexOf('/');
  const prefix = slash >= 0 ? Number(cidr.slice(slash + 1)) : Number.NaN;
  if (!Number.isInteger(prefix)) return 'narrow';
  if (prefix === 0) return 'world';
  const broadestNarrow = cidr.includes(':') ? 32 : 8;
  return prefix <= broadestNarrow ? 'broad' : 'narrow';
}

function distinct(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))];
}

function isAccessDenied(err: unknown): boolean {
  return ACCESS_DENIED_NAMES.has(errorName(err)) || shapeOf(err).$metadata?.httpStatusCode === 403;
}

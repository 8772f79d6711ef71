/**
 * Read-only lookups in a member account, for auto-investigation. Every call
 * is bounded (5 s) and returns a value: facts, or why they are unavailable.
 */

export type Lookup<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface SecurityGroupRule {
  protocol: string;
  /** e.g. "22", "0-65535", "all". */
  ports: string;
  cidr: string;
}

export interface SecurityGroupFacts {
  groupId: string;
  groupName?: string | undefined;
  /** Ingress open to the world (0.0.0.0/0, ::/0). */
  worldOpen: SecurityGroupRule[];
  /** Ingress from suspiciously broad ranges (prefix length 1–8), e.g. a /3 typed for a /32. */
  broad: SecurityGroupRule[];
}

export interface InstanceFacts {
  instanceId: string;
  /** false: DescribeInstances says it no longer exists (or is terminated). */
  exists: boolean;
  state?: string | undefined;
  name?: string | undefined;
  launchTime?: string | undefined;
  tags: Record<string, string>;
  instanceProfileArn?: string | undefined;
  publicIps: string[];
  privateIps: string[];
  vpcId?: string | undefined;
  subnetId?: string | undefined;
  securityGroupIds: string[];
}

export interface GroupAttachment {
  groupId: string;
  instanceIds: string[];
  publicIps: string[];
}

export interface AccountFacts {
  accountId: string;
  name?: string | undefined;
  email?: string | undefined;
  status?: string | undefined;
}

export interface Investigator {
  describeInstance(accountId: string, region: string, instanceId: string): Promise<Lookup<InstanceFacts>>;
  describeSecurityGroups(accountId: string, region: string, groupIds: string[]): Promise<Lookup<SecurityGroupFacts[]>>;
  /** Instances and public IPs attached to these groups (through their network interfaces). */
  groupAttachments(accountId: string, region: string, groupIds: string[]): Promise<Lookup<GroupAttachment[]>>;
  describeAccount(accountId: string): Promise<Lookup<AccountFacts>>;
}

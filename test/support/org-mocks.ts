/**
 * An AWS organization behind aws-sdk-client-mock, and a real AwsOrgDirectory
 * that lists it: for app tests of the Organizations sync and OU routing.
 * The tree is read on every call, so a test can add accounts and sync again.
 */
import {
  type Account,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsOrgDirectory } from '../../app/adapters/aws/org-directory';
import { createLogger } from '../../app/logging';
import { systemClock } from '../../app/ports/clock';
import { sts } from './aws-mocks';

export const orgs = mockClient(OrganizationsClient);

export interface OrgMember {
  id: string;
  name: string;
  state?: Account['State'];
  tags?: Record<string, string>;
}

export interface OrgTree {
  rootId: string;
  /** Parent id → its OUs. */
  ous: Record<string, Array<{ Id: string; Name: string }>>;
  /** Parent id → its accounts. */
  members: Record<string, OrgMember[]>;
}

/** Answers STS and the Organizations List* calls from `tree`. */
export function serveOrganization(tree: OrgTree): void {
  sts.reset();
  orgs.reset();
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIAORGREAD',
      SecretAccessKey: 'org-secret',
      SessionToken: 'org-token',
      Expiration: new Date(Date.now() + 3_600_000),
    },
  });
  orgs.on(ListRootsCommand).resolves({ Roots: [{ Id: tree.rootId, Name: 'Root' }] });
  orgs.on(ListOrganizationalUnitsForParentCommand).callsFake((input: { ParentId: string }) => ({
    OrganizationalUnits: tree.ous[input.ParentId] ?? [],
  }));
  orgs.on(ListAccountsForParentCommand).callsFake((input: { ParentId: string }) => ({
    Accounts: (tree.members[input.ParentId] ?? []).map(
      (m): Account => ({ Id: m.id, Name: m.name, Email: `aws+${m.name}@example.com`, State: m.state ?? 'ACTIVE' }),
    ),
  }));
  orgs.on(ListTagsForResourceCommand).callsFake((input: { ResourceId: string }) => {
    const member = Object.values(tree.members)
      .flat()
      .find((m) => m.id === input.ResourceId);
    return { Tags: Object.entries(member?.tags ?? {}).map(([Key, Value]) => ({ Key, Value })) };
  });
}

/** The real adapter, over the mocks above (no pacing: the mocks answer at once). */
export function organizationDirectory(): AwsOrgDirectory {
  return new AwsOrgDirectory({
    roleArn: 'arn:aws:iam::999900000001:role/KanshiOrgRead',
    clock: systemClock,
    logger: createLogger('silent'),
    stsClient: new STSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIABASE', secretAccessKey: 'base' },
    }),
    minCallIntervalMs: 0,
  });
}

import {
  type Account,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  type OrganizationalUnit,
  OrganizationsClient,
  type Tag,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsOrgDirectory, type AwsOrgDirectoryOptions } from '../../app/adapters/aws/org-directory';
import type { Clock } from '../../app/ports/clock';
import type { Logger } from '../../app/ports/logger';

// Stubbing the classes' send covers the clients the adapter builds itself.
const sts = mockClient(STSClient);
const orgs = mockClient(OrganizationsClient);

const ROLE_ARN = 'arn:aws:iam::999999999999:role/KanshiOrgRead';
const T0 = new Date('2025-03-01T12:00:00Z');
const clock: Clock = { now: () => T0 };

const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  child: () => silentLogger,
};

/** An error shaped like the SDK's service errors. */
function awsError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(`${name} from the mock`), { name, $metadata: { httpStatusCode } });
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

interface FakeOrg {
  rootId: string;
  accountsByParent: Record<string, Account[]>;
  ousByParent: Record<string, OrganizationalUnit[]>;
  tagsByAccount: Record<string, Tag[]>;
  /** Makes a call fail: return an error to throw, or undefined to answer normally. */
  fault?: (operation: string, input: Record<string, unknown>) => Error | undefined;
  /** Delays every answer, to observe concurrency. */
  delayMs?: number;
}

/**
 * Pages like Organizations at its most awkward: the first page of every
 * list is empty but carries a NextToken (which its docs warn can happen),
 * then one item per page. So every List* call paginates.
 */
function page<T>(items: T[], token: string | undefined): { items: T[]; NextToken?: string } {
  const index = token === undefined ? 0 : Number(token.replace('page-', ''));
  if (index === 0) return { items: [], NextToken: 'page-1' };
  const item = items[index - 1];
  const next = index < items.length ? { NextToken: `page-${index + 1}` } : {};
  return { items: item ? [item] : [], ...next };
}

function serve(org: FakeOrg): void {
  const answer = async <T>(operation: string, input: Record<string, unknown>, respond: () => T): Promise<T> => {
    if (org.delayMs) await new Promise((resolve) => setTimeout(resolve, org.delayMs));
    const error = org.fault?.(operation, input);
    if (error) throw error;
    return respond();
  };
  orgs.on(ListRootsCommand).callsFake((input: { NextToken?: string }) =>
    answer('ListRoots', input, () => {
      const p = page(
        [{ Id: org.rootId, Name: 'Root', Arn: `arn:aws:organizations::999999999999:root/o-x/${org.rootId}` }],
        input.NextToken,
      );
      return { Roots: p.items, NextToken: p.NextToken };
    }),
  );
  orgs.on(ListAccountsForParentCommand).callsFake((input: { ParentId: string; NextToken?: string }) =>
    answer('ListAccountsForParent', input, () => {
      const p = page(org.accountsByParent[input.ParentId] ?? [], input.NextToken);
      return { Accounts: p.items, NextToken: p.NextToken };
    }),
  );
  orgs.on(ListOrganizationalUnitsForParentCommand).callsFake((input: { ParentId: string; NextToken?: string }) =>
    answer('ListOrganizationalUnitsForParent', input, () => {
      const p = page(org.ousByParent[input.ParentId] ?? [], input.NextToken);
      return { OrganizationalUnits: p.items, NextToken: p.NextToken };
    }),
  );
  orgs.on(ListTagsForResourceCommand).callsFake((input: { ResourceId: string; NextToken?: string }) =>
    answer('ListTagsForResource', input, () => {
      const p = page(org.tagsByAccount[input.ResourceId] ?? [], input.NextToken);
      return { Tags: p.items, NextToken: p.NextToken };
    }),
  );
}

const JOINED = new Date('2021-06-01T09:00:00Z');

function account(id: string, name: string, state: Account['State'] = 'ACTIVE'): Account {
  return {
    Id: id,
    Name: name,
    Email: `aws+${name}@example.com`,
    State: state,
    Arn: `arn:aws:organizations::999999999999:account/o-x/${id}`,
    JoinedTimestamp: JOINED,
  };
}

/**
 * Root
 * ├── 100000000001 management
 * ├── Workloads
 * │   ├── 100000000002 shared-services
 * │   ├── Prod
 * │   │   ├── 100000000003 payments-prod (SUSPENDED)
 * │   │   ├── 100000000004 web-prod
 * │   │   └── Payments
 * │   │       └── 100000000005 card-vault
 * │   └── Dev (no accounts)
 * └── Sandbox
 *     └── 100000000006 alice-sandbox
 */
function threeLevelOrg(): FakeOrg {
  return {
    rootId: 'r-ab12',
    accountsByParent: {
      'r-ab12': [account('100000000001', 'management')],
      'ou-ab12-work': [account('100000000002', 'shared-services')],
      'ou-ab12-prod': [account('100000000003', 'payments-prod', 'SUSPENDED'), account('100000000004', 'web-prod')],
      'ou-ab12-pay': [account('100000000005', 'card-vault')],
      'ou-ab12-sand': [account('100000000006', 'alice-sandbox')],
    },
    ousByParent: {
      'r-ab12': [
        { Id: 'ou-ab12-work', Name: 'Workloads' },
        { Id: 'ou-ab12-sand', Name: 'Sandbox' },
      ],
      'ou-ab12-work': [
        { Id: 'ou-ab12-prod', Name: 'Prod' },
        { Id: 'ou-ab12-dev', Name: 'Dev' },
      ],
      'ou-ab12-prod': [{ Id: 'ou-ab12-pay', Name: 'Payments' }],
    },
    tagsByAccount: {
      '100000000003': [
        { Key: 'team', Value: 'payments' },
        { Key: 'env', Value: 'prod' },
      ],
      '100000000004': [{ Key: 'env', Value: 'prod' }],
      '100000000006': [{ Key: 'owner', Value: 'alice' }],
    },
  };
}

const sleeps: number[] = [];

function directory(overrides: Partial<AwsOrgDirectoryOptions> = {}): AwsOrgDirectory {
  return new AwsOrgDirectory({
    roleArn: ROLE_ARN,
    clock,
    logger: silentLogger,
    stsClient: new STSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIABASE', secretAccessKey: 'base' },
    }),
    minCallIntervalMs: 0,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
}

beforeEach(() => {
  sts.reset();
  orgs.reset();
  sleeps.length = 0;
  assumeRoleAnswers();
});

describe('AwsOrgDirectory walking the organization', () => {
  it('lists every account with its OU path, parent id, state, join date and tags, across paginated calls', async () => {
    serve(threeLevelOrg());

    const listing = await directory().listAccounts();

    const common = { joinedAt: JOINED };
    expect(listing).toEqual({
      kind: 'ok',
      warnings: [],
      accounts: [
        {
          ...common,
          id: '100000000001',
          name: 'management',
          email: 'aws+management@example.com',
          status: 'ACTIVE',
          ouPath: 'Root',
          ouId: 'r-ab12',
          tags: {},
        },
        {
          ...common,
          id: '100000000002',
          name: 'shared-services',
          email: 'aws+shared-services@example.com',
          status: 'ACTIVE',
          ouPath: 'Root/Workloads',
          ouId: 'ou-ab12-work',
          tags: {},
        },
        {
          ...common,
          id: '100000000006',
          name: 'alice-sandbox',
          email: 'aws+alice-sandbox@example.com',
          status: 'ACTIVE',
          ouPath: 'Root/Sandbox',
          ouId: 'ou-ab12-sand',
          tags: { owner: 'alice' },
        },
        {
          ...common,
          id: '100000000003',
          name: 'payments-prod',
          email: 'aws+payments-prod@example.com',
          status: 'SUSPENDED',
          ouPath: 'Root/Workloads/Prod',
          ouId: 'ou-ab12-prod',
          tags: { team: 'payments', env: 'prod' },
        },
        {
          ...common,
          id: '100000000004',
          name: 'web-prod',
          email: 'aws+web-prod@example.com',
          status: 'ACTIVE',
          ouPath: 'Root/Workloads/Prod',
          ouId: 'ou-ab12-prod',
          tags: { env: 'prod' },
        },
        {
          ...common,
          id: '100000000005',
          name: 'card-vault',
          email: 'aws+card-vault@example.com',
          status: 'ACTIVE',
          ouPath: 'Root/Workloads/Prod/Payments',
          ouId: 'ou-ab12-pay',
          tags: {},
        },
      ],
    });
  });

  it('passes each NextToken back and asks for the largest pages', async () => {
    serve(threeLevelOrg());

    await directory().listAccounts();

    const prodPages = orgs
      .commandCalls(ListAccountsForParentCommand)
      .map((c) => c.args[0].input)
      .filter((input) => input.ParentId === 'ou-ab12-prod');
    expect(prodPages).toEqual([
      { ParentId: 'ou-ab12-prod', MaxResults: 20 },
      { ParentId: 'ou-ab12-prod', MaxResults: 20, NextToken: 'page-1' },
      { ParentId: 'ou-ab12-prod', MaxResults: 20, NextToken: 'page-2' },
    ]);
    const tagPages = orgs
      .commandCalls(ListTagsForResourceCommand)
      .map((c) => c.args[0].input)
      .filter((input) => input.ResourceId === '100000000003');
    expect(tagPages).toEqual([
      { ResourceId: '100000000003' },
      { ResourceId: '100000000003', NextToken: 'page-1' },
      { ResourceId: '100000000003', NextToken: 'page-2' },
    ]);
    expect(orgs.commandCalls(ListRootsCommand)).toHaveLength(2);
  });

  it('lists the children of each OU once, without a ListParents call per account', async () => {
    serve(threeLevelOrg());

    await directory().listAccounts();

    const parents = orgs
      .commandCalls(ListOrganizationalUnitsForParentCommand)
      .filter((c) => c.args[0].input.NextToken === undefined)
      .map((c) => c.args[0].input.ParentId);
    expect(parents).toEqual(['r-ab12', 'ou-ab12-work', 'ou-ab12-sand', 'ou-ab12-prod', 'ou-ab12-dev', 'ou-ab12-pay']);
  });

  it('walks a repeated OU once, so a cycle neither loops nor lists its accounts twice', async () => {
    const org = threeLevelOrg();
    // Payments claims Workloads as its child: impossible in AWS, fatal to a naive walk.
    org.ousByParent['ou-ab12-pay'] = [{ Id: 'ou-ab12-work', Name: 'Workloads' }];
    serve(org);

    const listing = await directory().listAccounts();

    expect(listing.kind).toBe('ok');
    if (listing.kind !== 'ok') return;
    expect(listing.accounts.map((a) => a.id)).toEqual([
      '100000000001',
      '100000000002',
      '100000000006',
      '100000000003',
      '100000000004',
      '100000000005',
    ]);
    expect(listing.warnings).toEqual(['OU ou-ab12-work appears again under Root/Workloads/Prod/Payments; walked once']);
  });

  it('walks a tree ten OU levels deep, and fails rather than truncate one deeper than that', async () => {
    const chain = (levels: number): FakeOrg => {
      const org: FakeOrg = { rootId: 'r-deep', accountsByParent: {}, ousByParent: {}, tagsByAccount: {} };
      let parent = 'r-deep';
      for (let level = 1; level <= levels; level++) {
        const id = `ou-deep-${level}`;
        org.ousByParent[parent] = [{ Id: id, Name: `L${level}` }];
        parent = id;
      }
      org.accountsByParent[parent] = [account('200000000001', 'bottom')];
      return org;
    };

    serve(chain(10));
    const ten = await directory().listAccounts();
    expect(ten.kind === 'ok' && ten.accounts.map((a) => a.ouPath)).toEqual(['Root/L1/L2/L3/L4/L5/L6/L7/L8/L9/L10']);

    orgs.reset();
    serve(chain(11));
    const eleven = await directory().listAccounts();
    expect(eleven).toEqual({
      kind: 'fail',
      error:
        'implausible organization: the OU tree is more than 10 levels deep (below Root/L1/L2/L3/L4/L5/L6/L7/L8/L9/L10)',
    });
  });

  it('fails when a list call hands back a NextToken it already gave', async () => {
    serve(threeLevelOrg());
    orgs.on(ListRootsCommand).resolves({ Roots: [], NextToken: 'same-again' });

    const listing = await directory().listAccounts();

    expect(listing).toEqual({ kind: 'fail', error: 'implausible organization: ListRoots repeated a NextToken' });
    expect(orgs.commandCalls(ListRootsCommand)).toHaveLength(2);
  });
});

describe('AwsOrgDirectory credentials and client', () => {
  it('assumes the Organizations role once with the external id, and signs every call with it', async () => {
    serve(threeLevelOrg());
    const signedWith = new Set<string>();
    orgs.on(ListRootsCommand).callsFake(async (_input, getClient: () => OrganizationsClient) => {
      signedWith.add((await getClient().config.credentials()).accessKeyId);
      return { Roots: [{ Id: 'r-ab12', Name: 'Root' }] };
    });
    const dir = directory({ externalId: 'kanshi-ext-42' });

    await dir.listAccounts();
    await dir.listAccounts();

    const calls = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { RoleArn: ROLE_ARN, RoleSessionName: 'kanshi-org-directory', DurationSeconds: 900, ExternalId: 'kanshi-ext-42' },
    ]);
    expect([...signedWith]).toEqual([`ASIA-${ROLE_ARN}`]);
  });

  it('sends no ExternalId when none is configured', async () => {
    serve(threeLevelOrg());

    await directory().listAccounts();

    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).not.toHaveProperty('ExternalId');
  });

  it('builds its Organizations client for us-east-1 unless told another region', async () => {
    const regions: string[] = [];
    const factory: AwsOrgDirectoryOptions['clientFactory'] = (config) => {
      regions.push(config.region);
      return new OrganizationsClient({ region: config.region, credentials: config.credentials });
    };

    directory({ clientFactory: factory });
    directory({ clientFactory: factory, region: 'us-gov-west-1' });

    expect(regions).toEqual(['us-east-1', 'us-gov-west-1']);
  });
});

describe('AwsOrgDirectory failures', () => {
  it('answers retry when Organizations keeps throttling, after backing off between attempts', async () => {
    const org = threeLevelOrg();
    org.fault = (operation) =>
      operation === 'ListOrganizationalUnitsForParent' ? awsError('TooManyRequestsException', 400) : undefined;
    serve(org);

    const listing = await directory({ maxAttempts: 3 }).listAccounts();

    expect(listing).toEqual({
      kind: 'retry',
      error: 'ListOrganizationalUnitsForParent was throttled (TooManyRequestsException)',
    });
    expect(orgs.commandCalls(ListOrganizationalUnitsForParentCommand)).toHaveLength(3);
    // Full jitter below a doubling ceiling: [0, 500) then [0, 1000).
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThan(500);
    expect(sleeps[1]).toBeLessThan(1000);
  });

  it('rides out a throttled call that succeeds when tried again', async () => {
    const org = threeLevelOrg();
    let throttled = false;
    org.fault = (operation) => {
      if (operation !== 'ListAccountsForParent' || throttled) return undefined;
      throttled = true;
      return awsError('ThrottlingException', 400);
    };
    serve(org);

    const listing = await directory().listAccounts();

    expect(listing.kind === 'ok' && listing.accounts).toHaveLength(6);
    expect(sleeps).toHaveLength(1);
  });

  it('answers retry on a server error', async () => {
    const org = threeLevelOrg();
    org.fault = (operation) => (operation === 'ListRoots' ? awsError('ServiceException', 500) : undefined);
    serve(org);

    const listing = await directory({ maxAttempts: 1 }).listAccounts();

    expect(listing).toEqual({ kind: 'retry', error: 'ListRoots failed (ServiceException, HTTP 500)' });
  });

  it('answers retry when a call does not answer within callTimeoutMs', async () => {
    serve(threeLevelOrg());
    orgs.on(ListAccountsForParentCommand).callsFake(() => new Promise(() => {}));

    const started = Date.now();
    const listing = await directory({ callTimeoutMs: 50, maxAttempts: 2 }).listAccounts();

    expect(listing).toEqual({ kind: 'retry', error: 'ListAccountsForParent timed out after 50 ms' });
    expect(orgs.commandCalls(ListAccountsForParentCommand)).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers retry on a network error', async () => {
    const org = threeLevelOrg();
    org.fault = (operation) =>
      operation === 'ListRoots' ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) : undefined;
    serve(org);

    const listing = await directory({ maxAttempts: 1 }).listAccounts();

    expect(listing).toEqual({ kind: 'retry', error: 'ListRoots failed (ECONNRESET)' });
  });

  it('answers fail when Organizations denies access, without retrying or walking further', async () => {
    const org = threeLevelOrg();
    org.fault = (operation) => (operation === 'ListRoots' ? awsError('AccessDeniedException', 400) : undefined);
    serve(org);

    const listing = await directory().listAccounts();

    expect(listing).toEqual({
      kind: 'fail',
      error: `ListRoots was denied (AccessDeniedException); check the permissions of ${ROLE_ARN}`,
    });
    expect(orgs.commandCalls(ListRootsCommand)).toHaveLength(1);
    expect(orgs.commandCalls(ListAccountsForParentCommand)).toHaveLength(0);
  });

  it('answers fail when the role is in an account outside any organization', async () => {
    const org = threeLevelOrg();
    org.fault = (operation) =>
      operation === 'ListRoots' ? awsError('AWSOrganizationsNotInUseException', 400) : undefined;
    serve(org);

    const listing = await directory().listAccounts();

    expect(listing).toEqual({
      kind: 'fail',
      error: `AWS Organizations is not in use in the account of ${ROLE_ARN} (AWSOrganizationsNotInUseException)`,
    });
  });

  it('answers fail naming the role when STS refuses AssumeRole, without calling Organizations', async () => {
    sts.on(AssumeRoleCommand).rejects(awsError('AccessDenied', 403));
    serve(threeLevelOrg());

    const listing = await directory().listAccounts();

    expect(listing).toEqual({ kind: 'fail', error: `cannot assume ${ROLE_ARN} (AccessDenied)` });
    expect(orgs.calls()).toHaveLength(0);
  });

  it('answers retry when STS throttles AssumeRole', async () => {
    sts.on(AssumeRoleCommand).rejects(awsError('Throttling', 400));
    serve(threeLevelOrg());

    const listing = await directory({ maxAttempts: 2 }).listAccounts();

    expect(listing).toEqual({ kind: 'retry', error: `cannot assume ${ROLE_ARN} right now (Throttling)` });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });
});

describe('AwsOrgDirectory tags', () => {
  it('keeps an account whose tags cannot be read, with empty tags, the reason and a warning', async () => {
    const org = threeLevelOrg();
    org.fault = (operation, input) =>
      operation === 'ListTagsForResource' && input.ResourceId === '100000000004'
        ? awsError('AccessDeniedException', 400)
        : undefined;
    serve(org);

    const listing = await directory().listAccounts();

    expect(listing.kind).toBe('ok');
    if (listing.kind !== 'ok') return;
    const reason = `ListTagsForResource was denied (AccessDeniedException); check the permissions of ${ROLE_ARN}`;
    expect(listing.accounts.find((a) => a.id === '100000000004')).toMatchObject({
      ouPath: 'Root/Workloads/Prod',
      tags: {},
      tagsError: reason,
    });
    // The other accounts' tags are intact.
    expect(listing.accounts.find((a) => a.id === '100000000003')?.tags).toEqual({ team: 'payments', env: 'prod' });
    expect(listing.accounts.filter((a) => a.tagsError !== undefined)).toHaveLength(1);
    expect(listing.warnings).toEqual([`tags of account 100000000004 could not be read: ${reason}`]);
  });

  it('reads tags for at most tagConcurrency accounts at a time', async () => {
    const accounts = Array.from({ length: 10 }, (_, i) => account(`30000000000${i}`, `flat-${i}`));
    const org: FakeOrg = {
      rootId: 'r-flat',
      accountsByParent: { 'r-flat': accounts },
      ousByParent: {},
      tagsByAccount: {},
    };
    serve(org);
    let inFlight = 0;
    let most = 0;
    orgs.on(ListTagsForResourceCommand).callsFake(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight--;
      return { Tags: [{ Key: 'k', Value: 'v' }] };
    });

    const listing = await directory({ tagConcurrency: 4 }).listAccounts();

    expect(most).toBe(4);
    expect(listing.kind === 'ok' && listing.accounts.every((a) => a.tags.k === 'v')).toBe(true);
  });

  it('counts warnings past the first fifty instead of listing them all', async () => {
    const accounts = Array.from({ length: 60 }, (_, i) => account(`4000000000${String(i).padStart(2, '0')}`, `a${i}`));
    serve({
      rootId: 'r-many',
      accountsByParent: { 'r-many': accounts },
      ousByParent: {},
      tagsByAccount: {},
      fault: (operation) => (operation === 'ListTagsForResource' ? awsError('AccessDeniedException', 400) : undefined),
    });

    const listing = await directory().listAccounts();

    expect(listing.kind === 'ok' && listing.accounts).toHaveLength(60);
    expect(listing.kind === 'ok' && listing.warnings).toHaveLength(51);
    expect(listing.kind === 'ok' && listing.warnings[50]).toBe('and 10 more warnings like these');
  });
});

describe('AwsOrgDirectory pacing', () => {
  it('starts Organizations calls no closer together than minCallIntervalMs', async () => {
    const starts: number[] = [];
    serve({
      rootId: 'r-one',
      accountsByParent: { 'r-one': [account('500000000001', 'solo')] },
      ousByParent: {},
      tagsByAccount: {},
    });
    const record = (behave: () => unknown) => async () => {
      starts.push(performance.now());
      return behave();
    };
    orgs.on(ListRootsCommand).callsFake(record(() => ({ Roots: [{ Id: 'r-one', Name: 'Root' }] })));
    orgs.on(ListAccountsForParentCommand).callsFake(record(() => ({ Accounts: [account('500000000001', 'solo')] })));
    orgs.on(ListOrganizationalUnitsForParentCommand).callsFake(record(() => ({ OrganizationalUnits: [] })));
    orgs.on(ListTagsForResourceCommand).callsFake(record(() => ({ Tags: [] })));

    const listing = await directory({
      minCallIntervalMs: 50,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }).listAccounts();

    expect(listing.kind).toBe('ok');
    expect(starts).toHaveLength(4);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    // Pacing spaces the slots; the sends themselves can drift a few ms within a slot.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(40);
  });
});

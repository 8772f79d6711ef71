/**
 * OrgDirectory over AWS Organizations: walks the OU tree breadth-first from
 * the root, so every account gets its OU path from the walk (no ListParents
 * per account), then reads each account's tags a few at a time.
 *
 * Organizations throttles hard and is shared with every other tool in the
 * management account, so calls are paced, tag reads run with bounded
 * concurrency, and throttled calls back off before the listing gives up.
 */
import {
  type Account,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import type { OrgAccount, OrgDirectory, OrgListing } from '../../ports/org-directory';
import { AssumedRoleCredentials } from './assume-role';
import { errorName, isThrottled, shapeOf } from './errors';

/** Organizations is global and served from us-east-1 in the aws partition. */
const DEFAULT_REGION = 'us-east-1';
const DEFAULT_CALL_TIMEOUT_MS = 5000;
/** Attempts per API call, including the first. */
const DEFAULT_MAX_ATTEMPTS = 3;
/** Tag reads in flight at once: one call per account is the bulk of a sync. */
const DEFAULT_TAG_CONCURRENCY = 4;
/** At most five calls started per second, across the tree walk and tag reads. */
const DEFAULT_MIN_CALL_INTERVAL_MS = 200;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 8000;

/**
 * SDK clients make a single attempt: we retry here instead, so that pacing,
 * backoff and the final retry-or-fail verdict are ours (as in guardduty-admin).
 */
const SDK_MAX_ATTEMPTS = 1;

const SESSION_NAME = 'kanshi-org-directory';

/** The largest page the List* operations accept. */
const PAGE_SIZE = 20;

/**
 * First segment of every OU path. The root's name is always "Root"; using
 * the constant keeps paths comparable with config/ou-routes.yml even if a
 * stand-in API names it otherwise.
 */
const ROOT_SEGMENT = 'Root';

/**
 * AWS allows five OU levels below the root. A deeper tree means a broken or
 * hostile endpoint; an incomplete listing would make a sync drop accounts,
 * so the walk fails instead of truncating.
 */
const MAX_OU_DEPTH = 10;
/** Far above AWS's quota on OUs per organization; the same reasoning. */
const MAX_OUS = 10_000;
/** Pages per List* call sequence; 1000 pages of 20 is more than any real parent holds. */
const MAX_PAGES = 1000;
/** Warnings returned in full; the rest are counted, so a systemic failure does not flood the result. */
const MAX_LISTED_WARNINGS = 50;

/** Failures a retry cannot fix; "AccessDenied" is what STS calls it. */
const PERMANENT_NAMES = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'AWSOrganizationsNotInUseException',
  'AccessDeniedForDependencyException',
  'InvalidInputException',
  'RegionDisabledException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);
const ACCESS_DENIED_NAMES = new Set(['AccessDeniedException', 'AccessDenied', 'AccessDeniedForDependencyException']);
/** Transient by nature, whatever their status code. */
const TRANSIENT_NAMES = new Set([
  'ServiceException',
  'ConcurrentModificationException',
  'InternalFailure',
  'ServiceUnavailable',
]);
/** Transport failures: the request may never have reached AWS. */
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export interface OrganizationsClientConfig {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  callTimeoutMs: number;
}

export type OrganizationsClientFactory = (config: OrganizationsClientConfig) => OrganizationsClient;

export interface AwsOrgDirectoryOptions {
  /** ORGANIZATIONS_ROLE_ARN: a role in the management (or a delegated administrator) account. */
  roleArn: string;
  externalId?: string | undefined;
  clock: Clock;
  logger: Logger;
  /** Organizations' region (and STS's, unless stsClient is given); defaults to us-east-1. */
  region?: string;
  /** Bounds each API call, AssumeRole included; retries get a fresh budget. */
  callTimeoutMs?: number;
  maxAttempts?: number;
  tagConcurrency?: number;
  /** Least time between the starts of two Organizations calls; 0 turns pacing off. */
  minCallIntervalMs?: number;
  /** Assumes the role; by default one with the SDK's default credential chain. */
  stsClient?: STSClient;
  /** Builds the Organizations client; tests use it to see the config the adapter asks for. */
  clientFactory?: OrganizationsClientFactory;
  sleep?: (ms: number) => Promise<void>;
}

/** Assuming the role failed; kept apart from the failure of an Organizations call. */
class AssumeRoleFailed extends Error {
  override readonly name = 'AssumeRoleFailed';
  constructor(override readonly cause: unknown) {
    super('cannot assume the Organizations role');
  }
}

/** Our own deadline passed before the call answered. */
class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

/** The tree or the pagination is not what Organizations can return; listing it would be wrong. */
class ImplausibleOrganization extends Error {
  override readonly name = 'ImplausibleOrganization';
}

/** An API call that failed for good (after retries), with the operation it was. */
class CallFailed extends Error {
  override readonly name = 'CallFailed';
  constructor(
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(`${operation} failed`);
  }
}

/** The fields of an SDK or transport error we classify on; never its message. */

interface Parent {
  id: string;
  path: string;
  /** OU levels below the root: 0 for the root itself. */
  depth: number;
}

interface Page<T> {
  items: T[] | undefined;
  nextToken: string | undefined;
}

export class AwsOrgDirectory implements OrgDirectory {
  private readonly roleArn: string;
  private readonly logger: Logger;
  private readonly credentials: AwsCredentialIdentityProvider;
  private readonly client: OrganizationsClient;
  private readonly callTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly tagConcurrency: number;
  private readonly minCallIntervalMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** When the next paced call may start (performance.now() time). */
  private nextCallAt = 0;

  constructor(options: AwsOrgDirectoryOptions) {
    this.roleArn = options.roleArn;
    this.logger = options.logger.child({ component: 'org-directory' });
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.tagConcurrency = Math.max(1, options.tagConcurrency ?? DEFAULT_TAG_CONCURRENCY);
    this.minCallIntervalMs = Math.max(0, options.minCallIntervalMs ?? DEFAULT_MIN_CALL_INTERVAL_MS);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const region = options.region ?? DEFAULT_REGION;
    const requestHandler = { requestTimeout: this.callTimeoutMs, throwOnRequestTimeout: true };
    const sts = options.stsClient ?? new STSClient({ region, maxAttempts: SDK_MAX_ATTEMPTS, requestHandler });
    this.credentials = new AssumedRoleCredentials({
      sts,
      roleArn: options.roleArn,
      ...(options.externalId !== undefined ? { externalId: options.externalId } : {}),
      sessionName: SESSION_NAME,
      clock: options.clock,
    }).provider();
    const factory: OrganizationsClientFactory =
      options.clientFactory ??
      ((config) =>
        new OrganizationsClient({
          region: config.region,
          credentials: config.credentials,
          maxAttempts: SDK_MAX_ATTEMPTS,
          requestHandler: { requestTimeout: config.callTimeoutMs, throwOnRequestTimeout: true },
        }));
    this.client = factory({ region, credentials: this.credentials, callTimeoutMs: this.callTimeoutMs });
  }

  async listAccounts(): Promise<OrgListing> {
    try {
      await this.assumeRole();
      const warnings: string[] = [];
      const accounts = await this.walk(warnings);
      await this.readTags(accounts, warnings);
      this.logger.info({ accounts: accounts.length, warnings: warnings.length }, 'listed the organization');
      return { kind: 'ok', accounts, warnings: capWarnings(warnings) };
    } catch (err) {
      const { retryable } = classify(err);
      const error = this.describe(err);
      const cause = rootCause(err);
      // The error's name and status, not the request: no credentials reach the log.
      this.logger.warn(
        {
          retryable,
          reason: error,
          error: errorName(cause),
          status: shapeOf(cause).$metadata?.httpStatusCode,
        },
        'listing the organization failed',
      );
      return retryable ? { kind: 'retry', error } : { kind: 'fail', error };
    }
  }

  /**
   * Resolved up front, as signing would, so that a refused AssumeRole is
   * reported as such rather than as a denied Organizations call. The
   * provider caches, so signing reuses these credentials.
   */
  private async assumeRole(): Promise<void> {
    await this.call(
      'AssumeRole',
      async () => {
        try {
          await this.credentials();
        } catch (err) {
          throw new AssumeRoleFailed(err);
        }
      },
      { paced: false },
    );
  }

  /** Breadth-first from the root: every parent's accounts, then its child OUs. */
  private async walk(warnings: string[]): Promise<OrgAccount[]> {
    const roots = await this.listPages('ListRoots', async (NextToken, abortSignal) => {
      const out = await this.client.send(new ListRootsCommand({ MaxResults: PAGE_SIZE, ...token(NextToken) }), {
        abortSignal,
      });
      return { items: out.Roots, nextToken: out.NextToken };
    });
    const queue: Parent[] = [];
    for (const root of roots) if (root.Id) queue.push({ id: root.Id, path: ROOT_SEGMENT, depth: 0 });
    if (queue.length === 0) throw new ImplausibleOrganization('ListRoots returned no root');
    const seenParents = new Set(queue.map((p) => p.id));
    const byId = new Map<string, OrgAccount>();

    // An index instead of shift(): the queue only grows, and this stays linear.
    for (let i = 0; i < queue.length; i++) {
      const parent = queue[i] as Parent;
      const accounts = await this.listPages('ListAccountsForParent', async (NextToken, abortSignal) => {
        const out = await this.client.send(
          new ListAccountsForParentCommand({ ParentId: parent.id, MaxResults: PAGE_SIZE, ...token(NextToken) }),
          { abortSignal },
        );
        return { items: out.Accounts, nextToken: out.NextToken };
      });
      for (const account of accounts) {
        if (!account.Id) {
          warnings.push(`an account under ${parent.path} has no id; left out`);
          continue;
        }
        const earlier = byId.get(account.Id);
        if (earlier) {
          warnings.push(`account ${account.Id} is listed under ${earlier.ouPath} and ${parent.path}; kept the first`);
          continue;
        }
        byId.set(account.Id, orgAccount(account, account.Id, parent));
      }

      const children = await this.listPages('ListOrganizationalUnitsForParent', async (NextToken, abortSignal) => {
        const out = await this.client.send(
          new ListOrganizationalUnitsForParentCommand({
            ParentId: parent.id,
            MaxResults: PAGE_SIZE,
            ...token(NextToken),
          }),
          { abortSignal },
        );
        return { items: out.OrganizationalUnits, nextToken: out.NextToken };
      });
      for (const ou of children) {
        if (!ou.Id) {
          warnings.push(`an OU under ${parent.path} has no id; left out`);
          continue;
        }
        // A real tree cannot repeat an OU; walking it again could loop forever.
        // Its accounts were listed the first time, so nothing is lost.
        if (seenParents.has(ou.Id)) {
          warnings.push(`OU ${ou.Id} appears again under ${parent.path}; walked once`);
          continue;
        }
        if (parent.depth + 1 > MAX_OU_DEPTH) {
          throw new ImplausibleOrganization(
            `the OU tree is more than ${MAX_OU_DEPTH} levels deep (below ${parent.path})`,
          );
        }
        if (seenParents.size > MAX_OUS) {
          throw new ImplausibleOrganization(`the organization has more than ${MAX_OUS} OUs`);
        }
        seenParents.add(ou.Id);
        queue.push({ id: ou.Id, path: `${parent.path}/${ou.Name || ou.Id}`, depth: parent.depth + 1 });
      }
    }
    return [...byId.values()];
  }

  /**
   * Tags, a few accounts at a time. An account whose tags cannot be read is
   * kept with empty tags and a tagsError: losing the whole listing over one
   * account's tags would be worse.
   */
  private async readTags(accounts: OrgAccount[], warnings: string[]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < accounts.length) {
        const account = accounts[next++] as OrgAccount;
        try {
          account.tags = await this.tagsOf(account.id);
        } catch (err) {
          const reason = this.describe(err);
          account.tagsError = reason;
          warnings.push(`tags of account ${account.id} could not be read: ${reason}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.tagConcurrency, accounts.length) }, () => worker()));
  }

  private async tagsOf(accountId: string): Promise<Record<string, string>> {
    const tags = await this.listPages('ListTagsForResource', async (NextToken, abortSignal) => {
      const out = await this.client.send(
        new ListTagsForResourceCommand({ ResourceId: accountId, ...token(NextToken) }),
        {
          abortSignal,
        },
      );
      return { items: out.Tags, nextToken: out.NextToken };
    });
    const record: Record<string, string> = {};
    for (const { Key, Value } of tags) if (Key !== undefined) record[Key] = Value ?? '';
    return record;
  }

  /**
   * Follows NextToken until Organizations stops returning one. Its List*
   * operations may return an empty page with a token, so an empty page does
   * not end the listing; a token seen twice does, as a broken endpoint.
   */
  private async listPages<T>(
    operation: string,
    fetchPage: (nextToken: string | undefined, abortSignal: AbortSignal) => Promise<Page<T>>,
  ): Promise<T[]> {
    const items: T[] = [];
    const seenTokens = new Set<string>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.call(operation, (abortSignal) => fetchPage(nextToken, abortSignal));
      if (out.items) items.push(...out.items);
      nextToken = out.nextToken || undefined;
      if (nextToken === undefined) return items;
      if (seenTokens.has(nextToken)) throw new ImplausibleOrganization(`${operation} repeated a NextToken`);
      seenTokens.add(nextToken);
    }
    throw new ImplausibleOrganization(`${operation} returned more than ${MAX_PAGES} pages`);
  }

  /** One API call: paced, bounded by callTimeoutMs, retried with backoff while retrying can help. */
  private async call<T>(
    operation: string,
    work: (abortSignal: AbortSignal) => Promise<T>,
    { paced }: { paced: boolean } = { paced: true },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (paced) await this.pace();
      try {
        return await this.withDeadline(work);
      } catch (err) {
        const { retryable } = classify(err);
        if (!retryable || attempt >= this.maxAttempts) throw new CallFailed(operation, err);
        const cause = rootCause(err);
        this.logger.debug({ operation, attempt, error: errorName(cause) }, 'retrying an Organizations call');
        // Full jitter spreads the retries of the concurrent tag reads apart.
        const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        await this.sleep(Math.floor(Math.random() * ceiling));
      }
    }
  }

  /**
   * The SDK's request timeout covers one HTTP request; this deadline also
   * covers credential resolution, and aborts what is still in flight.
   */
  private async withDeadline<T>(work: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new DeadlineExceeded('deadline exceeded'));
      }, this.callTimeoutMs);
    });
    try {
      // Promise.race subscribes to the work, so its rejection after the
      // deadline is handled (and ignored) rather than left unhandled.
      return await Promise.race([work(controller.signal), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Spaces the starts of calls by minCallIntervalMs, across concurrent callers. */
  private async pace(): Promise<void> {
    if (this.minCallIntervalMs === 0) return;
    const now = performance.now();
    const startAt = Math.max(now, this.nextCallAt);
    this.nextCallAt = startAt + this.minCallIntervalMs;
    if (startAt > now) await this.sleep(startAt - now);
  }

  /** A one-line reason built from error names and codes, never from AWS's messages. */
  private describe(err: unknown): string {
    const operation = err instanceof CallFailed ? err.operation : 'listing';
    const failure = err instanceof CallFailed ? err.cause : err;
    if (failure instanceof ImplausibleOrganization) return `implausible organization: ${failure.message}`;
    if (failure instanceof DeadlineExceeded) return `${operation} timed out after ${this.timeoutText()}`;
    const cause = rootCause(err);
    const name = errorName(cause);
    const { retryable } = classify(cause);
    if (failure instanceof AssumeRoleFailed) {
      if (NETWORK_NAMES.has(name)) return `AssumeRole for ${this.roleArn} timed out`;
      return retryable
        ? `cannot assume ${this.roleArn} right now (${name})`
        : `cannot assume ${this.roleArn} (${name})`;
    }
    if (name === 'AWSOrganizationsNotInUseException') {
      return `AWS Organizations is not in use in the account of ${this.roleArn} (${name})`;
    }
    if (ACCESS_DENIED_NAMES.has(name) || shapeOf(cause).$metadata?.httpStatusCode === 403) {
      return `${operation} was denied (${name}); check the permissions of ${this.roleArn}`;
    }
    if (isThrottled(cause)) return `${operation} was throttled (${name})`;
    const status = shapeOf(cause).$metadata?.httpStatusCode;
    return `${operation} failed (${name}${status !== undefined ? `, HTTP ${status}` : ''})`;
  }

  private timeoutText(): string {
    const ms = this.callTimeoutMs;
    return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
  }
}

function orgAccount(account: Account, id: string, parent: Parent): OrgAccount {
  return {
    id,
    name: account.Name ?? '',
    email: account.Email ?? '',
    // Status is being retired in favour of State (same values, and more of them).
    status: account.State ?? account.Status ?? 'UNKNOWN',
    ouPath: parent.path,
    ouId: parent.id,
    tags: {},
    joinedAt: account.JoinedTimestamp,
  };
}

function token(nextToken: string | undefined): { NextToken?: string } {
  return nextToken !== undefined ? { NextToken: nextToken } : {};
}

function capWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_LISTED_WARNINGS) return warnings;
  return [
    ...warnings.slice(0, MAX_LISTED_WARNINGS),
    `and ${warnings.length - MAX_LISTED_WARNINGS} more warnings like these`,
  ];
}

/** The AWS or transport error underneath our wrappers. */
function rootCause(err: unknown): unknown {
  let current = err;
  while (current instanceof CallFailed || current instanceof AssumeRoleFailed) current = current.cause;
  return current;
}

/** Decides from names, status codes and SDK flags whether trying again can help. */
function classify(err: unknown): { retryable: boolean } {
  const failure = err instanceof CallFailed ? err.cause : err;
  if (failure instanceof DeadlineExceeded) return { retryable: true };
  if (failure instanceof ImplausibleOrganization) return { retryable: false };
  const cause = rootCause(err);
  const e = shapeOf(cause);
  const name = errorName(cause);
  const status = e.$metadata?.httpStatusCode;
  if (isThrottled(cause)) return { retryable: true };
  if (PERMANENT_NAMES.has(name) || status === 401 || status === 403) return { retryable: false };
  if (TRANSIENT_NAMES.has(name) || (status !== undefined && status >= 500) || e.$fault === 'server') {
    return { retryable: true };
  }
  const code = typeof e.code === 'string' ? e.code : undefined;
  const network = status === undefined && (NETWORK_NAMES.has(name) || (code !== undefined && NETWORK_CODES.has(code)));
  // Anything else (other 4xx, missing base credentials, bugs) fails the same way again.
  return { retryable: network };
}

/**
 * GuardDutyAdmin over the AWS SDK: archives or unarchives findings from the
 * GuardDuty administrator account, in each finding's region.
 */
import {
  ArchiveFindingsCommand,
  GuardDutyClient,
  ListDetectorsCommand,
  UnarchiveFindingsCommand,
} from '@aws-sdk/client-guardduty';
import { STSClient } from '@aws-sdk/client-sts';
import type { Clock } from '../../ports/clock';
import type { ArchiveResult, FindingRef, GuardDutyAdmin } from '../../ports/guardduty-admin';
import type { Logger } from '../../ports/logger';
import { AssumedRoleCredentials } from './assume-role';
import { type AwsErrorShape, THROTTLING_NAMES } from './errors';

/** ArchiveFindings and UnarchiveFindings accept at most 50 finding ids per call. */
const MAX_IDS_PER_CALL = 50;

const DEFAULT_MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5000;

/**
 * SDK clients are built with a single attempt: we retry here instead, so that
 * the attempt budget, backoff and the final "retryable" verdict are ours and
 * visible per batch, rather than hidden inside the SDK's retry strategy.
 */
const SDK_MAX_ATTEMPTS = 1;
const REQUEST_TIMEOUT_MS = 5000;

const SESSION_NAME = 'kanshi-guardduty-admin';

/** Longest AWS error message we copy into a result, which ends up in Slack and the database. */
const MAX_REASON_LENGTH = 200;

const SERVER_ERROR_NAMES = new Set(['InternalServerErrorException', 'InternalFailure', 'ServiceUnavailable']);
/** Failures a retry cannot fix. "AccessDenied" is what STS calls it. */
const PERMANENT_NAMES = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'BadRequestException',
]);
/** Transport failures: the request may never have reached AWS. */
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
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

export interface AwsGuardDutyAdminDeps {
  clientForRegion: (region: string) => GuardDutyClient;
  logger: Logger;
  /** Attempts per API call, including the first. */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface AwsGuardDutyAdminOptions {
  /** Role in the GuardDuty administrator account. */
  roleArn: string;
  externalId?: string;
  logger: Logger;
  clock: Clock;
  /** Region for STS; defaults to the SDK's resolution (AWS_REGION, profile). */
  region?: string;
  /** An STS client to assume the role with; by default one with the SDK's default credential chain. */
  stsClient?: STSClient;
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

type Failure = { ok: false; retryable: boolean; error: string };
type Outcome<T> = { ok: true; value: T } | Failure;

/** The fields of an SDK or transport error we classify on; never its message. */

export class AwsGuardDutyAdmin implements GuardDutyAdmin {
  private readonly clientForRegion: (region: string) => GuardDutyClient;
  private readonly logger: Logger;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** There is at most one detector per account and region; it rarely changes. */
  private readonly detectors = new Map<string, Promise<Outcome<string | undefined>>>();

  constructor(deps: AwsGuardDutyAdminDeps) {
    this.clientForRegion = deps.clientForRegion;
    this.logger = deps.logger.child({ component: 'guardduty-admin' });
    this.maxAttempts = Math.max(1, deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Builds the adapter with real clients: one STS client, and one GuardDuty
   * client per region, all signing with the assumed administrator role.
   * Endpoints come from the SDK's defaults, so AWS_ENDPOINT_URL_STS and
   * AWS_ENDPOINT_URL_GUARDDUTY point them at a local stand-in.
   */
  static create(options: AwsGuardDutyAdminOptions): AwsGuardDutyAdmin {
    const requestHandler = { requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true };
    const sts =
      options.stsClient ??
      new STSClient({
        ...(options.region !== undefined ? { region: options.region } : {}),
        maxAttempts: SDK_MAX_ATTEMPTS,
        requestHandler,
      });
    const credentials = new AssumedRoleCredentials({
      sts,
      roleArn: options.roleArn,
      ...(options.externalId !== undefined ? { externalId: options.externalId } : {}),
      sessionName: SESSION_NAME,
      clock: options.clock,
    }).provider();
    const clients = new Map<string, GuardDutyClient>();
    const clientForRegion = (region: string): GuardDutyClient => {
      let client = clients.get(region);
      if (!client) {
        client = new GuardDutyClient({ region, credentials, maxAttempts: SDK_MAX_ATTEMPTS, requestHandler });
        clients.set(region, client);
      }
      return client;
    };
    return new AwsGuardDutyAdmin({
      clientForRegion,
      logger: options.logger,
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.sleep !== undefined ? { sleep: options.sleep } : {}),
    });
  }

  async setArchived(findings: FindingRef[], archived: boolean): Promise<Map<string, ArchiveResult>> {
    const byRegion = new Map<string, Set<string>>();
    for (const { findingId, region } of findings) {
      const ids = byRegion.get(region) ?? new Set<string>();
      ids.add(findingId);
      byRegion.set(region, ids);
    }
    const results = new Map<string, ArchiveResult>();
    // Regions are independent endpoints with independent rate limits, so they
    // run in parallel; batches within a region run one after another.
    await Promise.all(
      [...byRegion].map(async ([region, ids]) => {
        for (const [id, result] of await this.setArchivedInRegion(region, [...ids], archived)) results.set(id, result);
      }),
    );
    return results;
  }

  private async setArchivedInRegion(
    region: string,
    ids: string[],
    archived: boolean,
  ): Promise<Map<string, ArchiveResult>> {
    const results = new Map<string, ArchiveResult>();
    const fail = (batch: string[], failure: Failure): void => {
      for (const id of batch) results.set(id, { ok: false, retryable: failure.retryable, error: failure.error });
    };
    const client = this.clientForRegion(region);
    const detector = await this.detectorId(region, client);
    if (!detector.ok) {
      this.logFailure(region, archived, ids.length, detector, 'ListDetectors');
      fail(ids, detector);
      return results;
    }
    if (detector.value === undefined) {
      const failure: Failure = { ok: false, retryable: false, error: 'no_detector' };
      this.logFailure(region, archived, ids.length, failure, 'ListDetectors');
      fail(ids, failure);
      return results;
    }
    const DetectorId = detector.value;
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_CALL) {
      const FindingIds = ids.slice(i, i + MAX_IDS_PER_CALL);
      const outcome = await this.withRetries(async () => {
        if (archived) await client.send(new ArchiveFindingsCommand({ DetectorId, FindingIds }));
        else await client.send(new UnarchiveFindingsCommand({ DetectorId, FindingIds }));
      });
      if (outcome.ok) {
        for (const id of FindingIds) results.set(id, { ok: true });
        continue;
      }
      // GuardDuty answers BadRequestException when the detector id is not (or
      // no longer) the account's; forget it so the next call lists afresh.
      if (outcome.name === 'BadRequestException') this.detectors.delete(region);
      this.logFailure(region, archived, FindingIds.length, outcome, archived ? 'ArchiveFindings' : 'UnarchiveFindings');
      fail(FindingIds, outcome);
    }
    return results;
  }

  /** The region's detector id, or undefined when GuardDuty is not enabled there. */
  private detectorId(region: string, client: GuardDutyClient): Promise<Outcome<string | undefined>> {
    const cached = this.detectors.get(region);
    if (cached) return cached;
    const lookup = this.withRetries(async () => {
      const out = await client.send(new ListDetectorsCommand({}));
      return out.DetectorIds?.[0];
    });
    this.detectors.set(region, lookup);
    // Only a found detector is kept: after a failure, or before GuardDuty is
    // enabled in the region, the next call asks again.
    void lookup.then((outcome) => {
      if ((!outcome.ok || outcome.value === undefined) && this.detectors.get(region) === lookup) {
        this.detectors.delete(region);
      }
    });
    return lookup;
  }

  private async withRetries<T>(call: () => Promise<T>): Promise<Outcome<T> & { name?: string }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, value: await call() };
      } catch (err) {
        const { retryable, name, error } = classify(err);
        if (!retryable || attempt >= this.maxAttempts) return { ok: false, retryable, error, name };
        // Full jitter: spreads out the retries of concurrent batches and regions.
        const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        await this.sleep(Math.floor(Math.random() * ceiling));
      }
    }
  }

  private logFailure(region: string, archived: boolean, count: number, failure: Failure, operation: string): void {
    // The result's error holds the AWS error name and message only: no
    // request, no response headers, no credentials.
    this.logger.warn(
      { region, archived, operation, findings: count, retryable: failure.retryable, error: failure.error },
      'GuardDuty archive batch failed',
    );
  }
}

/** Decides from an error's name, status code and SDK flags whether trying again can help. */
function classify(err: unknown): { retryable: boolean; name: string; error: string } {
  const e: AwsErrorShape = typeof err === 'object' && err !== null ? (err as AwsErrorShape) : {};
  const rawName = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : undefined;
  // Node socket errors are plain Errors named "Error"; their code says more.
  const name = rawName === 'Error' && code ? code : rawName;
  const status = e.$metadata?.httpStatusCode;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const reason = message.length > MAX_REASON_LENGTH ? `${message.slice(0, MAX_REASON_LENGTH - 1)}…` : message;
  const error = `${name}: ${reason}`;

  const throttled = THROTTLING_NAMES.has(name) || e.$retryable?.throttling === true || status === 429;
  if (throttled) return { retryable: true, name, error };
  if (PERMANENT_NAMES.has(name) || status === 403) return { retryable: false, name, error };
  const serverFault =
    SERVER_ERROR_NAMES.has(name) ||
    (status !== undefined && status >= 500) ||
    e.$fault === 'server' ||
    e.$retryable !== undefined;
  if (serverFault) return { retryable: true, name, error };
  const network =
    status === undefined && (NETWORK_NAMES.has(rawName) || (code !== undefined && NETWORK_CODES.has(code)));
  // Anything else (other 4xx, missing configuration, bugs) will fail the same way again.
  return { retryable: network, name, error };
}

/**
 * Temporary credentials from sts:AssumeRole, for AWS adapters that act in
 * another account (the GuardDuty administrator now, member accounts later).
 */
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../../ports/clock';

/**
 * Refresh this long before expiry, so a credential picked up just before a
 * slow request (or a retry with backoff) does not expire while in use. It
 * matches the margin the SDK itself uses for expiring identities.
 */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/** 900 s is the STS minimum: keep the blast radius of leaked credentials small. */
const DEFAULT_DURATION_SECONDS = 900;

export interface AssumedRoleCredentialsOptions {
  sts: STSClient;
  roleArn: string;
  externalId?: string;
  sessionName: string;
  clock: Clock;
  durationSeconds?: number;
}

/** AssumeRole answered without a complete set of credentials. */
export class AssumeRoleResponseError extends Error {
  override readonly name = 'AssumeRoleResponseError';
}

type ExpiringCredentials = AwsCredentialIdentity & { expiration: Date };

export class AssumedRoleCredentials {
  private cached: ExpiringCredentials | undefined;
  private inFlight: Promise<ExpiringCredentials> | undefined;

  constructor(private readonly options: AssumedRoleCredentialsOptions) {}

  /**
   * A provider for SDK clients' `credentials` option. All providers from one
   * instance share its cache, so many regional clients assume the role once.
   */
  provider(): AwsCredentialIdentityProvider {
    return () => this.get();
  }

  private async get(): Promise<ExpiringCredentials> {
    const now = this.options.clock.now().getTime();
    if (this.cached && this.cached.expiration.getTime() - now > REFRESH_MARGIN_MS) return this.cached;
    // Concurrent callers (e.g. one client per region, all starting at once)
    // wait for the same AssumeRole instead of each issuing their own.
    this.inFlight ??= this.assume().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async assume(): Promise<ExpiringCredentials> {
    const { sts, roleArn, externalId, sessionName, durationSeconds } = this.options;
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        DurationSeconds: durationSeconds ?? DEFAULT_DURATION_SECONDS,
        ...(externalId !== undefined ? { ExternalId: externalId } : {}),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new AssumeRoleResponseError(`AssumeRole for ${roleArn} returned no usable credentials`);
    }
    this.cached = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    return this.cached;
  }
}

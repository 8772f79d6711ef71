import {
  AccessDeniedException,
  ArchiveFindingsCommand,
  BadRequestException,
  GuardDutyClient,
  InternalServerErrorException,
  ListDetectorsCommand,
  UnarchiveFindingsCommand,
} from '@aws-sdk/client-guardduty';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { AssumedRoleCredentials } from '../../app/adapters/aws/assume-role';
import { AwsGuardDutyAdmin } from '../../app/adapters/aws/guardduty-admin';
import type { Clock } from '../../app/ports/clock';
import type { FindingRef } from '../../app/ports/guardduty-admin';
import type { Logger } from '../../app/ports/logger';

// Stubbing the classes' send (not instances) also covers the clients that
// AwsGuardDutyAdmin.create builds, and keeps every test off the network.
const gd = mockClient(GuardDutyClient);
const sts = mockClient(STSClient);

const ROLE_ARN = 'arn:aws:iam::111111111111:role/kanshi-guardduty-admin';
const SECRET = 'assumed-secret-access-key';
const T0 = new Date('2025-03-01T12:00:00Z');

interface LogEntry {
  level: string;
  obj: object;
  msg?: string;
}

function recordingLogger(entries: LogEntry[]): Logger {
  const logger: Logger = {
    info: (obj, msg) => entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => entries.push({ level: 'error', obj, msg }),
    debug: (obj, msg) => entries.push({ level: 'debug', obj, msg }),
    child: () => logger,
  };
  return logger;
}

function mutableClock(start: Date): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

function findings(count: number, region: string, prefix = region): FindingRef[] {
  return Array.from({ length: count }, (_, i) => ({ findingId: `${prefix}-f${i}`, region }));
}

/** An error shaped like the SDK's for a service error without a modeled class. */
function awsError(name: string, httpStatusCode: number, extra: object = {}): Error {
  return Object.assign(new Error(`${name} from the mock`), { name, $metadata: { httpStatusCode }, ...extra });
}

function assumeRoleOutput(expiration: Date) {
  return {
    Credentials: {
      AccessKeyId: 'ASIAASSUMED',
      SecretAccessKey: SECRET,
      SessionToken: 'assumed-session-token',
      Expiration: expiration,
    },
  };
}

/**
 * aws-sdk-client-mock replaces send, so the SDK never signs. These fakes
 * resolve the client's credentials first, as signing would, so STS behaviour
 * reaches the adapter the way it does in production.
 */
function signedThen<T>(output: T) {
  return async (_input: unknown, getClient: () => GuardDutyClient) => {
    await getClient().config.credentials();
    return output;
  };
}

describe('AwsGuardDutyAdmin', () => {
  let logs: LogEntry[];
  let logger: Logger;
  let sleep: jest.Mock<Promise<void>, [number]>;
  let regionsAsked: string[];

  /** Constructor path: static credentials, region recorded per client. */
  function admin(maxAttempts?: number): AwsGuardDutyAdmin {
    return new AwsGuardDutyAdmin({
      clientForRegion: (region) => {
        regionsAsked.push(region);
        return new GuardDutyClient({ region, credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'test' } });
      },
      logger,
      sleep,
      ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    });
  }

  beforeEach(() => {
    gd.reset();
    sts.reset();
    logs = [];
    logger = recordingLogger(logs);
    sleep = jest.fn(async (_ms: number) => {});
    regionsAsked = [];
    gd.on(ListDetectorsCommand).resolves({ DetectorIds: ['admin-detector'] });
    gd.on(ArchiveFindingsCommand).resolves({});
    gd.on(UnarchiveFindingsCommand).resolves({});
  });

  it('archives 120 findings in one region in calls of 50, 50 and 20 with the detector id from ListDetectors', async () => {
    const input = findings(120, 'us-east-1');

    const results = await admin().setArchived(input, true);

    const calls = gd.commandCalls(ArchiveFindingsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.FindingIds?.length)).toEqual([50, 50, 20]);
    expect(calls.every((c) => c.DetectorId === 'admin-detector')).toBe(true);
    expect(calls.flatMap((c) => c.FindingIds)).toEqual(input.map((f) => f.findingId));
    expect(results.size).toBe(120);
    expect([...results.values()].every((r) => r.ok)).toBe(true);
  });

  it('calls each region through its own client with that region’s detector', async () => {
    gd.on(ListDetectorsCommand).callsFake(async (_input, getClient: () => GuardDutyClient) => ({
      DetectorIds: [`detector-${await getClient().config.region()}`],
    }));

    const results = await admin().setArchived([...findings(2, 'us-east-1'), ...findings(3, 'eu-west-1')], true);

    expect(regionsAsked.sort()).toEqual(['eu-west-1', 'us-east-1']);
    const calls = await Promise.all(
      gd.commandCalls(ArchiveFindingsCommand).map(async (c) => ({
        region: await (c.thisValue as GuardDutyClient).config.region(),
        input: c.args[0].input,
      })),
    );
    expect(calls.sort((a, b) => a.region.localeCompare(b.region))).toEqual([
      {
        region: 'eu-west-1',
        input: { DetectorId: 'detector-eu-west-1', FindingIds: ['eu-west-1-f0', 'eu-west-1-f1', 'eu-west-1-f2'] },
      },
      {
        region: 'us-east-1',
        input: { DetectorId: 'detector-us-east-1', FindingIds: ['us-east-1-f0', 'us-east-1-f1'] },
      },
    ]);
    expect(results.size).toBe(5);
  });

  it('lists detectors once per region across two calls', async () => {
    const adapter = admin();

    await adapter.setArchived([...findings(1, 'us-east-1'), ...findings(1, 'eu-west-1')], true);
    await adapter.setArchived([...findings(1, 'us-east-1', 'b'), ...findings(1, 'eu-west-1', 'b')], false);

    expect(gd.commandCalls(ListDetectorsCommand)).toHaveLength(2);
    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(2);
    expect(gd.commandCalls(UnarchiveFindingsCommand)).toHaveLength(2);
  });

  it('unarchives with UnarchiveFindings and never calls ArchiveFindings', async () => {
    const results = await admin().setArchived(findings(2, 'us-east-1'), false);

    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(0);
    expect(gd.commandCalls(UnarchiveFindingsCommand).map((c) => c.args[0].input)).toEqual([
      { DetectorId: 'admin-detector', FindingIds: ['us-east-1-f0', 'us-east-1-f1'] },
    ]);
    expect(results.get('us-east-1-f1')).toEqual({ ok: true });
  });

  it('returns an empty map without calling AWS when given no findings', async () => {
    const results = await admin().setArchived([], true);

    expect(results.size).toBe(0);
    expect(gd.calls()).toHaveLength(0);
  });

  it('succeeds on the third attempt after being throttled twice, backing off between attempts', async () => {
    gd.on(ArchiveFindingsCommand)
      .rejectsOnce(awsError('ThrottlingException', 400))
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves({});

    const results = await admin().setArchived(findings(2, 'us-east-1'), true);

    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(3);
    expect(sleep).toHaveBeenCalledTimes(2);
    expect([...results.values()]).toEqual([{ ok: true }, { ok: true }]);
    expect(logs).toHaveLength(0);
  });

  it.each([
    ['ThrottlingException', awsError('ThrottlingException', 400)],
    ['TooManyRequestsException (429)', awsError('TooManyRequestsException', 429)],
    ['a modeled throttling error', awsError('SomeThrottle', 400, { $retryable: { throttling: true } })],
    [
      'InternalServerErrorException',
      new InternalServerErrorException({ message: 'boom', $metadata: { httpStatusCode: 500 } }),
    ],
    ['a 503', awsError('ServiceUnavailableException', 503)],
    ['a connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a request timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError', code: 'ETIMEDOUT' })],
  ])('gives up after maxAttempts on persistent %s and marks the batch retryable', async (_label, err) => {
    gd.on(ArchiveFindingsCommand).rejects(err);

    const results = await admin(4).setArchived(findings(2, 'us-east-1'), true);

    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(4);
    const result = results.get('us-east-1-f0');
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(results.get('us-east-1-f1')).toEqual(result);
  });

  it('tries three times by default', async () => {
    gd.on(ArchiveFindingsCommand).rejects(awsError('ThrottlingException', 400));

    const results = await admin().setArchived(findings(1, 'us-east-1'), true);

    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(3);
    expect(results.get('us-east-1-f0')).toEqual({
      ok: false,
      retryable: true,
      error: 'ThrottlingException: ThrottlingException from the mock',
    });
  });

  it.each([
    [
      'AccessDeniedException',
      new AccessDeniedException({ message: 'not allowed', $metadata: { httpStatusCode: 403 } }),
    ],
    ['UnauthorizedOperation', awsError('UnauthorizedOperation', 400)],
    ['a bare 403', awsError('UnrecognizedClientException', 403)],
    ['BadRequestException', new BadRequestException({ message: 'bad detector', $metadata: { httpStatusCode: 400 } })],
  ])('fails the batch permanently on %s without retrying', async (_label, err) => {
    gd.on(ArchiveFindingsCommand).rejects(err);

    const results = await admin().setArchived(findings(2, 'us-east-1'), true);

    expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
    expect(results.get('us-east-1-f0')).toEqual({ ok: false, retryable: false, error: `${err.name}: ${err.message}` });
    expect(results.get('us-east-1-f1')).toEqual(results.get('us-east-1-f0'));
  });

  it('keeps going with later batches after one fails, and logs one line per failed batch', async () => {
    gd.on(ArchiveFindingsCommand)
      .rejectsOnce(new AccessDeniedException({ message: 'not allowed', $metadata: { httpStatusCode: 403 } }))
      .resolves({});

    const results = await admin().setArchived(findings(70, 'us-east-1'), true);

    expect(results.get('us-east-1-f49')).toMatchObject({ ok: false, retryable: false });
    expect(results.get('us-east-1-f50')).toEqual({ ok: true });
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(logs[0]?.obj).toMatchObject({ region: 'us-east-1', findings: 50, retryable: false });
  });

  it('lists the detector again after a BadRequestException, which is how GuardDuty reports a stale detector id', async () => {
    gd.on(ListDetectorsCommand)
      .resolvesOnce({ DetectorIds: ['old-detector'] })
      .resolves({ DetectorIds: ['new-detector'] });
    gd.on(ArchiveFindingsCommand)
      .rejectsOnce(new BadRequestException({ message: 'detector', $metadata: { httpStatusCode: 400 } }))
      .resolves({});
    const adapter = admin();

    const first = await adapter.setArchived(findings(1, 'us-east-1'), true);
    const second = await adapter.setArchived(findings(1, 'us-east-1'), true);

    expect(first.get('us-east-1-f0')).toMatchObject({ ok: false, retryable: false });
    expect(second.get('us-east-1-f0')).toEqual({ ok: true });
    expect(gd.commandCalls(ArchiveFindingsCommand).map((c) => c.args[0].input.DetectorId)).toEqual([
      'old-detector',
      'new-detector',
    ]);
  });

  it('reports no_detector for every finding of a region without a detector, and still archives elsewhere', async () => {
    gd.on(ListDetectorsCommand).callsFake(async (_input, getClient: () => GuardDutyClient) => ({
      DetectorIds: (await getClient().config.region()) === 'ap-south-1' ? [] : ['admin-detector'],
    }));

    const results = await admin().setArchived([...findings(2, 'ap-south-1'), ...findings(1, 'us-east-1')], true);

    expect(results.get('ap-south-1-f0')).toEqual({ ok: false, retryable: false, error: 'no_detector' });
    expect(results.get('ap-south-1-f1')).toEqual({ ok: false, retryable: false, error: 'no_detector' });
    expect(results.get('us-east-1-f0')).toEqual({ ok: true });
    expect(gd.commandCalls(ArchiveFindingsCommand).map((c) => c.args[0].input.FindingIds)).toEqual([['us-east-1-f0']]);
  });

  it('fails a region’s findings as retryable when ListDetectors stays throttled, and lists again next time', async () => {
    gd.on(ListDetectorsCommand).rejects(awsError('TooManyRequestsException', 429));
    const adapter = admin();

    const first = await adapter.setArchived(findings(1, 'us-east-1'), true);
    gd.on(ListDetectorsCommand).resolves({ DetectorIds: ['admin-detector'] });
    const second = await adapter.setArchived(findings(1, 'us-east-1'), true);

    expect(first.get('us-east-1-f0')).toMatchObject({ ok: false, retryable: true });
    expect(second.get('us-east-1-f0')).toEqual({ ok: true });
    expect(gd.commandCalls(ListDetectorsCommand)).toHaveLength(4);
  });

  describe('built by create() with an assumed role', () => {
    let clock: ReturnType<typeof mutableClock>;

    function created(externalId?: string): AwsGuardDutyAdmin {
      return AwsGuardDutyAdmin.create({
        roleArn: ROLE_ARN,
        ...(externalId !== undefined ? { externalId } : {}),
        logger,
        clock,
        region: 'us-east-1',
        sleep,
      });
    }

    beforeEach(() => {
      clock = mutableClock(T0);
      // Expiry is by the real clock here, since the SDK also memoizes
      // credentials by Date.now(); the injected clock is tested below.
      sts.on(AssumeRoleCommand).resolves(assumeRoleOutput(new Date(Date.now() + 3600_000)));
      gd.on(ListDetectorsCommand).callsFake(signedThen({ DetectorIds: ['admin-detector'] }));
      gd.on(ArchiveFindingsCommand).callsFake(signedThen({}));
    });

    it('assumes the role once, with the external id, for many calls across regions', async () => {
      const adapter = created('external-123');

      const results = await adapter.setArchived([...findings(60, 'us-east-1'), ...findings(1, 'eu-west-1')], true);
      await adapter.setArchived(findings(1, 'us-east-1', 'b'), true);

      expect([...results.values()].every((r) => r.ok)).toBe(true);
      const assumed = sts.commandCalls(AssumeRoleCommand);
      expect(assumed).toHaveLength(1);
      expect(assumed[0]?.args[0].input).toEqual({
        RoleArn: ROLE_ARN,
        RoleSessionName: 'kanshi-guardduty-admin',
        DurationSeconds: 900,
        ExternalId: 'external-123',
      });
    });

    it('leaves ExternalId out of AssumeRole when none is configured', async () => {
      await created().setArchived(findings(1, 'us-east-1'), true);

      const input = sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
      expect(input?.RoleArn).toBe(ROLE_ARN);
      expect(input && 'ExternalId' in input).toBe(false);
    });

    it('builds one client per region that signs with the assumed credentials, with one SDK attempt each', async () => {
      await created().setArchived([...findings(1, 'us-east-1'), ...findings(1, 'eu-west-1')], true);

      const clients = gd.commandCalls(ArchiveFindingsCommand).map((c) => c.thisValue as GuardDutyClient);
      const regions = await Promise.all(clients.map((c) => c.config.region()));
      expect(regions.sort()).toEqual(['eu-west-1', 'us-east-1']);
      for (const client of clients) {
        const creds = await client.config.credentials();
        expect(creds.accessKeyId).toBe('ASIAASSUMED');
        expect(await client.config.maxAttempts()).toBe(1);
      }
    });

    it('fails every finding permanently when AssumeRole is denied, without retrying', async () => {
      sts.on(AssumeRoleCommand).rejects(awsError('AccessDenied', 403));

      const results = await created().setArchived([...findings(2, 'us-east-1'), ...findings(1, 'eu-west-1')], true);

      expect(results.size).toBe(3);
      for (const result of results.values()) {
        expect(result).toEqual({ ok: false, retryable: false, error: 'AccessDenied: AccessDenied from the mock' });
      }
      // Both regions' first calls wait on the same AssumeRole, which is not retried.
      expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
      expect(sleep).not.toHaveBeenCalled();
      expect(gd.commandCalls(ArchiveFindingsCommand)).toHaveLength(0);
    });

    it('retries when STS throttles AssumeRole', async () => {
      sts
        .on(AssumeRoleCommand)
        .rejectsOnce(awsError('Throttling', 400))
        .resolves(assumeRoleOutput(new Date(Date.now() + 3600_000)));

      const results = await created().setArchived(findings(1, 'us-east-1'), true);

      expect(results.get('us-east-1-f0')).toEqual({ ok: true });
      expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    });

    it('logs failed batches without credentials', async () => {
      gd.on(ArchiveFindingsCommand).rejects(
        new AccessDeniedException({ message: 'no', $metadata: { httpStatusCode: 403 } }),
      );

      await created().setArchived(findings(1, 'us-east-1'), true);

      expect(logs).toHaveLength(1);
      const line = JSON.stringify(logs);
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain('assumed-session-token');
    });
  });
});

describe('AssumedRoleCredentials', () => {
  beforeEach(() => sts.reset());

  function credentials(clock: Clock) {
    return new AssumedRoleCredentials({
      sts: new STSClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIABASE', secretAccessKey: 'base' } }),
      roleArn: ROLE_ARN,
      sessionName: 'test-session',
      clock,
    });
  }

  it('reuses credentials until five minutes before they expire by the injected clock, then assumes again', async () => {
    const clock = mutableClock(T0);
    sts.on(AssumeRoleCommand).resolves(assumeRoleOutput(new Date(T0.getTime() + 15 * 60_000)));
    const provider = credentials(clock).provider();

    await provider();
    clock.advance(9 * 60_000);
    await provider();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);

    clock.advance(60_000 + 1);
    const refreshed = await provider();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    expect(refreshed).toMatchObject({ accessKeyId: 'ASIAASSUMED', sessionToken: 'assumed-session-token' });
  });

  it('shares one in-flight AssumeRole among concurrent callers', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    sts.on(AssumeRoleCommand).callsFake(async () => {
      await gate;
      return assumeRoleOutput(new Date(T0.getTime() + 15 * 60_000));
    });
    const source = credentials(mutableClock(T0));

    const pending = Promise.all([source.provider()(), source.provider()(), source.provider()()]);
    release();
    const all = await pending;

    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['ASIAASSUMED']));
  });

  it('does not cache a failed AssumeRole', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(awsError('Throttling', 400))
      .resolves(assumeRoleOutput(new Date(T0.getTime() + 15 * 60_000)));
    const provider = credentials(mutableClock(T0)).provider();

    await expect(provider()).rejects.toMatchObject({ name: 'Throttling' });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'ASIAASSUMED' });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });
});

import type { Finding } from '../../app/domain/finding';
import { type ParseResult, parseEvent } from '../../app/domain/guardduty-event';
import {
  ADMIN_ACCOUNT,
  findingTypes,
  GUARDDUTY_FINDING_FILES,
  guardDutyFindings,
  type Json,
  NOT_EVENTBRIDGE_FILES,
  readNdjson,
  SECURITY_HUB_FILES,
  wrapFinding,
} from '../support/fixtures';

const [AWS_SAMPLES, ELASTIC, PANTHER] = GUARDDUTY_FINDING_FILES as [string, string, string];

function fixture(file: string, index: number): Json {
  const found = readNdjson(file)[index];
  if (!found) throw new Error(`no fixture ${file} #${index}`);
  return found;
}

/** A deep copy, so a test can change nested fields without touching other tests' data. */
const copy = (j: Json): Json => JSON.parse(JSON.stringify(j)) as Json;

function findingOf(result: ParseResult): Finding {
  if (result.kind !== 'finding') throw new Error(`expected a finding, got ${JSON.stringify(result)}`);
  return result.finding;
}

function issuesOf(result: ParseResult): { paths: string[]; hint: string | undefined } {
  if (result.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(result)}`);
  return { paths: result.issues.map((i) => i.path), hint: result.hint };
}

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/** What the fixture says, read independently of the parser. */
function expectedUtc(raw: unknown): string {
  const text = String(raw);
  const iso = text.includes('T') ? text : `${text.replace(' ', 'T')}Z`;
  return new Date(iso).toISOString();
}

function expectedLabel(score: number, type: string): string {
  if (type.startsWith('AttackSequence:')) return 'Critical';
  if (score >= 9) return 'Critical';
  if (score >= 7) return 'High';
  if (score >= 4) return 'Medium';
  return 'Low';
}

describe('parseEvent on real GuardDuty findings', () => {
  const all = guardDutyFindings();

  it('has the fixtures it is meant to cover', () => {
    expect(all).toHaveLength(63);
  });

  it.each(all.map(({ file, index, finding }) => [file.split('/').pop(), index, finding] as const))(
    'normalises %s #%d from its detail, not its envelope',
    (_file, _index, raw) => {
      const result = parseEvent(wrapFinding(raw));
      const f = findingOf(result);
      const service = obj(raw.service);
      const resource = obj(raw.resource);
      const severity = Number(raw.severity);

      expect(f.id).toBe(raw.id);
      expect(f.type).toBe(raw.type);
      expect(f.accountId).toBe(raw.accountId);
      expect(f.accountId).not.toBe(ADMIN_ACCOUNT);
      expect(f.region).toBe(raw.region);
      expect(f.severity).toBe(severity);
      expect(f.severityLabel).toBe(expectedLabel(severity, String(raw.type)));
      expect(f.count).toBe(service.count ?? 1);
      expect(f.updatedAt).toBe(expectedUtc(raw.updatedAt));
      expect(f.resource.type).toBe(resource.resourceType ?? 'Unknown');
      expect(f.resource.label.length).toBeGreaterThan(0);
      if (result.kind === 'finding') expect(result.envelope.account).toBe(ADMIN_ACCOUNT);
    },
  );

  it('labels an Instance finding with its instance id and Name tag', () => {
    const f = findingOf(parseEvent(wrapFinding(fixture(AWS_SAMPLES, 0))));
    expect(f.resource).toEqual({
      type: 'Instance',
      id: 'i-05746eb48123455e0',
      label: 'i-05746eb48123455e0 (ssh-22-open)',
      details: [
        { label: 'Instance', value: 'i-05746eb48123455e0' },
        { label: 'Name', value: 'ssh-22-open' },
        { label: 'Type', value: 't2.micro' },
        { label: 'State', value: 'running' },
        { label: 'Public IP', value: '11.111.111.1' },
        { label: 'Private IP', value: '0.0.0.0' },
        { label: 'VPC', value: 'vpc-34865123' },
      ],
    });
    expect(f.title).toBe('Canary:EC2/Stateless.IntegTest');
    expect(f.firstSeen).toBe('2017-10-31T23:16:23.000Z');
    expect(f.detectorId).toBe('3caf4e0aaa46ce4ccbcef949a8785353');
    expect(f.partition).toBe('aws');
  });

  it('labels an AccessKey finding with the key id, user type and user name', () => {
    const f = findingOf(parseEvent(wrapFinding(fixture(ELASTIC, 51))));
    expect(f.resource.type).toBe('AccessKey');
    expect(f.resource.label).toBe('ASIAJZ3DXJKMP7MG3EKA (Root Root)');
    expect(f.resource.details).toContainEqual({ label: 'Access key', value: 'ASIAJZ3DXJKMP7MG3EKA' });
    expect(f.resource.details).toContainEqual({ label: 'User', value: 'Root' });
    expect(f.count).toBe(204);
    expect(f.firstSeen).toBe('2022-01-12T19:23:28.000Z');
    expect(f.lastSeen).toBe('2022-01-19T21:32:17.000Z');
    expect(f.createdAt).toBe('2022-01-12T19:29:30.028Z');
    expect(f.updatedAt).toBe('2022-01-19T21:39:37.149Z');
  });

  it('names the bucket of an S3Bucket finding', () => {
    const f = findingOf(parseEvent(wrapFinding(fixture(AWS_SAMPLES, 2))));
    expect(f.resource.type).toBe('S3Bucket');
    expect(f.resource.label).toBe('bucketName');
    expect(f.resource.details).toContainEqual({ label: 'Bucket', value: 'bucketName' });
    expect(f.resource.details).toContainEqual({ label: 'Caller', value: 'GeneratedFindingUserName' });
  });

  it('names the cluster and workload of an EKS finding', () => {
    const f = findingOf(parseEvent(wrapFinding(fixture(ELASTIC, 4))));
    expect(f.resource.type).toBe('EKSCluster');
    expect(f.resource.label).toBe(
      'GeneratedFindingEKSClusterName: GeneratedFindingKubernetesWorkloadNamespace/GeneratedFindingKubernetesWorkloadName',
    );
    expect(f.resource.details).toContainEqual({ label: 'Cluster', value: 'GeneratedFindingEKSClusterName' });
    expect(f.resource.details).toContainEqual({ label: 'Kubernetes user', value: 'GeneratedFindingUserName' });
  });

  it('says Unknown for a finding without a resource', () => {
    const f = findingOf(parseEvent(wrapFinding(fixture(PANTHER, 2))));
    expect(f.resource).toEqual({ type: 'Unknown', id: 'unknown', label: 'not given', details: [] });
  });

  it('rates the panther attack sequences Critical', () => {
    for (const index of [0, 1]) {
      const f = findingOf(parseEvent(wrapFinding(fixture(PANTHER, index))));
      expect(f.type.startsWith('AttackSequence:')).toBe(true);
      expect(f.severityLabel).toBe('Critical');
    }
  });

  it('rates an attack sequence Critical even when its number says Medium', () => {
    const raw = { ...fixture(PANTHER, 0), severity: 5 };
    expect(findingOf(parseEvent(wrapFinding(raw))).severityLabel).toBe('Critical');
  });

  it('reads "2025-02-25 20:40:06.721" (no T, no zone) as UTC', () => {
    const f = findingOf(parseEvent(wrapFinding(fixture(PANTHER, 0))));
    expect(f.updatedAt).toBe('2025-02-25T20:40:06.721Z');
    expect(f.createdAt).toBe('2025-02-25T20:40:06.721Z');
    // Nanosecond fractions are cut to milliseconds.
    expect(f.firstSeen).toBe('2025-02-25T20:40:06.000Z');
  });

  it('accepts a severity sent as a numeric string', () => {
    const f = findingOf(parseEvent(wrapFinding({ ...fixture(AWS_SAMPLES, 0), severity: '7.5' })));
    expect(f.severity).toBe(7.5);
    expect(f.severityLabel).toBe('High');
  });

  it('falls back to the type when the title is blank', () => {
    const f = findingOf(parseEvent(wrapFinding({ ...fixture(ELASTIC, 0), title: '   ' })));
    expect(f.title).toBe('UnauthorizedAccess:EC2/MaliciousIPCaller.Custom');
  });
});

describe('the sample flag', () => {
  const withAdditionalInfo = (additionalInfo: unknown): Finding => {
    const raw = copy(fixture(AWS_SAMPLES, 0));
    raw.service = { ...obj(raw.service), additionalInfo };
    return findingOf(parseEvent(wrapFinding(raw)));
  };

  it('is read from service.additionalInfo.sample', () => {
    expect(findingOf(parseEvent(wrapFinding(fixture(ELASTIC, 4)))).isSample).toBe(true);
    expect(withAdditionalInfo({ sample: true }).isSample).toBe(true);
    expect(withAdditionalInfo({ sample: 'true' }).isSample).toBe(true);
  });

  it('is read from additionalInfo.value holding {"sample":true} as JSON text', () => {
    expect(withAdditionalInfo({ type: 'default', value: '{"sample":true}' }).isSample).toBe(true);
  });

  it('is false for real findings and for value text that does not say sample', () => {
    expect(findingOf(parseEvent(wrapFinding(fixture(PANTHER, 0)))).isSample).toBe(false);
    expect(findingOf(parseEvent(wrapFinding(fixture(AWS_SAMPLES, 0)))).isSample).toBe(false);
    expect(withAdditionalInfo({ type: 'default', value: '{"sample":false}' }).isSample).toBe(false);
    expect(withAdditionalInfo({ type: 'default', value: 'not json' }).isSample).toBe(false);
    expect(withAdditionalInfo('sample').isSample).toBe(false);
  });
});

describe('parseEvent on every GuardDuty finding type', () => {
  const types = findingTypes();

  it('knows all 223 documented types', () => {
    expect(types).toHaveLength(223);
    expect(new Set(types.map((t) => t.type)).size).toBe(223);
  });

  it('accepts every documented type, keeping it as sent', () => {
    const base = fixture(AWS_SAMPLES, 0);
    const rejected = types
      .map(({ type }) => ({ type, result: parseEvent(wrapFinding({ ...base, type })) }))
      .filter(({ type, result }) => result.kind !== 'finding' || result.finding.type !== type)
      .map(({ type }) => type);
    expect(rejected).toEqual([]);
  });
});

describe('parseEvent tolerance', () => {
  it('accepts unknown extra fields, nested or at the top', () => {
    const raw = copy(fixture(AWS_SAMPLES, 0));
    raw.futureField = { nested: { deeper: [1, 'two', null] } };
    raw.service = { ...obj(raw.service), brandNewThing: { enabled: true } };
    const result = parseEvent(wrapFinding(raw, { 'replay-name': 'replay-1', extra: { a: 1 } }));
    expect(findingOf(result).id).toBe('16afba5c5c43e07c9e3e5e2e544e95df');
  });

  it('drops a bad display-only timestamp instead of rejecting the finding', () => {
    const raw = copy(fixture(AWS_SAMPLES, 0));
    raw.service = { ...obj(raw.service), eventFirstSeen: 'garbage', eventLastSeen: 12 };
    const f = findingOf(parseEvent(wrapFinding(raw)));
    expect(f.firstSeen).toBe(f.createdAt);
    expect(f.firstSeen).toBe('2017-10-31T23:16:23.824Z');
  });

  it('drops bad display-only fields (title, count, archived) instead of rejecting', () => {
    const raw = copy(fixture(AWS_SAMPLES, 0));
    raw.title = 42;
    raw.service = { ...obj(raw.service), count: 'many', archived: 'yes' };
    const f = findingOf(parseEvent(wrapFinding(raw)));
    expect(f.title).toBe('Canary:EC2/Stateless.IntegTest');
    expect(f.count).toBe(1);
    expect(f.archived).toBe(false);
  });

  it('cuts a long resource value without splitting a character in two', () => {
    // 299 ASCII characters then an emoji: a cut at 300 UTF-16 units lands inside the surrogate pair.
    const instanceId = `${'i'.repeat(299)}😀tail`;
    const raw = { ...fixture(AWS_SAMPLES, 0), resource: { resourceType: 'Instance', instanceDetails: { instanceId } } };
    const f = findingOf(parseEvent(wrapFinding(raw)));
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(f.resource.label.startsWith('i'.repeat(299))).toBe(true);
    expect(f.resource.label).not.toMatch(lone);
  });
});

describe('parseEvent on events that are not GuardDuty findings', () => {
  const events = NOT_EVENTBRIDGE_FILES.flatMap((file) =>
    readNdjson(file).map((event, index) => ({ file: file.split('/').pop() ?? file, index, event })),
  );

  it.each(events.map(({ file, index, event }) => [file, index, event] as const))(
    'answers %s #%d with invalid or unsupported, never a throw or a finding',
    (_file, _index, event) => {
      const result = parseEvent(event);
      expect(['invalid', 'unsupported']).toContain(result.kind);
    },
  );

  it('names source for an envelope with only region and detail', () => {
    const [event] = readNdjson(
      'guardduty/not-eventbridge-shape/aws-samples-amazon-guardduty-waf-acl-test-event.ndjson',
    );
    const { paths } = issuesOf(parseEvent(event));
    expect(paths).toEqual(expect.arrayContaining(['source', 'detail-type', 'id', 'account', 'time']));
  });

  it('names detail.id (and the other required fields) for an empty detail', () => {
    const [event] = readNdjson('guardduty/not-eventbridge-shape/airbnb-streamalert-guardduty-test-event.ndjson');
    const { paths } = issuesOf(parseEvent(event));
    expect(paths).toEqual(
      expect.arrayContaining([
        'detail.id',
        'detail.accountId',
        'detail.region',
        'detail.type',
        'detail.severity',
        'detail.updatedAt',
      ]),
    );
  });

  it('calls the CloudTrail API-call event unsupported, with its source and detail-type', () => {
    const [event] = readNdjson(
      'guardduty/not-eventbridge-shape/sumologic-aws-lambda-guardduty-cloudtrail-event.ndjson',
    );
    expect(parseEvent(event)).toEqual({
      kind: 'unsupported',
      source: 'aws.guardduty',
      detailType: 'AWS API Call via CloudTrail',
    });
  });

  it('names the 13-digit envelope account of the blu371ck samples', () => {
    for (const event of readNdjson('guardduty/not-eventbridge-shape/blu371ck-guardduty-soar-samples.ndjson')) {
      expect(issuesOf(parseEvent(event)).paths).toContain('account');
    }
  });

  it('hints at PascalCase keys when the blu371ck detail is fixed up to a valid envelope', () => {
    for (const event of readNdjson('guardduty/not-eventbridge-shape/blu371ck-guardduty-soar-samples.ndjson')) {
      const { paths, hint } = issuesOf(parseEvent({ ...event, account: '123456789012' }));
      expect(paths).toContain('detail.id');
      expect(hint).toMatch(/PascalCase/);
    }
  });

  it('hints at PascalCase keys for the blu371ck samples as they are', () => {
    for (const event of readNdjson('guardduty/not-eventbridge-shape/blu371ck-guardduty-soar-samples.ndjson')) {
      expect(issuesOf(parseEvent(event)).hint).toMatch(/PascalCase/);
    }
  });
});

describe('parseEvent on Security Hub events', () => {
  const events = SECURITY_HUB_FILES.flatMap((file) =>
    readNdjson(file).map((event, index) => ({ file: file.split('/').pop() ?? file, index, event })),
  );
  const isEnvelope = (e: Json) => 'detail-type' in e && 'source' in e && 'detail' in e;

  it('has both envelopes and bare ASFF findings to check', () => {
    expect(events.filter((e) => isEnvelope(e.event))).toHaveLength(11);
    expect(events.filter((e) => !isEnvelope(e.event))).toHaveLength(30);
  });

  it.each(events.filter((e) => isEnvelope(e.event)).map(({ file, index, event }) => [file, index, event] as const))(
    'calls the EventBridge envelope %s #%d unsupported',
    (_file, _index, event) => {
      const result = parseEvent(event);
      expect(result).toEqual({ kind: 'unsupported', source: 'aws.securityhub', detailType: event['detail-type'] });
    },
  );

  it.each(events.filter((e) => !isEnvelope(e.event)).map(({ file, index, event }) => [file, index, event] as const))(
    'calls the bare ASFF finding %s #%d invalid, naming the missing envelope',
    (_file, _index, event) => {
      const { paths } = issuesOf(parseEvent(event));
      expect(paths).toEqual(expect.arrayContaining(['source', 'detail-type', 'detail']));
    },
  );
});

describe('parseEvent rejections', () => {
  const base = () => copy(fixture(AWS_SAMPLES, 0));

  it.each([['not a date'], ['2019-02-32T00:00:00Z'], ['1999-12-31T23:59:59Z'], [''], [null], [{}]])(
    'rejects updatedAt %p, naming detail.updatedAt',
    (updatedAt) => {
      expect(issuesOf(parseEvent(wrapFinding({ ...base(), updatedAt }))).paths).toEqual(['detail.updatedAt']);
    },
  );

  it('rejects an impossible date such as 30 February, naming detail.updatedAt', () => {
    expect(issuesOf(parseEvent(wrapFinding({ ...base(), updatedAt: '2019-02-30T00:00:00Z' }))).paths).toEqual([
      'detail.updatedAt',
    ]);
  });

  it.each([['12345'], ['1234567890123'], ['12345678901a'], [123456789012]])(
    'rejects detail.accountId %p, naming it',
    (accountId) => {
      expect(issuesOf(parseEvent(wrapFinding({ ...base(), accountId }))).paths).toEqual(['detail.accountId']);
    },
  );

  it('rejects a non-12-digit envelope account, naming account', () => {
    expect(issuesOf(parseEvent(wrapFinding(base(), { account: '99998888777' }))).paths).toEqual(['account']);
  });

  it.each([[-1], [10.5], [11], ['11'], ['high'], [null]])('rejects severity %p, naming detail.severity', (severity) => {
    expect(issuesOf(parseEvent(wrapFinding({ ...base(), severity }))).paths).toEqual(['detail.severity']);
  });

  it.each([['us-east'], ['US-EAST-1'], ['us-east-1<!channel>']])(
    'rejects region %p, naming detail.region',
    (region) => {
      const event = wrapFinding({ ...base(), region }, { region: 'us-east-1' });
      expect(issuesOf(parseEvent(event)).paths).toEqual(['detail.region']);
    },
  );

  it.each([['<!channel>'], ['a b'], ['../etc'], ['x'.repeat(129)]])(
    'rejects a finding id %p that is unsafe in URLs and Slack text',
    (id) => {
      expect(issuesOf(parseEvent(wrapFinding({ ...base(), id }))).paths).toEqual(['detail.id']);
    },
  );

  it.each([[[]], [[wrapFinding({})]], ['a string'], [null], [undefined], [42]])(
    'rejects a body of %p as a whole',
    (body) => {
      expect(issuesOf(parseEvent(body)).paths).toEqual(['(body)']);
    },
  );

  it('rejects a detail that is not an object, naming detail', () => {
    expect(issuesOf(parseEvent(wrapFinding(base(), { detail: 'x' }))).paths).toEqual(['detail']);
  });
});

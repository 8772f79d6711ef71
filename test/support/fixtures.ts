/**
 * Real sample data from ../shared/fixtures (written by others; see its
 * README). Bare GuardDuty findings are wrapped in an EventBridge envelope the
 * way the administrator account publishes them.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SHARED = resolve(__dirname, '..', '..', '..', 'shared');
const FIXTURES = join(SHARED, 'fixtures');

export type Json = Record<string, unknown>;

export function readNdjson(relative: string): Json[] {
  return readFileSync(join(FIXTURES, relative), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Json);
}

export const GUARDDUTY_FINDING_FILES = [
  'guardduty/aws-samples-amazon-guardduty-automated-response-sample.ndjson',
  'guardduty/elastic-integrations-guardduty-samples-a.ndjson',
  'guardduty/panther-analysis-guardduty-rule-tests.ndjson',
];

export const NOT_EVENTBRIDGE_FILES = [
  'guardduty/not-eventbridge-shape/airbnb-streamalert-guardduty-test-event.ndjson',
  'guardduty/not-eventbridge-shape/aws-samples-amazon-guardduty-waf-acl-test-event.ndjson',
  'guardduty/not-eventbridge-shape/blu371ck-guardduty-soar-samples.ndjson',
  'guardduty/not-eventbridge-shape/sumologic-aws-lambda-guardduty-cloudtrail-event.ndjson',
];

export const SECURITY_HUB_FILES = [
  'securityhub/aws-solutions-automated-security-response-securityhub-eventbridge.ndjson',
  'securityhub/awsdocs-securityhub-sample-control-findings.ndjson',
  'securityhub/defectdojo-asff-guardduty.ndjson',
  'securityhub/defectdojo-asff-securityhub-inspector.ndjson',
];

/** Every bare GuardDuty finding in the fixtures, with the file it came from. */
export function guardDutyFindings(): Array<{ file: string; index: number; finding: Json }> {
  return GUARDDUTY_FINDING_FILES.flatMap((file) =>
    readNdjson(file).map((finding, index) => ({ file, index, finding })),
  );
}

export const ADMIN_ACCOUNT = '999988887777';

export function wrapFinding(finding: Json, overrides: Json = {}): Json {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: ADMIN_ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: typeof finding.region === 'string' ? finding.region : 'us-east-1',
    resources: [],
    detail: finding,
    ...overrides,
  };
}

/** Every row of the finding-type table: type, resource type, default severity. */
export function findingTypes(): Array<{ type: string; resourceType: string; severity: string; status: string }> {
  const [, ...rows] = readFileSync(join(SHARED, 'data', 'guardduty-finding-types.tsv'), 'utf8')
    .trim()
    .split('\n');
  return rows.map((row) => {
    const [type = '', resourceType = '', severity = '', , status = ''] = row.split('\t');
    return { type, resourceType, severity, status };
  });
}

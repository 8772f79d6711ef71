/**
 * Parses an EventBridge event into a normalised GuardDuty finding.
 * Expected failures are values: `invalid` (can never succeed: 400) and
 * `unsupported` (a well-formed event of a source/detail-type we do not handle
 * yet: 422). Unknown extra fields are kept in the raw event, never rejected.
 */
import { z } from 'zod';
import type { EventEnvelope, Finding } from './finding';
import { summariseResource } from './resource-summary';
import { severityLabel } from './severity';
import { parseTimestamp } from './timestamps';

export const GUARDDUTY_SOURCE = 'aws.guardduty';
export const GUARDDUTY_DETAIL_TYPE = 'GuardDuty Finding';

const REGION = /^[a-z]{2}(-[a-z]+){1,3}-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;

const timestamp = z.unknown().transform((v, ctx) => {
  const iso = parseTimestamp(v);
  if (iso === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 timestamp' });
    return z.NEVER;
  }
  return iso;
});
/** For display-only fields: a bad value is dropped rather than losing the alert. */
const lenientTimestamp = z.unknown().transform((v) => parseTimestamp(v));

const envelopeSchema = z.looseObject({
  version: z.string().optional(),
  id: z.string().min(1).max(256),
  'detail-type': z.string().min(1).max(256),
  source: z.string().min(1).max(256),
  account: z.string().regex(ACCOUNT, 'must be a 12-digit AWS account id'),
  time: z.string().max(64),
  region: z.string().max(32).regex(REGION, 'must be an AWS region such as us-east-1'),
  resources: z.array(z.unknown()).optional(),
  detail: z.record(z.string(), z.unknown()),
});

const detailSchema = z.looseObject({
  schemaVersion: z.string().optional(),
  accountId: z.string().regex(ACCOUNT, 'must be a 12-digit AWS account id'),
  region: z.string().max(32).regex(REGION, 'must be an AWS region such as us-east-1'),
  partition: z.string().max(32).optional().catch(undefined),
  // Finding ids are 32 hex characters; we allow a little more, but only what is
  // safe in URLs, job keys and Slack text.
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be a GuardDuty finding id'),
  arn: z.string().max(2048).optional().catch(undefined),
  type: z.string().min(1).max(256),
  severity: z
    .union([
      z.number(),
      z
        .string()
        .regex(/^\d+(\.\d+)?$/)
        .transform(Number),
    ])
    .pipe(z.number().min(0).max(10)),
  title: z.string().optional().catch(undefined),
  description: z.string().optional().catch(undefined),
  createdAt: lenientTimestamp.optional(),
  updatedAt: timestamp,
  resource: z.unknown().optional(),
  service: z
    .looseObject({
      detectorId: z.string().max(128).optional().catch(undefined),
      // Clamped to what alert.count (INTEGER) holds: GuardDuty's counts never get near it.
      count: z.coerce
        .number()
        .int()
        .min(0)
        .transform((n) => Math.min(n, 2_147_483_647))
        .optional()
        .catch(undefined),
      eventFirstSeen: lenientTimestamp.optional(),
      eventLastSeen: lenientTimestamp.optional(),
      archived: z.boolean().optional().catch(undefined),
      additionalInfo: z.unknown().optional(),
    })
    .optional()
    .catch(undefined),
});

export interface Issue {
  /** Dotted path into the event, e.g. `detail.updatedAt`. */
  path: string;
  message: string;
}

export type ParseResult =
  | { kind: 'finding'; envelope: EventEnvelope; finding: Finding }
  | { kind: 'invalid'; issues: Issue[]; hint?: string }
  | { kind: 'unsupported'; source: string; detailType: string };

function toIssues(error: z.ZodError, prefix: string[] = []): Issue[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...i.path.map(String)].join('.') || '(body)',
    message: i.message,
  }));
}

function isSample(additionalInfo: unknown): boolean {
  if (typeof additionalInfo !== 'object' || additionalInfo === null) return false;
  const info = additionalInfo as Record<string, unknown>;
  if (info.sample === true || info.sample === 'true') return true;
  // Some sources carry additionalInfo as {"value": "{\"sample\":true}"}.
  if (typeof info.value === 'string' && info.value.length < 4096) {
    try {
      const inner: unknown = JSON.parse(info.value);
      return typeof inner === 'object' && inner !== null && (inner as { sample?: unknown }).sample === true;
    } catch {
      return false;
    }
  }
  return false;
}

export function parseEvent(body: unknown): ParseResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { kind: 'invalid', issues: [{ path: '(body)', message: 'must be one EventBridge event (a JSON object)' }] };
  }
  const detail = (body as { detail?: unknown }).detail;
  const pascal =
    typeof detail === 'object' && detail !== null && ('Id' in detail || 'AccountId' in detail)
      ? 'detail uses PascalCase keys (GetFindings API output); EventBridge sends camelCase finding JSON'
      : undefined;
  const env = envelopeSchema.safeParse(body);
  if (!env.success) return { kind: 'invalid', issues: toIssues(env.error), ...(pascal ? { hint: pascal } : {}) };
  const e = env.data;
  if (e.source !== GUARDDUTY_SOURCE || e['detail-type'] !== GUARDDUTY_DETAIL_TYPE) {
    return { kind: 'unsupported', source: e.source, detailType: e['detail-type'] };
  }
  const det = detailSchema.safeParse(e.detail);
  if (!det.success)
    return { kind: 'invalid', issues: toIssues(det.error, ['detail']), ...(pascal ? { hint: pascal } : {}) };
  const d = det.data;
  const finding: Finding = {
    source: GUARDDUTY_SOURCE,
    id: d.id,
    arn: d.arn,
    type: d.type,
    severity: d.severity,
    severityLabel: severityLabel(d.severity, d.type),
    title: d.title?.trim() || d.type,
    description: d.description ?? '',
    accountId: d.accountId,
    region: d.region,
    partition: d.partition ?? 'aws',
    detectorId: d.service?.detectorId,
    resource: summariseResource(d.resource),
    count: d.service?.count ?? 1,
    firstSeen: d.service?.eventFirstSeen ?? d.createdAt,
    lastSeen: d.service?.eventLastSeen ?? d.updatedAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    isSample: isSample(d.service?.additionalInfo),
    archived: d.service?.archived ?? false,
  };
  const envelope: EventEnvelope = {
    id: e.id,
    source: e.source,
    detailType: e['detail-type'],
    account: e.account,
    time: e.time,
    region: e.region,
  };
  return { kind: 'finding', envelope, finding };
}

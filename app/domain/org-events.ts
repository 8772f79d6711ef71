/**
 * Recognises the AWS Organizations events (CloudTrail records delivered by
 * EventBridge with source `aws.organizations`) that change which accounts
 * the organization has, so that a sync can run without waiting for its
 * period. Pure: the event in, a value out.
 *
 * - `CreateAccount` (detail-type "AWS API Call via CloudTrail") is the
 *   request: the account does not exist yet, so it has a request id
 *   (car-…) but no account id. Its `CreateAccountResult` (detail-type "AWS
 *   Service Event via CloudTrail") follows once the account exists, with the
 *   account id and the same request id; only `SUCCEEDED` results count.
 * - `AcceptHandshake` of an invitation is an existing account joining.
 *   `InviteAccountToOrganization` only opens the handshake: nothing has
 *   joined yet, so it is `other`.
 * - CloudTrail records a call that failed with an `errorCode`; such calls
 *   changed nothing and are `other`.
 * - CloudTrail redacts account names as "****"; a redacted name is left out.
 */
import { z } from 'zod';

export const ORGANIZATIONS_SOURCE = 'aws.organizations';
export const API_CALL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
export const SERVICE_EVENT_DETAIL_TYPE = 'AWS Service Event via CloudTrail';

export type OrgEvent =
  /** An account was created (CreateAccountResult) or its creation requested (CreateAccount: no accountId yet). */
  | { kind: 'account_created'; accountId?: string; accountName?: string; requestId?: string }
  /** An existing account accepted an invitation and joined the organization. */
  | { kind: 'account_joined'; accountId?: string; handshakeId?: string }
  /** A well-formed Organizations event that does not add an account. */
  | { kind: 'other'; eventName: string }
  /** Not an Organizations event we can read; `error` says which field is wrong. */
  | { kind: 'invalid'; error: string };

const ACCOUNT_ID = /^\d{12}$/;
const CREATE_ACCOUNT_REQUEST_ID = /^car-[a-z0-9]{8,32}$/;
const HANDSHAKE_ID = /^h-[a-z0-9]{8,32}$/;
/** CloudTrail's stand-in for a redacted value. */
const REDACTED = /^\*+$/;
/** Organizations allows 50; anything far longer is not a real account name. */
const MAX_ACCOUNT_NAME_LENGTH = 256;

const accountId = z.string().regex(ACCOUNT_ID, 'must be a 12-digit AWS account id');

/** Some pipelines (and CloudTrail Lake exports) carry nested CloudTrail objects as JSON text. */
function jsonText(value: unknown): unknown {
  if (typeof value !== 'string' || value.length > 65_536) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const envelopeSchema = z.looseObject({
  source: z.string().min(1).max(256),
  'detail-type': z.string().min(1).max(256),
  detail: z.record(z.string(), z.unknown()),
});

const cloudTrailSchema = z.looseObject({
  eventName: z.string().min(1).max(128),
  errorCode: z.string().optional().catch(undefined),
  userIdentity: z
    .looseObject({ accountId: z.string().optional().catch(undefined) })
    .optional()
    .catch(undefined),
});

const createAccountStatusSchema = z.looseObject({
  id: z.string().optional().catch(undefined),
  state: z.string().optional().catch(undefined),
  accountId: accountId.optional(),
  accountName: z.string().optional().catch(undefined),
});

const createAccountResultSchema = z.looseObject({
  serviceEventDetails: z.preprocess(jsonText, z.looseObject({ createAccountStatus: createAccountStatusSchema })),
});

const createAccountCallSchema = z.looseObject({
  responseElements: z.preprocess(
    jsonText,
    z.looseObject({ createAccountStatus: createAccountStatusSchema.optional() }).nullish(),
  ),
});

const acceptHandshakeSchema = z.looseObject({
  responseElements: z.preprocess(
    jsonText,
    z
      .looseObject({
        handshake: z
          .looseObject({
            id: z.string().optional().catch(undefined),
            action: z.string().optional().catch(undefined),
            state: z.string().optional().catch(undefined),
            parties: z
              .array(z.looseObject({ type: z.string().optional().catch(undefined), id: z.unknown() }))
              .optional()
              .catch(undefined),
          })
          .optional(),
      })
      .nullish(),
  ),
});

export function parseOrganizationsEvent(event: unknown): OrgEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { kind: 'invalid', error: 'must be one EventBridge event (a JSON object)' };
  }
  const envelope = envelopeSchema.safeParse(event);
  if (!envelope.success) return invalid(envelope.error);
  const { source, 'detail-type': detailType, detail } = envelope.data;
  if (source !== ORGANIZATIONS_SOURCE) {
    return { kind: 'invalid', error: `source: must be ${ORGANIZATIONS_SOURCE}, not ${source}` };
  }
  if (detailType !== API_CALL_DETAIL_TYPE && detailType !== SERVICE_EVENT_DETAIL_TYPE) {
    const eventName = typeof detail.eventName === 'string' ? detail.eventName : detailType;
    return { kind: 'other', eventName };
  }
  const trail = cloudTrailSchema.safeParse(detail);
  if (!trail.success) return invalid(trail.error, ['detail']);
  const { eventName, errorCode } = trail.data;
  if (errorCode !== undefined) return { kind: 'other', eventName };

  if (detailType === SERVICE_EVENT_DETAIL_TYPE && eventName === 'CreateAccountResult') {
    const parsed = createAccountResultSchema.safeParse(detail);
    if (!parsed.success) return invalid(parsed.error, ['detail']);
    const status = parsed.data.serviceEventDetails.createAccountStatus;
    // FAILED (e.g. EMAIL_ALREADY_EXISTS) created nothing.
    if (status.state !== 'SUCCEEDED') return { kind: 'other', eventName };
    return {
      kind: 'account_created',
      ...optional('accountId', status.accountId),
      ...optional('accountName', accountName(status.accountName)),
      ...optional('requestId', requestId(status.id)),
    };
  }

  if (detailType === API_CALL_DETAIL_TYPE && eventName === 'CreateAccount') {
    const parsed = createAccountCallSchema.safeParse(detail);
    if (!parsed.success) return invalid(parsed.error, ['detail']);
    const status = parsed.data.responseElements?.createAccountStatus;
    return {
      kind: 'account_created',
      ...optional('accountId', status?.accountId),
      ...optional('accountName', accountName(status?.accountName)),
      ...optional('requestId', requestId(status?.id)),
    };
  }

  if (detailType === API_CALL_DETAIL_TYPE && eventName === 'AcceptHandshake') {
    const parsed = acceptHandshakeSchema.safeParse(detail);
    if (!parsed.success) return invalid(parsed.error, ['detail']);
    const handshake = parsed.data.responseElements?.handshake;
    // Handshakes also enable all features or approve them; only an accepted invitation adds an account.
    if (handshake?.action?.toUpperCase() !== 'INVITE' || handshake.state?.toUpperCase() !== 'ACCEPTED') {
      return { kind: 'other', eventName };
    }
    const party = handshake.parties?.find((p) => p.type?.toUpperCase() === 'ACCOUNT')?.id;
    // The invited account is the one that accepts, so the caller's account is the fallback.
    const candidate = typeof party === 'string' ? party : trail.data.userIdentity?.accountId;
    return {
      kind: 'account_joined',
      ...optional('accountId', candidate !== undefined && ACCOUNT_ID.test(candidate) ? candidate : undefined),
      ...optional(
        'handshakeId',
        handshake.id !== undefined && HANDSHAKE_ID.test(handshake.id) ? handshake.id : undefined,
      ),
    };
  }

  return { kind: 'other', eventName };
}

function accountName(value: string | undefined): string | undefined {
  const name = value?.trim();
  if (!name || REDACTED.test(name) || name.length > MAX_ACCOUNT_NAME_LENGTH) return undefined;
  return name;
}

function requestId(value: string | undefined): string | undefined {
  return value !== undefined && CREATE_ACCOUNT_REQUEST_ID.test(value) ? value : undefined;
}

/** Leaves a key out rather than setting it to undefined, so results compare cleanly. */
function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value !== undefined ? { [key]: value } : {}) as { [P in K]?: string };
}

function invalid(error: z.ZodError, prefix: string[] = []): OrgEvent {
  const problems = error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)].join('.') || '(event)';
    return `${path}: ${issue.message}`;
  });
  return { kind: 'invalid', error: problems.join('; ') };
}

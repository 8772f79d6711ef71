/**
 * The ingest pipeline, as named stages:
 *   parse (validate + normalise, pure) → allow (envelope account, pure)
 *   → rules (pure, plus one count query for stateful rules) → route (pure)
 *   → persist (event + alert + its jobs, one statement; silences, first-only
 *   threading and storm control are decided there, against committed state).
 * Input that can never succeed is answered with a 4xx and kept in quarantine.
 */
import { type Finding, resourceIdOf } from '../domain/finding';
import { type Issue, parseEvent } from '../domain/guardduty-event';
import { type NudgePolicy, nudgeDueAt } from '../domain/nudges';
import { parseOrganizationsEvent } from '../domain/org-events';
import type { RoutingTable } from '../domain/routing';
import { type CompiledRules, evaluateRules, type RuleOutcome, type StatefulKey, statefulKeys } from '../domain/rules';
import { labelOfLevel, type SeverityLabel } from '../domain/severity';
import { nestsDeeperThan, storable } from '../domain/text';
import {
  ACCOUNT_NOTICE_JOB,
  ALSO_NOTIFY_JOB,
  accountNoticeJobKey,
  alsoNotifyJobKey,
  CARD_SYNC_JOB,
  cardJobKey,
  DIGEST_CLOSE_JOB,
  DIGEST_SYNC_JOB,
  NUDGE_JOB,
  nudgeJobKey,
  ORG_SYNC_JOB,
  orgSyncJobKey,
  PAGE_JOB,
  REPLY_JOB,
  replyJobKey,
} from '../jobs/names';
import type { AccountDirectory } from '../ports/account-directory';
import type { Clock } from '../ports/clock';
import type { JobScheduler } from '../ports/follow-up-stores';
import type {
  ExtraJob,
  IngestFollowUp,
  IngestRecord,
  IngestStatus,
  IngestStore,
  QuarantineStore,
} from '../ports/ingest-store';
import type { Logger } from '../ports/logger';

const MAX_DEPTH = 64;
/** Storm control's window: more than STORM_THRESHOLD cards in a channel within it starts a digest. */
export const STORM_WINDOW_MS = 5 * 60_000;

export interface IngestRequest {
  requestId: string;
  raw: Buffer;
  /** `raw` decoded, when the event was parsed from it (so it can be stored as sent). */
  text?: string | undefined;
  /** Total size of the body as received (raw may be truncated for oversize bodies). */
  size: number;
  contentType?: string | undefined;
  userAgent?: string | undefined;
}

export type IngestResult =
  | { kind: 'stored'; status: IngestStatus; alertId: string }
  | { kind: 'noted'; status: 'account_created'; accountId: string }
  | { kind: 'rejected'; httpStatus: number; error: string; message: string; issues?: Issue[] | undefined };

export interface IngestDeps {
  store: IngestStore;
  quarantine: QuarantineStore;
  routing: () => RoutingTable;
  /** The current rules (reloaded on SIGHUP or file change); undefined: none. */
  rules?: (() => CompiledRules | undefined) | undefined;
  /** Accounts from the Organizations sync: names, OU paths and tags for rules and routing. */
  directory?: AccountDirectory | undefined;
  /** New cards per channel within STORM_WINDOW_MS before alerts go to a digest; 0 turns storm control off. */
  stormThreshold?: number | undefined;
  /** Whether a rule's `page: true` can page (PagerDuty configured). */
  paging?: boolean | undefined;
  /** For the jobs ingest arms outside the alert statement (account notices, Organizations sync). */
  scheduler?: JobScheduler | undefined;
  allowedAccounts: readonly string[];
  logger: Logger;
  /** Called after a commit that armed a card job. */
  onCardJob?: () => void;
  nudgePolicy?: NudgePolicy | undefined;
  followUp?: IngestFollowUp | undefined;
  clock: Clock;
}

export class IngestService {
  constructor(private readonly deps: IngestDeps) {}

  async ingest(req: IngestRequest, received: unknown): Promise<IngestResult> {
    // GuardDuty events nest about ten levels deep; anything far deeper is not one.
    if (nestsDeeperThan(received, MAX_DEPTH)) {
      return this.reject(req, 400, 'invalid_event', `(body): nests more than ${MAX_DEPTH} levels deep`);
    }
    const body = storable(received);
    if (isOrganizationsEvent(body)) {
      const noted = await this.noteOrganizationsEvent(req, body);
      if (noted) return noted;
    }
    const parsed = parseEvent(body);
    if (parsed.kind === 'invalid') {
      const first = parsed.issues[0];
      const message = `${first?.path}: ${first?.message}${parsed.hint ? ` (${parsed.hint})` : ''}`;
      return this.reject(req, 400, 'invalid_event', message, { issues: parsed.issues, hint: parsed.hint });
    }
    if (parsed.kind === 'unsupported') {
      return this.reject(
        req,
        422,
        'unsupported_event',
        `events with source "${parsed.source}" and detail-type "${parsed.detailType}" are not handled yet`,
        { source: parsed.source, detailType: parsed.detailType },
      );
    }
    const { envelope, finding } = parsed;
    if (this.deps.allowedAccounts.length > 0 && !this.deps.allowedAccounts.includes(envelope.account)) {
      return this.reject(req, 403, 'account_not_allowed', `events from account ${envelope.account} are not accepted`, {
        account: envelope.account,
      });
    }
    // The body's own text is stored when the event needed nothing replaced (nearly always);
    // the store falls back to the parsed event if PostgreSQL refuses the text.
    const rawJson = req.text !== undefined && body === received ? req.text : undefined;
    const record = await this.prepare(envelope, finding, body, rawJson);
    const stored = await this.deps.store.recordFinding(record);
    // An update may reopen a closed alert, or say it was archived in GuardDuty.
    // A duplicate re-checks too: if we failed after the commit, EventBridge's
    // retry arrives as a duplicate and finishes the job. Errors propagate (503).
    // (A folded finding's alert is about another region's finding: nothing to reconcile.)
    if (stored.status === 'updated' || stored.status === 'duplicate')
      await this.deps.followUp?.reconcileFinding(stored.alertId);
    else if (stored.status === 'accepted' && finding.archived)
      await this.deps.followUp?.reconcileFinding(stored.alertId);
    if (stored.status === 'accepted' || stored.status === 'updated' || stored.status === 'folded')
      this.deps.onCardJob?.();
    this.deps.logger.info(
      {
        requestId: req.requestId,
        status: stored.status,
        alertId: stored.alertId,
        findingId: finding.id,
        findingType: finding.type,
        account: finding.accountId,
        channel: stored.channelId,
        route: stored.routeReason,
        delivery: stored.delivery,
      },
      'finding ingested',
    );
    return { kind: 'stored', status: stored.status, alertId: stored.alertId };
  }

  /** Rules, routing and jobs for one finding: pure, but for one count query when a stateful rule matches. */
  private async prepare(
    envelope: IngestRecord['envelope'],
    finding: Finding,
    body: unknown,
    rawJson: string | undefined,
  ): Promise<IngestRecord> {
    const account = this.deps.directory?.get(finding.accountId);
    const resourceId = resourceIdOf(finding);
    const { outcome, keys } = await this.evaluate(finding, body, account, resourceId);
    const severityLabel: SeverityLabel = outcome ? labelOfLevel(outcome.finalSeverity) : finding.severityLabel;
    const changed = severityLabel !== finding.severityLabel;
    const fallback = this.deps.routing().route(finding.accountId, account?.ouPath);
    const nudgeAt = this.deps.nudgePolicy
      ? nudgeDueAt(this.deps.nudgePolicy, severityLabel, this.deps.clock.now(), 1)
      : undefined;
    const extra: ExtraJob[] = (outcome?.alsoNotify ?? []).map((channelId) => ({
      kind: ALSO_NOTIFY_JOB,
      key: alsoNotifyJobKey(finding.id, channelId),
      lane: channelId,
      payload: { channelId },
    }));
    if (outcome?.page && this.deps.paging) {
      extra.push({ kind: PAGE_JOB, key: `page:rule:${finding.id}`, lane: null, payload: { action: 'trigger' } });
    }
    const threshold = this.deps.stormThreshold ?? 0;
    return {
      envelope,
      finding,
      raw: body,
      rawJson,
      ruleRoute: outcome?.route,
      fallback: { channelId: fallback.channelId, reason: fallback.reason },
      severityLabel,
      originalSeverityLabel: changed ? finding.severityLabel : undefined,
      ruleOutcome: outcome && outcome.matched.length + outcome.errors.length > 0 ? storedOutcome(outcome) : undefined,
      resourceId,
      delivery: outcome?.suppressed ? 'suppressed' : 'card',
      firstOnly: outcome?.firstOnly,
      // Every stateful rule whose match held counts this alert, matched or not:
      // an occurrences rule only matches once enough of these are recorded.
      ruleHits: keys.map((k) => ({ rule: k.rule, key: k.key })),
      storm: threshold > 0 ? { threshold, windowMs: STORM_WINDOW_MS } : undefined,
      now: this.deps.clock.now(),
      // IAM findings (about an access key or principal) are raised in every region the
      // calls were made in; they are one incident, so they fold into one alert.
      foldable: finding.resource.type === 'AccessKey',
      jobs: {
        card: { kind: CARD_SYNC_JOB, key: cardJobKey(finding.id) },
        digest: { kind: DIGEST_SYNC_JOB, closeKind: DIGEST_CLOSE_JOB, closeAfterMs: STORM_WINDOW_MS },
        reply: { kind: REPLY_JOB, key: replyJobKey(finding.id) },
        nudge: nudgeAt ? { kind: NUDGE_JOB, key: nudgeJobKey(finding.id, 0, 1), runAt: nudgeAt } : undefined,
        extra,
        // Keyed account-notice:<account> in the statement, like accountNoticeJobKey.
        accountNotice: this.deps.scheduler ? { kind: ACCOUNT_NOTICE_JOB } : undefined,
      },
    };
  }

  private async evaluate(
    finding: Finding,
    body: unknown,
    account: ReturnType<AccountDirectory['get']>,
    resourceKey: string,
  ): Promise<{ outcome: RuleOutcome | undefined; keys: StatefulKey[] }> {
    const rules = this.deps.rules?.();
    if (!rules) return { outcome: undefined, keys: [] };
    const ctx = {
      finding,
      detail: (body as { detail?: unknown }).detail,
      account: account ? { id: account.id, name: account.name, ouPath: account.ouPath, tags: account.tags } : undefined,
      resourceKey,
    };
    const keys = statefulKeys(rules, ctx);
    const counts = keys.length > 0 ? await this.deps.store.countRuleHits(keys) : new Map<string, number>();
    const outcome = evaluateRules(rules, ctx, counts);
    for (const e of outcome.errors) {
      this.deps.logger.warn({ rule: e.rule, error: e.error, findingId: finding.id }, 'rule could not be evaluated');
    }
    return { outcome, keys };
  }

  /** A CreateAccount (or its result) from AWS Organizations: report the account and refresh the sync. */
  private async noteOrganizationsEvent(req: IngestRequest, body: unknown): Promise<IngestResult | undefined> {
    const event = parseOrganizationsEvent(body);
    if (event.kind === 'invalid') return this.reject(req, 400, 'invalid_event', event.error);
    if (event.kind !== 'account_created' || !event.accountId || !this.deps.scheduler) return undefined;
    await this.deps.scheduler.enqueue({
      kind: ACCOUNT_NOTICE_JOB,
      key: accountNoticeJobKey(event.accountId),
      lane: null,
      payload: { accountId: event.accountId, reason: 'new_account', source: 'create_account_event' },
      mode: 'once',
    });
    // An extra sync now (the periodic one may be an hour away), keyed by the account so a retried event is one run.
    await this.deps.scheduler.enqueue({
      kind: ORG_SYNC_JOB,
      key: `${orgSyncJobKey}:${event.accountId}`,
      lane: null,
      payload: { once: true },
      mode: 'once',
    });
    this.deps.logger.info({ requestId: req.requestId, account: event.accountId }, 'new AWS account noted');
    return { kind: 'noted', status: 'account_created', accountId: event.accountId };
  }

  /** Refuses input for good, keeping it for review. */
  async reject(
    req: IngestRequest,
    httpStatus: number,
    error: string,
    message: string,
    detail: Record<string, unknown> = {},
  ): Promise<IngestResult> {
    await this.deps.quarantine.quarantine({
      requestId: req.requestId,
      httpStatus,
      reason: error,
      // The raw body is kept as bytes; the detail (which may quote it) must be storable text.
      detail: storable({ message, ...detail }),
      contentType: req.contentType,
      userAgent: req.userAgent,
      bodySize: req.size,
      truncated: req.raw.length < req.size,
      body: req.raw,
    });
    this.deps.logger.warn({ requestId: req.requestId, httpStatus, error, message }, 'event quarantined');
    const issues = detail.issues as Issue[] | undefined;
    return { kind: 'rejected', httpStatus, error, message, ...(issues ? { issues } : {}) };
  }
}

function isOrganizationsEvent(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { source?: unknown }).source === 'aws.organizations';
}

/** What the card and the audit need of a rules outcome (stored on the alert as JSON). */
function storedOutcome(o: RuleOutcome): Record<string, unknown> {
  return {
    matched: o.matched,
    originalSeverity: o.originalSeverity,
    finalSeverity: o.finalSeverity,
    severityChanges: o.severityChanges,
    ...(o.suppressed ? { suppressed: o.suppressed } : {}),
    ...(o.route ? { route: o.route } : {}),
    ...(o.alsoNotify.length > 0 ? { alsoNotify: o.alsoNotify } : {}),
    ...(o.page ? { page: true } : {}),
    ...(o.firstOnly ? { firstOnly: o.firstOnly } : {}),
    ...(o.occurrences.length > 0 ? { occurrences: o.occurrences } : {}),
    ...(o.errors.length > 0 ? { errors: o.errors } : {}),
  };
}

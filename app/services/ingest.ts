/**
 * The ingest pipeline, as named stages:
 *   parse (validate + normalise, pure) → allow (envelope account, pure)
 *   → route (pure) → persist (event + alert + card job, one transaction).
 * Input that can never succeed is answered with a 4xx and kept in quarantine.
 */
import { type Issue, parseEvent } from '../domain/guardduty-event';
import { type NudgePolicy, nudgeDueAt } from '../domain/nudges';
import type { RoutingTable } from '../domain/routing';
import { nestsDeeperThan, storable } from '../domain/text';

const MAX_DEPTH = 64;

import { CARD_SYNC_JOB, cardJobKey, NUDGE_JOB, nudgeJobKey } from '../jobs/names';
import type { Clock } from '../ports/clock';
import type { IngestFollowUp, IngestStatus, IngestStore, QuarantineStore } from '../ports/ingest-store';
import type { Logger } from '../ports/logger';

export interface IngestRequest {
  requestId: string;
  raw: Buffer;
  /** Total size of the body as received (raw may be truncated for oversize bodies). */
  size: number;
  contentType?: string | undefined;
  userAgent?: string | undefined;
}

export type IngestResult =
  | { kind: 'stored'; status: IngestStatus; alertId: string }
  | { kind: 'rejected'; httpStatus: number; error: string; message: string; issues?: Issue[] | undefined };

export interface IngestDeps {
  store: IngestStore;
  quarantine: QuarantineStore;
  routing: () => RoutingTable;
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
    const route = this.deps.routing().route(finding.accountId);
    const nudgeAt = this.deps.nudgePolicy
      ? nudgeDueAt(this.deps.nudgePolicy, finding.severityLabel, this.deps.clock.now(), 1)
      : undefined;
    const stored = await this.deps.store.recordFinding({
      envelope,
      finding,
      raw: body,
      channelId: route.channelId,
      cardJob: { kind: CARD_SYNC_JOB, key: cardJobKey(finding.id) },
      nudgeJob: nudgeAt ? { kind: NUDGE_JOB, key: nudgeJobKey(finding.id, 0, 1), runAt: nudgeAt } : undefined,
    });
    // An update may reopen a closed alert, or say it was archived in GuardDuty.
    // A duplicate re-checks too: if we failed after the commit, EventBridge's
    // retry arrives as a duplicate and finishes the job. Errors propagate (503).
    if (stored.status !== 'accepted' && stored.status !== 'stale')
      await this.deps.followUp?.reconcileFinding(stored.alertId);
    else if (stored.status === 'accepted' && finding.archived)
      await this.deps.followUp?.reconcileFinding(stored.alertId);
    if (stored.status === 'accepted' || stored.status === 'updated') this.deps.onCardJob?.();
    this.deps.logger.info(
      {
        requestId: req.requestId,
        status: stored.status,
        alertId: stored.alertId,
        findingId: finding.id,
        findingType: finding.type,
        account: finding.accountId,
        channel: route.channelId,
        route: route.reason,
      },
      'finding ingested',
    );
    return { kind: 'stored', ...stored };
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

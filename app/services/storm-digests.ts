/**
 * Storm control's digest cards. During a storm (more than STORM_THRESHOLD new
 * cards in a channel within the window) the ingest statement adds further
 * alerts to one open digest per channel and finding type and re-arms the
 * digest's card job; this service posts that card once and edits it in place.
 * A digest closes once no alert joined it for the window. Bulk actions act on
 * each open alert through the triage service, so each is audited on its own.
 */
import type { ArchiveCategory } from '../domain/triage';
import { DIGEST_REVIEW_JOB, DIGEST_SYNC_JOB, digestJobKey, digestReviewJobKey } from '../jobs/names';
import type { Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { DigestReviewStore, DigestStore, StoredDigest } from '../ports/digest-store';
import type { JobScheduler } from '../ports/follow-up-stores';
import type { JobOutcome } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { SlackSurface } from '../ports/slack-surface';
import type { Actor, SlackContext } from '../ports/triage-store';
import {
  buildDigestCard,
  type DigestView,
  digestArchiveModal,
  digestListModal,
  digestRejectModal,
  digestReviewCard,
} from '../slack/blocks/digest';
import { pacedWrite, postOnce } from './slack-writes';
import type { TriageOutcome } from './triage';

type BulkCommand = { alertId: string; actor: Actor; ctx: SlackContext; bulk: true };

/** What the digest's bulk actions need of triage. */
export interface BulkTriage {
  acknowledge(cmd: BulkCommand): Promise<TriageOutcome>;
  archive(cmd: BulkCommand & { category: ArchiveCategory; reason: string }): Promise<TriageOutcome>;
  approveArchive(cmd: BulkCommand): Promise<TriageOutcome>;
  rejectArchive(cmd: BulkCommand & { comment: string }): Promise<TriageOutcome>;
}

/** Alerts per bulk job run: a run stays well inside its job lock, and the next run picks up the rest. */
export const BULK_BATCH = 200;

export interface StormDigestDeps {
  store: DigestStore & DigestReviewStore;
  slack: SlackSurface;
  pacer: Pacer;
  clock: Clock;
  logger: Logger;
  scheduler: JobScheduler;
  triage: BulkTriage;
  threshold: number;
  windowMs: number;
  securityChannelId: string;
}

interface BulkBase {
  digestId: string;
  actor: Actor;
  ctx: SlackContext;
}

export type BulkRequest =
  | (BulkBase & { action: 'acknowledge' | 'approve' })
  | (BulkBase & { action: 'archive'; category: ArchiveCategory; reason: string })
  | (BulkBase & { action: 'reject'; comment: string });

export class StormDigests {
  constructor(private readonly deps: StormDigestDeps) {}

  async view(digestId: string): Promise<DigestView | undefined> {
    const d = await this.deps.store.load(digestId);
    return d ? this.withConfig(d) : undefined;
  }

  async listModal(digestId: string) {
    const d = await this.view(digestId);
    return d ? digestListModal(d, await this.deps.store.members(digestId, 45)) : undefined;
  }

  async archiveModal(digestId: string) {
    const d = await this.view(digestId);
    return d ? digestArchiveModal(d) : undefined;
  }

  /** The `digest.sync` job: post the digest card once, then keep it up to date. */
  async sync(digestId: string): Promise<JobOutcome> {
    const { store, slack, logger } = this.deps;
    const d = await store.load(digestId);
    if (!d) return { kind: 'fail', error: 'digest_not_found' };
    const card = buildDigestCard(this.withConfig(d), this.deps.clock.now());
    const metadataId = card.metadata.event_payload.alert_id;
    if (d.cardTs) {
      // The job is armed only when something changed (an alert joined, one was
      // triaged, the digest closed); re-arms while it waits coalesce into one edit.
      const res = await pacedWrite(this.deps, d.channelId, () => slack.updateCard(d.channelId, d.cardTs ?? '', card));
      if (!res.ok) return res.outcome;
      return { kind: 'done' };
    }
    if (d.cardPostStartedAt) {
      // An earlier attempt's outcome is unknown: find its card before posting again.
      const found = await slack.findCard(d.channelId, metadataId, d.cardPostStartedAt);
      if (!found.ok) return { kind: 'retry', error: found.failure.error };
      if (found.value) {
        await store.recordPosted(digestId, found.value);
        return this.sync(digestId);
      }
    }
    await store.beginPost(digestId);
    const res = await pacedWrite(this.deps, d.channelId, () => slack.postCard(d.channelId, card));
    if (!res.ok) {
      if (res.outcome.kind !== 'retry') await store.clearPostStarted(digestId);
      if (res.outcome.kind === 'fail') {
        logger.error({ digestId, channel: d.channelId, error: res.outcome.error }, 'Slack refused the digest card');
      }
      return res.outcome;
    }
    await store.recordPosted(digestId, res.value.ts);
    logger.info({ digestId, channel: d.channelId, ts: res.value.ts, alerts: d.total }, 'storm digest posted');
    return { kind: 'done' };
  }

  /** The `digest.close` job: once the channel has been quiet for the window, close the digest and show it over. */
  async close(digestId: string): Promise<JobOutcome> {
    const res = await this.deps.store.closeIfQuiet(digestId, this.deps.windowMs);
    if (!res.closed) return { kind: 'defer', until: res.quietAt };
    await this.rearm(digestId);
    return { kind: 'done' };
  }

  /**
   * Acknowledge all / Archive all (on the digest card), Approve all / Reject
   * all (on its review card): each alert through triage, so each is audited
   * and refused on its own. One run handles at most BULK_BATCH alerts; `more`
   * says another run should follow (the job defers itself). A refusal for want
   * of rights stops the run: it is audited once, on the first alert.
   */
  async bulk(req: BulkRequest): Promise<{ done: number; refused: number; more: boolean }> {
    const scope = req.action === 'approve' || req.action === 'reject' ? 'review_pending' : 'open';
    const ids = await this.deps.store.alertIdsFor(req.digestId, scope, BULK_BATCH);
    let done = 0;
    let refused = 0;
    let unauthorised = false;
    for (const alertId of ids) {
      const cmd: BulkCommand = { alertId, actor: req.actor, ctx: req.ctx, bulk: true };
      const outcome = await this.run(req, cmd);
      if (outcome.kind === 'done') done++;
      else refused++;
      if (outcome.kind === 'refused' && outcome.reason === 'not_authorised') {
        unauthorised = true;
        break;
      }
    }
    this.deps.logger.info(
      { digestId: req.digestId, action: req.action, actor: req.actor.id, done, refused, unauthorised },
      'storm digest bulk action',
    );
    // Refused ones stay in scope (e.g. someone else acknowledged first is not "open" any more,
    // but a lost race on review is): only a full batch of successes means there may be more.
    const more = !unauthorised && ids.length === BULK_BATCH && done > 0;
    await this.rearm(req.digestId);
    if (!more && req.action !== 'acknowledge') await this.rearmReview(req.digestId);
    return { done, refused, more };
  }

  private run(req: BulkRequest, cmd: BulkCommand): Promise<TriageOutcome> {
    switch (req.action) {
      case 'acknowledge':
        return this.deps.triage.acknowledge(cmd);
      case 'archive':
        return this.deps.triage.archive({ ...cmd, category: req.category, reason: req.reason });
      case 'approve':
        return this.deps.triage.approveArchive(cmd);
      case 'reject':
        return this.deps.triage.rejectArchive({ ...cmd, comment: req.comment });
    }
  }

  /** `digest.review`: the digest's one review card in the security channel, posted once then edited. */
  async syncReview(digestId: string): Promise<JobOutcome> {
    const r = await this.deps.store.review(digestId);
    if (!r) return { kind: 'fail', error: 'digest_not_found' };
    const total = Object.values(r.reviews).reduce((a, b) => a + b, 0);
    if (total === 0) return { kind: 'done' };
    const card = digestReviewCard(r);
    const channel = this.deps.securityChannelId;
    const ts = r.reviewCardTs;
    if (ts) {
      const res = await pacedWrite(this.deps, channel, () => this.deps.slack.updateMessage(channel, ts, card));
      return res.ok ? { kind: 'done' } : res.outcome;
    }
    const res = await postOnce(this.deps, channel, card);
    if (!res.ok) return res.outcome;
    await this.deps.store.recordReviewCard(digestId, res.value.ts);
    return { kind: 'done' };
  }

  async rejectModal(digestId: string) {
    const r = await this.deps.store.review(digestId);
    const pending = r?.reviews.pending ?? 0;
    return r && pending > 0 ? digestRejectModal(digestId, pending) : undefined;
  }

  private rearmReview(digestId: string): Promise<void> {
    return this.deps.scheduler.enqueue({
      kind: DIGEST_REVIEW_JOB,
      key: digestReviewJobKey(digestId),
      lane: this.deps.securityChannelId,
      payload: { digestId },
      mode: 'rearm',
    });
  }

  private rearm(digestId: string): Promise<void> {
    return this.deps.scheduler.enqueue({
      kind: DIGEST_SYNC_JOB,
      key: digestJobKey(digestId),
      lane: null,
      payload: { digestId },
      mode: 'rearm',
    });
  }

  private withConfig(d: StoredDigest): DigestView {
    return { ...d, threshold: this.deps.threshold, windowMinutes: Math.round(this.deps.windowMs / 60_000) };
  }
}

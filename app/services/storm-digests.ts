/**
 * Storm control's digest cards. During a storm (more than STORM_THRESHOLD new
 * cards in a channel within the window) the ingest statement adds further
 * alerts to one open digest per channel and finding type and re-arms the
 * digest's card job; this service posts that card once and edits it in place.
 * A digest closes once no alert joined it for the window. Bulk actions act on
 * each open alert through the triage service, so each is audited on its own.
 */
import type { ArchiveCategory } from '../domain/triage';
import { DIGEST_SYNC_JOB, digestJobKey } from '../jobs/names';
import type { Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { DigestStore, StoredDigest } from '../ports/digest-store';
import type { JobScheduler } from '../ports/follow-up-stores';
import type { JobOutcome } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { SlackSurface } from '../ports/slack-surface';
import type { Actor, SlackContext } from '../ports/triage-store';
import { buildDigestCard, type DigestView, digestArchiveModal, digestListModal } from '../slack/blocks/digest';
import { pacedWrite } from './slack-writes';
import type { TriageOutcome } from './triage';

/** What the digest's bulk actions need of triage. */
export interface BulkTriage {
  acknowledge(cmd: { alertId: string; actor: Actor; ctx: SlackContext }): Promise<TriageOutcome>;
  archive(cmd: {
    alertId: string;
    actor: Actor;
    ctx: SlackContext;
    category: ArchiveCategory;
    reason: string;
  }): Promise<TriageOutcome>;
}

export interface StormDigestDeps {
  store: DigestStore;
  slack: SlackSurface;
  pacer: Pacer;
  clock: Clock;
  logger: Logger;
  scheduler: JobScheduler;
  triage: BulkTriage;
  threshold: number;
  windowMs: number;
}

export type BulkRequest =
  | { action: 'acknowledge'; digestId: string; actor: Actor; ctx: SlackContext }
  | {
      action: 'archive';
      digestId: string;
      actor: Actor;
      ctx: SlackContext;
      category: ArchiveCategory;
      reason: string;
    };

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
      // No revision check: the job is armed only when something changed (a new
      // alert bumps the revision, a triage action on a member does not), and
      // re-arms while it waits coalesce into one edit.
      const res = await pacedWrite(this.deps, d.channelId, () => slack.updateCard(d.channelId, d.cardTs ?? '', card));
      if (!res.ok) return res.outcome;
      await store.recordUpdated(digestId, d.revision);
      return { kind: 'done' };
    }
    if (d.cardPostStartedAt) {
      // An earlier attempt's outcome is unknown: find its card before posting again.
      const found = await slack.findCard(d.channelId, metadataId, d.cardPostStartedAt);
      if (!found.ok) return { kind: 'retry', error: found.failure.error };
      if (found.value) {
        await store.recordPosted(digestId, found.value, 0);
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
    await store.recordPosted(digestId, res.value.ts, d.revision);
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

  /** Acknowledge all / Archive all: each open alert through triage, so each is audited. */
  async bulk(req: BulkRequest): Promise<{ done: number; refused: number }> {
    const ids = await this.deps.store.openAlertIds(req.digestId);
    let done = 0;
    let refused = 0;
    for (const alertId of ids) {
      const cmd = { alertId, actor: req.actor, ctx: req.ctx };
      const outcome =
        req.action === 'acknowledge'
          ? await this.deps.triage.acknowledge(cmd)
          : await this.deps.triage.archive({ ...cmd, category: req.category, reason: req.reason });
      if (outcome.kind === 'done') done++;
      else refused++;
    }
    this.deps.logger.info(
      { digestId: req.digestId, action: req.action, actor: req.actor.id, done, refused },
      'storm digest bulk action',
    );
    await this.rearm(req.digestId);
    return { done, refused };
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

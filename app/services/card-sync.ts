/**
 * Brings an alert's card in Slack up to date: posts it once, then edits it in
 * place as the alert changes. Runs as the `card.sync` job.
 *
 * Never twice: before posting we commit `cardPostStartedAt`; if a later run
 * finds it set without a `ts`, the earlier attempt's outcome is unknown (crash,
 * timeout), so we look for the card in the channel's history by its message
 * metadata before posting again.
 */
import type { AlertForCard, CardStore, Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { JobOutcome } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import { CHANNEL_UNUSABLE_ERRORS, type SlackFailure, type SlackSurface } from '../ports/slack-surface';
import { buildFindingCard, buildPlainCard, type CardMessage } from '../slack/blocks/finding-card';

export interface CardSyncDeps {
  store: CardStore;
  slack: SlackSurface;
  pacer: Pacer;
  clock: Clock;
  logger: Logger;
  defaultChannelId: string;
  /** After the card is first in Slack (e.g. to start the investigation, which must never delay it). */
  onPosted?: (alertId: string) => Promise<void>;
  /** Channel health: a card could not go to its channel (told to the security channel once), or did. */
  channelHealth?: {
    unusable(channelId: string, error: string): Promise<void>;
    usable(channelId: string): Promise<void>;
  };
}

/** Permanent errors after which the card goes to the default channel instead. */
const FALLBACK_ERRORS = new Set([...CHANNEL_UNUSABLE_ERRORS, 'invalid_blocks']);

export class CardSync {
  constructor(private readonly deps: CardSyncDeps) {}

  async sync(alertId: string): Promise<JobOutcome> {
    const alert = await this.deps.store.load(alertId);
    if (!alert) return { kind: 'fail', error: 'alert_not_found' };
    // Suppressed, silenced, threaded and digested alerts have no card of their own.
    if (alert.delivery !== 'card') return { kind: 'done' };
    if (!alert.cardTs) return this.post(alert);
    if (alert.cardRevision < alert.revision)
      return this.update(alert, alert.cardChannelId ?? alert.channelId, alert.cardTs);
    return { kind: 'done' };
  }

  /** The card; `withTriage: false` leaves out status and buttons (for /alert show). */
  render(alert: AlertForCard, withTriage = true): CardMessage {
    const input = {
      alertId: alert.id,
      finding: alert.finding,
      severityLabel: alert.severityLabel,
      severityNote: alert.severityNote,
      regions: alert.regions,
      accountName: alert.account?.name,
      ouPath: alert.account?.ouPath,
      fallbackNote: fallbackNote(alert),
      triage: withTriage ? alert.triage : undefined,
      enrichment: withTriage ? (alert.enrichment ?? undefined) : undefined,
    };
    return alert.cardError === 'invalid_blocks' ? buildPlainCard(input) : buildFindingCard(input);
  }

  private async post(alert: AlertForCard): Promise<JobOutcome> {
    const { store, slack, pacer, logger } = this.deps;
    const target = alert.cardChannelId ?? alert.channelId;

    if (alert.cardPostStartedAt) {
      const found = await slack.findCard(target, alert.id, alert.cardPostStartedAt);
      if (!found.ok) return this.onFailure(alert, target, found.failure, false);
      if (found.value) {
        logger.info({ alertId: alert.id, channel: target, ts: found.value }, 'found the card of an earlier attempt');
        // Revision 0: we cannot know what that attempt showed, so edit it now.
        await store.recordPosted(alert.id, target, found.value, 0);
        await this.posted(alert.id);
        return this.sync(alert.id);
      }
    }

    const card = this.render(alert);
    await store.beginPost(alert.id, target);
    // The slot is taken last, right before the call, so the spacing Slack
    // sees is the spacing we reserved.
    const slot = await pacer.reserve(target);
    if (!slot.ok) {
      await store.clearPostStarted(alert.id);
      return { kind: 'defer', until: slot.waitUntil };
    }
    const res = await slack.postCard(target, card);
    if (res.ok) {
      await store.recordPosted(alert.id, res.value.channelId, res.value.ts, alert.revision);
      logger.info({ alertId: alert.id, channel: res.value.channelId, ts: res.value.ts }, 'card posted');
      if (target === alert.channelId) await this.deps.channelHealth?.usable(target);
      await this.posted(alert.id);
      return { kind: 'done' };
    }
    return this.onFailure(alert, target, res.failure, true);
  }

  private async posted(alertId: string): Promise<void> {
    try {
      await this.deps.onPosted?.(alertId);
    } catch (err) {
      // The card is in Slack; a follow-up that cannot be armed must not undo that.
      this.deps.logger.warn(
        { alertId, err: { message: (err as Error).message } },
        'could not arm the follow-up of a posted card',
      );
    }
  }

  private async update(alert: AlertForCard, channelId: string, ts: string): Promise<JobOutcome> {
    const card = this.render(alert);
    const slot = await this.deps.pacer.reserve(channelId);
    if (!slot.ok) return { kind: 'defer', until: slot.waitUntil };
    const res = await this.deps.slack.updateCard(channelId, ts, card);
    if (res.ok) {
      await this.deps.store.recordUpdated(alert.id, alert.revision);
      return { kind: 'done' };
    }
    return this.onFailure(alert, channelId, res.failure, false);
  }

  /** `afterPost`: the failure answered a chat.postMessage we had marked as started. */
  private async onFailure(
    alert: AlertForCard,
    channelId: string,
    failure: SlackFailure,
    afterPost: boolean,
  ): Promise<JobOutcome> {
    const { store, pacer, clock, logger, defaultChannelId } = this.deps;
    if (failure.kind === 'retryable') {
      if (failure.retryAfterMs !== undefined) {
        await pacer.block(channelId, new Date(clock.now().getTime() + failure.retryAfterMs));
      }
      // Slack answered, so nothing was posted: the next attempt need not reconcile.
      if (afterPost && !failure.outcomeUnknown) {
        await store.clearPostStarted(alert.id);
      }
      logger.warn({ alertId: alert.id, channel: channelId, error: failure.error }, 'Slack write failed; will retry');
      return { kind: 'retry', error: failure.error, retryAfterMs: failure.retryAfterMs };
    }

    const posting = !alert.cardTs;
    if (posting && FALLBACK_ERRORS.has(failure.error) && channelId !== defaultChannelId) {
      logger.warn(
        { alertId: alert.id, channel: channelId, error: failure.error },
        'cannot post the card in its channel; posting it in the default channel',
      );
      await store.redirect(alert.id, defaultChannelId, failure.error);
      if (CHANNEL_UNUSABLE_ERRORS.has(failure.error)) await this.deps.channelHealth?.unusable(channelId, failure.error);
      return this.sync(alert.id);
    }
    if (posting && failure.error === 'invalid_blocks' && alert.cardError !== 'invalid_blocks') {
      // Already in the default channel: retry once as plain text.
      await store.redirect(alert.id, channelId, failure.error);
      return this.sync(alert.id);
    }
    await store.recordCardError(alert.id, failure.error);
    logger.error({ alertId: alert.id, channel: channelId, error: failure.error }, 'Slack refused the card; giving up');
    return { kind: 'fail', error: failure.error };
  }
}

function fallbackNote(alert: AlertForCard): string | undefined {
  const shownIn = alert.cardChannelId ?? alert.channelId;
  if (!alert.cardError || shownIn === alert.channelId) return undefined;
  return `Posted here because Kanshi could not post in this account's channel ${alert.channelId} (${alert.cardError}).`;
}

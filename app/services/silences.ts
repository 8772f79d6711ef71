/**
 * Silences: time-boxed mutes made with `/alert silence` or a card's
 * "Silence similar…" button. Matching is done by the ingest statement (so a
 * silence applies to the next event at once, on every replica); this service
 * makes, lists and lifts them and sends their notices: a day before expiry, at
 * expiry, and once if one matched nothing for 7 days. Every change is audited.
 */
import {
  isStale,
  noticePlan,
  type SilenceMatcher,
  STALE_AFTER_MS,
  silenceStatus,
  typePatternToLike,
  validateTypePattern,
} from '../domain/silences';
import { SILENCE_NOTICE_JOB, silenceNoticeJobKey } from '../jobs/names';
import type { Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { JobOutcome } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { SecurityTeam } from '../ports/security-team';
import type { SilenceStore, StoredSilence } from '../ports/silence-store';
import type { SlackSurface } from '../ports/slack-surface';
import { type Actor, type JobSpec, KANSHI_ACTOR } from '../ports/triage-store';
import {
  SILENCE_LIST_MAX,
  type SilenceListItem,
  silenceCreatedText,
  silenceExpiredText,
  silenceExpiringText,
  silenceLiftedText,
  silenceStaleText,
} from '../slack/blocks/silences';
import { postOnce } from './slack-writes';

export type SilenceNotice = 'created' | 'warn' | 'expired' | 'stale' | 'lifted';

export interface SilenceServiceDeps {
  store: SilenceStore;
  slack: SlackSurface;
  pacer: Pacer;
  security: SecurityTeam;
  clock: Clock;
  logger: Logger;
}

export type SilenceResult<T> = { ok: true; value: T } | { ok: false; message: string };

export class SilenceService {
  constructor(private readonly deps: SilenceServiceDeps) {}

  async create(req: {
    matcher: SilenceMatcher;
    durationMs: number;
    reason: string;
    actor: Actor;
    channelId: string;
  }): Promise<SilenceResult<StoredSilence>> {
    const problem = validateTypePattern(req.matcher.typePattern);
    if (problem) return { ok: false, message: problem };
    const createdAt = this.deps.clock.now();
    const expiresAt = new Date(createdAt.getTime() + req.durationMs);
    const plan = noticePlan(createdAt, expiresAt);
    const notice = (id: string, kind: SilenceNotice, runAt?: Date): JobSpec => ({
      kind: SILENCE_NOTICE_JOB,
      key: silenceNoticeJobKey(id, kind),
      lane: req.channelId,
      payload: { silenceId: id, notice: kind },
      runAt,
      mode: 'once',
    });
    const silence = await this.deps.store.create(
      {
        ...req.matcher,
        typeLike: typePatternToLike(req.matcher.typePattern),
        reason: req.reason.trim(),
        channelId: req.channelId,
        createdAt,
        expiresAt,
      },
      req.actor,
      (id) => [
        notice(id, 'created'),
        ...(plan.warnAt ? [notice(id, 'warn', plan.warnAt)] : []),
        notice(id, 'expired', plan.expireAt),
        // Checked a week after creation, and then a week after each last hit, while it lasts.
        ...(req.durationMs > STALE_AFTER_MS
          ? [notice(id, 'stale', new Date(createdAt.getTime() + STALE_AFTER_MS))]
          : []),
      ],
    );
    this.deps.logger.info(
      { silenceId: silence.id, pattern: silence.typePattern, actor: req.actor.id, expiresAt },
      'silence created',
    );
    return { ok: true, value: silence };
  }

  async list(includeEnded: boolean): Promise<SilenceListItem[]> {
    const now = this.deps.clock.now();
    const rows = await this.deps.store.list({ includeEnded, now, limit: SILENCE_LIST_MAX + 1 });
    return rows.map((s) => ({ ...s, stale: silenceStatus(s, now) === 'active' && isStale(s, now) }));
  }

  /** Who may lift: its creator, or any security engineer. */
  async canLift(s: { createdById: string }, userId: string): Promise<boolean> {
    return s.createdById === userId || (await this.deps.security.isSecurityEngineer(userId));
  }

  async lift(ref: string, actor: Actor): Promise<SilenceResult<StoredSilence>> {
    const found = await this.deps.store.find(ref);
    if (found === 'ambiguous')
      return { ok: false, message: `More than one silence starts with \`${ref}\`: give the full id.` };
    if (!found) return { ok: false, message: `No silence \`${ref}\`.` };
    if (!(await this.canLift(found, actor.id))) {
      await this.deps.store.audit(found.id, {
        action: 'lift',
        outcome: 'refused',
        actor,
        detail: { why: 'not_authorised' },
      });
      return {
        ok: false,
        message: 'Only its creator or a security engineer can lift this silence. Your attempt was recorded.',
      };
    }
    const now = this.deps.clock.now();
    const lifted = await this.deps.store.lift(found.id, actor, now, [
      {
        kind: SILENCE_NOTICE_JOB,
        key: silenceNoticeJobKey(found.id, 'lifted'),
        lane: found.channelId,
        payload: { silenceId: found.id, notice: 'lifted' },
        mode: 'once',
      },
    ]);
    if (!lifted) return { ok: false, message: 'That silence has already ended.' };
    this.deps.logger.info({ silenceId: found.id, actor: actor.id }, 'silence lifted');
    return { ok: true, value: { ...found, liftedAt: now, liftedById: actor.id } };
  }

  /** The `silence.notice` job: tells the silence's channel, once per notice. */
  async notice(silenceId: string, kind: SilenceNotice): Promise<JobOutcome> {
    const found = await this.deps.store.find(silenceId);
    if (!found || found === 'ambiguous') return { kind: 'fail', error: 'silence_not_found' };
    const s = found;
    const now = this.deps.clock.now();
    const status = silenceStatus(s, now);
    let text: string | undefined;
    // Recorded after the post, so a retried post does not audit twice.
    let after: (() => Promise<void>) | undefined;
    switch (kind) {
      case 'created':
        text = silenceCreatedText(s);
        break;
      case 'lifted':
        text = silenceLiftedText(s);
        break;
      case 'warn':
        if (status !== 'active') return { kind: 'done' };
        text = silenceExpiringText(s);
        break;
      case 'expired':
        if (status === 'lifted') return { kind: 'done' };
        // The queue may run it a little early by Kanshi's clock; wait for the real expiry.
        if (status === 'active') return { kind: 'defer', until: s.expiresAt };
        after = () => this.deps.store.audit(s.id, { action: 'expire', outcome: 'applied', actor: KANSHI_ACTOR });
        text = silenceExpiredText(s);
        break;
      case 'stale': {
        if (status !== 'active' || s.staleNotifiedAt) return { kind: 'done' };
        if (!isStale(s, now)) {
          const next = new Date((s.lastHitAt ?? s.createdAt).getTime() + STALE_AFTER_MS);
          return next < s.expiresAt ? { kind: 'defer', until: next } : { kind: 'done' };
        }
        after = async () => {
          await this.deps.store.markStaleNotified(s.id, now);
          await this.deps.store.audit(s.id, { action: 'stale', outcome: 'applied', actor: KANSHI_ACTOR });
        };
        text = silenceStaleText(s);
        break;
      }
    }
    const res = await postOnce(this.deps, s.channelId, { text });
    if (!res.ok) return res.outcome;
    await after?.();
    return { kind: 'done' };
  }
}

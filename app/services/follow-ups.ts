/**
 * What happens after a triage action, as jobs: the timeline reply in the
 * card's thread, the review and escalation cards in the security channel,
 * archiving in GuardDuty, paging, and nudges.
 */
import { type NudgePolicy, nudgeDueAt } from '../domain/nudges';
import { humanDuration } from '../domain/triage';
import { GUARDDUTY_NOTICE_JOB, guardDutyNoticeJobKey, NUDGE_JOB, nudgeJobKey } from '../jobs/names';
import type { AlertForCard, CardStore, Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { GuardDutySyncStore, JobScheduler, PageCallStore } from '../ports/follow-up-stores';
import type { GuardDutyAdmin } from '../ports/guardduty-admin';
import type { JobOutcome } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { Pager } from '../ports/pager';
import type { SlackSurface } from '../ports/slack-surface';
import type { TriageStore } from '../ports/triage-store';
import { escapeAndFit } from '../slack/blocks/mrkdwn';
import { buildEscalationCard, buildReviewCard, messageLink } from '../slack/blocks/security-cards';
import { nudgeText, timelineText } from '../slack/blocks/timeline';
import { pacedWrite, postOnce } from './slack-writes';
import type { TriageService } from './triage';

export interface FollowUpDeps {
  cards: CardStore;
  triageStore: TriageStore;
  slack: SlackSurface;
  pacer: Pacer;
  clock: Clock;
  logger: Logger;
  securityChannelId: string;
  securityUsergroupId?: string | undefined;
}

const PAGER_SEVERITY = {
  Critical: 'critical',
  High: 'error',
  Medium: 'warning',
  Low: 'warning',
  Info: 'info',
} as const;

/** The card must exist before anything can go in its thread. */
const WAIT_FOR_CARD: JobOutcome = { kind: 'retry', error: 'card_not_posted_yet', retryAfterMs: 3000 };

export class ThreadPoster {
  constructor(private readonly d: FollowUpDeps) {}

  async post(alertId: string, auditId: string): Promise<JobOutcome> {
    const [alert, audit] = await Promise.all([this.d.cards.load(alertId), this.d.triageStore.audit(auditId)]);
    if (!alert || !audit) return { kind: 'fail', error: 'alert_or_audit_missing' };
    return this.reply(alert, timelineText(audit, alert.triage.createdAt));
  }

  async reply(alert: AlertForCard, text: string): Promise<JobOutcome> {
    if (!alert.cardTs || !alert.cardChannelId) return WAIT_FOR_CARD;
    const channel = alert.cardChannelId;
    const threadTs = alert.cardTs;
    const res = await postOnce(this.d, channel, { text, threadTs });
    return res.ok ? { kind: 'done' } : res.outcome;
  }
}

export class SecurityCards {
  constructor(private readonly d: FollowUpDeps) {}

  async sync(alertId: string, kind: 'review' | 'escalation'): Promise<JobOutcome> {
    const alert = await this.d.cards.load(alertId);
    if (!alert) return { kind: 'fail', error: 'alert_not_found' };
    const input = {
      alertId,
      finding: alert.finding,
      triage: alert.triage,
      cardChannelId: alert.cardChannelId,
      cardTs: alert.cardTs,
      securityUsergroupId: this.d.securityUsergroupId,
    };
    const card = kind === 'review' ? buildReviewCard(input) : buildEscalationCard(input);
    const channel = this.d.securityChannelId;
    const ts = kind === 'review' ? alert.reviewCardTs : alert.escalationCardTs;
    if (ts) {
      const res = await pacedWrite(this.d, channel, () => this.d.slack.updateMessage(channel, ts, card));
      return res.ok ? { kind: 'done' } : res.outcome;
    }
    const res = await postOnce(this.d, channel, card);
    if (!res.ok) return res.outcome;
    await this.d.cards.recordSecurityCard(alertId, kind, res.value.ts);
    return { kind: 'done' };
  }
}

/** A GuardDuty failure spell's notice to the security channel (the `guardduty.notice` job). */
export interface GuardDutyNotice {
  region: string;
  error: string;
  /** Findings that failed in the run that started the spell. */
  count: number;
  archive: boolean;
}

/** Archives and unarchives findings in GuardDuty until each alert's wanted state is reached. */
export class GuardDutySync {
  constructor(
    private readonly d: {
      admin: GuardDutyAdmin;
      store: GuardDutySyncStore;
      slack: SlackSurface;
      pacer: Pacer;
      clock: Clock;
      securityChannelId: string;
    },
  ) {}

  async sync(region: string): Promise<JobOutcome> {
    const pending = await this.d.store.pending(region, 500);
    if (pending.length === 0) return { kind: 'done' };
    let retry: string | undefined;
    for (const wanted of [true, false]) {
      const batch = pending.filter((p) => p.wanted === wanted);
      if (batch.length === 0) continue;
      const results = await this.d.admin.setArchived(
        batch.map((p) => ({ findingId: p.findingId, region })),
        wanted,
      );
      const done: string[] = [];
      const doneFolded: string[] = [];
      const failed = new Map<string, string[]>();
      for (const p of batch) {
        const r = results.get(p.findingId);
        if (r?.ok && p.folded) doneFolded.push(p.findingId);
        else if (r?.ok) done.push(p.alertId);
        else if (r && !r.retryable) failed.set(r.error, [...(failed.get(r.error) ?? []), p.alertId]);
        else retry = r?.error ?? 'no_result';
      }
      await this.d.store.recordSynced(done, wanted, doneFolded);
      if (done.length + doneFolded.length > 0) await this.d.store.endFailureSpells(region);
      for (const [error, ids] of failed) {
        // The security channel is told when this starts a spell for the region and error, not
        // on every run that meets it again (each alert's card shows its own failure).
        const notice: GuardDutyNotice = { region, error: error.slice(0, 500), count: ids.length, archive: wanted };
        await this.d.store.recordFailed(ids, error, {
          region,
          notice: {
            kind: GUARDDUTY_NOTICE_JOB,
            key: guardDutyNoticeJobKey(region, error.slice(0, 100), this.d.clock.now().getTime()),
            lane: null,
            payload: { ...notice },
            mode: 'once',
          },
        });
      }
    }
    // More than one page of work, or a transient failure: run again.
    if (retry) return { kind: 'retry', error: retry };
    return pending.length === 500 ? { kind: 'defer', until: new Date() } : { kind: 'done' };
  }

  /** `guardduty.notice`: the one message per failure spell. */
  async notify(n: GuardDutyNotice): Promise<JobOutcome> {
    const what = n.archive ? 'archive' : 'unarchive';
    const region = escapeAndFit(n.region, 40);
    const text = `:warning: Kanshi could not ${what} ${n.count} finding(s) in GuardDuty in ${region}: ${escapeAndFit(n.error, 300)}. The alert cards say which; check the GuardDuty administrator role. This is said once until a GuardDuty call in ${region} works again.`;
    const res = await postOnce(this.d, this.d.securityChannelId, { text });
    return res.ok ? { kind: 'done' } : res.outcome;
  }
}

export class Paging {
  constructor(
    private readonly d: {
      pager: Pager;
      calls: PageCallStore;
      triageStore: TriageStore;
      cards: CardStore;
      logger: Logger;
    },
  ) {}

  async send(alertId: string, action: 'trigger' | 'resolve'): Promise<JobOutcome> {
    const alert = await this.d.cards.load(alertId);
    if (!alert) return { kind: 'fail', error: 'alert_not_found' };
    const f = alert.finding;
    const link = alert.cardChannelId && alert.cardTs ? messageLink(alert.cardChannelId, alert.cardTs) : undefined;
    const res = await this.d.pager.send({
      action,
      dedupKey: alertId,
      // The alert's severity: a rule may have raised or lowered GuardDuty's.
      summary: `[${alert.severityLabel}] ${f.title} (account ${f.accountId}, ${f.region})`,
      severity: PAGER_SEVERITY[alert.severityLabel],
      source: `aws:${f.accountId}:${f.region}`,
      ...(link ? { links: [{ href: link, text: 'Alert card in Slack' }] } : {}),
      customDetails: { finding_type: f.type, finding_id: f.id, account: f.accountId, region: f.region },
    });
    await this.d.calls.record({
      alertId,
      action,
      ok: res.ok,
      httpStatus: res.status,
      error: res.ok ? undefined : res.error,
    });
    if (res.ok) return { kind: 'done' };
    return res.retryable
      ? { kind: 'retry', error: res.error, retryAfterMs: res.retryAfterMs }
      : { kind: 'fail', error: res.error };
  }
}

export class Nudger {
  constructor(
    private readonly d: {
      triageStore: TriageStore;
      cards: CardStore;
      thread: ThreadPoster;
      triage: TriageService;
      scheduler: JobScheduler;
      policy: NudgePolicy;
      mention: string;
      logger: Logger;
    },
  ) {}

  /** Runs once per (alert, round, step): the job key is unique and never re-armed. */
  async run(alertId: string, round: number, step: number): Promise<JobOutcome> {
    const a = await this.d.triageStore.get(alertId);
    // Acknowledged, closed, or reopened since (a new round has its own nudges): nothing to do.
    if (a?.state !== 'open' || a.recurrences !== round) return { kind: 'done' };
    const card = await this.d.cards.load(alertId);
    if (!card) return { kind: 'fail', error: 'alert_not_found' };
    const arrived = round === 0 ? a.createdAt : a.stateChangedAt;
    const due = nudgeDueAt(this.d.policy, a.severityLabel, arrived, step);
    const waited = due ? humanDuration(due.getTime() - arrived.getTime()) : 'a while';
    const posted = await this.d.thread.reply(card, nudgeText(this.d.mention, step, waited));
    if (posted.kind !== 'done') return posted;
    const next = nudgeDueAt(this.d.policy, a.severityLabel, arrived, step + 1);
    if (next) {
      await this.d.scheduler.enqueue({
        kind: NUDGE_JOB,
        key: nudgeJobKey(a.findingId, round, step + 1),
        lane: null,
        payload: { alertId, round, step: step + 1 },
        runAt: next,
        mode: 'once',
      });
      return { kind: 'done' };
    }
    const escalated = await this.d.triage.autoEscalate(alertId);
    if (escalated.kind === 'refused')
      this.d.logger.info({ alertId, why: escalated.message }, 'auto-escalation not needed');
    return { kind: 'done' };
  }
}

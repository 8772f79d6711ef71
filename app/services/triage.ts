/**
 * Triage use cases: acknowledge, archive (with review), escalate, take,
 * resolve, and the automatic changes (recurrence, archived in GuardDuty,
 * auto-escalation). Each is one state transition through the store, which
 * writes the audit row and arms the follow-up jobs in the same transaction.
 */
import type { NudgePolicy } from '../domain/nudges';
import { nudgeDueAt } from '../domain/nudges';
import {
  type AlertState,
  type ArchiveCategory,
  type ArchiveReview,
  humanDuration,
  type TriageAction,
  transition,
} from '../domain/triage';
import {
  CARD_SYNC_JOB,
  cardJobKey,
  DIGEST_SYNC_JOB,
  digestJobKey,
  ESCALATION_SYNC_JOB,
  escalationJobKey,
  GUARDDUTY_SYNC_JOB,
  guardDutyJobKey,
  INVESTIGATE_JOB,
  investigateJobKey,
  NUDGE_JOB,
  nudgeJobKey,
  PAGE_JOB,
  pageJobKey,
  REVIEW_SYNC_JOB,
  reviewJobKey,
  THREAD_POST_JOB,
  threadJobKey,
} from '../jobs/names';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { SecurityTeam } from '../ports/security-team';
import {
  type Actor,
  type AlertPatch,
  type AlertSnapshot,
  GUARDDUTY_ACTOR,
  type JobSpec,
  KANSHI_ACTOR,
  type SlackContext,
  type TriageStore,
} from '../ports/triage-store';
import { who } from '../slack/blocks/status';

export interface TriageConfig {
  archiveReview: ArchiveReview;
  securityChannelId: string;
  pagingEnabled: boolean;
  guardDutyArchiving: boolean;
  nudgePolicy: NudgePolicy;
}

export interface TriageDeps {
  /** Which runbook a responder had for a finding type: recorded with every disposition. */
  runbookFor?: (findingType: string) => { file: string; sha256: string; guidance: string } | undefined;
  store: TriageStore;
  security: SecurityTeam;
  config: TriageConfig;
  clock: Clock;
  logger: Logger;
}

export type TriageOutcome =
  | { kind: 'done'; auditId: string; state: AlertState }
  | { kind: 'refused'; reason: 'not_found' | 'not_allowed' | 'not_authorised'; message: string };

export interface Command {
  alertId: string;
  actor: Actor;
  ctx: SlackContext;
  /**
   * Part of a storm digest's bulk action: the digest gets one review card for
   * all of them, so no per-alert review card is posted (one that exists is
   * still updated).
   */
  bulk?: boolean | undefined;
}

/** Actions that dispose of an alert or hand it on: their audit rows say which runbook the responder had. */
const DISPOSITIONS = new Set<TriageAction>(['archive', 'resolve', 'escalate', 'resolve_gone']);

const VERB: Partial<Record<AlertState, string>> = {
  acknowledged: 'acknowledged',
  escalated: 'escalated',
  archive_requested: 'asked to archive',
  archived: 'archived',
  resolved: 'resolved',
};

export class TriageService {
  constructor(private readonly deps: TriageDeps) {}

  /**
   * Before opening a modal: can this user do `action` on the alert now?
   * Refusals here are not audited; the submission is checked (and audited) again.
   */
  async prepare(
    alertId: string,
    action: TriageAction,
    actor: Actor,
    ctx: SlackContext,
  ): Promise<{ ok: true; title: string } | { ok: false; message: string }> {
    const a = await this.deps.store.get(alertId);
    if (!a) return { ok: false, message: 'This alert no longer exists.' };
    if (action === 'reject_archive' || action === 'approve_archive') {
      // A review attempt by someone who may not review is refused and audited
      // here; other refusals are audited when the submission is checked again.
      const refused = await this.requireSecurityEngineer({ alertId, actor, ctx }, action);
      if (refused) return { ok: false, message: refused.message };
    }
    if (!transition(a.state, action, this.deps.config.archiveReview).ok) {
      return { ok: false, message: describeRefusal(a, this.deps.clock.now()) };
    }
    return { ok: true, title: a.title };
  }

  acknowledge(cmd: Command): Promise<TriageOutcome> {
    const now = this.deps.clock.now();
    return this.change(cmd, 'acknowledge', {
      patch: () => ({ acknowledgedAt: now, acknowledgedById: cmd.actor.id }),
    });
  }

  archive(cmd: Command & { category: ArchiveCategory; reason: string }): Promise<TriageOutcome> {
    return this.change(cmd, 'archive', {
      reasonCategory: cmd.category,
      reason: cmd.reason,
      patch: (_a, to) =>
        to === 'archived'
          ? { disposedAt: this.deps.clock.now(), ...this.archiveInGuardDuty(), reviewStatus: 'pending' }
          : { reviewStatus: 'pending' },
      jobs: (a, to) => [
        ...this.reviewJobs(a, cmd),
        ...(to === 'archived' ? [...this.guardDutyJobs(a), ...this.pageResolveJobs(a)] : []),
        ...(a.state === 'escalated' ? [this.escalationJob(a)] : []),
      ],
    });
  }

  async approveArchive(cmd: Command): Promise<TriageOutcome> {
    const refused = await this.requireSecurityEngineer(cmd, 'approve_archive');
    if (refused) return refused;
    return this.change(cmd, 'approve_archive', {
      guard: (a) => (a.reviewStatus === 'pending' ? undefined : 'This archive has already been reviewed.'),
      patch: (a) => ({
        reviewStatus: 'approved',
        reviewedById: cmd.actor.id,
        ...(a.state === 'archive_requested' ? { disposedAt: this.deps.clock.now(), ...this.archiveInGuardDuty() } : {}),
      }),
      jobs: (a) => [
        ...this.reviewJobs(a, cmd),
        ...(a.state === 'archive_requested' ? [...this.guardDutyJobs(a), ...this.pageResolveJobs(a)] : []),
      ],
    });
  }

  async rejectArchive(cmd: Command & { comment: string }): Promise<TriageOutcome> {
    const refused = await this.requireSecurityEngineer(cmd, 'reject_archive');
    if (refused) return refused;
    return this.change(cmd, 'reject_archive', {
      reason: cmd.comment,
      guard: (a) => (a.reviewStatus === 'pending' ? undefined : 'This archive has already been reviewed.'),
      patch: (a) => ({
        reviewStatus: 'rejected',
        reviewedById: cmd.actor.id,
        reviewComment: cmd.comment,
        disposedAt: null,
        ...(a.gdArchiveWanted ? { gdArchiveWanted: false, gdSyncError: null } : {}),
      }),
      jobs: (a) => [...this.reviewJobs(a, cmd), ...(a.gdArchiveWanted ? this.guardDutyJobs(a) : [])],
    });
  }

  escalate(cmd: Command & { note?: string | undefined }, automatic = false): Promise<TriageOutcome> {
    return this.change(cmd, 'escalate', {
      reason: cmd.note,
      detail: automatic ? { automatic: true } : {},
      patch: () => ({ escalatedAt: this.deps.clock.now(), escalatedById: cmd.actor.id }),
      jobs: (a) => [
        this.escalationJob(a),
        ...(this.deps.config.pagingEnabled
          ? [
              {
                kind: PAGE_JOB,
                key: pageJobKey(a.id, 'trigger', '{auditId}'),
                lane: null,
                payload: { alertId: a.id, action: 'trigger' },
                mode: 'once',
              } as JobSpec,
            ]
          : []),
      ],
    });
  }

  async take(cmd: Command): Promise<TriageOutcome> {
    const refused = await this.requireSecurityEngineer(cmd, 'take');
    if (refused) return refused;
    return this.change(cmd, 'take', {
      guard: (a) => (a.assigneeId ? `<@${a.assigneeId}> has already taken this.` : undefined),
      patch: () => ({ assigneeId: cmd.actor.id }),
      jobs: (a) => [this.escalationJob(a)],
    });
  }

  resolve(cmd: Command & { note: string }): Promise<TriageOutcome> {
    return this.change(cmd, 'resolve', {
      reason: cmd.note,
      patch: () => ({ disposedAt: this.deps.clock.now() }),
      jobs: (a) => [...this.pageResolveJobs(a), ...(a.state === 'escalated' ? [this.escalationJob(a)] : [])],
    });
  }

  /** The investigation found the resource gone: resolve without a modal, saying so. */
  resolveGone(cmd: Command): Promise<TriageOutcome> {
    return this.change(cmd, 'resolve_gone', {
      reason: 'resource gone: the investigated resource no longer exists',
      patch: () => ({ disposedAt: this.deps.clock.now() }),
      jobs: (a) => [...this.pageResolveJobs(a), ...(a.state === 'escalated' ? [this.escalationJob(a)] : [])],
    });
  }

  /** Runs the auto-investigation again; audited, the state does not change. */
  async rerunInvestigation(cmd: Command): Promise<TriageOutcome> {
    const a = await this.deps.store.get(cmd.alertId);
    if (!a) return { kind: 'refused', reason: 'not_found', message: 'This alert no longer exists.' };
    const auditId = await this.deps.store.recordAction({
      alertId: a.id,
      action: 'investigate',
      from: a.state,
      actor: cmd.actor,
      ctx: cmd.ctx,
      jobs: [
        {
          kind: INVESTIGATE_JOB,
          key: investigateJobKey(a.id, '{auditId}'),
          lane: null,
          payload: { alertId: a.id },
          mode: 'once',
        },
      ],
    });
    return { kind: 'done', auditId, state: a.state };
  }

  /**
   * After ingest: a finding archived elsewhere (service.archived) archives the
   * alert; a newer update of an archived or resolved finding reopens it.
   */
  async reconcileFinding(alertId: string): Promise<TriageOutcome | undefined> {
    const a = await this.deps.store.get(alertId);
    if (!a) return undefined;
    const cmd = { alertId, ctx: {} };
    if (a.findingArchived && a.state !== 'archived' && a.state !== 'resolved') {
      return this.change({ ...cmd, actor: GUARDDUTY_ACTOR }, 'archived_in_guardduty', {
        reason: 'archived in GuardDuty',
        patch: () => ({
          disposedAt: this.deps.clock.now(),
          gdArchiveWanted: true,
          gdArchived: true,
          gdArchivedAt: this.deps.clock.now(),
        }),
        jobs: (s) => this.pageResolveJobs(s),
      });
    }
    if (
      !a.findingArchived &&
      (a.state === 'archived' || a.state === 'resolved') &&
      a.disposedAt &&
      a.findingUpdatedAt > a.disposedAt
    ) {
      const round = a.recurrences + 1;
      return this.change({ ...cmd, actor: GUARDDUTY_ACTOR }, 'recur', {
        reason: 'the finding was updated after it was closed',
        patch: (s) => ({
          recurrences: round,
          disposedAt: null,
          reviewStatus: null,
          ...(s.gdArchiveWanted ? { gdArchiveWanted: false, gdSyncError: null } : {}),
        }),
        jobs: (s) => [
          ...(s.gdArchiveWanted ? this.guardDutyJobs(s) : []),
          ...this.nudgeJobs(s, round, this.deps.clock.now()),
        ],
      });
    }
    return undefined;
  }

  /** Step 2 of the nudges: nobody acknowledged in time, so the security team gets it. */
  autoEscalate(alertId: string): Promise<TriageOutcome> {
    return this.escalate({ alertId, actor: KANSHI_ACTOR, ctx: {}, note: 'nobody acknowledged it in time' }, true);
  }

  /** The first nudge step for a new alert (the ingest statement arms it; see nudgeJobs). */
  nudgeJobs(a: Pick<AlertSnapshot, 'id' | 'findingId' | 'severityLabel'>, round: number, arrivedAt: Date): JobSpec[] {
    const due = nudgeDueAt(this.deps.config.nudgePolicy, a.severityLabel, arrivedAt, 1);
    if (!due) return [];
    return [
      {
        kind: NUDGE_JOB,
        key: nudgeJobKey(a.findingId, round, 1),
        lane: null,
        payload: { alertId: a.id, round, step: 1 },
        runAt: due,
        mode: 'once',
      },
    ];
  }

  /** Only ask for archiving in GuardDuty when an administrator role is configured to do it. */
  private archiveInGuardDuty(): AlertPatch {
    return this.deps.config.guardDutyArchiving ? { gdArchiveWanted: true, gdSyncError: null } : {};
  }

  private escalationJob(a: AlertSnapshot): JobSpec {
    return {
      kind: ESCALATION_SYNC_JOB,
      key: escalationJobKey(a.id),
      lane: this.deps.config.securityChannelId,
      payload: { alertId: a.id },
      mode: 'rearm',
    };
  }

  private reviewJob(a: AlertSnapshot): JobSpec {
    return {
      kind: REVIEW_SYNC_JOB,
      key: reviewJobKey(a.id),
      lane: this.deps.config.securityChannelId,
      payload: { alertId: a.id },
      mode: 'rearm',
    };
  }

  private reviewJobs(a: AlertSnapshot, cmd: Command): JobSpec[] {
    return cmd.bulk && !a.reviewCardTs ? [] : [this.reviewJob(a)];
  }

  private guardDutyJobs(a: AlertSnapshot): JobSpec[] {
    if (!this.deps.config.guardDutyArchiving) return [];
    // A folded IAM alert has a finding in each of its regions.
    return [...new Set([a.region, ...a.regions])].map((region) => ({
      kind: GUARDDUTY_SYNC_JOB,
      key: guardDutyJobKey(region),
      lane: null,
      payload: { region },
      mode: 'rearm',
    }));
  }

  private pageResolveJobs(a: AlertSnapshot): JobSpec[] {
    if (!this.deps.config.pagingEnabled || a.state !== 'escalated') return [];
    return [
      {
        kind: PAGE_JOB,
        key: pageJobKey(a.id, 'resolve', '{auditId}'),
        lane: null,
        payload: { alertId: a.id, action: 'resolve' },
        mode: 'once',
      },
    ];
  }

  private async requireSecurityEngineer(
    cmd: Command,
    action: TriageAction,
  ): Promise<Extract<TriageOutcome, { kind: 'refused' }> | undefined> {
    if (await this.deps.security.isSecurityEngineer(cmd.actor.id)) return undefined;
    const a = await this.deps.store.get(cmd.alertId);
    if (!a) return { kind: 'refused', reason: 'not_found', message: 'This alert no longer exists.' };
    await this.deps.store.recordRefusal({
      alertId: a.id,
      action,
      from: a.state,
      actor: cmd.actor,
      ctx: cmd.ctx,
      why: 'not_authorised',
    });
    this.deps.logger.warn({ alertId: a.id, action, actor: cmd.actor.id }, 'refused: not a security engineer');
    return {
      kind: 'refused',
      reason: 'not_authorised',
      message: 'Only security engineers can do that. Your attempt was recorded.',
    };
  }

  private async change(
    cmd: Command,
    action: TriageAction,
    how: {
      reasonCategory?: string;
      reason?: string | undefined;
      detail?: Record<string, unknown>;
      guard?: (a: AlertSnapshot) => string | undefined;
      patch?: (a: AlertSnapshot, to: AlertState) => AlertPatch;
      jobs?: (a: AlertSnapshot, to: AlertState) => JobSpec[];
    },
  ): Promise<TriageOutcome> {
    const { store, config } = this.deps;
    const a = await store.get(cmd.alertId);
    if (!a) return { kind: 'refused', reason: 'not_found', message: 'This alert no longer exists.' };
    const t = transition(a.state, action, config.archiveReview);
    const guard = t.ok ? how.guard?.(a) : undefined;
    if (!t.ok || guard) {
      const message = guard ?? describeRefusal(a, this.deps.clock.now());
      await store.recordRefusal({
        alertId: a.id,
        action,
        from: a.state,
        actor: cmd.actor,
        ctx: cmd.ctx,
        why: 'not_allowed',
      });
      return { kind: 'refused', reason: 'not_allowed', message };
    }
    const lane = a.cardChannelId ?? a.channelId;
    const runbook = DISPOSITIONS.has(action) ? this.deps.runbookFor?.(a.findingType) : undefined;
    const result = await store.applyTransition({
      alertId: a.id,
      action,
      from: a.state,
      to: t.to,
      actor: cmd.actor,
      ctx: cmd.ctx,
      reasonCategory: how.reasonCategory,
      reason: how.reason,
      detail: runbook ? { ...how.detail, runbook } : how.detail,
      patch: how.patch?.(a, t.to) ?? {},
      jobs: [...cardJobs(a, lane), ...(how.jobs?.(a, t.to) ?? [])],
    });
    if (!result.applied) {
      // Someone else changed it between our read and our write: they won.
      await store.recordRefusal({
        alertId: a.id,
        action,
        from: result.current.state,
        actor: cmd.actor,
        ctx: cmd.ctx,
        why: 'lost_race',
      });
      return {
        kind: 'refused',
        reason: 'not_allowed',
        message: describeRefusal(result.current, this.deps.clock.now()),
      };
    }
    this.deps.logger.info({ alertId: a.id, action, from: a.state, to: t.to, actor: cmd.actor.id }, 'alert changed');
    return { kind: 'done', auditId: result.auditId, state: t.to };
  }
}

/**
 * What shows a change: an alert with a card of its own gets the card edited and a
 * timeline reply; one in a storm digest gets the digest re-rendered (its counts);
 * suppressed, silenced and threaded alerts have no card to change.
 */
function cardJobs(a: AlertSnapshot, lane: string): JobSpec[] {
  if (a.delivery === 'digest' && a.digestId) {
    const payload = { digestId: a.digestId };
    return [{ kind: DIGEST_SYNC_JOB, key: digestJobKey(a.digestId), lane: a.channelId, payload, mode: 'rearm' }];
  }
  if (a.delivery !== 'card') return [];
  return [
    { kind: CARD_SYNC_JOB, key: cardJobKey(a.findingId), lane, payload: { alertId: a.id }, mode: 'rearm' },
    {
      kind: THREAD_POST_JOB,
      key: threadJobKey('{auditId}'),
      lane,
      payload: { alertId: a.id, auditId: '{auditId}' },
      mode: 'once',
    },
  ];
}

/** "Already acknowledged by <@U1> 3 min ago." — who acted first, for the one who clicked second. */
export function describeRefusal(a: AlertSnapshot, now: Date): string {
  const verb = VERB[a.state];
  if (!verb) return 'That is not possible while the alert is open.';
  return `Already ${verb} by ${who(a.stateById, a.stateByName)} ${humanDuration(now.getTime() - a.stateChangedAt.getTime())} ago.`;
}

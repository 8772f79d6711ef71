/**
 * Every job Kanshi runs: name → payload schema → one-line handler into a
 * service. Payloads hold ids only; keys are deterministic (see names.ts) so a
 * retry or a re-delivered event re-arms the same job instead of adding another.
 */
import { z } from 'zod';
import type { JobOutcome } from '../ports/job-queue';
import type { CardSync } from '../services/card-sync';
import type { GuardDutySync, Nudger, Paging, SecurityCards, ThreadPoster } from '../services/follow-ups';
import type { InvestigationService } from '../services/investigation';
import type { SilenceNotice, SilenceService } from '../services/silences';
import type { BulkRequest, StormDigests } from '../services/storm-digests';
import type { AccountNotices, ChannelHealth, OrgSync, RuleFollowUps } from '../services/tuning-follow-ups';
import {
  ACCOUNT_NOTICE_JOB,
  ALSO_NOTIFY_JOB,
  CARD_SYNC_JOB,
  CHANNEL_HEALTH_JOB,
  DIGEST_BULK_JOB,
  DIGEST_CLOSE_JOB,
  DIGEST_REVIEW_JOB,
  DIGEST_SYNC_JOB,
  ESCALATION_SYNC_JOB,
  GUARDDUTY_NOTICE_JOB,
  GUARDDUTY_SYNC_JOB,
  INVESTIGATE_JOB,
  NUDGE_JOB,
  ORG_SYNC_JOB,
  PAGE_JOB,
  REPLY_JOB,
  REVIEW_SYNC_JOB,
  SILENCE_NOTICE_JOB,
  THREAD_POST_JOB,
} from './names';

export interface JobDefinition {
  payload: z.ZodType<unknown>;
  run(payload: unknown): Promise<JobOutcome>;
}

export type JobCatalog = Record<string, JobDefinition>;

function define<S extends z.ZodType>(payload: S, run: (p: z.infer<S>) => Promise<JobOutcome>): JobDefinition {
  return { payload, run: (p) => run(p as z.infer<S>) };
}

export interface JobServices {
  cardSync: CardSync;
  thread: ThreadPoster;
  securityCards: SecurityCards;
  guardDuty?: GuardDutySync | undefined;
  paging?: Paging | undefined;
  nudger: Nudger;
  investigation?: InvestigationService | undefined;
  digests: StormDigests;
  ruleFollowUps: RuleFollowUps;
  accountNotices: AccountNotices;
  channelHealth: ChannelHealth;
  orgSync?: OrgSync | undefined;
  silences: SilenceService;
}

const digestId = z.object({ digestId: z.string().regex(/^\d{1,19}$/) });
const channelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/);
// A bulk action's reason is the user's text; it lives only in our own queue, never in Slack values.
const bulk = digestId.extend({
  actorId: z.string().min(1).max(64),
  actorName: z.string().min(1).max(200),
  team: z.string().max(64).optional(),
  channel: z.string().max(64).optional(),
  action: z.enum(['acknowledge', 'archive', 'approve', 'reject']),
  category: z.enum(['remediated', 'duplicate', 'false_positive', 'expected_activity', 'accepted_risk']).optional(),
  reason: z.string().max(2000).optional(),
});

function bulkRequest(p: z.infer<typeof bulk>): BulkRequest | undefined {
  const base = {
    digestId: p.digestId,
    actor: { id: p.actorId, name: p.actorName },
    ctx: { team: p.team, channel: p.channel },
  };
  switch (p.action) {
    case 'acknowledge':
    case 'approve':
      return { ...base, action: p.action };
    case 'archive':
      return p.category && p.reason
        ? { ...base, action: 'archive', category: p.category, reason: p.reason }
        : undefined;
    case 'reject':
      return p.reason ? { ...base, action: 'reject', comment: p.reason } : undefined;
  }
}

const alertId = z.object({ alertId: z.uuid() });

export function buildJobCatalog(s: JobServices): JobCatalog {
  return {
    [CARD_SYNC_JOB]: define(alertId, (p) => s.cardSync.sync(p.alertId)),
    [THREAD_POST_JOB]: define(alertId.extend({ auditId: z.string().regex(/^\d+$/) }), (p) =>
      s.thread.post(p.alertId, p.auditId),
    ),
    [REVIEW_SYNC_JOB]: define(alertId, (p) => s.securityCards.sync(p.alertId, 'review')),
    [ESCALATION_SYNC_JOB]: define(alertId, (p) => s.securityCards.sync(p.alertId, 'escalation')),
    [GUARDDUTY_SYNC_JOB]: define(z.object({ region: z.string().min(1).max(32) }), async (p) =>
      s.guardDuty ? s.guardDuty.sync(p.region) : { kind: 'fail', error: 'guardduty_archiving_not_configured' },
    ),
    [GUARDDUTY_NOTICE_JOB]: define(
      z.object({
        region: z.string().min(1).max(32),
        error: z.string().max(500),
        count: z.number().int().min(1),
        archive: z.boolean(),
      }),
      async (p) =>
        s.guardDuty ? s.guardDuty.notify(p) : { kind: 'fail', error: 'guardduty_archiving_not_configured' },
    ),
    [PAGE_JOB]: define(alertId.extend({ action: z.enum(['trigger', 'resolve']) }), async (p) =>
      s.paging ? s.paging.send(p.alertId, p.action) : { kind: 'fail', error: 'paging_not_configured' },
    ),
    [INVESTIGATE_JOB]: define(alertId, async (p) =>
      s.investigation ? s.investigation.investigate(p.alertId) : { kind: 'fail', error: 'investigation_off' },
    ),
    [DIGEST_SYNC_JOB]: define(digestId, (p) => s.digests.sync(p.digestId)),
    [DIGEST_CLOSE_JOB]: define(digestId, (p) => s.digests.close(p.digestId)),
    [DIGEST_BULK_JOB]: define(bulk, async (p) => {
      const req = bulkRequest(p);
      if (!req) return { kind: 'fail', error: 'bulk_action_needs_reason' };
      const { more } = await s.digests.bulk(req);
      // A large digest is worked through in batches: the next run takes the rest.
      return more ? { kind: 'defer', until: new Date() } : { kind: 'done' };
    }),
    [DIGEST_REVIEW_JOB]: define(digestId, (p) => s.digests.syncReview(p.digestId)),
    [REPLY_JOB]: define(alertId, (p) => s.ruleFollowUps.reply(p.alertId)),
    [ALSO_NOTIFY_JOB]: define(alertId.extend({ channelId }), (p) => s.ruleFollowUps.alsoNotify(p.alertId, p.channelId)),
    [ACCOUNT_NOTICE_JOB]: define(
      z.object({
        accountId: z.string().regex(/^\d{12}$/),
        reason: z.enum(['new_account', 'unrouted']),
        source: z.string().max(40),
      }),
      (p) => s.accountNotices.notice(p.accountId, p.reason, p.source),
    ),
    [CHANNEL_HEALTH_JOB]: define(z.object({ channelId, error: z.string().max(100) }), (p) =>
      s.channelHealth.notify(p.channelId, p.error),
    ),
    [ORG_SYNC_JOB]: define(z.object({ once: z.boolean().optional() }), async (p) =>
      s.orgSync ? s.orgSync.sync(p.once === true) : { kind: 'fail', error: 'organizations_sync_not_configured' },
    ),
    [SILENCE_NOTICE_JOB]: define(
      z.object({ silenceId: z.uuid(), notice: z.enum(['created', 'warn', 'expired', 'stale', 'lifted']) }),
      (p) => s.silences.notice(p.silenceId, p.notice as SilenceNotice),
    ),
    [NUDGE_JOB]: define(alertId.extend({ round: z.number().int().min(0), step: z.number().int().min(1) }), (p) =>
      s.nudger.run(p.alertId, p.round, p.step),
    ),
  };
}

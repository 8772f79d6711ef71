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
import {
  CARD_SYNC_JOB,
  ESCALATION_SYNC_JOB,
  GUARDDUTY_SYNC_JOB,
  INVESTIGATE_JOB,
  NUDGE_JOB,
  PAGE_JOB,
  REVIEW_SYNC_JOB,
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
    [PAGE_JOB]: define(alertId.extend({ action: z.enum(['trigger', 'resolve']) }), async (p) =>
      s.paging ? s.paging.send(p.alertId, p.action) : { kind: 'fail', error: 'paging_not_configured' },
    ),
    [INVESTIGATE_JOB]: define(alertId, async (p) =>
      s.investigation ? s.investigation.investigate(p.alertId) : { kind: 'fail', error: 'investigation_off' },
    ),
    [NUDGE_JOB]: define(alertId.extend({ round: z.number().int().min(0), step: z.number().int().min(1) }), (p) =>
      s.nudger.run(p.alertId, p.round, p.step),
    ),
  };
}

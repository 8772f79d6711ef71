/**
 * Every job Kanshi runs: name → payload schema → one-line handler into a
 * service. Payloads hold ids only; keys are deterministic so a retry or a
 * re-delivered event re-arms the same job instead of adding another.
 */
import { z } from 'zod';
import type { JobOutcome } from '../ports/job-queue';
import type { CardSync } from '../services/card-sync';
import { CARD_SYNC_JOB } from './names';

export interface JobDefinition {
  payload: z.ZodType<unknown>;
  run(payload: unknown): Promise<JobOutcome>;
}

export type JobCatalog = Record<string, JobDefinition>;

function define<S extends z.ZodType>(payload: S, run: (p: z.infer<S>) => Promise<JobOutcome>): JobDefinition {
  return { payload, run: (p) => run(p as z.infer<S>) };
}

export function buildJobCatalog(services: { cardSync: CardSync }): JobCatalog {
  return {
    [CARD_SYNC_JOB]: define(z.object({ alertId: z.uuid() }), (p) => services.cardSync.sync(p.alertId)),
  };
}

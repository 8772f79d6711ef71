/**
 * Arming a job by its deterministic key, inside whatever transaction the
 * caller is in. `rearm`: a finished job runs again, a pending one keeps its
 * run_at (so it cannot jump a Retry-After), a running one runs again when it
 * finishes (its generation moves on). `once`: a key that exists is left alone.
 */
import type { JobSpec } from '../../ports/triage-store';

const INSERT = `INSERT INTO job (kind, key, lane, payload, run_at)
VALUES ($1, $2, $3, $4::jsonb, COALESCE($5::timestamptz, now()))`;

export const REARM_ON_CONFLICT = `ON CONFLICT (key) DO UPDATE SET
  status = CASE WHEN job.status = 'running' THEN 'running' ELSE 'pending' END,
  generation = job.generation + 1,
  run_at = CASE WHEN job.status = 'pending' THEN job.run_at ELSE EXCLUDED.run_at END,
  attempts = CASE WHEN job.status IN ('done', 'failed') THEN 0 ELSE job.attempts END,
  updated_at = now()`;

/** Re-arm jobs that have started or finished since the caller last looked: `rearm` for keys known to exist. */
export const REARM_STARTED = `UPDATE job SET
  status = CASE WHEN status = 'running' THEN 'running' ELSE 'pending' END,
  generation = generation + 1,
  run_at = CASE WHEN status = 'running' THEN run_at ELSE now() END,
  attempts = CASE WHEN status IN ('done', 'failed') THEN 0 ELSE attempts END,
  updated_at = now()
WHERE key = ANY($1::text[]) AND status <> 'pending'`;

export const ENQUEUE_SQL = {
  rearm: `${INSERT}\n${REARM_ON_CONFLICT}`,
  once: `${INSERT}\nON CONFLICT (key) DO NOTHING`,
} as const;

export function enqueueParams(job: JobSpec): unknown[] {
  return [job.kind, job.key, job.lane, JSON.stringify(job.payload), job.runAt?.toISOString() ?? null];
}

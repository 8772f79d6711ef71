/**
 * A transactional outbox in PostgreSQL.
 *
 * Why our own rather than graphile-worker or pg-boss: Kanshi's jobs are Slack
 * writes that must be paced per channel across replicas (about 1 message/s)
 * and must wait exactly as long as a 429's Retry-After says. Both libraries
 * retry on their own fixed backoff and have no notion of a rate-limited lane,
 * so we would fight them. The enqueue is part of the ingest statement
 * (see ingest-store.ts), job keys are deterministic, and claims use
 * FOR UPDATE SKIP LOCKED so any number of replicas can run workers.
 */
import type { Pool } from 'pg';
import type { ClaimedJob, JobQueue } from '../../ports/job-queue';

// At most one job per lane per claim, and none from a lane with a running job
// or a lane whose next slot is in the future: cards in one channel go out one
// at a time, in order, at Slack's pace.
//
// The lanes are found by skipping through job_lane_pending_idx from one lane
// to the next, and each lane's next job is the first entry of its range: the
// cost grows with the number of lanes, not with the jobs waiting in them. (It
// used to walk and sort every due job: 30-32 ms a claim at 10,000 jobs waiting
// in 500 paced lanes, against 3.4-3.5 ms now; `npm run bench:claim`.) A lane's
// first pending job by run_at is its oldest due one, if it has any.
//
// The locking level restates `status = 'pending'`. The candidates come from
// the statement's snapshot; when another worker claimed and committed a row
// after that snapshot, FOR UPDATE moves to the row's new version and rechecks
// only the conditions of its own level. Without the restated status, that
// recheck passed and both workers ran the job (10 % of two-worker rounds in a
// loop test; a CI run hit it). The candidates go in as an array, so that level
// reads them by primary key rather than scanning the pending jobs for them.
export const CLAIM = `
WITH RECURSIVE lanes(lane) AS (
  (SELECT j.lane FROM job j WHERE j.status = 'pending' AND j.lane IS NOT NULL ORDER BY j.lane LIMIT 1)
  UNION ALL
  SELECT (SELECT j.lane FROM job j WHERE j.status = 'pending' AND j.lane > l.lane ORDER BY j.lane LIMIT 1)
  FROM lanes l WHERE l.lane IS NOT NULL
)
UPDATE job SET status = 'running', attempts = attempts + 1, locked_by = $1,
       locked_until = now() + make_interval(secs => $2::float8 / 1000), updated_at = now()
WHERE id IN (
  SELECT id FROM job WHERE status = 'pending' AND id = ANY (ARRAY(
    SELECT h.id FROM lanes l
    CROSS JOIN LATERAL (
      SELECT j.id, j.run_at FROM job j WHERE j.lane = l.lane AND j.status = 'pending'
      ORDER BY j.run_at, j.id LIMIT 1
    ) h
    WHERE l.lane IS NOT NULL AND h.run_at <= now()
      AND NOT EXISTS (SELECT 1 FROM lane n WHERE n.id = l.lane AND n.next_at > now())
      AND NOT EXISTS (SELECT 1 FROM job r WHERE r.lane = l.lane AND r.status = 'running')
    UNION ALL
    (SELECT j.id FROM job j WHERE j.status = 'pending' AND j.lane IS NULL AND j.run_at <= now()
     ORDER BY j.run_at, j.id LIMIT $3)
  ))
  ORDER BY run_at, id
  LIMIT $3
  FOR UPDATE SKIP LOCKED
)
RETURNING id::text AS id, kind, key, lane, payload, generation, attempts, locked_by AS "lockedBy"`;

export class PgJobQueue implements JobQueue {
  constructor(private readonly pool: Pool) {}

  async claim(workerId: string, limit: number, lockMs: number): Promise<ClaimedJob[]> {
    const res = await this.pool.query<ClaimedJob>({
      name: 'kanshi_claim_jobs',
      text: CLAIM,
      values: [workerId, lockMs, limit],
    });
    return res.rows;
  }

  async complete(job: ClaimedJob): Promise<'done' | 'pending' | 'lost'> {
    return this.record<'done' | 'pending'>(
      job,
      `status = CASE WHEN generation = $3 THEN 'done' ELSE 'pending' END,
       run_at = now(), locked_by = NULL, locked_until = NULL, last_error = NULL`,
      [job.generation],
    );
  }

  async retry(
    job: ClaimedJob,
    runAt: Date,
    error: string,
    maxAttempts: number,
  ): Promise<'pending' | 'failed' | 'lost'> {
    return this.record<'pending' | 'failed'>(
      job,
      `status = CASE WHEN attempts >= $5 THEN 'failed' ELSE 'pending' END,
       run_at = $3, last_error = $4, locked_by = NULL, locked_until = NULL`,
      [runAt, error.slice(0, 2000), maxAttempts],
    );
  }

  async defer(job: ClaimedJob, until: Date): Promise<'pending' | 'lost'> {
    return this.record<'pending'>(
      job,
      `status = 'pending', run_at = $3, attempts = GREATEST(attempts - 1, 0), locked_by = NULL, locked_until = NULL`,
      [until],
    );
  }

  async fail(job: ClaimedJob, error: string): Promise<'failed' | 'lost'> {
    return this.record<'failed'>(job, `status = 'failed', last_error = $3, locked_by = NULL, locked_until = NULL`, [
      error.slice(0, 2000),
    ]);
  }

  /**
   * Records a run's outcome (`set`, whose parameters start at $3) if the job is still running
   * under the worker that claimed it; 'lost' if its lock passed on meanwhile.
   */
  private async record<S extends string>(job: ClaimedJob, set: string, values: unknown[]): Promise<S | 'lost'> {
    const res = await this.pool.query<{ status: S }>(
      `UPDATE job SET ${set}, updated_at = now()
       WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING status`,
      [job.id, job.lockedBy, ...values],
    );
    return res.rows[0]?.status ?? 'lost';
  }

  async extendLock(job: ClaimedJob, lockMs: number): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE job SET locked_until = now() + make_interval(secs => $3::float8 / 1000)
       WHERE id = $1 AND locked_by = $2 AND status = 'running'`,
      [job.id, job.lockedBy, lockMs],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async releaseExpired(): Promise<number> {
    const res = await this.pool.query(
      `UPDATE job SET status = 'pending', locked_by = NULL, locked_until = NULL, updated_at = now()
       WHERE status = 'running' AND locked_until < now()`,
    );
    return res.rowCount ?? 0;
  }
}

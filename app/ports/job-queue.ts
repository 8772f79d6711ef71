export interface ClaimedJob {
  id: string;
  kind: string;
  key: string;
  lane: string | null;
  payload: unknown;
  /** The generation this run serves; a re-arm during the run bumps it. */
  generation: number;
  /** Attempts including this one. */
  attempts: number;
  /** The worker that claimed it. Its outcome is recorded only while that worker still holds the lock. */
  lockedBy: string;
}

export interface JobQueue {
  /** Claims due jobs: at most one per lane, none from a lane that is waiting. */
  claim(workerId: string, limit: number, lockMs: number): Promise<ClaimedJob[]>;
  // Each outcome below is recorded only while the job is still running under the worker that
  // claimed it, and says 'lost' otherwise: once its lock expired and the job was given back
  // (and perhaps claimed again), the late worker's outcome must not end or reschedule it.
  /** Done, unless the job was re-armed while running: then it runs again. */
  complete(job: ClaimedJob): Promise<'done' | 'pending' | 'lost'>;
  /** Failed this time: run again at `runAt`, or give up after `maxAttempts`. */
  retry(job: ClaimedJob, runAt: Date, error: string, maxAttempts: number): Promise<'pending' | 'failed' | 'lost'>;
  /** Not run at all (its lane is busy or rate-limited): try at `until`, without counting an attempt. */
  defer(job: ClaimedJob, until: Date): Promise<'pending' | 'lost'>;
  /** Gives up for good. */
  fail(job: ClaimedJob, error: string): Promise<'failed' | 'lost'>;
  /** Returns jobs whose worker died (lock expired) to the queue. */
  releaseExpired(): Promise<number>;
  /** Renews a running job's lock for its worker; false if the job is no longer that worker's. */
  extendLock(job: ClaimedJob, lockMs: number): Promise<boolean>;
}

/** What a job handler reports. Expected failures are values, not exceptions. */
export type JobOutcome =
  | { kind: 'done' }
  /** Transient failure: try again after `retryAfterMs`, or on the queue's backoff. */
  | { kind: 'retry'; error: string; retryAfterMs?: number | undefined }
  /** Not attempted (rate pacing): run again at `until` without counting an attempt. */
  | { kind: 'defer'; until: Date }
  /** Permanent failure: recorded, never retried. */
  | { kind: 'fail'; error: string };

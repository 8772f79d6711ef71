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
}

export interface JobQueue {
  /** Claims due jobs: at most one per lane, none from a lane that is waiting. */
  claim(workerId: string, limit: number, lockMs: number): Promise<ClaimedJob[]>;
  /** Done, unless the job was re-armed while running: then it runs again. */
  complete(job: ClaimedJob): Promise<void>;
  /** Failed this time: run again at `runAt`, or give up after `maxAttempts`. */
  retry(job: ClaimedJob, runAt: Date, error: string, maxAttempts: number): Promise<'pending' | 'failed'>;
  /** Not run at all (its lane is busy or rate-limited): try at `until`, without counting an attempt. */
  defer(job: ClaimedJob, until: Date): Promise<void>;
  /** Gives up for good. */
  fail(job: ClaimedJob, error: string): Promise<void>;
  /** Returns jobs whose worker died (lock expired) to the queue. */
  releaseExpired(): Promise<number>;
  /** Renews a running job's lock for its live worker; false if the job is no longer that worker's. */
  extendLock(job: ClaimedJob, workerId: string, lockMs: number): Promise<boolean>;
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

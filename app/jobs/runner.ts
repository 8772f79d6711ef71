/**
 * Runs jobs from the durable queue: claims due jobs, runs each through the
 * catalog, and records the outcome. Stops claiming on stop() and waits for
 * what is in flight.
 *
 * There is deliberately no per-job timeout that releases a job while its
 * handler may still be running: that could post a card twice. Every call a
 * handler makes is bounded instead (Slack client timeout, statement_timeout),
 * and a job whose worker died comes back when its lock expires. While a
 * handler runs, its worker renews the lock every third of `lockMs`, so a slow
 * handler (many bounded calls, each retried) is never taken for a dead one.
 */

import { randomUUID } from 'node:crypto';
import type { ClaimedJob, JobOutcome, JobQueue } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { JobCatalog } from './catalog';
import { runInJob } from './context';

export interface RunnerOptions {
  queue: JobQueue;
  catalog: JobCatalog;
  logger: Logger;
  concurrency: number;
  pollMs: number;
  maxAttempts: number;
  /** How long a claim holds a job before another worker may take it over. */
  lockMs?: number;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** Claims follow one another at least this far apart while they find work… */
export const MIN_CLAIM_GAP_MS = 25;
/** …and this far apart after one found nothing (every lane waiting for Slack, say). */
export const IDLE_CLAIM_GAP_MS = 100;

/** Exponential backoff with jitter: ~2 s, 4 s, 8 s … capped at 5 minutes. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempts, 20));
  return Math.round(base / 2 + (random() * base) / 2);
}

export class JobRunner {
  readonly workerId = `kanshi-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly lockMs: number;
  private inFlight = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private lastExpiryCheck = 0;
  private lastClaimAt = 0;
  private lastClaimFound = true;
  /** Woken while not asleep (claiming, say): the next sleep ends as if woken at once. */
  private wokenAwake = false;

  constructor(private readonly o: RunnerOptions) {
    this.lockMs = o.lockMs ?? 120_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New work was committed: look now rather than at the next poll. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenAwake = true;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.running = false;
    this.lastClaimAt = 0;
    this.wake();
    await this.loop;
    const drained = Promise.all([...this.inFlight]).then(() => true);
    const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    if (!(await Promise.race([drained, timedOut]))) {
      this.o.logger.warn(
        { jobs: this.inFlight.size },
        'shutdown timed out with jobs in flight; their locks will expire',
      );
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed: ClaimedJob[] = [];
      try {
        await this.releaseExpiredLocks();
        const free = this.o.concurrency - this.inFlight.size;
        if (free > 0) {
          this.lastClaimAt = Date.now();
          claimed = await this.o.queue.claim(this.workerId, free, this.lockMs);
          this.lastClaimFound = claimed.length > 0;
        }
      } catch (err) {
        this.o.logger.warn({ err: errorInfo(err) }, 'could not claim jobs; will try again');
      }
      for (const job of claimed) {
        const p = this.execute(job).finally(() => {
          this.inFlight.delete(p);
          this.wake();
        });
        this.inFlight.add(p);
      }
      // A claim takes every due job it has room for (one per lane), so there is
      // nothing more to take until a job ends, new work is committed or the poll.
      await this.sleep(this.o.pollMs);
    }
  }

  /**
   * Sleeps until the poll interval passes or someone wakes us — but never
   * claims more often than every MIN_CLAIM_GAP_MS: at 300 events/s, a claim
   * per commit would cost more than the ingest itself. After a claim that
   * found nothing the gap is IDLE_CLAIM_GAP_MS: under a flood of findings the
   * lanes wait for their Slack slots, and claiming 40 times a second for the
   * 20 cards a second they allow took a share of the machine from ingest.
   */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let early: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        clearTimeout(early);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = () => {
        const gap = this.lastClaimFound ? MIN_CLAIM_GAP_MS : IDLE_CLAIM_GAP_MS;
        early ??= setTimeout(done, Math.max(0, this.lastClaimAt + gap - Date.now()));
      };
      // Work committed while we were claiming would otherwise wait for the poll.
      if (this.wokenAwake) {
        this.wokenAwake = false;
        this.wakeUp();
      }
    });
  }

  private async releaseExpiredLocks(): Promise<void> {
    const now = Date.now();
    if (now - this.lastExpiryCheck < 10_000) return;
    this.lastExpiryCheck = now;
    const n = await this.o.queue.releaseExpired();
    if (n > 0) this.o.logger.warn({ jobs: n }, 'took back jobs whose worker stopped');
  }

  private async execute(job: ClaimedJob): Promise<void> {
    const log = this.o.logger.child({ job: job.kind, jobKey: job.key, attempt: job.attempts });
    let finished = false;
    const heartbeat = setInterval(() => {
      this.o.queue.extendLock(job, this.lockMs).then(
        (ours) => {
          // A renewal that crossed the job's completion finds it no longer running: not a loss.
          if (!ours && !finished)
            log.warn({ workerId: job.lockedBy }, 'lost the job lock: another worker may run it too');
        },
        (err: unknown) => log.warn({ err: errorInfo(err) }, 'could not renew the job lock; will try again'),
      );
    }, this.lockMs / 3);
    heartbeat.unref();
    try {
      await this.runAndRecord(job, log);
    } finally {
      finished = true;
      clearInterval(heartbeat);
    }
  }

  private async runAndRecord(job: ClaimedJob, log: Logger): Promise<void> {
    let outcome: JobOutcome;
    const def = this.o.catalog[job.kind];
    if (!def) {
      outcome = { kind: 'fail', error: `unknown job kind ${job.kind}` };
    } else {
      const payload = def.payload.safeParse(job.payload);
      if (!payload.success) {
        outcome = { kind: 'fail', error: `invalid payload: ${payload.error.issues[0]?.message ?? 'unknown'}` };
      } else {
        try {
          const running = { key: job.key, attempts: job.attempts, generation: job.generation };
          outcome = await runInJob(running, () => def.run(payload.data));
        } catch (err) {
          log.warn({ err: errorInfo(err) }, 'job threw; will retry');
          outcome = { kind: 'retry', error: errorInfo(err).code };
        }
      }
    }
    try {
      await this.record(job, outcome, log);
    } catch (err) {
      // The lock will expire and the job will run again; handlers are idempotent.
      log.error({ err: errorInfo(err) }, 'could not record job outcome');
    }
  }

  private async record(job: ClaimedJob, outcome: JobOutcome, log: Logger): Promise<void> {
    let status: string;
    switch (outcome.kind) {
      case 'done':
        status = await this.o.queue.complete(job);
        break;
      case 'defer':
        status = await this.o.queue.defer(job, outcome.until);
        break;
      case 'fail':
        status = await this.o.queue.fail(job, outcome.error);
        if (status === 'failed') log.error({ error: outcome.error }, 'job failed permanently');
        break;
      case 'retry': {
        const delay = outcome.retryAfterMs ?? backoffMs(job.attempts);
        status = await this.o.queue.retry(job, new Date(Date.now() + delay), outcome.error, this.o.maxAttempts);
        if (status === 'failed') log.error({ error: outcome.error }, 'job gave up after its last attempt');
        break;
      }
    }
    if (status === 'lost') {
      // Its lock expired (this process stalled, or could not renew it) and the job went back
      // to the queue: whoever holds it now records the outcome that counts.
      log.warn({ outcome: outcome.kind, workerId: job.lockedBy }, 'job outcome not recorded: its lock had passed on');
    }
  }
}

export function errorInfo(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'unknown';
  return { code, message: typeof e?.message === 'string' ? e.message.slice(0, 500) : String(err).slice(0, 500) };
}

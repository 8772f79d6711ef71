/** How often the job runner claims when woken: promptly while claims find work, less often when they do not. */
import { z } from 'zod';
import { IDLE_CLAIM_GAP_MS, JobRunner, MIN_CLAIM_GAP_MS } from '../../app/jobs/runner';
import { createLogger } from '../../app/logging';
import type { ClaimedJob, JobQueue } from '../../app/ports/job-queue';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A queue that hands out the jobs given to it, one claim at a time, and counts the claims. */
class CountingQueue implements JobQueue {
  claims: number[] = [];
  constructor(
    private readonly pending: ClaimedJob[] = [],
    private readonly claimMs = 0,
  ) {}
  async claim(_workerId: string, limit: number): Promise<ClaimedJob[]> {
    this.claims.push(performance.now());
    if (this.claimMs > 0) await sleep(this.claimMs);
    return this.pending.splice(0, limit);
  }
  complete = async () => 'done' as const;
  defer = async () => 'pending' as const;
  retry = async () => 'pending' as const;
  fail = async () => 'failed' as const;
  extendLock = async () => true;
  releaseExpired = async () => 0;
}

const job = (key: string): ClaimedJob => ({
  id: key,
  kind: 'test.quick',
  key,
  lane: null,
  payload: {},
  generation: 1,
  attempts: 1,
  lockedBy: 'w',
});

function runnerOn(queue: JobQueue, ran: string[] = [], runMs = 0): JobRunner {
  return new JobRunner({
    queue,
    catalog: {
      'test.quick': {
        payload: z.unknown(),
        run: async () => {
          await sleep(runMs);
          ran.push('run');
          return { kind: 'done' };
        },
      },
    },
    logger: createLogger('silent'),
    concurrency: 4,
    pollMs: 60_000,
    maxAttempts: 3,
  });
}

describe('the job runner', () => {
  it('claims at most every IDLE_CLAIM_GAP_MS while woken often and finding nothing', async () => {
    const queue = new CountingQueue();
    const runner = runnerOn(queue);
    runner.start();
    try {
      const until = performance.now() + 600;
      while (performance.now() < until) {
        runner.wake();
        await sleep(5);
      }
    } finally {
      await runner.stop(1_000);
    }
    // One claim at start, then one per idle gap (plus the one stop() makes at once).
    expect(queue.claims.length).toBeLessThanOrEqual(600 / IDLE_CLAIM_GAP_MS + 3);
    const gaps = queue.claims.slice(1, -1).map((t, i) => t - (queue.claims[i] ?? t));
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(IDLE_CLAIM_GAP_MS - 5);
  });

  it('claims next when a job it found ends, after MIN_CLAIM_GAP_MS, not at once for nothing', async () => {
    const queue = new CountingQueue([job('a'), job('b')]);
    const ran: string[] = [];
    const runMs = 40;
    const runner = runnerOn(queue, ran, runMs);
    runner.start();
    try {
      while (ran.length < 2) await sleep(2);
      await sleep(MIN_CLAIM_GAP_MS * 2);
      // The claim took both jobs (all that was due): the next claim waited for their
      // ends to wake it, and the claim that found them was not idle, so no longer gap.
      expect(queue.claims.length).toBe(2);
      const gap = (queue.claims[1] ?? 0) - (queue.claims[0] ?? 0);
      expect(gap).toBeGreaterThanOrEqual(runMs - 5);
      expect(gap).toBeLessThan(IDLE_CLAIM_GAP_MS);
    } finally {
      await runner.stop(1_000);
    }
  });

  it('claims again soon when woken while a claim was under way, not only at the poll', async () => {
    const queue = new CountingQueue([], 40);
    const runner = runnerOn(queue);
    runner.start();
    try {
      await sleep(10);
      // The first claim is still running: nobody is asleep to wake.
      runner.wake();
      await sleep(IDLE_CLAIM_GAP_MS + 150);
      expect(queue.claims.length).toBe(2);
    } finally {
      await runner.stop(1_000);
    }
  });
});

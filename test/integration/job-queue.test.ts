/** The PostgreSQL outbox: claims, pacing lanes, re-arming, retries and crashed workers. */
import { z } from 'zod';
import { PgJobQueue } from '../../app/adapters/db/job-queue';
import { PgLanePacer } from '../../app/adapters/db/lane-pacer';
import { JobRunner } from '../../app/jobs/runner';
import { createLogger } from '../../app/logging';
import type { ClaimedJob } from '../../app/ports/job-queue';
import { createTestDb, type TestDb } from '../support/test-db';

describe('the job queue', () => {
  let db: TestDb;
  let queue: PgJobQueue;
  beforeAll(async () => {
    db = await createTestDb();
    queue = new PgJobQueue(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE job, lane');
  });

  /** The single claimed job, or a failure saying none was. */
  async function one(claimed: Promise<ClaimedJob[]>): Promise<ClaimedJob> {
    const [job] = await claimed;
    if (!job) throw new Error('expected a job to be claimed');
    return job;
  }

  async function add(key: string, lane: string | null, runAt = 'now()') {
    await db.pool.query(
      `INSERT INTO job (kind, key, lane, payload, run_at) VALUES ('card.sync', $1, $2, '{}', ${runAt})`,
      [key, lane],
    );
  }
  const status = async (key: string) =>
    (await db.pool.query('SELECT status, attempts, generation, run_at FROM job WHERE key = $1', [key])).rows[0];

  it('claims at most one job per lane, oldest first, and none from a lane with a running job', async () => {
    await add('a1', 'C1', "now() - interval '3 seconds'");
    await add('a2', 'C1', "now() - interval '2 seconds'");
    await add('b1', 'C2', "now() - interval '1 second'");
    const first = await queue.claim('w1', 10, 60_000);
    expect(first.map((j) => j.key).sort()).toEqual(['a1', 'b1']);
    expect(await queue.claim('w2', 10, 60_000)).toEqual([]);
    const a1 = first.find((j) => j.key === 'a1');
    if (!a1) throw new Error('a1 not claimed');
    await queue.complete(a1);
    expect((await queue.claim('w2', 10, 60_000)).map((j) => j.key)).toEqual(['a2']);
  });

  it('does not claim from a lane that is waiting, nor a job that is not due', async () => {
    await add('x', 'C1');
    await add('later', 'C2', "now() + interval '1 hour'");
    await new PgLanePacer(db.pool, 1000).block('C1', new Date(Date.now() + 60_000));
    expect(await queue.claim('w', 10, 60_000)).toEqual([]);
  });

  it('runs a job again when it was re-armed while running', async () => {
    await add('k', 'C1');
    const job = await one(queue.claim('w', 1, 60_000));
    // What ingest does when an update arrives during the run.
    await db.pool.query(`UPDATE job SET generation = generation + 1 WHERE key = 'k'`);
    expect(await queue.complete(job)).toBe('pending');
    expect((await status('k')).status).toBe('pending');
    const again = await one(queue.claim('w', 1, 60_000));
    await queue.complete(again);
    expect((await status('k')).status).toBe('done');
  });

  it('defers without counting an attempt, retries with a count, and fails after the last attempt', async () => {
    await add('k', null);
    const job = await one(queue.claim('w', 1, 60_000));
    await queue.defer(job, new Date(Date.now() - 1));
    expect((await status('k')).attempts).toBe(0);
    const j2 = await one(queue.claim('w', 1, 60_000));
    expect(await queue.retry(j2, new Date(Date.now() - 1), 'boom', 2)).toBe('pending');
    const j3 = await one(queue.claim('w', 1, 60_000));
    expect(await queue.retry(j3, new Date(), 'boom', 2)).toBe('failed');
    expect(await status('k')).toEqual(expect.objectContaining({ status: 'failed', attempts: 2 }));
  });

  it('gives the job of a dead worker back once its lock expires', async () => {
    await add('k', 'C1');
    await queue.claim('dead', 1, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await queue.releaseExpired()).toBe(1);
    expect((await queue.claim('alive', 1, 60_000)).map((j) => j.key)).toEqual(['k']);
  });

  it('records no outcome from a worker whose lock passed to another', async () => {
    await add('k', 'C1');
    const late = await one(queue.claim('stalled', 1, 1));
    await new Promise((r) => setTimeout(r, 20));
    expect(await queue.releaseExpired()).toBe(1);
    const now = await one(queue.claim('alive', 1, 60_000));
    // Each of the stalled worker's outcomes is refused and leaves the job running for 'alive'.
    expect(await queue.complete(late)).toBe('lost');
    expect(await queue.retry(late, new Date(), 'boom', 5)).toBe('lost');
    expect(await queue.defer(late, new Date())).toBe('lost');
    expect(await queue.fail(late, 'boom')).toBe('lost');
    expect(await queue.extendLock(late, 60_000)).toBe(false);
    expect(await status('k')).toEqual(expect.objectContaining({ status: 'running', attempts: 2 }));
    expect(await queue.complete(now)).toBe('done');
    expect((await status('k')).status).toBe('done');
  });

  it('renews the lock of a running job for its own worker only', async () => {
    await add('k', 'C1');
    const job = await one(queue.claim('alive', 1, 100));
    expect(await queue.extendLock({ ...job, lockedBy: 'someone-else' }, 60_000)).toBe(false);
    expect(await queue.extendLock(job, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect(await queue.releaseExpired()).toBe(0);
  });

  it('keeps, while its handler runs, the lock of a job that takes longer than the lock', async () => {
    let runs = 0;
    const runner = new JobRunner({
      queue,
      catalog: {
        'test.slow': {
          payload: z.unknown(),
          run: async () => {
            runs++;
            await new Promise((r) => setTimeout(r, 700));
            return { kind: 'done' };
          },
        },
      },
      logger: createLogger('silent'),
      concurrency: 1,
      pollMs: 20,
      maxAttempts: 3,
      lockMs: 150,
    });
    await db.pool.query(`INSERT INTO job (kind, key, lane, payload) VALUES ('test.slow', 'slow', NULL, '{}')`);
    runner.start();
    try {
      while ((await status('slow')).status !== 'running') await new Promise((r) => setTimeout(r, 10));
      // Another instance looking for dead workers' jobs, meanwhile: it must find none.
      let released = 0;
      while ((await status('slow')).status === 'running') {
        released += await queue.releaseExpired();
        await new Promise((r) => setTimeout(r, 40));
      }
      expect(released).toBe(0);
      expect((await status('slow')).status).toBe('done');
      expect(runs).toBe(1);
    } finally {
      await runner.stop(5_000);
    }
  });

  it('lets two workers claiming at once take different jobs', async () => {
    // The race needs one worker's claim to commit after the other's snapshot
    // and before its row lock: about one round in ten, so run many rounds.
    const rounds = 60;
    const doubled: string[] = [];
    for (let round = 0; round < rounds; round++) {
      await db.pool.query('TRUNCATE job');
      await db.pool.query(
        `INSERT INTO job (kind, key, lane, payload) SELECT 'card.sync', 'k' || i, 'C' || i, '{}' FROM generate_series(1, 20) i`,
      );
      const [a, b] = await Promise.all([queue.claim('w1', 10, 60_000), queue.claim('w2', 10, 60_000)]);
      const keys = [...a, ...b].map((j) => j.key);
      expect(keys).toHaveLength(20);
      if (new Set(keys).size !== keys.length) doubled.push(`round ${round}`);
    }
    expect(doubled).toEqual([]);
  });
});

describe('the lane pacer', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('gives one slot per interval and says when the next is free', async () => {
    const pacer = new PgLanePacer(db.pool, 1000);
    expect(await pacer.reserve('C9')).toEqual({ ok: true });
    const second = await pacer.reserve('C9');
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.waitUntil.getTime() - Date.now()).toBeGreaterThan(800);
    expect(await pacer.reserve('C8')).toEqual({ ok: true });
  });

  it('never shortens a block that is already longer', async () => {
    const pacer = new PgLanePacer(db.pool, 0);
    const far = new Date(Date.now() + 120_000);
    await pacer.block('C7', far);
    await pacer.block('C7', new Date(Date.now() + 1000));
    const r = await pacer.reserve('C7');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Math.abs(r.waitUntil.getTime() - far.getTime())).toBeLessThan(5);
  });
});

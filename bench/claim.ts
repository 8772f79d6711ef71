/**
 * `npm run bench:claim`: what one job claim costs as work piles up in paced
 * lanes, the state a storm over many channels leaves behind. For each shape
 * (lanes × due jobs per lane, plus as many nudges not yet due) it fills the
 * job table, blocks nine lanes in ten (their next Slack slot is in the
 * future), and times the claim on its cached generic plan, each in a
 * transaction that is rolled back, so every claim sees the same backlog.
 *
 * Environment: DATABASE_URL (required: a server where a scratch database may
 * be created and dropped), BENCH_CLAIMS (200 per shape).
 */
import { CLAIM } from '../app/adapters/db/job-queue';
import { intEnv, withScratchDatabase } from './scratch';

const SHAPES: ReadonlyArray<readonly [lanes: number, perLane: number]> = [
  [20, 15],
  [200, 25],
  [500, 20],
];

async function main(): Promise<void> {
  const claims = intEnv('BENCH_CLAIMS', 200, 1, 100_000);
  await withScratchDatabase(2, async (db) => {
    console.log(`job claim, ${claims} claims per shape, limit 4 (a worker's concurrency)`);
    for (const [lanes, perLane] of SHAPES) {
      await db.pool.query('TRUNCATE job, lane');
      await db.pool.query(
        `INSERT INTO job (kind, key, lane, payload, run_at)
         SELECT 'card.sync', 'card:' || l || ':' || i, 'C' || l, '{}', now() - interval '1 minute'
         FROM generate_series(1, $1::int) l, generate_series(1, $2::int) i`,
        [lanes, perLane],
      );
      await db.pool.query(
        `INSERT INTO job (kind, key, lane, payload, run_at)
         SELECT 'nudge', 'nudge:' || i, NULL, '{}', now() + interval '1 hour' FROM generate_series(1, $1::int) i`,
        [lanes * perLane],
      );
      await db.pool.query(
        `INSERT INTO lane (id, next_at)
         SELECT 'C' || l, now() + CASE WHEN l % 10 = 0 THEN interval '-1 second' ELSE interval '1 hour' END
         FROM generate_series(1, $1::int) l`,
        [lanes],
      );
      await db.pool.query('ANALYZE job, lane');
      const c = await db.pool.connect();
      try {
        let jobs = 0;
        const started = performance.now();
        for (let i = 0; i < claims; i++) {
          await c.query('BEGIN');
          const res = await c.query({ name: 'bench_claim', text: CLAIM, values: ['bench', 60_000, 4] });
          jobs += res.rowCount ?? 0;
          await c.query('ROLLBACK');
        }
        const ms = (performance.now() - started) / claims;
        console.log(
          `${lanes} lanes × ${perLane} due jobs (+${lanes * perLane} nudges not due): ` +
            `${ms.toFixed(2)} ms per claim, with its BEGIN and ROLLBACK; ${jobs / claims} jobs claimed`,
        );
      } finally {
        c.release();
      }
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

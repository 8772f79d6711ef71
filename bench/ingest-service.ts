/**
 * `npm run bench:service`: the ingest service against PostgreSQL alone (no
 * HTTP, no Slack), over enough findings to see whether the write path holds
 * its rate as the tables grow. It prints findings/s for every 10,000.
 *
 * This is how the cached-plan regression was found and its fix measured:
 * compare `PGOPTIONS='-c plan_cache_mode=force_custom_plan'` (every statement
 * planned afresh) with the default (PostgreSQL's cached generic plans).
 *
 * Environment: DATABASE_URL (required: a server where a scratch database may
 * be created and dropped), BENCH_FINDINGS (80,000), BENCH_CONCURRENCY (32),
 * STORM_THRESHOLD (20: with 20 channels at this rate, each is in a storm, as
 * in `npm run bench`), INGEST_BATCH_MAX (64), INGEST_STATEMENTS (3),
 * INGEST_MIN_BATCH (8), INGEST_MAX_WAIT_MS (2).
 */
import { PgIngestStore } from '../app/adapters/db/ingest-store';
import { RoutingTable } from '../app/domain/routing';
import { createLogger } from '../app/logging';
import { IngestService } from '../app/services/ingest';
import { benchFinding, intEnv, withScratchDatabase } from './scratch';
import { eventFactory } from './support';

const REPORT_EVERY = 10_000;

async function main(): Promise<void> {
  const findings = intEnv('BENCH_FINDINGS', 80_000, 1, 10_000_000);
  const concurrency = intEnv('BENCH_CONCURRENCY', 32, 1, 1024);
  await withScratchDatabase(10, async (db) => {
    const quiet = createLogger('silent');
    const store = new PgIngestStore(db.pool, quiet, {
      maxBatch: intEnv('INGEST_BATCH_MAX', 64, 1, 500),
      maxStatements: intEnv('INGEST_STATEMENTS', 3, 1, 32),
      minBatch: intEnv('INGEST_MIN_BATCH', 8, 1, 500),
      maxWaitMs: intEnv('INGEST_MAX_WAIT_MS', 2, 0, 1000),
    });
    const accounts = Array.from({ length: 20 }, (_, i) => String(100_000_000_000 + i));
    const routes = accounts.map((accountId, i) => ({ accountId, channelId: `C0BENCH${i}`, enabled: true }));
    const service = new IngestService({
      store,
      quarantine: store,
      routing: () => new RoutingTable(routes, 'C0BENCHDEF'),
      allowedAccounts: [],
      logger: quiet,
      stormThreshold: intEnv('STORM_THRESHOLD', 20, 0, 100000),
      clock: { now: () => new Date() },
    });
    const base = benchFinding();
    const next = eventFactory(base, accounts);
    console.log(
      `ingest service, ${findings} findings, concurrency ${concurrency}, PGOPTIONS=${process.env.PGOPTIONS ?? '(none)'}`,
    );
    let sent = 0;
    let mark = performance.now();
    const started = mark;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < findings) {
          sent++;
          if (sent % REPORT_EVERY === 0) {
            const now = performance.now();
            console.log(`${String(sent).padStart(8)}  ${Math.round((REPORT_EVERY / (now - mark)) * 1000)} findings/s`);
            mark = now;
          }
          const e = next();
          const result = await service.ingest(
            { requestId: 'bench', raw: Buffer.from(e.body), size: e.body.length },
            JSON.parse(e.body),
          );
          if (result.kind !== 'stored') throw new Error(`finding not stored: ${JSON.stringify(result)}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`all: ${Math.round(findings / seconds)} findings/s over ${seconds.toFixed(1)} s`);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

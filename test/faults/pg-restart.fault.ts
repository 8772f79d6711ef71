/**
 * Fault 1: PostgreSQL stops in the middle of a steady stream of findings and
 * comes back a few seconds later, while the same Kanshi keeps running.
 *
 * Kanshi runs in-process (startHarness) against an embedded PostgreSQL of its
 * own, so the test can stop and start the server. During the outage ingest
 * must answer 503 with Retry-After (never another 5xx), nothing may crash,
 * and once PostgreSQL is back ingest must succeed again without a restart.
 * The 503'd findings are then sent again, as EventBridge would, and every
 * acknowledged finding must be stored and carded exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { openDatabase } from '../../app/adapters/db/database';
import { migrate } from '../../app/adapters/db/migrate';
import { MIGRATIONS_DIR, PROD_ACCOUNT, startHarness } from '../support/app-harness';
import { freshFinding } from '../support/cards';
import { type Json, wrapFinding } from '../support/fixtures';
import type { TestDb } from '../support/test-db';
import { PgControl } from './pg-control';
import {
  accountsWithChannels,
  cardJobStates,
  checkDelivery,
  type DeliveryCheck,
  deliveryFigures,
  expectStoredAndCardedOnce,
  FULL,
  is2xx,
  printResult,
  resendUntilAccepted,
  type Sent,
  sendAtRate,
  shortOrFull,
  sleep,
  waitForCards,
} from './scenario-support';

// The full form sends for longer, not faster: with 32 channels each gets under 200 cards in
// all, so the fake Slack's history (one page, no cursor) can always find a card of unknown outcome.
const RATE_PER_S = shortOrFull(80, 40);
const SECONDS = shortOrFull(10, 60);
const OUTAGE_AFTER_S = shortOrFull(3, 15);
const OUTAGE_MS = shortOrFull(3000, 15_000);
/** The job runner's claim lock (app/jobs/runner.ts): a job whose outcome could not be recorded waits this long. */
const JOB_LOCK_MS = 120_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Channels (card lanes): the harness's PROD_ACCOUNT's, one per account a rule
 * routes (6; full form 30), and the default channel for two accounts nobody
 * routes (their first finding also arms the "unrouted account" notice after
 * the commit).
 */
const LANES = accountsWithChannels(shortOrFull(6, 30), 7);
const ACCOUNTS = [PROD_ACCOUNT, ...LANES.accounts, '200000000001', '200000000002'];

interface Outcome {
  total: number;
  sent: Sent[];
  resent: Sent[];
  upAt: number;
  unhandled: unknown[];
  readyStatus: number;
  missing: number;
  delivery: DeliveryCheck;
  otherErrors: string[];
}

/** Runs the whole scenario once; the tests below each check one promise about it. */
async function run(): Promise<Outcome> {
  const dir = mkdtempSync('/tmp/kanshi-faults-pg-');
  const pg = new PgControl({ dataDir: join(dir, 'data'), port: await freePort(), database: 'kanshi' });
  const url = await pg.start();
  const database = openDatabase({ url, poolSize: 10 });
  await migrate(database.pool, MIGRATIONS_DIR);
  const db: TestDb = { ...database, url, name: 'kanshi', drop: () => database.close() };

  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  // Storm control off: every finding is to get a card of its own.
  const h = await startHarness({ db, rules: LANES.rules, env: { STORM_THRESHOLD: '0', LOG_LEVEL: 'info' } });
  try {
    const total = RATE_PER_S * SECONDS;
    const events: Json[] = Array.from({ length: total }, (_, i) =>
      wrapFinding(freshFinding(ACCOUNTS[i % ACCOUNTS.length])),
    );
    let stopAt = 0;
    let downAt = 0;
    let startAt = 0;
    let upAt = 0;
    let outage: Promise<void> | undefined;
    const sent = await sendAtRate(
      () => h.baseUrl,
      events,
      RATE_PER_S,
      (i) => {
        if (i !== OUTAGE_AFTER_S * RATE_PER_S) return;
        outage = (async () => {
          stopAt = Date.now();
          await pg.stop();
          downAt = Date.now();
          await sleep(OUTAGE_MS);
          startAt = Date.now();
          await pg.start();
          upAt = Date.now();
        })();
      },
    );
    await outage;

    // EventBridge retries whatever was not acknowledged.
    const failed = sent.filter((s) => !is2xx(s));
    const resent = await resendUntilAccepted(() => h.baseUrl, failed, 60_000);
    const everything = [...sent.filter(is2xx), ...resent];

    // A job claimed before the outage whose outcome could not be recorded stays 'running'
    // until its 120 s claim lock expires. The short form moves those locks' expiry to now
    // (as if the time had passed); the full form waits for the real expiry.
    const stuck = await h.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM job WHERE status = 'running' AND updated_at < to_timestamp($1::float8 / 1000)`,
      [upAt],
    );
    const stuckJobs = stuck.rows[0]?.n ?? 0;
    if (!FULL && stuckJobs > 0) {
      await sleep(3000); // their handlers are bounded (Slack timeout, statement timeout): long finished
      await h.db.pool.query(
        `UPDATE job SET locked_until = now() - interval '1 second'
         WHERE status = 'running' AND updated_at < to_timestamp($1::float8 / 1000)`,
        [upAt],
      );
    }
    const missing = await waitForCards(h.slack, everything, FULL ? JOB_LOCK_MS + 60_000 : 60_000, 2000);
    const delivery = await checkDelivery(h.db.pool, h.slack, everything);
    const ready = await fetch(`${h.baseUrl}/readyz`);

    const five03 = sent.filter((s) => s.status === 503);
    const other5xx = sent.filter((s) => s.status >= 500 && s.status !== 503);
    const afterRecovery = sent.filter((s) => s.at > upAt + 1000);
    const rel = (t: number) => `${((t - stopAt) / 1000).toFixed(1)} s`;
    const first503 = Math.min(...five03.map((s) => s.at + s.ms));
    const last503 = Math.max(...five03.map((s) => s.at + s.ms));
    printResult('pg-restart', [
      `${sent.length} sent at ${RATE_PER_S}/s`,
      `PostgreSQL stopping 0–${rel(downAt)}, down until ${rel(startAt)}, starting until ${rel(upAt)}`,
      `503s answered from ${rel(first503)} to ${rel(last503)}`,
      `${sent.filter(is2xx).length} accepted first time`,
      `${five03.length} × 503 (${five03.filter((s) => s.retryAfter !== null).length} with Retry-After)`,
      `${other5xx.length} other 5xx`,
      `${sent.filter((s) => s.status === 0).length} unanswered`,
      `${afterRecovery.filter(is2xx).length}/${afterRecovery.length} accepted after recovery without restart`,
      `${resent.filter(is2xx).length}/${failed.length} accepted on resend`,
      `${stuckJobs} jobs held by their claim lock after the outage`,
      ...deliveryFigures(delivery),
    ]);
    if (delivery.uncarded.length > 0) {
      process.stdout.write(
        `faults: pg-restart: card jobs of uncarded alerts: ${await cardJobStates(h.db.pool, delivery.uncarded)}\n`,
      );
    }
    // Why a request got another 5xx: the app logs it with its stack.
    const otherErrors = h.logs.filter((l) => l.includes('"msg":"ingest failed"'));
    for (const line of otherErrors.slice(0, 3)) {
      process.stdout.write(`faults: pg-restart: a 500 was logged as ${line.slice(0, 1200)}\n`);
    }
    return {
      total,
      sent,
      resent,
      upAt,
      unhandled,
      readyStatus: ready.status,
      missing,
      delivery,
      otherErrors,
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await h.close();
    await database.close();
    await pg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('PostgreSQL restarted during ingest', () => {
  let o: Outcome;
  beforeAll(
    async () => {
      o = await run();
    },
    shortOrFull(150_000, 600_000),
  );

  it('answers 503 with Retry-After while PostgreSQL is down', () => {
    const five03 = o.sent.filter((s) => s.status === 503);
    expect(five03.length).toBeGreaterThan(0);
    expect(five03.filter((s) => !(Number(s.retryAfter) > 0))).toEqual([]);
  });

  it('answers no other 5xx, and every request gets an answer', () => {
    expect(o.sent.filter((s) => s.status >= 500 && s.status !== 503).map((s) => s.status)).toEqual([]);
    expect(o.sent.filter((s) => s.status === 0).map((s) => s.error)).toEqual([]);
  });

  it('keeps running, and takes findings again once PostgreSQL is back, without a restart', async () => {
    expect(o.unhandled).toEqual([]);
    expect(o.readyStatus).toBe(200);
    const afterRecovery = o.sent.filter((s) => s.at > o.upAt + 1000);
    expect(afterRecovery.length).toBeGreaterThan(0);
    expect(afterRecovery.filter((s) => !is2xx(s)).map((s) => s.status)).toEqual([]);
    expect(o.resent.filter((s) => !is2xx(s)).map((s) => s.status)).toEqual([]);
  });

  it('stores every acknowledged finding and cards it exactly once', () => {
    expect(o.delivery.stored).toBe(o.total);
    expectStoredAndCardedOnce(o.delivery, o.missing, o.total);
  });
});

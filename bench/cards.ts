/**
 * `npm run bench:cards`: what the card worker spends to post one card. It
 * stores BENCH_CARDS findings (400), each for an account with a channel of its
 * own (so no channel's pacing holds a card back, and no storm digest forms),
 * then starts the worker and times it until every card is in the local Slack.
 *
 * It prints the CPU time per card of this process (Kanshi's worker, and the
 * local Slack answering it, which shares the process) and of the PostgreSQL
 * backends serving it (read from /proc, so only when PostgreSQL runs on this
 * machine). Run it before and after a change to the card path.
 *
 * Environment: DATABASE_URL (required: a server where a scratch database may
 * be created and dropped), BENCH_CARDS (400).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRunbookLibrary } from '../app/adapters/fs/runbook-files';
import { buildApp } from '../app/build-app';
import { loadConfig } from '../app/config/env';
import { RoutingTable } from '../app/domain/routing';
import { createLogger } from '../app/logging';
import { FakeSlack } from '../test/fakes/fake-slack';
import { BENCH_ROOT, benchFinding, intEnv, withScratchDatabase } from './scratch';
import { eventFactory, INGEST_PATH } from './support';

const API_KEY = 'bench-cards-api-key-0123456789abcdef';
const TIMEOUT_MS = 300_000;

/** CPU time (ms) of these PostgreSQL backends so far, or undefined where /proc cannot tell. */
function backendCpuMs(pids: number[]): number | undefined {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return undefined;
    }
  }
  // Clock ticks are 10 ms on Linux (USER_HZ 100).
  return Number.isFinite(ticks) ? ticks * 10 : undefined;
}

async function main(): Promise<void> {
  const cards = intEnv('BENCH_CARDS', 400, 1, 100_000);
  await withScratchDatabase(10, async (db) => {
    const slack = new FakeSlack({ token: 'xoxb-bench-token' });
    await slack.start();
    const accounts = Array.from({ length: cards }, (_, i) => String(100_000_000_000 + i * 7919));
    const routes = accounts.map((accountId, i) => ({
      accountId,
      channelId: `C0CARD${String(i).padStart(6, '0')}`,
      enabled: true,
    }));
    const config = loadConfig({
      DATABASE_URL: process.env.DATABASE_URL,
      SLACK_BOT_TOKEN: 'xoxb-bench-token',
      SLACK_SIGNING_SECRET: 'bench-signing-secret',
      SLACK_API_URL: slack.apiUrl,
      INGEST_API_KEY: API_KEY,
      DEFAULT_CHANNEL_ID: 'C0CARDDEF1',
      SECURITY_CHANNEL_ID: 'C0CARDSEC1',
      LOG_LEVEL: 'silent',
      INVESTIGATION: 'off',
      STORM_THRESHOLD: '0',
    });
    const app = buildApp({
      config,
      db,
      routing: new RoutingTable(routes, 'C0CARDDEF1'),
      runbooks: loadRunbookLibrary(join(BENCH_ROOT, 'runbooks')),
      logger: createLogger('silent'),
      migrationsDir: join(BENCH_ROOT, 'prisma', 'migrations'),
      runWorker: false,
    });
    const { port } = await app.start(0);
    try {
      const base = benchFinding();
      for (const account of accounts) {
        const res = await fetch(`http://127.0.0.1:${port}${INGEST_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: eventFactory(base, [account])().body,
        });
        if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      }
      const pids = (
        await db.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')
      ).rows.map((r) => r.pid);
      const posted = () => slack.callsTo('chat.postMessage').filter((c) => c.status === 200).length;
      const cpu0 = process.cpuUsage();
      const pg0 = backendCpuMs(pids);
      const started = performance.now();
      app.runner.start();
      while (posted() < cards) {
        if (performance.now() - started > TIMEOUT_MS) throw new Error(`only ${posted()} of ${cards} cards posted`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      const pg1 = backendCpuMs(pids);
      const pgPerCard = pg0 !== undefined && pg1 !== undefined ? `${((pg1 - pg0) / cards).toFixed(2)} ms` : 'n/a';
      console.log(
        `${cards} cards in ${(wallMs / 1000).toFixed(1)} s (${Math.round((cards / wallMs) * 1000)} per s); ` +
          `CPU per card: this process ${((cpu.user + cpu.system) / 1000 / cards).toFixed(2)} ms ` +
          `(Kanshi and the local Slack), PostgreSQL ${pgPerCard}`,
      );
    } finally {
      await app.stop();
      await slack.stop();
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * `npm run bench:ingest`: how fast Kanshi takes GuardDuty findings in, against
 * a real PostgreSQL.
 *
 *   A  paced       open loop at 300 requests/s (EventBridge's default API
 *                  destination rate): the latency EventBridge would see.
 *   B  saturation  closed loop, BENCH_CONCURRENCY senders: the most the app
 *                  absorbs.
 *   C  baseline    the same closed loop as plain single-row INSERTs through a
 *                  pg pool of the app's size: what this database allows at
 *                  best, so B can be read as a fraction of it.
 *
 * The app runs in a child process of its own (bench/app-process.ts: Bolt,
 * HTTP server, ingest, the card worker posting to the local Slack in this
 * process), so its memory is measured alone; the load generator runs in a
 * worker thread here (bench/support.ts). Environment: DATABASE_URL (absent: an embedded
 * PostgreSQL under /tmp), BENCH_SECONDS (20), BENCH_CONCURRENCY (32),
 * BENCH_WORKER (1; 0 runs the app without its card worker, to tell its cost
 * apart), BENCH_APP_CPU_PROF (a directory for a CPU profile of the app's
 * process), and the app's own DATABASE_POOL_SIZE, INGEST_BATCH_MAX,
 * INGEST_STATEMENTS, INGEST_MIN_BATCH, INGEST_MAX_WAIT_MS, WORKER_CONCURRENCY, WORKER_POLL_MS,
 * SLACK_CHANNEL_INTERVAL_MS.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { type Database, openDatabase } from '../app/adapters/db/database';
import { startEmbeddedPostgres } from '../app/adapters/db/embedded-postgres';
import { migrate } from '../app/adapters/db/migrate';
import { type Config, loadConfig } from '../app/config/env';
import type { AccountRoute } from '../app/domain/routing';
import { FakeSlack } from '../test/fakes/fake-slack';
import type { Json } from '../test/support/fixtures';
import { withDatabase } from '../test/support/pg-server';
import type { AppProcessReply, AppProcessStart } from './app-process';
import { type InteractionResult, runInteractions, type StormResult, stormOutcome } from './phases';
import { adminQuery, intEnv, scratchDatabaseName } from './scratch';
import {
  eventFactory,
  type LoadSpec,
  type PhaseSummary,
  type PhaseVitals,
  runLoadInWorker,
  type Sample,
  summarise,
} from './support';

/** EventBridge API destinations default to 300 invocations per second. */
const PACED_RATE_PER_S = 300;
const ACCOUNT_COUNT = 20;
const MAX_SOCKETS = 64;
const BOT_TOKEN = 'xoxb-bench-token';
const DEFAULT_CHANNEL = 'C0BENCHDEF1';
const SIGNING_SECRET = 'bench-signing-secret';
/** The storm's account and channel, apart from the 20 others. */
const STORM_ACCOUNT = '999900000001';
const STORM_CHANNEL = 'C0BENCHSTORM';
const FIXTURE = 'guardduty/aws-samples-amazon-guardduty-automated-response-sample.ndjson';

/** The repository root: the nearest directory above this file holding package.json (works from dist/ too). */
function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}
const ROOT = findRoot(__dirname);
const MIGRATIONS_DIR = join(ROOT, 'prisma', 'migrations');
const FIXTURES_DIR = resolve(ROOT, '..', 'shared', 'fixtures');
const RESULTS_DIR = join(ROOT, 'bench', 'results');

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface Settings {
  seconds: number;
  concurrency: number;
  runWorker: boolean;
  stormFindings: number;
  stormSeconds: number;
  interactionsPerS: number;
}

/** BENCH_SHORT=1 is the short form CI runs: a few seconds per phase and a 1,000-finding storm. */
function readSettings(): Settings {
  const short = process.env.BENCH_SHORT === '1';
  try {
    return {
      seconds: intEnv('BENCH_SECONDS', short ? 3 : 20, 1, 600),
      concurrency: intEnv('BENCH_CONCURRENCY', 32, 1, 1024),
      runWorker: intEnv('BENCH_WORKER', 1, 0, 1) === 1,
      stormFindings: intEnv('BENCH_STORM_FINDINGS', short ? 1000 : 10_000, 0, 1_000_000),
      stormSeconds: intEnv('BENCH_STORM_SECONDS', short ? 10 : 60, 1, 3600),
      interactionsPerS: intEnv('BENCH_INTERACTIONS_PER_S', 20, 1, 1000),
    };
  } catch (err) {
    log((err as Error).message);
    process.exit(1);
  }
}
const SETTINGS = readSettings();

/** Cleanups run last-in first-out, each bounded so a stuck one cannot hang the exit. */
const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop();
    if (!c) break;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out after 30 s')), 30_000);
    });
    await Promise.race([c.run(), timeout])
      .catch((err: unknown) => log(`cleanup "${c.name}" failed: ${(err as Error).message}`))
      .finally(() => clearTimeout(timer));
  }
}

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

interface BenchServer {
  kind: 'DATABASE_URL' | 'embedded';
  url: string;
}

async function freePort(): Promise<number> {
  return new Promise<number>((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** A fresh database named kanshi_bench_<random>: on DATABASE_URL's server, or in an embedded PostgreSQL. */
async function openBenchServer(): Promise<BenchServer> {
  const name = scratchDatabaseName();
  const given = process.env.DATABASE_URL;
  if (given) {
    await adminQuery(given, `CREATE DATABASE ${name}`);
    cleanups.push({
      name: `drop database ${name}`,
      run: () => adminQuery(given, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    });
    return { kind: 'DATABASE_URL', url: withDatabase(given, name) };
  }
  const tmp = mkdtempSync('/tmp/kanshi-bench-');
  cleanups.push({ name: `remove ${tmp}`, run: async () => rmSync(tmp, { recursive: true, force: true }) });
  log(`no DATABASE_URL: starting an embedded PostgreSQL in ${tmp}`);
  const pg = await startEmbeddedPostgres({ dataDir: join(tmp, 'data'), port: await freePort(), database: name });
  cleanups.push({ name: 'stop embedded PostgreSQL', run: () => pg.stop() });
  return { kind: 'embedded', url: pg.url };
}

// ---------------------------------------------------------------------------
// Phase C: the baseline
// ---------------------------------------------------------------------------

/**
 * The cheapest durable write this database allows per event: one autocommit
 * INSERT of a payload the size of a real event (one round trip, one commit,
 * i.e. one WAL flush), from `concurrency` closed-loop callers through a pool
 * of the app's size. Same callers, same pool size, same commit count per
 * event as the app's ingest statement: so saturation ÷ baseline is the share
 * of the database's write capacity that Kanshi's ingest path achieves, and
 * the gap is what HTTP, validation and the three-table write cost.
 */
async function runBaseline(
  url: string,
  poolSize: number,
  concurrency: number,
  seconds: number,
  nextPayload: () => string,
): Promise<PhaseSummary> {
  const pool = new Pool({ connectionString: url, max: poolSize, application_name: 'kanshi-bench-baseline' });
  // pool.end() resolves once its clients are let go, not once their connections are closed. A
  // pool without an 'error' listener throws its idle clients' errors, and one run crashed at
  // the end that way when the scratch database was dropped.
  pool.on('error', (err) => log(`baseline pool: ${err.message}`));
  try {
    await pool.query('CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, payload jsonb NOT NULL)');
    const insert = (payload: string) =>
      pool.query({
        name: 'bench_baseline_insert',
        text: 'INSERT INTO bench_baseline (payload) VALUES ($1)',
        values: [payload],
      });
    // Warm up: open every pooled connection and prepare the statement, as
    // the app's pool is warm by the time phase B runs.
    await Promise.all(Array.from({ length: concurrency * 4 }, () => insert(nextPayload())));

    const samples: Sample[] = [];
    let firstError: string | undefined;
    const start = performance.now();
    const end = start + seconds * 1000;
    const caller = async () => {
      while (performance.now() < end) {
        const payload = nextPayload();
        const t = performance.now();
        try {
          await insert(payload);
          samples.push({ latencyMs: performance.now() - t, status: 200 });
        } catch (err) {
          samples.push({ latencyMs: performance.now() - t, status: 0 });
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, caller));
    const summary = summarise(samples, performance.now() - start);
    if (firstError !== undefined) summary.firstError = firstError;
    return summary;
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

interface PhaseRow {
  phase: string;
  mode: string;
  summary: PhaseSummary;
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));

function table(rows: readonly PhaseRow[]): string {
  const head = ['phase', 'mode', 'ok/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'non-2xx', 'requests'];
  const body = rows.map((r) => [
    r.phase,
    r.mode,
    fmt(r.summary.okPerS),
    fmt(r.summary.p50Ms),
    fmt(r.summary.p90Ms),
    fmt(r.summary.p99Ms),
    fmt(r.summary.maxMs),
    String(r.summary.nonOk),
    String(r.summary.requests),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/**
 * The V8 flags `npm start` runs Kanshi with (package.json): an old-space cap
 * well above the live heap (about 55 MB under this benchmark, measured after
 * a forced GC), so that V8 collects garbage instead of letting RSS grow.
 */
const APP_NODE_FLAGS = ['--max-old-space-size=192'];

/** BENCH_APP_CPU_PROF=<dir>: write a V8 CPU profile of Kanshi's process there (open it in Chrome DevTools). */
function appNodeFlags(): string[] {
  const dir = process.env.BENCH_APP_CPU_PROF;
  return dir ? [...APP_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`] : APP_NODE_FLAGS;
}

/** A process's resident set size in bytes, from /proc (Linux); NaN where there is none. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

interface AppProcess {
  pid: number;
  port: number;
  /** Starts measuring the app's event-loop delay and GC pauses; phaseEnd() returns them. */
  phaseStart(): void;
  phaseEnd(): Promise<PhaseVitals>;
  stop(): Promise<void>;
}

function vitalsLines(phases: Array<[string, PhaseSummary]>): string[] {
  return phases.map(([name, s]) => {
    const v = s.app;
    if (!v) return `${name}: no figures from Kanshi's process`;
    return (
      `Kanshi's process during ${name}: event-loop delay p99 ${fmt(v.loopDelayP99Ms)} / max ${fmt(v.loopDelayMaxMs)} ms; ` +
      `GC ${v.gcCount} pauses (${v.gcMajorCount} major), longest ${fmt(v.gcMaxMs)} ms, ${fmt(v.gcTotalMs, 0)} ms in all`
    );
  });
}

/** Kanshi in a child process (bench/app-process.ts), started and listening. */
async function startAppProcess(start: AppProcessStart): Promise<AppProcess> {
  const child = fork(join(__dirname, 'app-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: appNodeFlags(),
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const port = await new Promise<number>((resolvePort, reject) => {
    child.once('message', (m: AppProcessReply) =>
      m.type === 'started'
        ? resolvePort(m.port)
        : reject(new Error(`kanshi did not start: ${m.type === 'failed' ? m.error : m.type}`)),
    );
    child.once('exit', (code) => reject(new Error(`kanshi exited with ${code} before listening`)));
    child.send(start);
  });
  return {
    pid: child.pid ?? -1,
    port,
    phaseStart() {
      child.send({ type: 'phase-start' });
    },
    phaseEnd() {
      return new Promise<PhaseVitals>((resolveVitals, reject) => {
        // Kanshi gone before it answers (crashed mid-phase): fail the bench rather than hang it.
        const onExit = () => {
          child.off('message', onMessage);
          reject(new Error('kanshi exited before reporting its phase figures'));
        };
        const onMessage = (m: AppProcessReply) => {
          if (m.type !== 'vitals') return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolveVitals(m.vitals);
        };
        if (child.exitCode !== null || child.signalCode !== null) {
          onExit();
          return;
        }
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ type: 'phase-end' });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.send({ type: 'stop' });
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const { seconds, concurrency, runWorker, stormFindings, stormSeconds, interactionsPerS } = SETTINGS;
  const startedAt = new Date();

  const server = await openBenchServer();

  const slack = new FakeSlack({ token: BOT_TOKEN });
  await slack.start();
  cleanups.push({ name: 'stop FakeSlack', run: () => slack.stop() });

  const apiKey = randomBytes(24).toString('hex');
  // The app's own configuration, from its own parser; only the tuning knobs
  // are taken from the environment.
  const tunables = [
    'DATABASE_POOL_SIZE',
    'INGEST_BATCH_MAX',
    'INGEST_STATEMENTS',
    'INGEST_MIN_BATCH',
    'INGEST_MAX_WAIT_MS',
    'WORKER_CONCURRENCY',
    'WORKER_POLL_MS',
    'SLACK_CHANNEL_INTERVAL_MS',
  ];
  const appEnv: Record<string, string | undefined> = {
    ...Object.fromEntries(tunables.map((k) => [k, process.env[k]])),
    DATABASE_URL: server.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    INGEST_API_KEY: apiKey,
    DEFAULT_CHANNEL_ID: DEFAULT_CHANNEL,
    SECURITY_CHANNEL_ID: 'C0BENCHSEC1',
    LOG_LEVEL: 'silent',
    // The benchmark measures ingest; it must not call AWS.
    INVESTIGATION: 'off',
  };
  // Parsed here too, to fail early on a bad tunable and to report the settings.
  const config: Config = loadConfig(appEnv);

  const db: Database = openDatabase({ url: server.url, poolSize: config.DATABASE_POOL_SIZE });
  cleanups.push({ name: 'close app database pool', run: () => db.close() });
  const applied = await migrate(db.pool, MIGRATIONS_DIR);
  log(`migrated (${applied.length} migrations)`);

  // 20 member accounts, each with its own channel, so cards spread over
  // 20 Slack lanes as in an organization.
  const accounts = Array.from({ length: ACCOUNT_COUNT }, (_, i) => String(100000000000 + i * 7919));
  const routes: AccountRoute[] = [
    ...accounts.map((accountId, i) => ({
      accountId,
      channelId: `C0BENCH${String(i).padStart(4, '0')}`,
      enabled: true,
    })),
    { accountId: STORM_ACCOUNT, channelId: STORM_CHANNEL, enabled: true },
  ];
  // Slack allows about one message per second per channel; so does the local Slack here (429 beyond it).
  slack.enforcePostRate({ perChannelPerSecond: 1 });
  const app = await startAppProcess({
    type: 'start',
    env: appEnv,
    routes,
    defaultChannelId: DEFAULT_CHANNEL,
    runbooksDir: join(ROOT, 'runbooks'),
    migrationsDir: MIGRATIONS_DIR,
    runWorker,
  });
  const { port } = app;
  let appStopped = false;
  cleanups.push({
    name: 'stop app',
    run: async () => {
      if (!appStopped) await app.stop();
    },
  });
  // Peak RSS of Kanshi's process and, apart, of this one (load generator
  // thread and local Slack), sampled every 100 ms from /proc.
  const peaks = { app: rssOf(app.pid), appPhase: 0, bench: process.memoryUsage().rss };
  const rssTimer = setInterval(() => {
    const now = rssOf(app.pid);
    // NaN once the app has exited.
    if (!Number.isNaN(now)) {
      peaks.app = Math.max(peaks.app, now);
      peaks.appPhase = Math.max(peaks.appPhase, now);
    }
    peaks.bench = Math.max(peaks.bench, process.memoryUsage().rss);
  }, 100);
  cleanups.push({ name: 'rss sampler', run: async () => clearInterval(rssTimer) });
  log(`kanshi listening on 127.0.0.1:${port}; ${seconds} s per phase, concurrency ${concurrency}`);

  const firstLine = readFileSync(join(FIXTURES_DIR, FIXTURE), 'utf8').split('\n')[0] ?? '';
  const baseFinding = JSON.parse(firstLine) as Json;
  const sampleBody = eventFactory(baseFinding, accounts)().body;
  const job = (spec: LoadSpec, forAccounts: string[] = accounts) => ({
    spec,
    port,
    apiKey,
    baseFinding,
    accounts: forAccounts,
    maxSockets: MAX_SOCKETS,
  });
  // Bound: the phase itself, the last requests' timeout, and slack.
  const phaseTimeoutMs = (s: number) => s * 1000 + 60_000;

  const accepted = new Set<string>();
  const run = async (spec: LoadSpec, timeoutMs: number, forAccounts?: string[]): Promise<PhaseSummary> => {
    app.phaseStart();
    const r = await runLoadInWorker(job(spec, forAccounts), timeoutMs);
    for (const id of r.acceptedIds) accepted.add(id);
    return { ...r.summary, app: await app.phaseEnd() };
  };

  // Phase E first, on a quiet app: a storm's drain time must not include
  // other channels' backlog (the worker's concurrency is shared).
  let storm: StormResult | undefined;
  if (stormFindings > 0) {
    log(`phase E: storm, ${stormFindings} findings for one channel within ${stormSeconds} s`);
    const stormStart = performance.now();
    const stormStartEpoch = Date.now();
    await run(
      { mode: 'open', ratePerS: stormFindings / stormSeconds, seconds: stormSeconds },
      phaseTimeoutMs(stormSeconds),
      [STORM_ACCOUNT],
    );
    storm = await stormOutcome({
      pool: db.pool,
      slack,
      channelId: STORM_CHANNEL,
      accountId: STORM_ACCOUNT,
      findings: stormFindings,
      windowSeconds: stormSeconds,
      startedAt: stormStart,
      startedAtEpochMs: stormStartEpoch,
      limitMs: (stormSeconds + 180) * 1000,
    });
  }

  // Warm-up (not reported): JIT, the app's pool connections, prepared
  // statements, then the interaction paths' first use (Bolt, the ORM), as in
  // an app that has been running for a while.
  log('warm-up (4 s)');
  await run({ mode: 'closed', concurrency: 8, seconds: 2 }, phaseTimeoutMs(2));
  // Phase D rides on phase A: Slack's requests arrive while ingest runs at 300/s.
  const openAlerts = await db.pool.query<{ id: string }>(
    `SELECT id::text FROM alert WHERE state = 'open' AND delivery = 'card' AND account_id <> $1 LIMIT 10000`,
    [STORM_ACCOUNT],
  );
  const interact = (alertIds: string[], perSecond: number, s: number) =>
    runInteractions({
      port,
      slack,
      signingSecret: SIGNING_SECRET,
      channelId: 'C0BENCH0000',
      alertIds,
      perSecond,
      seconds: s,
    });
  // The warm-up's clicks take alerts of their own, so phase D's find theirs still open.
  const WARM_CLICKS = 10;
  const alertIds = openAlerts.rows.map((r) => r.id);
  await Promise.all([
    run({ mode: 'closed', concurrency: 8, seconds: 2 }, phaseTimeoutMs(2)),
    interact(alertIds.slice(-WARM_CLICKS), WARM_CLICKS, 2),
  ]);

  log(
    `phase A: paced, open loop at ${PACED_RATE_PER_S}/s for ${seconds} s, with phase D: ${interactionsPerS} interactions/s`,
  );
  // Phases 1 and 2 of the issue: A with D, then B.
  peaks.appPhase = rssOf(app.pid);
  const [paced, interactions] = await Promise.all([
    run({ mode: 'open', ratePerS: PACED_RATE_PER_S, seconds }, phaseTimeoutMs(seconds)),
    interact(alertIds.slice(0, -WARM_CLICKS), interactionsPerS, seconds),
  ]);
  log(`phase B: saturation, closed loop with ${concurrency} senders for ${seconds} s`);
  const saturation = await run({ mode: 'closed', concurrency, seconds }, phaseTimeoutMs(seconds));
  const cardsPosted = slack.callsTo('chat.postMessage').length;
  const peakAppDuringLoad = Math.max(peaks.appPhase, rssOf(app.pid));

  // Every 2xx must be a stored alert: the database is fresh, so the alert
  // count must equal the distinct accepted ids, and each of them must be there.
  const ids = [...accepted];
  const counts = await db.pool.query<{ total: number; matched: number }>(
    'SELECT (SELECT count(*) FROM alert)::int AS total, (SELECT count(*) FROM alert WHERE finding_id = ANY($1))::int AS matched',
    [ids],
  );
  const verification = {
    acceptedDistinct: ids.length,
    alerts: counts.rows[0]?.total ?? -1,
    acceptedFound: counts.rows[0]?.matched ?? -1,
    ok: false,
  };
  verification.ok = verification.alerts === ids.length && verification.acceptedFound === ids.length;

  // Stop the app (its card worker still has a backlog) before the baseline,
  // so the baseline has the database to itself.
  log('stopping app');
  await app.stop();
  appStopped = true;

  log(`phase C: baseline, ${concurrency} callers, pool of ${config.DATABASE_POOL_SIZE}, for ${seconds} s`);
  const nextPayload = () => eventFactory(baseFinding, accounts)().body;
  const baseline = await runBaseline(server.url, config.DATABASE_POOL_SIZE, concurrency, seconds, nextPayload);

  const facts = await db.pool.query<{ version: string; sync: string; fsync: string; shared_buffers: string }>(
    `SELECT version(), current_setting('synchronous_commit') AS sync, current_setting('fsync') AS fsync,
            current_setting('shared_buffers') AS shared_buffers`,
  );
  const cpuList = cpus();
  const machine = {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    totalMemoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    postgres: facts.rows[0]?.version ?? 'unknown',
    postgresSettings: {
      synchronous_commit: facts.rows[0]?.sync,
      fsync: facts.rows[0]?.fsync,
      shared_buffers: facts.rows[0]?.shared_buffers,
    },
  };
  const benchConfig = {
    database: server.kind,
    seconds,
    concurrency,
    pacedRatePerS: PACED_RATE_PER_S,
    maxSockets: MAX_SOCKETS,
    accounts: ACCOUNT_COUNT,
    cardWorker: runWorker,
    eventBytes: Buffer.byteLength(sampleBody),
    fixture: `${FIXTURE}#0`,
    app: {
      DATABASE_POOL_SIZE: config.DATABASE_POOL_SIZE,
      INGEST_BATCH_MAX: config.INGEST_BATCH_MAX,
      INGEST_STATEMENTS: config.INGEST_STATEMENTS,
      INGEST_MIN_BATCH: config.INGEST_MIN_BATCH,
      INGEST_MAX_WAIT_MS: config.INGEST_MAX_WAIT_MS,
      WORKER_CONCURRENCY: config.WORKER_CONCURRENCY,
      WORKER_POLL_MS: config.WORKER_POLL_MS,
      SLACK_CHANNEL_INTERVAL_MS: config.SLACK_CHANNEL_INTERVAL_MS,
    },
  };
  const ratio = baseline.okPerS > 0 ? saturation.okPerS / baseline.okPerS : Number.NaN;
  const rows: PhaseRow[] = [
    { phase: 'A paced', mode: `open ${PACED_RATE_PER_S}/s`, summary: paced },
    { phase: 'B saturation', mode: `closed c=${concurrency}`, summary: saturation },
    { phase: 'C baseline', mode: `INSERT c=${concurrency} pool=${config.DATABASE_POOL_SIZE}`, summary: baseline },
  ];

  const out = [
    '',
    `Kanshi ingest benchmark, ${startedAt.toISOString()}`,
    `machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.totalMemoryGiB} GiB, node ${machine.node}`,
    `postgres: ${machine.postgres} (${server.kind}; synchronous_commit=${machine.postgresSettings.synchronous_commit}, fsync=${machine.postgresSettings.fsync}, shared_buffers=${machine.postgresSettings.shared_buffers})`,
    `config: ${JSON.stringify(benchConfig)}`,
    '',
    table(rows),
    '',
    `saturation ÷ baseline: ${fmt(saturation.okPerS)} / ${fmt(baseline.okPerS)} = ${fmt(ratio, 2)}`,
    `paced: achieved ${fmt(paced.okPerS)} 2xx/s of ${PACED_RATE_PER_S} offered; generator send lag p99 ${fmt(paced.sendLagP99Ms)} ms, max ${fmt(paced.sendLagMaxMs)} ms`,
    ...rows
      .filter((r) => r.summary.nonOk > 0)
      .map((r) => `${r.phase}: non-2xx ${JSON.stringify(r.summary.nonOkByStatus)}; first: ${r.summary.firstError}`),
    ...vitalsLines([
      ['paced', paced],
      ['saturation', saturation],
    ]),
    `stored: ${verification.alerts} alerts for ${verification.acceptedDistinct} distinct accepted finding ids (${verification.acceptedFound} found) ${verification.ok ? 'OK' : 'MISMATCH'}`,
    runWorker
      ? `cards posted to FakeSlack during A+B: ${cardsPosted} (paced at ${config.SLACK_CHANNEL_INTERVAL_MS} ms per channel)`
      : 'card worker off (BENCH_WORKER=0)',
    ...interactionLines(interactions),
    ...stormLines(storm),
    `peak RSS of Kanshi's process: ${fmt(peakAppDuringLoad / 2 ** 20)} MiB during A, D and B; ${fmt(peaks.app / 2 ** 20)} MiB over the run (storm included)`,
    `peak RSS of the bench process (load generator, local Slack): ${fmt(peaks.bench / 2 ** 20)} MiB`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `ingest-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const results = {
    date: startedAt.toISOString(),
    machine,
    config: benchConfig,
    phases: { paced, saturation, baseline },
    saturationOverBaseline: ratio,
    verification,
    cardsPosted,
    interactions,
    storm,
    appPeakRssDuringLoadBytes: peakAppDuringLoad,
    appPeakRssBytes: peaks.app,
    benchProcessPeakRssBytes: peaks.bench,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
  if (!verification.ok) process.exitCode = 1;
  if (storm && storm.alertsStored !== storm.findings) process.exitCode = 1;
}

function interactionLines(r: InteractionResult): string[] {
  const line = (name: string, s: PhaseSummary) =>
    `${name}: ${s.requests} sent, p50 ${fmt(s.p50Ms)} / p99 ${fmt(s.p99Ms)} / max ${fmt(s.maxMs)} ms, non-2xx ${s.nonOk}`;
  return [
    'phase D, interactions during A (time to ack):',
    `  ${line('button clicks (Acknowledge)', r.clicks)}`,
    `  ${line('slash commands (/alert list)', r.commands)}`,
  ];
}

function stormLines(s: StormResult | undefined): string[] {
  if (!s) return ['phase E (storm): skipped (BENCH_STORM_FINDINGS=0)'];
  return [
    `phase E, storm: ${s.findings} findings for one channel within ${s.windowSeconds} s (Slack: 1 message/s per channel):`,
    `  messages posted to the channel within the ${s.windowSeconds} s: ${s.messagesInWindow} (429s: ${s.refusedInWindow}); until drained: ${s.messagesTotal}`,
    `  drained after ${s.drainSeconds === undefined ? 'NOT within the limit' : `${fmt(s.drainSeconds)} s`}; alerts stored: ${s.alertsStored} of ${s.findings} ${JSON.stringify(s.byDelivery)}`,
  ];
}

// Everything is bounded: the phases, the worker threads, each cleanup, and
// the run as a whole.
const watchdogSeconds = SETTINGS.seconds * 4 + 300;
const watchdog = setTimeout(() => {
  log(`gave up after ${watchdogSeconds} s`);
  void cleanUp().finally(() => process.exit(2));
}, watchdogSeconds * 1000);

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted; cleaning up');
  void cleanUp().finally(() => process.exit(130));
});

main()
  .catch((err: unknown) => {
    log(`failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
    clearTimeout(watchdog);
    // Nothing of ours is left, but a library's idle handle must not keep us alive.
    process.exit(process.exitCode ?? 0);
  });

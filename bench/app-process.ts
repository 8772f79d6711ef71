/**
 * Kanshi for bench/ingest.ts, in a process of its own: the app as main.ts
 * builds it (Bolt, HTTP server, ingest, the card worker), so that its memory
 * and CPU are its own and not shared with the load generator or the local
 * Slack. The parent sends one `start` message with the configuration and gets
 * `{ port }` back; `stop` stops the app and ends the process. Around each
 * load phase the parent sends `phase-start` and `phase-end`, and gets back
 * this process's event-loop delay and garbage-collection pauses in between.
 */
import { constants, monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { type Database, openDatabase } from '../app/adapters/db/database';
import { loadRunbookLibrary } from '../app/adapters/fs/runbook-files';
import { buildApp, type KanshiApp } from '../app/build-app';
import { loadConfig } from '../app/config/env';
import { type AccountRoute, RoutingTable } from '../app/domain/routing';
import { createLogger } from '../app/logging';
import type { PhaseVitals } from './support';

export interface AppProcessStart {
  type: 'start';
  env: Record<string, string | undefined>;
  routes: AccountRoute[];
  defaultChannelId: string;
  runbooksDir: string;
  migrationsDir: string;
  runWorker: boolean;
}

export type AppProcessReply =
  | { type: 'started'; port: number }
  | { type: 'failed'; error: string }
  | { type: 'vitals'; vitals: PhaseVitals };

// The histogram records whole timer intervals, so the resolution is taken off.
const LOOP_RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
const lagMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
const gc = { maxMs: 0, totalMs: 0, count: 0, major: 0 };
function countGc(entries: PerformanceEntry[]): void {
  for (const e of entries) {
    gc.maxMs = Math.max(gc.maxMs, e.duration);
    gc.totalMs += e.duration;
    gc.count++;
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
  }
}
const gcObserver = new PerformanceObserver((list) => countGc(list.getEntries()));

function phaseStart(): void {
  loop.reset();
  loop.enable();
  Object.assign(gc, { maxMs: 0, totalMs: 0, count: 0, major: 0 });
  gcObserver.observe({ entryTypes: ['gc'] });
}

function phaseEnd(): PhaseVitals {
  loop.disable();
  // Entries not yet handed to the callback would be lost with the observer.
  countGc(gcObserver.takeRecords());
  gcObserver.disconnect();
  return {
    loopDelayP99Ms: lagMs(loop.percentile(99)),
    loopDelayMaxMs: lagMs(loop.max),
    gcMaxMs: gc.maxMs,
    gcTotalMs: gc.totalMs,
    gcCount: gc.count,
    gcMajorCount: gc.major,
  };
}

let app: KanshiApp | undefined;
let db: Database | undefined;

async function start(msg: AppProcessStart): Promise<void> {
  const config = loadConfig(msg.env);
  db = openDatabase({
    url: config.DATABASE_URL ?? '',
    poolSize: config.DATABASE_POOL_SIZE,
    ingestPoolSize: config.INGEST_STATEMENTS,
  });
  app = buildApp({
    config,
    db,
    routing: new RoutingTable(msg.routes, msg.defaultChannelId),
    runbooks: loadRunbookLibrary(msg.runbooksDir),
    logger: createLogger('silent'),
    migrationsDir: msg.migrationsDir,
    runWorker: msg.runWorker,
  });
  const { port } = await app.start(0);
  process.send?.({ type: 'started', port } satisfies AppProcessReply);
}

async function stop(): Promise<void> {
  await app?.stop();
  await db?.close();
  process.exit(0);
}

process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'start') {
    start(msg as AppProcessStart).catch((err: unknown) => {
      process.send?.({ type: 'failed', error: (err as Error).message } satisfies AppProcessReply);
      process.exit(1);
    });
  } else if (msg?.type === 'phase-start') {
    phaseStart();
  } else if (msg?.type === 'phase-end') {
    process.send?.({ type: 'vitals', vitals: phaseEnd() } satisfies AppProcessReply);
  } else if (msg?.type === 'stop') {
    void stop();
  }
});
// The parent gone (killed, crashed): do not outlive it.
process.on('disconnect', () => process.exit(0));

/**
 * Kanshi for bench/ingest.ts, in a process of its own: the app as main.ts
 * builds it (Bolt, HTTP server, ingest, the card worker), so that its memory
 * and CPU are its own and not shared with the load generator or the local
 * Slack. The parent sends one `start` message with the configuration and gets
 * `{ port }` back; `stop` stops the app and ends the process.
 */
import { type Database, openDatabase } from '../app/adapters/db/database';
import { loadRunbookLibrary } from '../app/adapters/fs/runbook-files';
import { buildApp, type KanshiApp } from '../app/build-app';
import { loadConfig } from '../app/config/env';
import { type AccountRoute, RoutingTable } from '../app/domain/routing';
import { createLogger } from '../app/logging';

export interface AppProcessStart {
  type: 'start';
  env: Record<string, string | undefined>;
  routes: AccountRoute[];
  defaultChannelId: string;
  runbooksDir: string;
  migrationsDir: string;
  runWorker: boolean;
}

export type AppProcessReply = { type: 'started'; port: number } | { type: 'failed'; error: string };

let app: KanshiApp | undefined;
let db: Database | undefined;

async function start(msg: AppProcessStart): Promise<void> {
  const config = loadConfig(msg.env);
  db = openDatabase({ url: config.DATABASE_URL ?? '', poolSize: config.DATABASE_POOL_SIZE });
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
  } else if (msg?.type === 'stop') {
    void stop();
  }
});
// The parent gone (killed, crashed): do not outlive it.
process.on('disconnect', () => process.exit(0));

/**
 * The composition root: wires adapters, services, Bolt, HTTP routes and jobs
 * from explicit dependencies. Nothing here is a module-level singleton, so
 * tests build the whole app with fakes (a fake Slack behind SLACK_API_URL,
 * a real PostgreSQL).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import { PrismaCardStore } from './adapters/db/card-store';
import type { Database } from './adapters/db/database';
import { PgIngestStore } from './adapters/db/ingest-store';
import { PgJobQueue } from './adapters/db/job-queue';
import { PgLanePacer } from './adapters/db/lane-pacer';
import { pendingMigrations } from './adapters/db/migrate';
import { createSlackClient, slackClientOptions, WebApiSlackSurface } from './adapters/slack/slack-surface';
import type { Config } from './config/env';
import type { RoutingTable } from './domain/routing';
import { healthzHandler, readyzHandler } from './http/health-routes';
import { INGEST_PATH, ingestHandler } from './http/ingest-route';
import { buildJobCatalog } from './jobs/catalog';
import { JobRunner } from './jobs/runner';
import { boltLogger } from './logging';
import { type Clock, systemClock } from './ports/clock';
import type { Logger } from './ports/logger';
import { CardSync } from './services/card-sync';
import { IngestService } from './services/ingest';
import { registerListeners } from './slack/listeners';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface AppDeps {
  config: Config;
  db: Database;
  routing: RoutingTable;
  logger: Logger;
  migrationsDir: string;
  clock?: Clock;
  /** Run the card worker in this process (default true). */
  runWorker?: boolean;
}

export interface KanshiApp {
  bolt: App;
  runner: JobRunner;
  ingest: IngestService;
  cardSync: CardSync;
  server: Server;
  /** Listens on `port` (0: any free port) and starts the worker. */
  start(port: number): Promise<{ port: number }>;
  /** Stops accepting requests, drains in-flight requests and jobs. */
  stop(): Promise<void>;
}

export function buildApp(deps: AppDeps): KanshiApp {
  const { config, db, logger } = deps;
  const clock = deps.clock ?? systemClock;

  const slackOpts = { token: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL, timeoutMs: config.SLACK_TIMEOUT_MS };
  const slackSurface = new WebApiSlackSurface(
    createSlackClient(slackOpts, boltLogger(logger.child({ component: 'slack-web-api' }))),
  );
  const ingestStore = new PgIngestStore(db.pool);
  const cardStore = new PrismaCardStore(db.prisma);
  const cardSync = new CardSync({
    store: cardStore,
    slack: slackSurface,
    pacer: new PgLanePacer(db.pool, config.SLACK_CHANNEL_INTERVAL_MS),
    clock,
    logger: logger.child({ component: 'card-sync' }),
    defaultChannelId: config.DEFAULT_CHANNEL_ID,
  });
  const runner = new JobRunner({
    queue: new PgJobQueue(db.pool),
    catalog: buildJobCatalog({ cardSync }),
    logger: logger.child({ component: 'jobs' }),
    concurrency: config.WORKER_CONCURRENCY,
    pollMs: config.WORKER_POLL_MS,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
  });
  const ingest = new IngestService({
    store: ingestStore,
    quarantine: ingestStore,
    routing: () => deps.routing,
    allowedAccounts: config.INGEST_ALLOWED_ACCOUNTS,
    logger: logger.child({ component: 'ingest' }),
    onCardJob: () => runner.wake(),
  });

  const receiver = new HTTPReceiver({
    signingSecret: config.SLACK_SIGNING_SECRET,
    endpoints: SLACK_EVENTS_PATH,
    logger: boltLogger(logger),
    customRoutes: [
      {
        path: INGEST_PATH,
        method: ['POST'],
        handler: ingestHandler({ ingest, apiKey: config.INGEST_API_KEY, logger }),
      },
      { path: '/healthz', method: ['GET'], handler: healthzHandler() },
      {
        path: '/readyz',
        method: ['GET'],
        handler: readyzHandler({ pendingMigrations: () => pendingMigrations(db.pool, deps.migrationsDir) }),
      },
    ],
  });
  const bolt = new App({
    token: config.SLACK_BOT_TOKEN,
    receiver,
    logger: boltLogger(logger),
    clientOptions: slackClientOptions(slackOpts),
    // Startup must not depend on Slack being reachable: ingest has to work
    // (and queue cards) during a Slack outage.
    tokenVerificationEnabled: false,
  });
  registerListeners(bolt, { logger, alerts: cardStore, render: (alert) => cardSync.render(alert) });

  const server = createServer(receiver.requestListener);
  // EventBridge waits 5 s; a request slower than this is abandoned anyway.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  let started = false;
  return {
    bolt,
    runner,
    ingest,
    cardSync,
    server,
    async start(port) {
      // Prisma compiles its query engine on first use; pay that now, not
      // between a channel's pacing slot and the post it was reserved for.
      await db.prisma.alert.findFirst({ select: { id: true } }).catch(() => undefined);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, () => resolve());
      });
      started = true;
      if (deps.runWorker ?? true) runner.start();
      const actual = (server.address() as AddressInfo).port;
      logger.info({ port: actual }, 'kanshi listening');
      return { port: actual };
    },
    async stop() {
      if (started) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Idle keep-alive connections would hold close() open; in-flight ones finish.
        server.closeIdleConnections();
        await closed;
      }
      await runner.stop(config.SHUTDOWN_TIMEOUT_MS);
    },
  };
}

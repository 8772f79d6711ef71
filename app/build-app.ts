/**
 * The composition root: wires adapters, services, Bolt, HTTP routes and jobs
 * from explicit dependencies. Nothing here is a module-level singleton, so
 * tests build the whole app with fakes (a fake Slack behind SLACK_API_URL,
 * a real PostgreSQL).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import { AwsGuardDutyAdmin } from './adapters/aws/guardduty-admin';
import { AwsInvestigator } from './adapters/aws/investigator';
import { AwsOrgDirectory } from './adapters/aws/org-directory';
import { PgAlertQueries } from './adapters/db/alert-queries';
import { PgCardStore } from './adapters/db/card-store';
import type { Database } from './adapters/db/database';
import { PgDigestStore } from './adapters/db/digest-store';
import { PgFollowUpStores } from './adapters/db/follow-up-stores';
import { PgIngestStore } from './adapters/db/ingest-store';
import { PgJobQueue } from './adapters/db/job-queue';
import { PgLanePacer } from './adapters/db/lane-pacer';
import { pendingMigrations } from './adapters/db/migrate';
import { PgChannelHealthStore, PgOrgStore } from './adapters/db/org-store';
import { PgSilenceStore } from './adapters/db/silence-store';
import { PgStatsStore } from './adapters/db/stats-store';
import { PrismaTriageStore } from './adapters/db/triage-store';
import { PagerDutyEventsV2 } from './adapters/pagerduty/events-v2';
import { backgroundAuthorize } from './adapters/slack/authorize';
import { createSlackClient, slackClientOptions, WebApiSlackSurface } from './adapters/slack/slack-surface';
import type { Config } from './config/env';
import type { NudgePolicy } from './domain/nudges';
import type { RoutingTable } from './domain/routing';
import type { CompiledRules } from './domain/rules';
import type { RunbookLibrary } from './domain/runbooks';
import { healthzHandler, readyzHandler } from './http/health-routes';
import { INGEST_PATH, ingestHandler } from './http/ingest-route';
import { buildJobCatalog } from './jobs/catalog';
import { INVESTIGATE_JOB, investigateJobKey, ORG_SYNC_JOB, orgSyncJobKey } from './jobs/names';
import { JobRunner } from './jobs/runner';
import { boltLogger } from './logging';
import { type Clock, systemClock } from './ports/clock';
import type { GuardDutyAdmin } from './ports/guardduty-admin';
import type { Investigator } from './ports/investigator';
import type { Logger } from './ports/logger';
import type { OrgDirectory } from './ports/org-directory';
import type { Pager } from './ports/pager';
import { AlertCommands } from './services/alert-commands';
import { AppHome } from './services/app-home';
import { CardSync } from './services/card-sync';
import { GuardDutySync, Nudger, Paging, SecurityCards, ThreadPoster } from './services/follow-ups';
import { IngestService, STORM_WINDOW_MS } from './services/ingest';
import { InvestigationService } from './services/investigation';
import { SlackSecurityTeam } from './services/security-team';
import { SilenceService } from './services/silences';
import { StormDigests } from './services/storm-digests';
import { TriageService } from './services/triage';
import { AccountNotices, ChannelHealth, OrgAccountCache, OrgSync, RuleFollowUps } from './services/tuning-follow-ups';
import { registerListeners } from './slack/listeners';
import { registerTuningListeners } from './slack/listeners/actions/tuning';

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
  runbooks: RunbookLibrary;
  /** Overrides for tests; otherwise built from the config when configured. */
  guardDutyAdmin?: GuardDutyAdmin | undefined;
  investigator?: Investigator | undefined;
  pager?: Pager | undefined;
  orgDirectory?: OrgDirectory | undefined;
  /** The current rules (main.ts reloads them on SIGHUP or file change). */
  rules?: (() => CompiledRules | undefined) | undefined;
}

export interface KanshiApp {
  bolt: App;
  runner: JobRunner;
  ingest: IngestService;
  cardSync: CardSync;
  triage: TriageService;
  silences: SilenceService;
  accounts: OrgAccountCache;
  /** A plain message to the security channel (e.g. a rules reload that failed). */
  notifySecurity(text: string): Promise<void>;
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
  const slackClient = createSlackClient(slackOpts, boltLogger(logger.child({ component: 'slack-web-api' })));
  const slack = new WebApiSlackSurface(slackClient);
  const ingestStore = new PgIngestStore(db.pool, logger.child({ component: 'ingest-store' }), {
    maxBatch: config.INGEST_BATCH_MAX,
    maxStatements: config.INGEST_STATEMENTS,
    minBatch: config.INGEST_MIN_BATCH,
    maxWaitMs: config.INGEST_MAX_WAIT_MS,
    statementPool: db.ingestPool,
  });
  const cardStore = new PgCardStore(db.pool);
  const triageStore = new PrismaTriageStore(db.prisma);
  const followUpStores = new PgFollowUpStores(db.pool);
  const pacer = new PgLanePacer(db.pool, config.SLACK_CHANNEL_INTERVAL_MS);
  const nudgePolicy: NudgePolicy = {
    Critical: config.NUDGE_AFTER_CRITICAL,
    High: config.NUDGE_AFTER_HIGH,
    Medium: config.NUDGE_AFTER_MEDIUM,
    Low: config.NUDGE_AFTER_LOW,
    // Info means no action needed: never nudged.
    Info: undefined,
  };

  const guardDutyAdmin =
    deps.guardDutyAdmin ??
    (config.GUARDDUTY_ADMIN_ROLE_ARN
      ? AwsGuardDutyAdmin.create({
          roleArn: config.GUARDDUTY_ADMIN_ROLE_ARN,
          externalId: config.GUARDDUTY_ADMIN_EXTERNAL_ID,
          logger: logger.child({ component: 'guardduty' }),
          clock,
        })
      : undefined);
  const pager =
    deps.pager ??
    (config.PAGERDUTY_ROUTING_KEY
      ? new PagerDutyEventsV2({
          routingKey: config.PAGERDUTY_ROUTING_KEY,
          url: config.PAGERDUTY_EVENTS_URL,
          logger: logger.child({ component: 'pagerduty' }),
        })
      : undefined);

  const securityTeam = new SlackSecurityTeam({
    engineerIds: config.SECURITY_ENGINEER_IDS,
    usergroupId: config.SECURITY_USERGROUP_ID,
    slack,
    clock,
    logger,
  });
  const triage = new TriageService({
    store: triageStore,
    security: securityTeam,
    config: {
      archiveReview: config.ARCHIVE_REVIEW,
      securityChannelId: config.SECURITY_CHANNEL_ID,
      pagingEnabled: pager !== undefined,
      guardDutyArchiving: guardDutyAdmin !== undefined,
      nudgePolicy,
    },
    clock,
    logger: logger.child({ component: 'triage' }),
    runbookFor: (type) => {
      const g = deps.runbooks.lookup(type);
      return g ? { file: g.runbook.file, sha256: g.runbook.hash, guidance: g.kind } : undefined;
    },
  });
  const investigator =
    config.INVESTIGATION === 'on'
      ? (deps.investigator ??
        AwsInvestigator.create({
          roleName: config.INVESTIGATION_ROLE_NAME,
          externalId: config.INVESTIGATION_EXTERNAL_ID,
          organizationsRoleArn: config.ORGANIZATIONS_ROLE_ARN,
          clock,
          logger: logger.child({ component: 'investigator' }),
        }))
      : undefined;
  const orgStore = new PgOrgStore(db.pool);
  const accounts = new OrgAccountCache(orgStore);
  const orgDirectory =
    deps.orgDirectory ??
    (config.ORGANIZATIONS_ROLE_ARN
      ? new AwsOrgDirectory({
          roleArn: config.ORGANIZATIONS_ROLE_ARN,
          externalId: config.ORGANIZATIONS_EXTERNAL_ID,
          clock,
          logger: logger.child({ component: 'organizations' }),
        })
      : undefined);
  const slackJobDeps = { slack, pacer, clock, logger: logger.child({ component: 'tuning' }) };
  const channelHealth = new ChannelHealth({
    ...slackJobDeps,
    store: new PgChannelHealthStore(db.pool),
    scheduler: followUpStores,
    securityChannelId: config.SECURITY_CHANNEL_ID,
    defaultChannelId: config.DEFAULT_CHANNEL_ID,
  });
  const silences = new SilenceService({
    store: new PgSilenceStore(db.pool),
    slack,
    pacer,
    security: securityTeam,
    clock,
    logger: logger.child({ component: 'silences' }),
  });
  const digests = new StormDigests({
    store: new PgDigestStore(db.pool),
    slack,
    pacer,
    clock,
    logger: logger.child({ component: 'storm' }),
    scheduler: followUpStores,
    triage,
    threshold: config.STORM_THRESHOLD,
    windowMs: STORM_WINDOW_MS,
    securityChannelId: config.SECURITY_CHANNEL_ID,
  });
  const cardSync = new CardSync({
    store: cardStore,
    channelHealth,
    slack,
    pacer,
    clock,
    logger: logger.child({ component: 'card-sync' }),
    defaultChannelId: config.DEFAULT_CHANNEL_ID,
    onPosted: investigator
      ? (alertId) =>
          followUpStores.enqueue({
            kind: INVESTIGATE_JOB,
            key: investigateJobKey(alertId, 'first'),
            lane: null,
            payload: { alertId },
            mode: 'once',
          })
      : undefined,
  });
  const followUpDeps = {
    cards: cardStore,
    triageStore,
    slack,
    pacer,
    clock,
    logger: logger.child({ component: 'follow-ups' }),
    securityChannelId: config.SECURITY_CHANNEL_ID,
    securityUsergroupId: config.SECURITY_USERGROUP_ID,
  };
  const thread = new ThreadPoster(followUpDeps);
  const runner = new JobRunner({
    queue: new PgJobQueue(db.pool),
    catalog: buildJobCatalog({
      cardSync,
      thread,
      securityCards: new SecurityCards(followUpDeps),
      guardDuty: guardDutyAdmin
        ? new GuardDutySync({
            admin: guardDutyAdmin,
            store: followUpStores,
            slack,
            pacer,
            clock,
            securityChannelId: config.SECURITY_CHANNEL_ID,
          })
        : undefined,
      paging: pager ? new Paging({ pager, calls: followUpStores, triageStore, cards: cardStore, logger }) : undefined,
      investigation: investigator
        ? new InvestigationService({
            investigator,
            store: followUpStores,
            cards: cardStore,
            thread,
            clock,
            logger: logger.child({ component: 'investigation' }),
          })
        : undefined,
      digests,
      ruleFollowUps: new RuleFollowUps({ ...slackJobDeps, cards: cardStore }),
      accountNotices: new AccountNotices({
        ...slackJobDeps,
        store: orgStore,
        cache: accounts,
        routing: () => deps.routing,
        override: async (accountId) => (await queries.routeOverrides()).get(accountId),
        securityChannelId: config.SECURITY_CHANNEL_ID,
      }),
      channelHealth,
      orgSync: orgDirectory
        ? new OrgSync({
            directory: orgDirectory,
            store: orgStore,
            cache: accounts,
            scheduler: followUpStores,
            clock,
            logger: logger.child({ component: 'organizations' }),
            intervalMs: config.ORG_SYNC_INTERVAL ?? 3_600_000,
          })
        : undefined,
      silences,
      nudger: new Nudger({
        triageStore,
        cards: cardStore,
        thread,
        triage,
        scheduler: followUpStores,
        policy: nudgePolicy,
        mention: config.NUDGE_MENTION,
        logger,
      }),
    }),
    logger: logger.child({ component: 'jobs' }),
    concurrency: config.WORKER_CONCURRENCY,
    pollMs: config.WORKER_POLL_MS,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
  });
  const ingest = new IngestService({
    store: ingestStore,
    quarantine: ingestStore,
    routing: () => deps.routing,
    rules: deps.rules,
    directory: accounts,
    stormThreshold: config.STORM_THRESHOLD,
    paging: pager !== undefined,
    scheduler: followUpStores,
    allowedAccounts: config.INGEST_ALLOWED_ACCOUNTS,
    logger: logger.child({ component: 'ingest' }),
    onCardJob: () => runner.wake(),
    nudgePolicy,
    followUp: triage,
    clock,
  });

  const receiver = new HTTPReceiver({
    signingSecret: config.SLACK_SIGNING_SECRET,
    endpoints: SLACK_EVENTS_PATH,
    logger: boltLogger(logger),
    customRoutes: [
      { path: '/healthz', method: ['GET'], handler: healthzHandler() },
      {
        path: '/readyz',
        method: ['GET'],
        handler: readyzHandler({ pendingMigrations: () => pendingMigrations(db.pool, deps.migrationsDir) }),
      },
    ],
  });
  const bolt = new App({
    // Neither start-up nor the ack path may depend on Slack being reachable:
    // ingest has to work (and queue cards) during a Slack outage.
    authorize: backgroundAuthorize(slackClient, config.SLACK_BOT_TOKEN),
    receiver,
    logger: boltLogger(logger),
    clientOptions: slackClientOptions(slackOpts),
  });
  const queries = new PgAlertQueries(db.pool);
  const stats = new PgStatsStore(db.pool);
  const home = new AppHome({ queries, stats, security: securityTeam, slack, routing: deps.routing, accounts, clock });
  const commands = new AlertCommands({
    triage,
    triageStore,
    alerts: cardStore,
    queries,
    routes: queries,
    stats,
    security: securityTeam,
    runbooks: deps.runbooks,
    routing: deps.routing,
    accounts,
    // /alert show renders the card without its buttons: actions happen on the card itself.
    render: (alert) => cardSync.render(alert, false),
    silences,
    clock,
  });
  registerListeners(bolt, {
    logger,
    triage,
    commands,
    home,
    runbooks: deps.runbooks,
    runbookBaseUrl: config.RUNBOOK_BASE_URL,
    alerts: cardStore,
  });
  registerTuningListeners(bolt, { alerts: cardStore, silences, digests, commands, scheduler: followUpStores });

  // Bolt refuses requests older than 5 minutes but not ones dated in the future,
  // which a captured request could be replayed with for as long: refuse both.
  const slackListener = receiver.requestListener;
  const ingestRoute = ingestHandler({ ingest, apiKey: config.INGEST_API_KEY, logger });
  const httpLog = logger.child({ component: 'http' });
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    // Ingest, the hot path, is routed here: Bolt's custom routes compile every
    // route's pattern on each request. Other methods on its path reach Bolt (404).
    if (path === INGEST_PATH && req.method === 'POST') {
      ingestRoute(req, res).catch((err: unknown) => {
        httpLog.error({ err: { message: (err as Error)?.message } }, 'ingest response failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
      return;
    }
    if (path === SLACK_EVENTS_PATH && !freshSlackTimestamp(req.headers, new Date())) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('stale or missing request timestamp');
      return;
    }
    slackListener(req, res);
  });
  // EventBridge waits 5 s; a request slower than this is abandoned anyway.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  let started = false;
  let accountsTimer: NodeJS.Timeout | undefined;
  return {
    bolt,
    runner,
    ingest,
    cardSync,
    triage,
    silences,
    accounts,
    async notifySecurity(text) {
      const res = await slack.postMessage(config.SECURITY_CHANNEL_ID, { text });
      if (!res.ok) logger.warn({ error: res.failure.error }, 'could not tell the security channel');
    },
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
      await accounts
        .refresh()
        .catch((err: Error) =>
          logger.warn({ err: { message: err.message } }, 'could not load the synced AWS accounts'),
        );
      accountsTimer = setInterval(() => {
        accounts.refreshIfStale().catch(() => undefined);
      }, 60_000);
      accountsTimer.unref();
      if (orgDirectory) {
        // One sync job for all replicas (deterministic key); it reschedules itself.
        await followUpStores.enqueue({
          kind: ORG_SYNC_JOB,
          key: orgSyncJobKey,
          lane: null,
          payload: {},
          mode: 'rearm',
        });
      }
      if (deps.runWorker ?? true) runner.start();
      const actual = (server.address() as AddressInfo).port;
      logger.info({ port: actual }, 'kanshi listening');
      return { port: actual };
    },
    async stop() {
      if (accountsTimer) clearInterval(accountsTimer);
      if (started) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Idle keep-alive connections would hold close() open; in-flight ones finish.
        server.closeIdleConnections();
        await closed;
      }
      // Ingest has answered its last request; its last digest re-arms run before the pool closes.
      await ingestStore.rearmed();
      await runner.stop(config.SHUTDOWN_TIMEOUT_MS);
    },
  };
}

/** Slack's request timestamp, within 5 minutes of now either way. */
export function freshSlackTimestamp(headers: Record<string, string | string[] | undefined>, now: Date): boolean {
  const raw = headers['x-slack-request-timestamp'];
  const ts = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isInteger(ts) && Math.abs(Math.floor(now.getTime() / 1000) - ts) <= 300;
}

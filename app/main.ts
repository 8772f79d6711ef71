/**
 * Process entry: load config, (start an embedded PostgreSQL when there is no
 * DATABASE_URL), apply migrations, build the app, listen, and drain on
 * SIGTERM/SIGINT.
 */
import { resolve } from 'node:path';
import { openDatabase } from './adapters/db/database';
import { type EmbeddedPg, startEmbeddedPostgres } from './adapters/db/embedded-postgres';
import { migrate } from './adapters/db/migrate';
import { loadRunbookLibrary } from './adapters/fs/runbook-files';
import { buildApp } from './build-app';
import { AccountsFileError, loadAccountsFile } from './config/accounts-file';
import { type Config, ConfigError, loadConfigFromProcess, loadSandboxRequest } from './config/env';
import { loadOuRoutesFile, OuRoutesFileError } from './config/ou-routes-file';
import { RulesSource } from './config/rules-file';
import { type AccountRoute, RoutingTable } from './domain/routing';
import { RulesError } from './domain/rules';
import { RunbookError, type RunbookLibrary } from './domain/runbooks';
import { createLogger } from './logging';
import { attachSandbox, type LocalWorkspace, startLocalWorkspace } from './sandbox/start';
import { escapeMrkdwn } from './slack/blocks/mrkdwn';

const ROOT = resolve(__dirname, '..', '..');
const MIGRATIONS_DIR = resolve(ROOT, 'prisma', 'migrations');
const DEFAULT_RULES = 'config/rules.yml';
const DEFAULT_OU_ROUTES = 'config/ou-routes.yml';

async function main(): Promise<void> {
  let config: Config;
  let routing: RoutingTable;
  let runbooks: RunbookLibrary;
  let rules: RulesSource;
  let workspace: LocalWorkspace | undefined;
  let accounts: AccountRoute[] = [];
  try {
    const sandbox = loadSandboxRequest();
    if (sandbox.enabled && sandbox.realSlackConfigured) {
      process.stderr.write(
        'kanshi: the sandbox (SANDBOX=1, npm run demo) is a development tool and refuses to run with real Slack credentials; unset SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or run npm start\n',
      );
      process.exit(1);
    }
    if (sandbox.enabled) workspace = await startLocalWorkspace(sandbox.port, sandbox.given);
    config = loadConfigFromProcess(workspace?.env);
    accounts = loadAccountsFile(resolve(ROOT, config.ACCOUNTS_FILE));
    routing = new RoutingTable(
      accounts,
      config.DEFAULT_CHANNEL_ID,
      // The shipped default path may be absent (no OU routes); a path someone set must exist.
      loadOuRoutesFile(resolve(ROOT, config.OU_ROUTES_FILE), { optional: config.OU_ROUTES_FILE === DEFAULT_OU_ROUTES }),
    );
    runbooks = loadRunbookLibrary(resolve(ROOT, config.RUNBOOKS_DIR));
    rules = new RulesSource(resolve(ROOT, config.RULES_FILE), { optional: config.RULES_FILE === DEFAULT_RULES });
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof AccountsFileError ||
      err instanceof RunbookError ||
      err instanceof OuRoutesFileError ||
      err instanceof RulesError
    ) {
      process.stderr.write(`kanshi: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  logger.info({ accounts: routing.size, rules: rules.current().rules.length }, 'routing and rules loaded');

  let embedded: EmbeddedPg | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    logger.info(
      { dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT },
      'no DATABASE_URL: starting embedded PostgreSQL',
    );
    embedded = await startEmbeddedPostgres({
      dataDir: resolve(ROOT, config.EMBEDDED_PG_DIR),
      port: config.EMBEDDED_PG_PORT,
      database: 'kanshi',
      onLog: (line) => logger.debug({ component: 'embedded-postgres' }, line),
    });
    url = embedded.url;
  }

  const db = openDatabase({
    url,
    poolSize: config.DATABASE_POOL_SIZE,
    ingestPoolSize: config.INGEST_STATEMENTS,
    onPoolError: (err) => logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
  });
  const applied = await migrate(db.pool, MIGRATIONS_DIR);
  logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'database schema up to date');

  const app = buildApp({
    config,
    db,
    routing,
    runbooks,
    logger,
    migrationsDir: MIGRATIONS_DIR,
    rules: () => rules.current(),
  });
  const { port } = await app.start(config.PORT);
  if (workspace) {
    attachSandbox({
      workspace,
      kanshiPort: port,
      accounts,
      defaultChannelId: config.DEFAULT_CHANNEL_ID,
      securityChannelId: config.SECURITY_CHANNEL_ID,
      root: ROOT,
      logger: logger.child({ component: 'sandbox' }),
    });
    logger.info({ url: workspace.url }, 'sandbox ready');
    process.stdout.write(`\nKanshi sandbox: open ${workspace.url}\n\n`);
  }

  // Rules reload on SIGHUP or when the file changes. A bad file keeps the
  // rules in force, and says why in the log and in the security channel.
  const onReload = (result: ReturnType<RulesSource['reload']>) => {
    if (result.ok) {
      logger.info({ rules: result.count, file: config.RULES_FILE }, 'rules reloaded');
      return;
    }
    logger.error(
      { problems: result.problems, file: config.RULES_FILE },
      'rules file invalid; keeping the previous rules',
    );
    const lines = result.problems.slice(0, 10).map((p) => `• ${escapeMrkdwn(p)}`);
    void app.notifySecurity(
      `:warning: \`${escapeMrkdwn(config.RULES_FILE)}\` is invalid, so Kanshi keeps the previous rules:\n${lines.join('\n')}`,
    );
  };
  process.on('SIGHUP', () => onReload(rules.reload()));
  const stopWatching = rules.watch(onReload);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests and jobs');
    const force = setTimeout(() => {
      logger.error({}, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 10_000);
    force.unref();
    stopWatching();
    await app.stop();
    await db.close();
    await embedded?.stop();
    await workspace?.slack.stop();
    logger.info({}, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => {
    // Log and keep serving: one bad promise must not take ingest down.
    logger.error({ err: { message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'unhandled rejection');
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`kanshi: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

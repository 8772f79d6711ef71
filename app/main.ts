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
import { type Config, ConfigError, loadConfigFromProcess } from './config/env';
import { RoutingTable } from './domain/routing';
import { RunbookError, type RunbookLibrary } from './domain/runbooks';
import { createLogger } from './logging';

const ROOT = resolve(__dirname, '..', '..');
const MIGRATIONS_DIR = resolve(ROOT, 'prisma', 'migrations');

async function main(): Promise<void> {
  let config: Config;
  let routing: RoutingTable;
  let runbooks: RunbookLibrary;
  try {
    config = loadConfigFromProcess();
    routing = new RoutingTable(loadAccountsFile(resolve(ROOT, config.ACCOUNTS_FILE)), config.DEFAULT_CHANNEL_ID);
    runbooks = loadRunbookLibrary(resolve(ROOT, config.RUNBOOKS_DIR));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof AccountsFileError || err instanceof RunbookError) {
      process.stderr.write(`kanshi: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  logger.info({ accounts: routing.size }, 'routing loaded');

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
    onPoolError: (err) => logger.warn({ err: { message: err.message } }, 'idle database connection lost'),
  });
  const applied = await migrate(db.pool, MIGRATIONS_DIR);
  logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'database schema up to date');

  const app = buildApp({ config, db, routing, runbooks, logger, migrationsDir: MIGRATIONS_DIR });
  await app.start(config.PORT);

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
    await app.stop();
    await db.close();
    await embedded?.stop();
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

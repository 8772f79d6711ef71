/**
 * One pg pool per process, shared by Prisma (through @prisma/adapter-pg) and
 * by the few hot paths written as single SQL statements (ingest, job queue).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/client';

export interface Database {
  pool: Pool;
  prisma: PrismaClient;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** Fail fast when the server is down: EventBridge gives us 5 s in all. */
  connectTimeoutMs?: number;
  onPoolError?: (err: Error) => void;
}

export function openDatabase(opts: DatabaseOptions): Database {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 2000,
    idleTimeoutMillis: 30_000,
    // A statement that runs this long is stuck; the request would time out anyway.
    statement_timeout: 4000,
    application_name: 'kanshi',
    // Plan every statement for the tables as they are now. A generic plan is
    // made once per connection (after five runs) and kept: one made while the
    // tables were small chooses sequential scans that get slower with every
    // alert stored (measured: the batched ingest statement fell from 2,100 to
    // 1,100 findings/s over 80,000 findings; planned each time it stayed flat).
    // Named statements still save the parse.
    options: '-c plan_cache_mode=force_custom_plan',
  });
  // An idle client losing its connection (e.g. PostgreSQL restarted) must not
  // crash the process; the pool replaces it on the next checkout.
  pool.on('error', (err) => opts.onPoolError?.(err));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed = false;
  return {
    pool,
    prisma,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

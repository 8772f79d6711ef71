/**
 * What the benchmarks share besides the load generator: their integer knobs
 * from the environment, and scratch databases on DATABASE_URL's server.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { type Database, openDatabase } from '../app/adapters/db/database';
import { migrate } from '../app/adapters/db/migrate';
import type { Json } from '../test/support/fixtures';
import { withDatabase } from '../test/support/pg-server';

/** An integer knob from the environment: `fallback` when unset or empty, else within [min, max]. */
export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in [${min}, ${max}]`);
  return n;
}

/** The repository's root, from dist/bench. */
export const BENCH_ROOT = join(__dirname, '..', '..');

/** The GuardDuty finding the service and card benchmarks send (the first of a shared fixture). */
export function benchFinding(): Json {
  const file = join(
    BENCH_ROOT,
    '..',
    'shared',
    'fixtures',
    'guardduty',
    'aws-samples-amazon-guardduty-automated-response-sample.ndjson',
  );
  return JSON.parse(readFileSync(file, 'utf8').split('\n')[0] ?? '') as Json;
}

/** A fresh name for a scratch database, kanshi_bench_<random>. */
export function scratchDatabaseName(): string {
  return `kanshi_bench_${randomBytes(5).toString('hex')}`;
}

/** One statement on a connection of its own to `url`, closed after (for CREATE and DROP DATABASE). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * Runs `fn` on a migrated scratch database on DATABASE_URL's server (required), and drops
 * the database after, whatever `fn` did.
 */
export async function withScratchDatabase(poolSize: number, fn: (db: Database) => Promise<void>): Promise<void> {
  const given = process.env.DATABASE_URL;
  if (!given) throw new Error('DATABASE_URL is required (a server where a scratch database can be created)');
  const name = scratchDatabaseName();
  await adminQuery(given, `CREATE DATABASE ${name}`);
  const db = openDatabase({ url: withDatabase(given, name), poolSize });
  try {
    await migrate(db.pool, join(__dirname, '..', '..', 'prisma', 'migrations'));
    await fn(db);
  } finally {
    await db.close();
    await adminQuery(given, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/**
 * What the benchmarks share besides the load generator: their integer knobs
 * from the environment, and scratch databases on DATABASE_URL's server.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** An integer knob from the environment: `fallback` when unset or empty, else within [min, max]. */
export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in [${min}, ${max}]`);
  return n;
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

/** A fresh, migrated database per test file, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type Database, openDatabase } from '../../app/adapters/db/database';
import { ENV_ADMIN_URL, ENV_TEMPLATE_DB, withDatabase } from './pg-server';

export interface TestDb extends Database {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env[ENV_ADMIN_URL];
  if (!url) throw new Error('test database server not set up (jest globalSetup did not run)');
  return url;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates an empty database (no migrations) for tests of the migrator itself. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `kanshi_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return { url: withDatabase(adminUrl(), name), drop: () => dropDatabase(name) };
}

async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export async function createTestDb(poolSize = 5): Promise<TestDb> {
  const template = process.env[ENV_TEMPLATE_DB];
  const name = `kanshi_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = withDatabase(adminUrl(), name);
  const db = openDatabase({ url, poolSize });
  return {
    ...db,
    url,
    name,
    async drop() {
      await db.close();
      await dropDatabase(name);
    },
  };
}

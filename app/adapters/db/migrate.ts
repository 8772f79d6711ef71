/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql offline.
 *
 * The Prisma CLI's schema engine cannot be downloaded on our machines, so we
 * apply the SQL ourselves while keeping Prisma's `_prisma_migrations`
 * bookkeeping (same table, sha256 checksums, advisory lock key), so that
 * `prisma migrate deploy` still works wherever the engine is available.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';

/** The advisory lock Prisma Migrate takes, so the two never run at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  readonly code = 'kanshi_migration_failed';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

export function readMigrations(dir: string): Migration[] {
  if (!existsSync(dir)) throw new MigrationError(`migrations directory ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Applies pending migrations; returns the names applied. Safe to run from several processes at once. */
export async function migrate(pool: Pool, dir: string): Promise<string[]> {
  const migrations = readMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
    try {
      await client.query(BOOKKEEPING);
      const applied = await appliedMigrations(client);
      const done: string[] = [];
      for (const m of migrations) {
        const row = applied.get(m.name);
        if (row?.finished_at) {
          if (row.checksum !== m.checksum) {
            // Prisma only warns here; we refuse, since an edited migration
            // means the database and schema.prisma may have drifted.
            throw new MigrationError(`migration ${m.name} was edited after it was applied (checksum mismatch)`);
          }
          continue;
        }
        if (row && !row.rolled_back_at) {
          throw new MigrationError(
            `migration ${m.name} failed earlier and needs manual attention (see _prisma_migrations.logs)`,
          );
        }
        await applyOne(client, m);
        done.push(m.name);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK]);
    }
  } finally {
    client.release();
  }
}

async function appliedMigrations(client: PoolClient): Promise<Map<string, AppliedRow>> {
  const res = await client.query<AppliedRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
  );
  const map = new Map<string, AppliedRow>();
  for (const r of res.rows) if (!r.rolled_back_at || !map.has(r.migration_name)) map.set(r.migration_name, r);
  return map;
}

async function applyOne(client: PoolClient, m: Migration): Promise<void> {
  const id = randomUUID();
  // Each migration and its bookkeeping row commit together, or not at all.
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
      [id, m.checksum, m.name],
    );
    await client.query(m.sql);
    await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [
      id,
    ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`, err);
  }
}

/** Names of migrations in `dir` that the database has not finished applying. */
export async function pendingMigrations(pool: Pool, dir: string): Promise<string[]> {
  const names = readMigrations(dir).map((m) => m.name);
  const exists = await pool.query<{ ok: boolean }>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return names;
  const res = await pool.query<{ migration_name: string }>(
    'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
  );
  const applied = new Set(res.rows.map((r) => r.migration_name));
  return names.filter((n) => !applied.has(n));
}

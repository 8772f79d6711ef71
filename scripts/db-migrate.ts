/**
 * `npm run db:migrate`: applies pending migrations offline to DATABASE_URL,
 * or to the embedded PostgreSQL under .data/ when DATABASE_URL is unset.
 */
import { resolve } from 'node:path';
import { openDatabase } from '../app/adapters/db/database';
import { type EmbeddedPg, startEmbeddedPostgres } from '../app/adapters/db/embedded-postgres';
import { migrate } from '../app/adapters/db/migrate';
import { loadDatabaseConfig } from '../app/config/env';

const ROOT = resolve(__dirname, '..', '..');

async function run(): Promise<void> {
  // Only the database variables matter here.
  const env = loadDatabaseConfig();
  let embedded: EmbeddedPg | undefined;
  let url = env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: resolve(ROOT, env.EMBEDDED_PG_DIR),
      port: env.EMBEDDED_PG_PORT,
      database: 'kanshi',
    });
    url = embedded.url;
  }
  const db = openDatabase({ url, poolSize: 1 });
  try {
    const applied = await migrate(db.pool, resolve(ROOT, 'prisma', 'migrations'));
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database schema up to date\n');
  } finally {
    await db.close();
    await embedded?.stop();
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`db:migrate failed: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});

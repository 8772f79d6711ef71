import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Client, Pool } from 'pg';
import { startEmbeddedPostgres } from '../../app/adapters/db/embedded-postgres';
import { migrate } from '../../app/adapters/db/migrate';
import { ENV_ADMIN_URL, ENV_EMBEDDED_DIR, ENV_TEMPLATE_DB, withDatabase } from './pg-server';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = mkdtempSync('/tmp/kanshi-test-pg-');
    const pg = await startEmbeddedPostgres({
      dataDir: join(dir, 'data'),
      port: await freePort(),
      database: 'postgres',
    });
    adminUrl = pg.url;
    process.env[ENV_EMBEDDED_DIR] = dir;
    (globalThis as { __kanshiStopPg?: () => Promise<void> }).__kanshiStopPg = pg.stop;
  }
  process.env[ENV_ADMIN_URL] = adminUrl;

  // One migrated template per run; each test file clones it (CREATE DATABASE … TEMPLATE), which is fast.
  const template = `kanshi_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  await admin.end();
  const pool = new Pool({ connectionString: withDatabase(adminUrl, template), max: 1 });
  await migrate(pool, resolve(__dirname, '..', '..', 'prisma', 'migrations'));
  await pool.end();
  process.env[ENV_TEMPLATE_DB] = template;
}

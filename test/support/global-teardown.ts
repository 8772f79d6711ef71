import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { ENV_ADMIN_URL, ENV_EMBEDDED_DIR, ENV_TEMPLATE_DB } from './pg-server';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env[ENV_ADMIN_URL];
  const template = process.env[ENV_TEMPLATE_DB];
  if (adminUrl && template) {
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${template}`);
    await admin.end();
  }
  const stop = (globalThis as { __kanshiStopPg?: () => Promise<void> }).__kanshiStopPg;
  if (stop) await stop();
  const dir = process.env[ENV_EMBEDDED_DIR];
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * The PostgreSQL server the tests use. With DATABASE_URL set, tests create
 * and drop their own databases on that server; without it, global setup
 * starts an embedded PostgreSQL in a temporary directory.
 */
export const ENV_ADMIN_URL = 'KANSHI_TEST_ADMIN_URL';
export const ENV_TEMPLATE_DB = 'KANSHI_TEST_TEMPLATE_DB';
export const ENV_EMBEDDED_DIR = 'KANSHI_TEST_EMBEDDED_DIR';

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

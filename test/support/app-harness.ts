/**
 * The whole app in-process over HTTP: the real Bolt app and HTTP server, a
 * real PostgreSQL database of its own, and Slack reached through
 * SLACK_API_URL at a recording fake.
 */

import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import type { Database } from '../../app/adapters/db/database';
import { loadRunbookLibrary } from '../../app/adapters/fs/runbook-files';
import { buildApp, type KanshiApp } from '../../app/build-app';
import { parseAccountsFile } from '../../app/config/accounts-file';
import { loadConfig } from '../../app/config/env';
import { parseOuRoutesFile } from '../../app/config/ou-routes-file';
import { RoutingTable } from '../../app/domain/routing';
import { compileRules } from '../../app/domain/rules';
import { createLogger } from '../../app/logging';
import type { Clock } from '../../app/ports/clock';
import type { OrgDirectory } from '../../app/ports/org-directory';
import { slackSignature as sign } from '../../app/sandbox/slack-requests';
import { FakeSlack } from '../fakes/fake-slack';
import { createTestDb, type TestDb } from './test-db';

export const MIGRATIONS_DIR = resolve(__dirname, '..', '..', 'prisma', 'migrations');
export const RUNBOOKS = loadRunbookLibrary(resolve(__dirname, '..', '..', 'runbooks'));
export const API_KEY = 'test-ingest-api-key-0123456789';
export const SIGNING_SECRET = 'test-signing-secret-abcdef';
export const BOT_TOKEN = 'xoxb-test-token';
export const DEFAULT_CHANNEL = 'C0DEFAULT01';
export const SECURITY_CHANNEL = 'C0SECURITY1';
export const PROD_ACCOUNT = '123456789012';
export const PROD_CHANNEL = 'C0PROD00001';
export const DISABLED_ACCOUNT = '210987654321';

export const ACCOUNTS_YAML = `
- accountID: "${PROD_ACCOUNT}"
  slackConfig:
    channelID: ${PROD_CHANNEL}
    channelName: aws-prod
    enabled: true
    webhookOverrides: []
- accountID: "${DISABLED_ACCOUNT}"
  slackConfig:
    channelID: C0DISABLED1
    enabled: false
    webhookOverrides: []
`;

export interface Harness {
  app: KanshiApp;
  db: TestDb;
  slack: FakeSlack;
  baseUrl: string;
  logs: string[];
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<Response>;
  ingest(event: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  /**
   * Stops the app only (the database and fake Slack stay), as a process
   * restart would; the new process runs the worker.
   */
  restart(overrides?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  runWorker?: boolean;
  db?: TestDb;
  slack?: FakeSlack;
  /** Build the app against this database instead (e.g. one that is down). */
  database?: Database;
  /** Kanshi's clock (silence expiry, nudges, stats); the job queue still runs on the database's clock. */
  clock?: Clock;
  /** Rules text (YAML, as in config/rules.yml); compiled once per app. */
  rules?: string;
  /** OU routes (YAML, as in config/ou-routes.yml). */
  ouRoutes?: string;
  /** The AWS Organizations listing (e.g. AwsOrgDirectory over aws-sdk-client-mock). */
  orgDirectory?: OrgDirectory;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const db = opts.db ?? (await createTestDb());
  const slack = opts.slack ?? new FakeSlack({ token: BOT_TOKEN });
  if (!opts.slack) await slack.start();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });

  const rules = opts.rules === undefined ? undefined : compileRules(parseYaml(opts.rules), 'rules.yml');
  const make = (extra: Record<string, string> = {}, runWorker = opts.runWorker ?? true): KanshiApp => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_TIMEOUT_MS: '2000',
      SLACK_CHANNEL_INTERVAL_MS: '0',
      INGEST_API_KEY: API_KEY,
      DEFAULT_CHANNEL_ID: DEFAULT_CHANNEL,
      SECURITY_CHANNEL_ID: SECURITY_CHANNEL,
      DATABASE_URL: db.url,
      WORKER_POLL_MS: '50',
      // No AWS calls unless a test mocks them and turns this on.
      INVESTIGATION: 'off',
      LOG_LEVEL: 'debug',
      ...opts.env,
      ...extra,
    });
    return buildApp({
      config,
      db: opts.database ?? db,
      routing: new RoutingTable(
        parseAccountsFile(ACCOUNTS_YAML, 'accounts.yml'),
        DEFAULT_CHANNEL,
        opts.ouRoutes ? parseOuRoutesFile(opts.ouRoutes, 'ou-routes.yml') : [],
      ),
      rules: rules ? () => rules : undefined,
      orgDirectory: opts.orgDirectory,
      clock: opts.clock,
      runbooks: RUNBOOKS,
      logger: createLogger('debug', sink),
      migrationsDir: MIGRATIONS_DIR,
      runWorker,
    });
  };

  let app = make();
  let { port } = await app.start(0);
  const harness: Harness = {
    get app() {
      return app;
    },
    db,
    slack,
    get baseUrl() {
      return `http://127.0.0.1:${port}`;
    },
    logs,
    post(path, body, headers = {}) {
      return fetch(`${harness.baseUrl}${path}`, { method: 'POST', body, headers });
    },
    async ingest(event, headers = {}) {
      const res = await harness.post('/ingest/eventbridge', JSON.stringify(event), {
        'content-type': 'application/json; charset=utf-8',
        'x-api-key': API_KEY,
        'user-agent': 'Amazon/EventBridge/ApiDestinations',
        ...headers,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async restart(overrides = {}) {
      await app.stop();
      app = make(overrides, true);
      ({ port } = await app.start(0));
    },
    async close() {
      await app.stop();
      if (!opts.slack) await slack.stop();
      if (!opts.db) await db.drop();
    },
  };
  return harness;
}

/** Signs a Slack request the way Slack does (v0 HMAC-SHA256 over `v0:ts:body`). */
export function slackSignature(body: string, timestamp: number, secret = SIGNING_SECRET): string {
  return sign(body, timestamp, secret);
}

export function signedSlackHeaders(body: string, contentType: string, at = Math.floor(Date.now() / 1000)) {
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': slackSignature(body, at),
  };
}

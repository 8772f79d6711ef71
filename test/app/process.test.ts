/**
 * Kanshi as a process (node dist/app/main.js), for what only the entry point
 * does: refusing to start on an invalid rules file, naming the rule and field;
 * reloading rules when the file changes or on SIGHUP; keeping the previous
 * rules when a reload is invalid, and saying why in the log and the security
 * channel; draining on SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeSlack } from '../fakes/fake-slack';
import {
  API_KEY,
  BOT_TOKEN,
  DEFAULT_CHANNEL,
  PROD_ACCOUNT,
  SECURITY_CHANNEL,
  SIGNING_SECRET,
} from '../support/app-harness';
import { freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { wrapFinding } from '../support/fixtures';
import { listeningPort, REPO_ROOT, spawnKanshi } from '../support/kanshi-process';
import { createTestDb, type TestDb } from '../support/test-db';

const SUPPRESS_MALICIOUS_IP = `rules:
  - name: lab-traffic
    description: The lab account talks to the threat-list IPs on purpose.
    match:
      types: ["UnauthorizedAccess:EC2/MaliciousIPCaller.Custom"]
    suppress: { reason: "lab exercise" }
`;
const BROKEN = `rules:
  - name: lab-traffic
    description: A typo in the field name.
    match:
      typez: ["UnauthorizedAccess:EC2/*"]
    suppress: { reason: "lab exercise" }
`;

describe('Kanshi as a process', () => {
  let db: TestDb;
  let slack: FakeSlack;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    // The entry point runs from dist/: build it (npm test has usually done so already).
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: REPO_ROOT,
        stdio: 'ignore',
      },
    );
    db = await createTestDb();
    slack = new FakeSlack({ token: BOT_TOKEN });
    await slack.start();
    dir = mkdtempSync(join(tmpdir(), 'kanshi-rules-'));
    env = {
      DATABASE_URL: db.url,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_CHANNEL_INTERVAL_MS: '0',
      INGEST_API_KEY: API_KEY,
      DEFAULT_CHANNEL_ID: DEFAULT_CHANNEL,
      SECURITY_CHANNEL_ID: SECURITY_CHANNEL,
      INVESTIGATION: 'off',
      WORKER_POLL_MS: '50',
      PORT: '0',
      RULES_FILE: join(dir, 'rules.yml'),
      LOG_LEVEL: 'info',
    };
  }, 120_000);

  afterAll(async () => {
    await slack.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start on an invalid rules file, naming the rule and the field', async () => {
    writeFileSync(env.RULES_FILE as string, BROKEN);
    const run = spawnKanshi(env);
    expect(await run.exited).toBe(1);
    expect(run.out()).toContain('rule "lab-traffic"');
    expect(run.out()).toContain('typez');
  }, 30_000);

  it('reloads rules on a file change and on SIGHUP, and keeps the previous rules when a reload is invalid', async () => {
    writeFileSync(env.RULES_FILE as string, SUPPRESS_MALICIOUS_IP);
    const run = spawnKanshi(env);
    try {
      const port = await listeningPort(run, 20_000);
      const ingest = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/ingest/eventbridge`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: JSON.stringify(wrapFinding(freshFinding(PROD_ACCOUNT))),
        });
        expect(res.status).toBe(202);
        const { alertId } = (await res.json()) as { alertId: string };
        return (await db.pool.query('SELECT delivery FROM alert WHERE id = $1', [alertId])).rows[0]?.delivery;
      };
      expect(await ingest()).toBe('suppressed');

      // A broken edit: the previous rules stay, the log and the security channel say why.
      writeFileSync(env.RULES_FILE as string, BROKEN);
      const notice = await slack.waitFor(() => slack.messages(SECURITY_CHANNEL)[0], 10_000);
      expect(notice.text).toContain('is invalid, so Kanshi keeps the previous rules');
      expect(notice.text).toContain('typez');
      // The log line comes through a pipe and can arrive after the Slack notice.
      await eventually(async () => run.out().includes('rules file invalid; keeping the previous rules'), 10_000);
      expect(await ingest()).toBe('suppressed');

      // Fixed: the file change reloads it; the next finding is carded again.
      writeFileSync(env.RULES_FILE as string, 'rules: []\n');
      await eventually(async () => run.out().includes('"rules":0,'), 10_000);
      expect(await ingest()).toBe('card');

      // SIGHUP reloads too (here the same file, so the log says so a second time).
      const reloads = () => run.out().split('rules reloaded').length - 1;
      const before = reloads();
      run.child.kill('SIGHUP');
      await eventually(async () => reloads() > before, 10_000);
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
  }, 60_000);

  it('refuses the sandbox when real Slack credentials are configured', async () => {
    writeFileSync(env.RULES_FILE as string, 'rules: []\n');
    const run = spawnKanshi({ ...env, SANDBOX: '1', SANDBOX_PORT: '0' });
    expect(await run.exited).toBe(1);
    expect(run.out()).toContain('refuses to run with real Slack credentials');
  }, 30_000);

  it('runs the sandbox with SANDBOX=1: the page, its local Slack, and Kanshi carding the replayed samples', async () => {
    writeFileSync(env.RULES_FILE as string, 'rules: []\n');
    const { SLACK_BOT_TOKEN: _t, SLACK_SIGNING_SECRET: _s, SLACK_API_URL: _u, ...rest } = env;
    const run = spawnKanshi({ ...rest, SANDBOX: '1', SANDBOX_PORT: '0' });
    try {
      const page = await eventually(async () => /Kanshi sandbox: open (http:\S+)/.exec(run.out())?.[1], 20_000);
      const html = await fetch(page);
      expect(html.status).toBe(200);
      expect(await html.text()).toContain('/sandbox/app.js');
      const api = page.replace(/\/sandbox$/, '/sandbox/api');
      const replay = (await (await fetch(`${api}/replay`, { method: 'POST', body: '{}' })).json()) as {
        results: Array<{ status: number; body: { alertId?: string } }>;
      };
      expect(replay.results.length).toBeGreaterThan(0);
      expect(replay.results.every((r) => r.status === 202)).toBe(true);
      const ids = replay.results.map((r) => String(r.body.alertId));
      // The replayed alerts' own cards: the database is this file's, so a card job left by an
      // earlier test's process (killed before it posted) may be carded here too.
      const carded = await eventually(async () => {
        const state = (await (await fetch(`${api}/state?user=U0OWNER001`)).json()) as {
          messages: Record<string, Array<{ blocks: unknown }>>;
        };
        const cards = Object.values(state.messages)
          .flat()
          .map((m) => JSON.stringify(m))
          .filter((m) => m.includes('kanshi_card_header'));
        const n = ids.filter((id) => cards.filter((c) => c.includes(id)).length === 1).length;
        return n === ids.length && n;
      }, 20_000);
      expect(carded).toBe(ids.length);
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
  }, 60_000);
});

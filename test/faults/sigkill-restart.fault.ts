/**
 * Fault 2: Kanshi is killed with SIGKILL mid-stream and started again.
 *
 * Kanshi runs as a real process (node dist/app/main.js) against a test
 * database, the fake Slack of this test and a fake STS + GuardDuty
 * (fake-aws.ts). Slack is made slow (every chat.postMessage answers after
 * 300 ms, and is applied even when the caller has gone), so at the kill
 * there are cards posted, cards in flight and cards not started; nudges are
 * due (NUDGE_AFTER_MEDIUM=2s); and an ArchiveFindings call hangs in GuardDuty.
 *
 * After the restart: every acknowledged finding is stored and carded exactly
 * once; each open alert gets each nudge step exactly once in its thread (and
 * one escalation card); every archive asked for is applied in GuardDuty
 * exactly once, and one recorded before the kill is never sent again.
 *
 * SIGKILL leaves the jobs the dead process had claimed 'running' until their
 * claim lock (120 s, app/jobs/runner.ts) expires. The short form moves that
 * expiry to now before the restart, as if the time had passed; the full form
 * (FAULTS_FULL=1) waits for it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeMessage } from '../../app/sandbox/local-slack';
import { ACTION_IDS } from '../../app/slack/ids';
import { FakeSlack } from '../fakes/fake-slack';
import {
  API_KEY,
  BOT_TOKEN,
  DEFAULT_CHANNEL,
  SECURITY_CHANNEL,
  SIGNING_SECRET,
  signedSlackHeaders,
} from '../support/app-harness';
import { freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { wrapFinding } from '../support/fixtures';
import { type KanshiProcess, listeningPort, spawnKanshi } from '../support/kanshi-process';
import { createTestDb, type TestDb } from '../support/test-db';
import { FakeAws } from './fake-aws';
import {
  cardsByAlert,
  checkDelivery,
  type DeliveryCheck,
  deliveryFigures,
  expectStoredAndCardedOnce,
  FULL,
  is2xx,
  postEvent,
  printResult,
  type Sent,
  shortOrFull,
  sleep,
  waitForCards,
  waitForQuietQueue,
} from './scenario-support';

const JOB_LOCK_MS = 120_000;
const ADMIN_ROLE_ARN = 'arn:aws:iam::111122223333:role/KanshiGuardDutyAdmin';

/** Three accounts with a channel each: three card lanes. */
const ACCOUNTS = [
  { id: '300000000001', channel: 'C0FAULTS0001' },
  { id: '300000000002', channel: 'C0FAULTS0002' },
  { id: '300000000003', channel: 'C0FAULTS0003' },
];
const ACCOUNTS_YAML = ACCOUNTS.map(
  (a) => `- accountID: "${a.id}"
  slackConfig:
    channelID: ${a.channel}
    channelName: faults-${a.id}
    enabled: true
    webhookOverrides: []
`,
).join('');

const PER_ACCOUNT = shortOrFull(20, 60);
const SLACK_DELAY_MS = 300;
const NUDGE_AFTER_MS = 2000;

type Kanshi = KanshiProcess & { port: number };

async function startKanshi(env: Record<string, string>): Promise<Kanshi> {
  const k = spawnKanshi(env);
  return { ...k, port: await listeningPort(k, 30_000) };
}

/** `/alert archive <id> false_positive <reason>`, signed as Slack signs it. */
async function archiveBySlashCommand(port: number, slack: FakeSlack, alertId: string): Promise<number> {
  const body = new URLSearchParams({
    command: '/alert',
    text: `archive ${alertId} false_positive traffic from our own scanner VPC`,
    team_id: 'T0TEST',
    channel_id: DEFAULT_CHANNEL,
    user_id: 'U0ALICE0001',
    user_name: 'alice',
    response_url: `${slack.apiUrl}response/${alertId}`,
    trigger_id: `trigger-${alertId}`,
  }).toString();
  const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: 'POST',
    body,
    headers: signedSlackHeaders(body, 'application/x-www-form-urlencoded'),
  });
  return res.status;
}

const NUDGE_1 = 'this alert has not been acknowledged after';
const NUDGE_2 = 'nobody has acknowledged this after';

function isCardPost(args: Record<string, unknown>): boolean {
  return (args.metadata as { event_type?: string } | undefined)?.event_type === 'kanshi_alert' && !args.thread_ts;
}

interface Outcome {
  sent: Sent[];
  delivery: DeliveryCheck;
  missing: number;
  groupA: string[];
  groupB: string[];
  open: string[];
  findingOf: Map<string, string>;
  nudges: Map<string, { step1: number; step2: number }>;
  escalationCards: Map<string, number>;
  archive: Map<string, { received: number; ok: number; archived: boolean }>;
  killedBy: NodeJS.Signals | number | null;
  failedJobs: Array<{ kind: string; last_error: string }>;
  quiet: number;
}

async function run(): Promise<Outcome> {
  const db: TestDb = await createTestDb();
  const slack = new FakeSlack({ token: BOT_TOKEN });
  await slack.start();
  const aws = new FakeAws();
  await aws.start();
  const dir = mkdtempSync(join(tmpdir(), 'kanshi-faults-kill-'));
  writeFileSync(join(dir, 'accounts.yml'), ACCOUNTS_YAML);
  writeFileSync(join(dir, 'rules.yml'), 'rules: []\n');
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_CHANNEL_INTERVAL_MS: '0',
    SLACK_TIMEOUT_MS: '5000',
    INGEST_API_KEY: API_KEY,
    DEFAULT_CHANNEL_ID: DEFAULT_CHANNEL,
    SECURITY_CHANNEL_ID: SECURITY_CHANNEL,
    ACCOUNTS_FILE: join(dir, 'accounts.yml'),
    RULES_FILE: join(dir, 'rules.yml'),
    STORM_THRESHOLD: '0',
    INVESTIGATION: 'off',
    // The fixture finding is Medium: nudged after 2 s, then again (and escalated) after 4 s.
    NUDGE_AFTER_MEDIUM: `${NUDGE_AFTER_MS / 1000}s`,
    WORKER_POLL_MS: '50',
    // Room beside the three card lanes and the hanging GuardDuty sync for nudges to run.
    WORKER_CONCURRENCY: '8',
    PORT: '0',
    LOG_LEVEL: 'info',
    GUARDDUTY_ADMIN_ROLE_ARN: ADMIN_ROLE_ARN,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAULTS000001',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-key',
    AWS_ENDPOINT_URL_STS: aws.url,
    AWS_ENDPOINT_URL_GUARDDUTY: aws.url,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  let kanshi: Kanshi | undefined;
  try {
    kanshi = await startKanshi(env);
    const first = kanshi;
    const ingest = (account: string) => postEvent(`http://127.0.0.1:${first.port}`, wrapFinding(freshFinding(account)));

    // Group A: archived, and recorded as archived in GuardDuty, before the kill.
    const a = await Promise.all(ACCOUNTS.map((acc) => ingest(acc.id)));
    const groupA = a.map((s) => String(s.alertId));
    for (const id of groupA) expect(await archiveBySlashCommand(first.port, slack, id)).toBe(200);
    await eventually(async () => {
      const r = await db.pool.query('SELECT count(*)::int AS n FROM alert WHERE id = ANY($1::uuid[]) AND gd_archived', [
        groupA,
      ]);
      return r.rows[0]?.n === groupA.length;
    }, 20_000);

    // Slack slow, GuardDuty hanging; a burst of findings; group B asked to be archived.
    slack.failAlways('chat.postMessage', { kind: 'delay', ms: SLACK_DELAY_MS });
    aws.archiveMode = { kind: 'hang' };
    const ingestedAt = Date.now();
    const burst = await Promise.all(
      Array.from({ length: PER_ACCOUNT * ACCOUNTS.length }, (_, i) => ingest(ACCOUNTS[i % ACCOUNTS.length]?.id ?? '')),
    );
    const groupB = burst.slice(0, ACCOUNTS.length).map((s) => String(s.alertId));
    for (const id of groupB) expect(await archiveBySlashCommand(first.port, slack, id)).toBe(200);

    // Kill when nudges are due, an ArchiveFindings call hangs, and a card post is in flight
    // (preferably with a nudge reply in flight too).
    const inFlight = (pred: (args: Record<string, unknown>) => boolean) =>
      slack.calls.some((c) => c.method === 'chat.postMessage' && c.status === undefined && pred(c.args));
    const nudgeInFlight = () =>
      inFlight((args) => typeof args.text === 'string' && (args.text.includes(NUDGE_1) || args.text.includes(NUDGE_2)));
    const killDeadline = ingestedAt + NUDGE_AFTER_MS + 8000;
    for (;;) {
      const due = Date.now() > ingestedAt + NUDGE_AFTER_MS + 300;
      const hung = aws.archiveCalls.some((c) => c.outcome === 'pending');
      const cardFlying = inFlight(isCardPost);
      const ready = due && hung && cardFlying && (nudgeInFlight() || Date.now() > ingestedAt + NUDGE_AFTER_MS + 1500);
      if (ready || Date.now() > killDeadline) break;
      await sleep(5);
    }
    const atKill = {
      cardsPosted: [...cardsByAlert(slack).keys()].length,
      cardPostsInFlight: slack.calls.filter(
        (c) => c.method === 'chat.postMessage' && c.status === undefined && isCardPost(c.args),
      ).length,
      nudgesInFlight: slack.calls.filter(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.status === undefined &&
          typeof c.args.text === 'string' &&
          (c.args.text.includes(NUDGE_1) || c.args.text.includes(NUDGE_2)),
      ).length,
      archiveHung: aws.archiveCalls.filter((c) => c.outcome === 'pending').length,
    };
    first.child.kill('SIGKILL');
    const killedBy = await first.exited;
    const runningAtKill = await db.pool.query<{ kind: string; n: number }>(
      `SELECT kind, count(*)::int AS n FROM job WHERE status = 'running' GROUP BY kind ORDER BY kind`,
    );

    // Slack and GuardDuty healthy again; what Slack was still delaying is applied.
    slack.clearFailures();
    aws.archiveMode = { kind: 'ok' };
    await sleep(SLACK_DELAY_MS + 200);
    if (!FULL) {
      // The dead process's claims, as if their 120 s lock had run out.
      await db.pool.query(
        `UPDATE job SET locked_until = now() - interval '1 second' WHERE status = 'running' AND locked_until > now()`,
      );
    }

    kanshi = await startKanshi(env);
    const sent = [...a, ...burst];
    const open = burst.slice(ACCOUNTS.length).map((s) => String(s.alertId));
    const wait = FULL ? JOB_LOCK_MS + 60_000 : 40_000;
    const missing = await waitForCards(slack, sent, wait, 0);
    await eventually(async () => {
      const r = await db.pool.query(
        `SELECT count(*)::int AS n FROM alert WHERE id = ANY($1::uuid[]) AND NOT gd_archived`,
        [groupB],
      );
      return r.rows[0]?.n === 0;
    }, wait).catch(() => undefined);
    // Step 2 of the nudges (and the escalation it starts) is due 4 s after ingest.
    await sleep(Math.max(0, ingestedAt + 2 * NUDGE_AFTER_MS + 1000 - Date.now()));
    const quiet = await waitForQuietQueue(db.pool, wait);
    await sleep(1500);

    const findingOf = new Map(sent.map((s) => [String(s.alertId), s.findingId]));
    const cards = cardsByAlert(slack);
    const nudges = new Map<string, { step1: number; step2: number }>();
    for (const id of [...groupA, ...groupB, ...open]) {
      const card = cards.get(id)?.[0];
      const replies: FakeMessage[] = card ? slack.replies(card.channel, card.ts) : [];
      nudges.set(id, {
        step1: replies.filter((m) => m.text?.includes(NUDGE_1)).length,
        step2: replies.filter((m) => m.text?.includes(NUDGE_2)).length,
      });
    }
    const escalationCards = new Map<string, number>();
    for (const id of open) {
      escalationCards.set(
        id,
        slack.messages(SECURITY_CHANNEL).filter((m) => {
          const blocks = JSON.stringify(m.blocks ?? []);
          return blocks.includes(`"action_id":"${ACTION_IDS.take}"`) && blocks.includes(`"value":"${id}"`);
        }).length,
      );
    }
    const archivedRows = await db.pool.query<{ id: string; gd_archived: boolean }>(
      'SELECT id::text AS id, gd_archived FROM alert WHERE id = ANY($1::uuid[])',
      [[...groupA, ...groupB]],
    );
    const archive = new Map(
      archivedRows.rows.map((r) => [r.id, { ...aws.callsFor(findingOf.get(r.id) ?? ''), archived: r.gd_archived }]),
    );
    const failedJobs = (
      await db.pool.query<{ kind: string; last_error: string }>(
        `SELECT kind, last_error FROM job WHERE status = 'failed'`,
      )
    ).rows;
    const delivery = await checkDelivery(db.pool, slack, sent);

    const n1 = open.map((id) => nudges.get(id)?.step1 ?? 0);
    const n2 = open.map((id) => nudges.get(id)?.step2 ?? 0);
    const esc = open.map((id) => escalationCards.get(id) ?? 0);
    const count = (xs: number[], n: number) => xs.filter((x) => x === n).length;
    printResult('sigkill-restart', [
      `${sent.length} sent`,
      `at the kill: ${atKill.cardsPosted} cards posted, ${atKill.cardPostsInFlight} card posts and ${atKill.nudgesInFlight} nudges in flight, ${atKill.archiveHung} ArchiveFindings hung, jobs running ${runningAtKill.rows.map((r) => `${r.kind}×${r.n}`).join(' ') || 'none'}`,
      ...deliveryFigures(delivery),
      `nudge step 1 once/twice/never: ${count(n1, 1)}/${count(n1, 2)}/${count(n1, 0)} of ${open.length} open alerts`,
      `step 2: ${count(n2, 1)}/${count(n2, 2)}/${count(n2, 0)}`,
      `escalation cards once/more/none: ${count(esc, 1)}/${esc.filter((x) => x > 1).length}/${count(esc, 0)}`,
      `archived before the kill: ${groupA.filter((id) => archive.get(id)?.received === 1).length}/${groupA.length} sent to GuardDuty once`,
      `archived across the kill: ${groupB.filter((id) => archive.get(id)?.ok === 1 && archive.get(id)?.archived).length}/${groupB.length} applied once (${groupB.map((id) => archive.get(id)?.received ?? 0).join('+')} calls received)`,
      `${failedJobs.length} failed jobs`,
      FULL ? 'locks expired by themselves' : 'locks of the dead process expired by the test',
    ]);
    return {
      sent,
      delivery,
      missing,
      groupA,
      groupB,
      open,
      findingOf,
      nudges,
      escalationCards,
      archive,
      killedBy,
      failedJobs,
      quiet,
    };
  } finally {
    if (kanshi && kanshi.child.exitCode === null && kanshi.child.signalCode === null) {
      kanshi.child.kill('SIGTERM');
      await kanshi.exited;
    }
    await slack.stop();
    await aws.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Kanshi killed with SIGKILL mid-stream and restarted', () => {
  let o: Outcome;
  beforeAll(
    async () => {
      o = await run();
    },
    shortOrFull(120_000, 600_000),
  );

  it('was really killed', () => {
    expect(o.killedBy).toBe('SIGKILL');
  });

  it('stores every acknowledged finding and cards it exactly once', () => {
    expect(o.sent.filter((s) => !is2xx(s)).map((s) => s.status)).toEqual([]);
    expectStoredAndCardedOnce(o.delivery, o.missing, o.sent.length);
  });

  it('finishes its work after the restart', () => {
    expect(o.quiet).toBe(0);
    expect(o.failedJobs).toEqual([]);
  });

  it('nudges each open alert once per step, and escalates it once', () => {
    const per = (step: 'step1' | 'step2') => o.open.filter((id) => o.nudges.get(id)?.[step] !== 1);
    expect(per('step1')).toEqual([]);
    expect(per('step2')).toEqual([]);
    expect(o.open.filter((id) => o.escalationCards.get(id) !== 1)).toEqual([]);
  });

  it('archives in GuardDuty exactly once: never again after a recorded archive, once after the restart', () => {
    expect(o.groupA.filter((id) => o.archive.get(id)?.received !== 1 || !o.archive.get(id)?.archived)).toEqual([]);
    expect(o.groupB.filter((id) => o.archive.get(id)?.ok !== 1 || !o.archive.get(id)?.archived)).toEqual([]);
  });
});

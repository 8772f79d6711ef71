/**
 * Fault 3: Slack answers 429 with Retry-After, 500s and 503s, internal_error,
 * slow answers past Kanshi's timeout (applied by Slack all the same) and no
 * answer at all, in turns, for a while (short: 10 s; full: 60 s), while
 * findings keep arriving. Then Slack recovers.
 *
 * Ingest must not notice (Slack is never on the request path), and every
 * card must arrive exactly once afterwards: a post whose outcome Kanshi could
 * not know is looked up in the channel's history by its metadata before it
 * is posted again.
 */
import type { Failure } from '../../app/sandbox/local-slack';
import { type Harness, startHarness } from '../support/app-harness';
import { freshFinding } from '../support/cards';
import { wrapFinding } from '../support/fixtures';
import {
  accountsWithChannels,
  checkDelivery,
  type DeliveryCheck,
  deliveryFigures,
  expectStoredAndCardedOnce,
  is2xx,
  printResult,
  type Sent,
  sendAtRate,
  shortOrFull,
  sleep,
  waitForCards,
} from './scenario-support';

const RATE_PER_S = 10;
const BEFORE_S = shortOrFull(2, 5);
const OUTAGE_S = shortOrFull(10, 60);
const AFTER_S = shortOrFull(3, 10);
const SLACK_TIMEOUT_MS = 1000;
const TURN_MS = 250;

/** The outage's repertoire, in turns. */
const MIX: Array<{ name: string; failure: Failure }> = [
  { name: '429', failure: { kind: 'ratelimited', retryAfter: 1 } },
  // Answered after Kanshi gave up: the message is posted, but Kanshi cannot know.
  { name: 'timeout (applied)', failure: { kind: 'delay', ms: SLACK_TIMEOUT_MS + 500 } },
  { name: '500', failure: { kind: 'http', status: 500 } },
  { name: 'timeout (applied)', failure: { kind: 'delay', ms: SLACK_TIMEOUT_MS + 500 } },
  { name: '503', failure: { kind: 'http', status: 503 } },
  { name: 'internal_error', failure: { kind: 'error', error: 'internal_error' } },
  { name: 'timeout (no answer)', failure: { kind: 'hang' } },
];
const METHODS = ['chat.postMessage', 'chat.update', 'conversations.history'];

interface Outcome {
  sent: Sent[];
  delivery: DeliveryCheck;
  missing: number;
}

async function run(): Promise<Outcome> {
  const { accounts, rules } = accountsWithChannels(8, 5);
  const h: Harness = await startHarness({
    rules,
    env: { STORM_THRESHOLD: '0', SLACK_TIMEOUT_MS: String(SLACK_TIMEOUT_MS), LOG_LEVEL: 'info' },
  });
  try {
    const total = RATE_PER_S * (BEFORE_S + OUTAGE_S + AFTER_S);
    const events = Array.from({ length: total }, (_, i) => wrapFinding(freshFinding(accounts[i % accounts.length])));
    const turns: Array<{ from: number; to: number; name: string }> = [];
    let outage: Promise<void> | undefined;
    const sent = await sendAtRate(
      () => h.baseUrl,
      events,
      RATE_PER_S,
      (i) => {
        if (i !== BEFORE_S * RATE_PER_S) return;
        outage = (async () => {
          const end = Date.now() + OUTAGE_S * 1000;
          for (let turn = 0; Date.now() < end; turn++) {
            const { name, failure } = MIX[turn % MIX.length] ?? { name: 'none', failure: { kind: 'delay', ms: 0 } };
            h.slack.clearFailures();
            for (const method of METHODS) h.slack.failAlways(method, failure);
            const from = Date.now();
            await sleep(TURN_MS);
            turns.push({ from, to: Date.now(), name });
          }
          h.slack.clearFailures();
        })();
      },
    );
    await outage;
    const outageEnd = turns[turns.length - 1]?.to ?? Date.now();
    const missing = await waitForCards(h.slack, sent, shortOrFull(90_000, 240_000), 2000);
    const delivery = await checkDelivery(h.db.pool, h.slack, sent);

    const kindOf = (at: number) => turns.find((t) => at >= t.from && at < t.to)?.name;
    const failed = new Map<string, number>();
    for (const c of h.slack.calls) {
      if (!METHODS.includes(c.method)) continue;
      const kind = kindOf(c.at);
      if (kind) failed.set(kind, (failed.get(kind) ?? 0) + 1);
    }
    const latencies = sent.map((s) => s.ms).sort((x, y) => x - y);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    const lastCardAt = Math.max(
      ...h.slack
        .allMessages()
        .filter((m) => !m.thread_ts)
        .map((m) => Number(m.ts) * 1000),
    );
    printResult('slack-outage', [
      `${sent.length} sent at ${RATE_PER_S}/s`,
      `Slack failing ${OUTAGE_S} s`,
      `Slack answered ${[...failed].map(([k, n]) => `${n} × ${k}`).join(', ')}`,
      `${h.slack.callsTo('conversations.history').length} history lookups`,
      `ingest p99 ${p99} ms`,
      ...deliveryFigures(delivery),
      `last card ${((lastCardAt - outageEnd) / 1000).toFixed(1)} s after Slack recovered`,
    ]);
    return { sent, delivery, missing };
  } finally {
    await h.close();
  }
}

describe('Slack answering 429, 5xx and timeouts for a while', () => {
  let o: Outcome;
  beforeAll(
    async () => {
      o = await run();
    },
    shortOrFull(150_000, 600_000),
  );

  it('keeps taking findings while Slack fails', () => {
    expect(o.sent.filter((s) => !is2xx(s)).map((s) => s.status)).toEqual([]);
  });

  it('stores every acknowledged finding and cards it exactly once after Slack recovers', () => {
    expectStoredAndCardedOnce(o.delivery, o.missing, o.sent.length);
  });
});

/**
 * Fault 5: at-least-once, unordered delivery. Each finding comes in one to
 * four versions (GuardDuty updates: same detail.id, later updatedAt, higher
 * service.count, each in a new envelope); 30% of the events are delivered
 * twice; the stream is shuffled, so updates often arrive before the versions
 * they replace; eight requests are in flight at a time.
 *
 * Expected: exactly one alert and one card per finding id, every version kept
 * as a finding_event, and the alert and its card showing the newest version.
 */
import { randomUUID } from 'node:crypto';
import { startHarness } from '../support/app-harness';
import { freshFinding } from '../support/cards';
import { type Json, wrapFinding } from '../support/fixtures';
import {
  accountsWithChannels,
  cardsByAlert,
  checkDelivery,
  type DeliveryCheck,
  deliveryFigures,
  is2xx,
  postEvent,
  printResult,
  type Sent,
  shortOrFull,
  sleep,
} from './scenario-support';

const FINDINGS = shortOrFull(300, 2000);
const DUPLICATED = 0.3;
const CONCURRENCY = 8;
const SEED = Number(process.env.FAULTS_SEED ?? 20261122);

/** A small seeded PRNG (mulberry32), so a failing order can be replayed with FAULTS_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Version {
  findingId: string;
  count: number;
  updatedAt: string;
}

interface Outcome {
  sent: Sent[];
  delivery: DeliveryCheck;
  newest: Map<string, Version>;
  versions: number;
  alertsPerFinding: Map<string, number>;
  eventsPerFinding: Map<string, number>;
  alertNewest: Map<string, { count: number; updatedAt: string }>;
  cardCount: Map<string, string | undefined>;
  statuses: Map<string, number>;
  lagging: number;
}

async function run(): Promise<Outcome> {
  const { accounts, rules } = accountsWithChannels(8, 6);
  const h = await startHarness({ rules, env: { STORM_THRESHOLD: '0', LOG_LEVEL: 'info' } });
  try {
    const random = prng(SEED);
    const base = Date.parse('2026-11-01T00:00:00.000Z');
    const events: Json[] = [];
    const newest = new Map<string, Version>();
    for (let i = 0; i < FINDINGS; i++) {
      const first = freshFinding(accounts[i % accounts.length]);
      const findingId = String(first.id);
      const versions = 1 + Math.floor(random() * 4);
      for (let v = 1; v <= versions; v++) {
        const updatedAt = new Date(base + i * 1000 + v * 3_600_000).toISOString();
        const service = { ...(first.service as Json), count: v };
        events.push(wrapFinding({ ...first, updatedAt, service }, { id: randomUUID() }));
        newest.set(findingId, { findingId, count: v, updatedAt });
      }
    }
    const versions = events.length;
    // EventBridge redelivers the same envelope.
    for (const e of events.slice(0, versions)) if (random() < DUPLICATED) events.push(structuredClone(e));
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [events[i], events[j]] = [events[j] as Json, events[i] as Json];
    }

    const sent: Sent[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < events.length) {
          const e = events[next++] as Json;
          sent.push(await postEvent(h.baseUrl, e));
        }
      }),
    );

    // Wait until every card shows its alert's latest revision.
    const deadline = Date.now() + shortOrFull(60_000, 300_000);
    let lagging = Number.POSITIVE_INFINITY;
    while (Date.now() < deadline) {
      const r = await h.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM alert WHERE card_ts IS NULL OR card_revision < revision`,
      );
      lagging = r.rows[0]?.n ?? 0;
      if (lagging === 0) break;
      await sleep(200);
    }
    await sleep(1500);

    const perFinding = async (sql: string) =>
      new Map(
        (await h.db.pool.query<{ finding_id: string; n: number }>(sql)).rows.map((r) => [r.finding_id, r.n] as const),
      );
    const alertsPerFinding = await perFinding('SELECT finding_id, count(*)::int AS n FROM alert GROUP BY finding_id');
    const eventsPerFinding = await perFinding(
      'SELECT finding_id, count(*)::int AS n FROM finding_event GROUP BY finding_id',
    );
    const alertRows = await h.db.pool.query<{ id: string; finding_id: string; count: number; updated_at: Date }>(
      'SELECT id::text AS id, finding_id, count, finding_updated_at AS updated_at FROM alert',
    );
    const alertNewest = new Map(
      alertRows.rows.map((r) => [r.finding_id, { count: r.count, updatedAt: r.updated_at.toISOString() }]),
    );
    const cards = cardsByAlert(h.slack);
    const cardCount = new Map<string, string | undefined>();
    for (const r of alertRows.rows) {
      const fields = (cards.get(r.id)?.[0]?.blocks ?? []).flatMap(
        (b) => ((b as { fields?: Array<{ text?: string }> }).fields ?? []) as Array<{ text?: string }>,
      );
      const count = fields.find((f) => f.text?.startsWith('*Count*\n'))?.text?.slice('*Count*\n'.length);
      cardCount.set(r.finding_id, count);
    }
    const statuses = new Map<string, number>();
    for (const s of sent) {
      const k = s.ingestStatus ?? String(s.status);
      statuses.set(k, (statuses.get(k) ?? 0) + 1);
    }
    const delivery = await checkDelivery(h.db.pool, h.slack, sent);
    const showsNewest = [...newest.values()].filter(
      (v) => cardCount.get(v.findingId) === String(v.count) && alertNewest.get(v.findingId)?.updatedAt === v.updatedAt,
    ).length;
    printResult('duplicates-out-of-order', [
      `${FINDINGS} findings in ${versions} versions`,
      `${sent.length} events sent (${sent.length - versions} redelivered, shuffled with seed ${SEED}, ${CONCURRENCY} in flight)`,
      `answers ${[...statuses].map(([k, n]) => `${n} ${k}`).join(', ')}`,
      `${[...alertsPerFinding.values()].filter((n) => n === 1).length} findings with one alert`,
      ...deliveryFigures(delivery),
      `${showsNewest}/${FINDINGS} cards show the newest version`,
    ]);
    return {
      sent,
      delivery,
      newest,
      versions,
      alertsPerFinding,
      eventsPerFinding,
      alertNewest,
      cardCount,
      statuses,
      lagging,
    };
  } finally {
    await h.close();
  }
}

describe('30% of events delivered twice, out of order', () => {
  let o: Outcome;
  beforeAll(
    async () => {
      o = await run();
    },
    shortOrFull(120_000, 600_000),
  );

  it('acknowledges every delivery, and some updates did arrive after newer ones', () => {
    expect(o.sent.filter((s) => !is2xx(s)).map((s) => s.status)).toEqual([]);
    expect(o.statuses.get('duplicate') ?? 0).toBeGreaterThan(0);
    expect(o.statuses.get('stale') ?? 0).toBeGreaterThan(0);
  });

  it('keeps exactly one alert per finding id, and every version as an event', () => {
    expect([...o.newest.keys()].filter((id) => o.alertsPerFinding.get(id) !== 1)).toEqual([]);
    expect([...o.newest.values()].filter((v) => o.eventsPerFinding.get(v.findingId) !== v.count)).toEqual([]);
    expect(o.delivery.lost).toEqual([]);
  });

  it('cards each finding exactly once', () => {
    expect(o.delivery.uncarded).toEqual([]);
    expect(o.delivery.carded).toBe(o.newest.size);
    expect(o.delivery.duplicates).toEqual([]);
  });

  it('shows the newest version on the alert and its card', () => {
    expect(o.lagging).toBe(0);
    const wrong = [...o.newest.values()].filter(
      (v) =>
        o.alertNewest.get(v.findingId)?.count !== v.count ||
        o.alertNewest.get(v.findingId)?.updatedAt !== v.updatedAt ||
        o.cardCount.get(v.findingId) !== String(v.count),
    );
    expect(wrong).toEqual([]);
  });
});

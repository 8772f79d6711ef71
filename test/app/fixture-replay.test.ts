/**
 * Every GuardDuty fixture, delivered twice in shuffled order (EventBridge is
 * at-least-once), plus newer updates of some: exactly one card per distinct
 * finding id, in the right channel, and updates edit those cards in place.
 */
import { parseTimestamp } from '../../app/domain/timestamps';
import { DEFAULT_CHANNEL, type Harness, PROD_ACCOUNT, PROD_CHANNEL, startHarness } from '../support/app-harness';
import { eventually } from '../support/eventually';
import { guardDutyFindings, type Json, wrapFinding } from '../support/fixtures';

function shuffled<T>(items: T[], seed: number): T[] {
  // A small deterministic PRNG, so a failure can be reproduced.
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('replaying every GuardDuty fixture twice, shuffled', () => {
  let h: Harness;
  beforeAll(async () => {
    // 58 findings reach the default channel at once: storm control would (rightly) digest them.
    h = await startHarness({ env: { WORKER_CONCURRENCY: '8', STORM_THRESHOLD: '0' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('yields one card per finding in its channel, with updates edited in place', async () => {
    const originals = guardDutyFindings().map((f) => f.finding);
    // A newer update for every third finding: a later updatedAt and a higher count.
    const updates = originals
      .filter((_, i) => i % 3 === 0)
      .map((f) => ({
        ...f,
        updatedAt: new Date(Date.parse(parseTimestamp(f.updatedAt) ?? '') + 3_600_000).toISOString(),
        service: { ...(f.service as Json), count: 4242 },
      }));
    const events = [...originals, ...updates].map((f) => wrapFinding(f));
    const deliveries = shuffled([...events, ...events.map((e) => ({ ...e, id: `${e.id}-redelivery` }))], 20261122);

    const statuses: Record<string, number> = {};
    for (const e of deliveries) {
      const res = await h.ingest(e);
      expect(res.status).toBe(202);
      const status = String(res.body.status);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    const distinct = new Set(originals.map((f) => String(f.id)));
    expect(statuses.accepted).toBe(distinct.size);

    // Wait until every card job has caught up.
    await eventually(async () => {
      const r = await h.db.pool.query(
        `SELECT count(*)::int AS n FROM job WHERE kind = 'card.sync' AND status <> 'done'`,
      );
      return r.rows[0].n === 0;
    }, 60_000);

    // Alert cards only: unrouted accounts also get one notice each in the security channel.
    const cards = h.slack
      .allMessages()
      .filter(
        (m) => !m.thread_ts && (m.metadata as { event_type?: string } | undefined)?.event_type === 'kanshi_alert',
      );
    const byAlert = new Map<string, number>();
    for (const c of cards) {
      const id = String((c.metadata as { event_payload: { alert_id: string } }).event_payload.alert_id);
      byAlert.set(id, (byAlert.get(id) ?? 0) + 1);
    }
    expect(cards).toHaveLength(distinct.size);
    expect([...byAlert.values()].every((n) => n === 1)).toBe(true);

    const alerts = await h.db.pool.query(
      'SELECT id::text, finding_id, account_id, card_channel_id, card_ts, count FROM alert',
    );
    expect(alerts.rows).toHaveLength(distinct.size);
    for (const a of alerts.rows) {
      const card = cards.find((c) => c.ts === a.card_ts && c.channel === a.card_channel_id);
      expect(card).toBeDefined();
      expect(a.card_channel_id).toBe(a.account_id === PROD_ACCOUNT ? PROD_CHANNEL : DEFAULT_CHANNEL);
    }
    const updatedIds = new Set(updates.map((u) => String((u as Json).id)));
    for (const a of alerts.rows.filter((r) => updatedIds.has(r.finding_id))) {
      expect(a.count).toBe(4242);
      const card = cards.find((c) => c.ts === a.card_ts);
      expect(JSON.stringify(card?.blocks)).toContain('*Count*\\n4242');
    }
  });
});

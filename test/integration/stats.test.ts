/** Alert statistics against real PostgreSQL: a known set of alerts, every figure checked by hand. */
import { PgStatsStore } from '../../app/adapters/db/stats-store';
import type { AlertStats } from '../../app/ports/stats-store';
import { createTestDb, type TestDb } from '../support/test-db';

// A fixed clock: nothing here depends on when the test runs.
const NOW = new Date('2026-11-22T12:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SINCE = new Date(NOW.getTime() - 7 * DAY);
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

const A = '111111111111';
const B = '222222222222';
const C = '333333333333';

const T1 = 'Recon:EC2/PortProbeUnprotectedPort';
const T2 = 'UnauthorizedAccess:EC2/SSHBruteForce';
const T3 = 'CryptoCurrency:EC2/BitcoinTool.B!DNS';
const T4 = 'Trojan:EC2/DNSDataExfiltration';
const T5 = 'Backdoor:EC2/C&CActivity.B';
const T6 = 'Policy:S3/BucketBlockPublicAccessDisabled';
const T7 = 'Discovery:S3/MaliciousIPCaller';

interface Seed {
  type: string;
  account: string;
  label: 'Critical' | 'High' | 'Medium' | 'Low';
  state: string;
  createdAt: Date;
  /** Minutes after arrival. */
  ackMin?: number;
  disposeMin?: number;
  category?: string;
  sample?: boolean;
}

const SCORE = { Critical: 9.5, High: 8.0, Medium: 5.0, Low: 2.0 } as const;

// In the window: arrivals spread over the two days before NOW.
const inWindow = (i: number) => at(NOW, -2 * DAY + i * HOUR);

/**
 * 18 alerts in the window. a1–a10 were acknowledged 1…10 minutes after
 * arrival; a10 was disposed of and then reopened by a newer update (open
 * again, but acknowledged once, so neither "unacknowledged" nor "resolved").
 */
const SEEDS: Seed[] = [
  { type: T1, account: A, label: 'High', state: 'acknowledged', createdAt: inWindow(1), ackMin: 1 },
  { type: T1, account: A, label: 'High', state: 'acknowledged', createdAt: inWindow(2), ackMin: 2 },
  { type: T1, account: A, label: 'Medium', state: 'acknowledged', createdAt: inWindow(3), ackMin: 3 },
  { type: T2, account: A, label: 'Medium', state: 'acknowledged', createdAt: inWindow(4), ackMin: 4 },
  { type: T2, account: B, label: 'Critical', state: 'escalated', createdAt: inWindow(5), ackMin: 5 },
  { type: T3, account: A, label: 'High', state: 'resolved', createdAt: inWindow(6), ackMin: 6, disposeMin: 30 },
  { type: T3, account: A, label: 'Low', state: 'resolved', createdAt: inWindow(7), ackMin: 7, disposeMin: 90 },
  {
    type: T4,
    account: A,
    label: 'Medium',
    state: 'archived',
    createdAt: inWindow(8),
    ackMin: 8,
    disposeMin: 120,
    category: 'false_positive',
  },
  {
    type: T4,
    account: A,
    label: 'Low',
    state: 'archived',
    createdAt: inWindow(9),
    ackMin: 9,
    disposeMin: 240,
    category: 'false_positive',
  },
  { type: T5, account: B, label: 'High', state: 'open', createdAt: inWindow(10), ackMin: 10, disposeMin: 60 },
  // Archived without being acknowledged first.
  {
    type: T6,
    account: C,
    label: 'Low',
    state: 'archived',
    createdAt: inWindow(11),
    disposeMin: 15,
    category: 'duplicate',
  },
  {
    type: T7,
    account: C,
    label: 'Medium',
    state: 'archived',
    createdAt: inWindow(12),
    disposeMin: 600,
    category: 'expected_activity',
  },
  { type: T6, account: B, label: 'Medium', state: 'archive_requested', createdAt: inWindow(13) },
  { type: T1, account: B, label: 'High', state: 'open', createdAt: inWindow(14) },
  { type: T2, account: B, label: 'Medium', state: 'open', createdAt: inWindow(15) },
  { type: T5, account: B, label: 'Low', state: 'open', createdAt: inWindow(16) },
  { type: T7, account: C, label: 'Medium', state: 'open', createdAt: inWindow(17) },
  // Exactly at `since`: the window includes its start.
  { type: T1, account: C, label: 'Critical', state: 'open', createdAt: SINCE },
];

/** Must never count. All Critical with their own types, so a leak shows in several figures. */
const EXCLUDED: Seed[] = [
  // A sample finding, in the window, acknowledged and archived.
  {
    type: 'Sample:EC2/Sample',
    account: A,
    label: 'Critical',
    state: 'archived',
    createdAt: inWindow(20),
    ackMin: 1000,
    disposeMin: 2000,
    category: 'false_positive',
    sample: true,
  },
  // Older than the window.
  { type: 'Old:EC2/Old', account: B, label: 'Critical', state: 'open', createdAt: at(SINCE, -1) },
  // Exactly at `until`: the window excludes its end.
  { type: 'Late:EC2/Late', account: C, label: 'Critical', state: 'open', createdAt: NOW },
];

describe('PgStatsStore', () => {
  let db: TestDb;
  let store: PgStatsStore;
  beforeAll(async () => {
    db = await createTestDb();
    store = new PgStatsStore(db.pool);
    let n = 0;
    for (const s of [...SEEDS, ...EXCLUDED]) {
      n += 1;
      await db.pool.query(
        `INSERT INTO alert (finding_id, source, finding_type, account_id, region, severity, severity_label, title,
           finding_updated_at, count, is_sample, finding, channel_id, state, created_at, updated_at, state_changed_at,
           acknowledged_at, disposed_at, state_reason_category)
         VALUES ($1, 'aws.guardduty', $2, $3, 'us-east-1', $4, $5, 'A finding', $6, 1, $7, $8::jsonb, 'C0TEST', $9,
           $6, $6, $6, $10, $11, $12)`,
        [
          `finding-${n}`,
          s.type,
          s.account,
          SCORE[s.label],
          s.label,
          s.createdAt,
          s.sample ?? false,
          JSON.stringify({ type: s.type, accountId: s.account }),
          s.state,
          s.ackMin === undefined ? null : at(s.createdAt, s.ackMin * MIN),
          s.disposeMin === undefined ? null : at(s.createdAt, s.disposeMin * MIN),
          s.category ?? null,
        ],
      );
    }
  });
  afterAll(async () => {
    await db.drop();
  });

  it('computes every figure over the non-sample alerts that arrived in [since, until)', async () => {
    const stats = await store.stats({ since: SINCE, until: NOW });
    const expected: AlertStats = {
      since: SINCE,
      until: NOW,
      total: 18,
      bySeverity: [
        { severity: 'Critical', count: 2 },
        { severity: 'High', count: 5 },
        { severity: 'Medium', count: 7 },
        { severity: 'Low', count: 4 },
      ],
      byState: [
        { state: 'open', count: 6 },
        { state: 'acknowledged', count: 4 },
        { state: 'escalated', count: 1 },
        { state: 'archive_requested', count: 1 },
        { state: 'archived', count: 4 },
        { state: 'resolved', count: 2 },
      ],
      // T1 ×5, T2 ×3, then five types tied at 2, broken by name: Backdoor, CryptoCurrency, Discovery
      // (Policy and Trojan fall off the top 5).
      noisiestTypes: [
        { type: T1, count: 5 },
        { type: T2, count: 3 },
        { type: T5, count: 2 },
        { type: T3, count: 2 },
        { type: T7, count: 2 },
      ],
      // percentile_cont over n sorted values v[0..n-1] reads position p·(n-1) and interpolates
      // linearly between its neighbours. Acknowledged 1…10 min (n = 10):
      // median at 4.5 → (5 + 6) / 2 = 5.5 min = 330 000 ms;
      // p90 at 8.1 → 9 + 0.1 × (10 − 9) = 9.1 min = 546 000 ms.
      timeToAcknowledge: { count: 10, medianMs: 330_000, p90Ms: 546_000 },
      // Resolved or archived, disposed of after 15, 30, 90, 120, 240, 600 min (n = 6; a10 is open again):
      // median at 2.5 → (90 + 120) / 2 = 105 min = 6 300 000 ms;
      // p90 at 4.5 → 240 + 0.5 × (600 − 240) = 420 min = 25 200 000 ms.
      timeToResolve: { count: 6, medianMs: 6_300_000, p90Ms: 25_200_000 },
      archiveReasons: [
        { category: 'false_positive', count: 2 },
        { category: 'duplicate', count: 1 },
        { category: 'expected_activity', count: 1 },
      ],
      // Open and never acknowledged: the reopened a10 (acknowledged once) does not count.
      unacknowledgedByAccount: [
        { accountId: B, count: 3 },
        { accountId: C, count: 2 },
      ],
      byDelivery: [{ delivery: 'card', count: 18 }],
      suppressedByRule: [],
    };
    expect(stats).toEqual(expected);
  });

  it('restricts every figure to the given accounts', async () => {
    const stats = await store.stats({ since: SINCE, until: NOW, accountIds: [A] });
    expect(stats).toEqual({
      since: SINCE,
      until: NOW,
      total: 8,
      bySeverity: [
        { severity: 'High', count: 3 },
        { severity: 'Medium', count: 3 },
        { severity: 'Low', count: 2 },
      ],
      byState: [
        { state: 'acknowledged', count: 4 },
        { state: 'archived', count: 2 },
        { state: 'resolved', count: 2 },
      ],
      noisiestTypes: [
        { type: T1, count: 3 },
        { type: T3, count: 2 },
        { type: T4, count: 2 },
        { type: T2, count: 1 },
      ],
      // Acknowledged 1, 2, 3, 4, 6, 7, 8, 9 min (n = 8): median at 3.5 → (4 + 6) / 2 = 5 min;
      // p90 at 6.3 → 8 + 0.3 × (9 − 8) = 8.3 min = 498 000 ms.
      timeToAcknowledge: { count: 8, medianMs: 300_000, p90Ms: 498_000 },
      // Disposed of after 30, 90, 120, 240 min (n = 4): median at 1.5 → 105 min;
      // p90 at 2.7 → 120 + 0.7 × (240 − 120) = 204 min = 12 240 000 ms.
      timeToResolve: { count: 4, medianMs: 6_300_000, p90Ms: 12_240_000 },
      archiveReasons: [{ category: 'false_positive', count: 2 }],
      unacknowledgedByAccount: [],
      byDelivery: [{ delivery: 'card', count: 8 }],
      suppressedByRule: [],
    } satisfies AlertStats);

    const two = await store.stats({ since: SINCE, until: NOW, accountIds: [A, C] });
    // A's 8, and C's a11, a12, o4, o5.
    expect(two.total).toBe(12);
    expect(two.unacknowledgedByAccount).toEqual([{ accountId: C, count: 2 }]);
  });

  it('gives zeros and null durations for an empty window or no accounts', async () => {
    const empty = (since: Date, until: Date): AlertStats => ({
      since,
      until,
      total: 0,
      bySeverity: [],
      byState: [],
      noisiestTypes: [],
      timeToAcknowledge: { count: 0, medianMs: null, p90Ms: null },
      timeToResolve: { count: 0, medianMs: null, p90Ms: null },
      archiveReasons: [],
      unacknowledgedByAccount: [],
      byDelivery: [],
      suppressedByRule: [],
    });
    const longAgo = at(NOW, -30 * DAY);
    const later = at(NOW, -20 * DAY);
    expect(await store.stats({ since: longAgo, until: later })).toEqual(empty(longAgo, later));
    expect(await store.stats({ since: SINCE, until: NOW, accountIds: [] })).toEqual(empty(SINCE, NOW));
    expect(await store.stats({ since: SINCE, until: NOW, accountIds: ['999999999999'] })).toEqual(empty(SINCE, NOW));
  });

  it('counts suppressed, silenced and digested alerts by how they reached Slack, and leaves the muted out of "unacknowledged"', async () => {
    // A window of its own, two days after the seeds.
    const from = at(NOW, 2 * DAY);
    const to = at(NOW, 3 * DAY);
    const rows: Array<[string, string | null]> = [
      ['suppressed', 'internal-scanner'],
      ['suppressed', 'internal-scanner'],
      ['suppressed', 'sandbox-noise'],
      ['silenced', null],
      ['digest', null],
      ['card', null],
    ];
    let n = 0;
    for (const [delivery, rule] of rows) {
      n += 1;
      await db.pool.query(
        `INSERT INTO alert (finding_id, source, finding_type, account_id, region, severity, severity_label, title,
           finding_updated_at, count, is_sample, finding, channel_id, state, created_at, delivery, rule_outcome)
         VALUES ($1, 'aws.guardduty', 'Recon:EC2/Portscan', $2, 'us-east-1', 5, 'Medium', 'A finding', $3, 1, false,
           '{}'::jsonb, 'C0TEST', 'open', $3, $4, $5::jsonb)`,
        [
          `muted-${n}`,
          C,
          at(from, n * MIN),
          delivery,
          rule ? JSON.stringify({ suppressed: { rule, reason: 'known' } }) : null,
        ],
      );
    }
    const stats = await store.stats({ since: from, until: to });
    expect(stats.total).toBe(6);
    expect(stats.byDelivery).toEqual([
      { delivery: 'card', count: 1 },
      { delivery: 'digest', count: 1 },
      { delivery: 'silenced', count: 1 },
      { delivery: 'suppressed', count: 3 },
    ]);
    expect(stats.suppressedByRule).toEqual([
      { rule: 'internal-scanner', count: 2 },
      { rule: 'sandbox-noise', count: 1 },
    ]);
    // The card and the digested alert wait for someone; the muted four do not.
    expect(stats.unacknowledgedByAccount).toEqual([{ accountId: C, count: 2 }]);
  });
});

/** The statistics message: expected lines, Slack's limits, escaping, and "no data". */
import type { AlertStats } from '../../app/ports/stats-store';
import type { SlackBlock } from '../../app/slack/blocks/finding-card';
import { LIMITS } from '../../app/slack/blocks/mrkdwn';
import { durationLine, periodLabel, statsBlocks, statsText } from '../../app/slack/blocks/stats';

const UNTIL = new Date('2026-11-22T12:00:00.000Z');
const SINCE = new Date(UNTIL.getTime() - 7 * 86_400_000);
const HOSTILE = '<!channel> <https://evil.example|x> & <@U999>';

function stats(overrides: Partial<AlertStats> = {}): AlertStats {
  return {
    since: SINCE,
    until: UNTIL,
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
      { state: 'archive_requested', count: 1 },
      { state: 'archived', count: 4 },
      { state: 'resolved', count: 3 },
    ],
    noisiestTypes: [
      { type: 'Recon:EC2/PortProbeUnprotectedPort', count: 5 },
      { type: 'Backdoor:EC2/C&CActivity.B', count: 3 },
    ],
    timeToAcknowledge: { count: 12, medianMs: 4 * 60_000, p90Ms: 2 * 3_600_000 },
    timeToResolve: { count: 7, medianMs: 105 * 60_000, p90Ms: 420 * 60_000 },
    archiveReasons: [
      { category: 'false_positive', count: 2 },
      { category: 'expected_activity', count: 1 },
    ],
    unacknowledgedByAccount: [
      { accountId: '222222222222', count: 3 },
      { accountId: '333333333333', count: 2 },
    ],
    byDelivery: [
      { delivery: 'card', count: 14 },
      { delivery: 'suppressed', count: 4 },
    ],
    suppressedByRule: [{ rule: 'internal-scanner', count: 4 }],
    ...overrides,
  };
}

/** Every piece of text in the message, one string per text object. */
function texts(blocks: SlackBlock[]): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    const text = b.text as { text: string } | undefined;
    if (text) out.push(text.text);
    for (const f of (b.fields as Array<{ text: string }> | undefined) ?? []) out.push(f.text);
    for (const e of (b.elements as Array<{ text: string }> | undefined) ?? []) out.push(e.text);
  }
  return out;
}

function expectWithinLimits(blocks: SlackBlock[]): void {
  expect(blocks.length).toBeLessThanOrEqual(20);
  for (const b of blocks) {
    const text = b.text as { text: string } | undefined;
    if (b.type === 'header') expect(text?.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    if (b.type === 'section') {
      expect(text !== undefined || b.fields !== undefined).toBe(true);
      if (text) expect(text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      const fields = (b.fields as Array<{ text: string }> | undefined) ?? [];
      expect(fields.length).toBeLessThanOrEqual(LIMITS.sectionFields);
      for (const f of fields) expect(f.text.length).toBeLessThanOrEqual(LIMITS.fieldText);
    }
    if (b.type === 'context') {
      const elements = b.elements as Array<{ text: string }>;
      expect(elements.length).toBeLessThanOrEqual(LIMITS.contextElements);
      for (const e of elements) expect(e.text.length).toBeLessThanOrEqual(LIMITS.contextText);
    }
  }
}

describe('statsBlocks', () => {
  it('renders the header, scope and the expected lines', () => {
    const blocks = statsBlocks(stats(), 'all accounts');
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Alert statistics · last 7 days' } });
    const all = texts(blocks);
    expect(all.some((t) => t.startsWith('all accounts · '))).toBe(true);
    expect(all).toContain('*18 alerts*');
    const lines = all.flatMap((t) => t.split('\n'));
    expect(lines).toContain(':red_circle: Critical: 2');
    expect(lines).toContain(':large_blue_circle: Low: 4');
    expect(lines).toContain('Archive requested: 1');
    expect(all).toContain('*Time to acknowledge*\nmedian 4 min · p90 2 h (12 alerts)');
    expect(all).toContain('*Time to resolve or archive*\nmedian 1 h 45 min · p90 7 h (7 alerts)');
    expect(lines).toContain('false positive: 2');
    expect(lines).toContain('expected activity: 1');
    expect(lines).toContain('Recon:EC2/PortProbeUnprotectedPort: 5');
    expect(lines).toContain('Backdoor:EC2/C&amp;CActivity.B: 3');
    expect(lines).toContain('222222222222: 3');
    expect(lines).toContain('own card: 14');
    expect(lines).toContain('suppressed by a rule: 4');
    expect(lines).toContain('internal-scanner: 4');
    expectWithinLimits(blocks);
  });

  it('counts the days of the period', () => {
    expect(periodLabel(SINCE, UNTIL)).toBe('last 7 days');
    expect(periodLabel(new Date(UNTIL.getTime() - 86_400_000), UNTIL)).toBe('last 1 day');
    expect(periodLabel(new Date(UNTIL.getTime() - 30 * 86_400_000), UNTIL)).toBe('last 30 days');
    expect(periodLabel(new Date(UNTIL.getTime() - 6 * 3_600_000), UNTIL)).toBe('last 6 hours');
  });

  it('escapes finding types, account ids, categories and the scope', () => {
    const blocks = statsBlocks(
      stats({
        noisiestTypes: [{ type: HOSTILE, count: 1 }],
        unacknowledgedByAccount: [{ accountId: HOSTILE, count: 1 }],
        archiveReasons: [{ category: HOSTILE, count: 1 }],
        bySeverity: [{ severity: HOSTILE, count: 1 }],
        byState: [{ state: HOSTILE, count: 1 }],
      }),
      `account ${HOSTILE}`,
    );
    const all = texts(blocks).join('\n');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<@U999>');
    expect(all).not.toContain('<https://');
    expect(all).toContain('&lt;!channel&gt; &lt;https://evil.example|x&gt; &amp; &lt;@U999&gt;: 1');
    const text = statsText(stats({ bySeverity: [{ severity: HOSTILE, count: 1 }] }), HOSTILE);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');
  });

  it('renders "no data" for null durations', () => {
    const none = { count: 0, medianMs: null, p90Ms: null };
    expect(durationLine(none)).toBe('no data');
    const all = texts(statsBlocks(stats({ timeToAcknowledge: none, timeToResolve: none }), 'all accounts'));
    expect(all).toContain('*Time to acknowledge*\nno data');
    expect(all).toContain('*Time to resolve or archive*\nno data');
  });

  it('stays within the limits with long values and long lists', () => {
    const long = 'x'.repeat(5000);
    const many = (n: number) => Array.from({ length: n }, (_, i) => `${long}${i}`);
    const blocks = statsBlocks(
      stats({
        bySeverity: many(30).map((severity) => ({ severity, count: 1 })),
        byState: many(30).map((state) => ({ state, count: 1 })),
        noisiestTypes: many(30).map((type) => ({ type: `<${type}>`, count: 1 })),
        archiveReasons: many(30).map((category) => ({ category, count: 1 })),
        unacknowledgedByAccount: many(30).map((accountId) => ({ accountId, count: 1 })),
      }),
      long,
    );
    expectWithinLimits(blocks);
    expect(texts(blocks).join('\n')).toContain('…and 20 more');
    expect(
      statsText(stats({ bySeverity: many(30).map((severity) => ({ severity, count: 1 })) }), long).length,
    ).toBeLessThanOrEqual(LIMITS.fallbackText);
  });

  it('says so when nothing arrived', () => {
    const empty = stats({
      total: 0,
      bySeverity: [],
      byState: [],
      noisiestTypes: [],
      timeToAcknowledge: { count: 0, medianMs: null, p90Ms: null },
      timeToResolve: { count: 0, medianMs: null, p90Ms: null },
      archiveReasons: [],
      unacknowledgedByAccount: [],
    });
    const blocks = statsBlocks(empty, 'account 123456789012');
    expect(texts(blocks)).toContain('No alerts arrived in this period.');
    expectWithinLimits(blocks);
    expect(statsText(empty, 'account 123456789012')).toBe(
      'Alert statistics for account 123456789012, last 7 days: no alerts.',
    );
  });
});

describe('statsText', () => {
  it('is one plain paragraph with the key figures', () => {
    expect(statsText(stats(), 'all accounts')).toBe(
      'Alert statistics for all accounts, last 7 days: 18 alerts (2 Critical, 5 High, 7 Medium, 4 Low). ' +
        'Time to acknowledge: median 4 min · p90 2 h (12 alerts). ' +
        'Time to resolve or archive: median 1 h 45 min · p90 7 h (7 alerts). 6 still open.',
    );
  });
});

/** The alert lifecycle as a pure state machine, and the small pure helpers around it. */
import { type NudgePolicy, nudgeDueAt, parseDuration } from '../../app/domain/nudges';
import type { SeverityLabel } from '../../app/domain/severity';
import {
  ALERT_STATES,
  type AlertState,
  ARCHIVE_CATEGORIES,
  availableActions,
  categoryLabel,
  humanDuration,
  REASON_MAX,
  REASON_MIN,
  type TriageAction,
  transition,
  validateReason,
} from '../../app/domain/triage';

const ACTIONS: readonly TriageAction[] = [
  'acknowledge',
  'archive',
  'escalate',
  'resolve',
  'approve_archive',
  'reject_archive',
  'take',
  'recur',
  'archived_in_guardduty',
];

/** Where an action leads in review mode 'after' and in 'before'; null: not allowed. */
type Outcome = { after: AlertState | null; before: AlertState | null };
const same = (to: AlertState | null): Outcome => ({ after: to, before: to });
const NO = same(null);

/**
 * The whole machine, written out: every state × every action. A change to the
 * machine has to change this table too.
 */
const TABLE: Record<AlertState, Record<TriageAction, Outcome>> = {
  open: {
    acknowledge: same('acknowledged'),
    archive: { after: 'archived', before: 'archive_requested' },
    escalate: same('escalated'),
    resolve: NO,
    approve_archive: NO,
    reject_archive: NO,
    take: NO,
    recur: NO,
    archived_in_guardduty: same('archived'),
    resolve_gone: same('resolved'),
  },
  acknowledged: {
    acknowledge: NO,
    archive: { after: 'archived', before: 'archive_requested' },
    escalate: same('escalated'),
    resolve: same('resolved'),
    approve_archive: NO,
    reject_archive: NO,
    take: NO,
    recur: NO,
    archived_in_guardduty: same('archived'),
    resolve_gone: same('resolved'),
  },
  escalated: {
    acknowledge: NO,
    archive: same('archived'),
    escalate: NO,
    resolve: same('resolved'),
    approve_archive: NO,
    reject_archive: NO,
    take: same('escalated'),
    recur: NO,
    archived_in_guardduty: same('archived'),
    resolve_gone: same('resolved'),
  },
  archive_requested: {
    acknowledge: NO,
    archive: NO,
    escalate: NO,
    resolve: NO,
    approve_archive: same('archived'),
    reject_archive: same('open'),
    take: NO,
    recur: NO,
    archived_in_guardduty: same('archived'),
    resolve_gone: NO,
  },
  archived: {
    acknowledge: NO,
    archive: NO,
    escalate: NO,
    resolve: NO,
    approve_archive: same('archived'),
    reject_archive: same('open'),
    take: NO,
    recur: same('open'),
    archived_in_guardduty: NO,
    resolve_gone: NO,
  },
  resolved: {
    acknowledge: NO,
    archive: NO,
    escalate: NO,
    resolve: NO,
    approve_archive: NO,
    reject_archive: NO,
    take: NO,
    recur: same('open'),
    archived_in_guardduty: same('archived'),
    resolve_gone: NO,
  },
};

const CASES = ALERT_STATES.flatMap((from) =>
  ACTIONS.flatMap((action) =>
    (['after', 'before'] as const).map((review) => ({ from, action, review, to: TABLE[from][action][review] })),
  ),
);

describe('the alert state machine', () => {
  it('is described by a table covering all six states and nine actions in both review modes', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...ALERT_STATES].sort());
    expect(CASES).toHaveLength(6 * 9 * 2);
  });

  it.each(CASES)('$from + $action (review $review) → $to', ({ from, action, review, to }) => {
    expect(transition(from, action, review)).toEqual(
      to === null ? { ok: false, why: 'not_allowed' } : { ok: true, to },
    );
  });

  it('uses the after-the-fact review when no review mode is given', () => {
    for (const from of ALERT_STATES) {
      for (const action of ACTIONS) expect(transition(from, action)).toEqual(transition(from, action, 'after'));
    }
  });

  it('lets GuardDuty archive an alert from every state except archived', () => {
    const allowed = ALERT_STATES.filter((s) => transition(s, 'archived_in_guardduty').ok);
    expect(allowed).toEqual(['open', 'acknowledged', 'escalated', 'archive_requested', 'resolved']);
  });
});

describe('the buttons each state offers', () => {
  it.each<[AlertState, TriageAction[]]>([
    ['open', ['acknowledge', 'archive', 'escalate']],
    ['acknowledged', ['resolve', 'archive', 'escalate']],
    ['escalated', ['resolve', 'archive']],
    ['archive_requested', []],
    ['archived', []],
    ['resolved', []],
  ])('%s offers %j', (state, actions) => {
    expect(availableActions(state)).toEqual(actions);
  });

  it('only offers actions the machine allows in that state, in either review mode', () => {
    for (const state of ALERT_STATES) {
      for (const action of availableActions(state)) {
        expect(transition(state, action, 'after').ok).toBe(true);
        expect(transition(state, action, 'before').ok).toBe(true);
      }
    }
  });
});

describe('validating a reason', () => {
  it('uses 10 and 3000 characters as the bounds', () => {
    expect([REASON_MIN, REASON_MAX]).toEqual([10, 3000]);
  });

  it('refuses 9 characters and accepts 10', () => {
    expect(validateReason('a'.repeat(9))).toBe('Please give a reason of at least 10 characters.');
    expect(validateReason('a'.repeat(10))).toBeUndefined();
  });

  it('accepts 3000 characters and refuses 3001', () => {
    expect(validateReason('a'.repeat(3000))).toBeUndefined();
    expect(validateReason('a'.repeat(3001))).toBe('Please keep the reason under 3000 characters.');
  });

  it('refuses whitespace only, however long', () => {
    expect(validateReason(' \n\t'.repeat(20))).toBe('Please give a reason of at least 10 characters.');
    expect(validateReason('')).toBe('Please give a reason of at least 10 characters.');
  });

  it('does not count surrounding whitespace', () => {
    expect(validateReason(`   ${'a'.repeat(9)}   `)).toBeDefined();
    expect(validateReason(`\n${'a'.repeat(3000)}\n\n`)).toBeUndefined();
  });
});

describe('how long after the alert something happened', () => {
  const s = 1000;
  const min = 60 * s;
  const h = 60 * min;
  it.each<[string, number, string]>([
    ['0 s', 0, 'less than a minute'],
    ['a negative duration (clock skew)', -5 * min, 'less than a minute'],
    ['29 s', 29 * s, 'less than a minute'],
    ['59 s (rounded to the nearest minute)', 59 * s, '1 min'],
    ['1 min', min, '1 min'],
    ['4 min', 4 * min, '4 min'],
    ['59 min', 59 * min, '59 min'],
    ['60 min', 60 * min, '1 h'],
    ['61 min', 61 * min, '1 h 1 min'],
    ['23 h 59 min', 24 * h - min, '23 h 59 min'],
    ['24 h', 24 * h, '1 d'],
    ['25 h', 25 * h, '1 d 1 h'],
    ['3 d 4 h 30 min (minutes are dropped)', 76 * h + 30 * min, '3 d 4 h'],
  ])('%s reads %j', (_label, ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('archive category labels', () => {
  it.each<[string, string]>([
    ['false_positive', 'false positive'],
    ['expected_activity', 'expected activity'],
    ['remediated', 'remediated'],
    ['accepted_risk', 'accepted risk'],
    ['duplicate', 'duplicate'],
  ])('labels %s as %j', (category, label) => {
    expect(categoryLabel(category)).toBe(label);
  });

  it('knows exactly the five categories', () => {
    expect(Object.keys(ARCHIVE_CATEGORIES)).toEqual([
      'false_positive',
      'expected_activity',
      'remediated',
      'accepted_risk',
      'duplicate',
    ]);
  });

  it('returns no label for a missing category', () => {
    expect(categoryLabel(null)).toBe('');
    expect(categoryLabel(undefined)).toBe('');
    expect(categoryLabel('')).toBe('');
  });

  it('shows an unknown category as it is, never an inherited property', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'something_else']) {
      const label = categoryLabel(name);
      expect(typeof label).toBe('string');
      expect(label).toBe(name);
    }
  });
});

describe('when to nudge', () => {
  const policy: NudgePolicy = {
    Critical: 15 * 60_000,
    High: 3_600_000,
    Medium: 4 * 3_600_000,
    Low: undefined,
    Info: undefined,
  };
  const arrived = new Date('2026-01-01T00:00:00.000Z');

  it.each<[SeverityLabel, string | undefined, string | undefined]>([
    ['Critical', '2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z'],
    ['High', '2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'],
    ['Medium', '2026-01-01T04:00:00.000Z', '2026-01-01T08:00:00.000Z'],
    ['Low', undefined, undefined],
  ])('nudges %s at step 1 at %s and step 2 at %s, and never a third time', (severity, first, second) => {
    expect(nudgeDueAt(policy, severity, arrived, 1)?.toISOString()).toBe(first);
    expect(nudgeDueAt(policy, severity, arrived, 2)?.toISOString()).toBe(second);
    expect(nudgeDueAt(policy, severity, arrived, 3)).toBeUndefined();
  });

  it('has no step 0', () => {
    expect(nudgeDueAt(policy, 'Critical', arrived, 0)).toBeUndefined();
  });
});

describe('parsing a nudge duration', () => {
  it.each<[string, number | undefined | 'invalid']>([
    ['15m', 15 * 60_000],
    ['1h', 3_600_000],
    ['90s', 90_000],
    ['2d', 2 * 86_400_000],
    [' 1H ', 3_600_000],
    ['off', undefined],
    ['none', undefined],
    ['10x', 'invalid'],
    ['', 'invalid'],
    ['1.5h', 'invalid'],
    ['-5m', 'invalid'],
    ['m', 'invalid'],
  ])('reads %j as %j', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });
});

/** The triage parts of Slack messages: status lines, buttons, security cards, timeline, nudges and modals. */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { z } from 'zod';
import type { Finding } from '../../app/domain/finding';
import { ALERT_STATES, type AlertState, ARCHIVE_CATEGORIES, availableActions } from '../../app/domain/triage';
import type { AuditRow } from '../../app/ports/triage-store';
import type { SlackBlock } from '../../app/slack/blocks/finding-card';
import { archiveModal, escalateModal, modalMetadata, rejectModal, resolveModal } from '../../app/slack/blocks/modals';
import { LIMITS } from '../../app/slack/blocks/mrkdwn';
import {
  buildEscalationCard,
  buildReviewCard,
  messageLink,
  type SecurityCard,
  type SecurityCardInput,
} from '../../app/slack/blocks/security-cards';
import { statusLines, type TriageView, triageBlocks } from '../../app/slack/blocks/status';
import { nudgeText, timelineText } from '../../app/slack/blocks/timeline';
import { ACTION_IDS, CALLBACK_IDS, CARD_BLOCK_IDS, INPUT_IDS } from '../../app/slack/ids';

// ---- builders -----------------------------------------------------------------------------

const ALERT_ID = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';
const CREATED = new Date('2026-03-01T10:00:00.000Z');
const minutesAfter = (n: number) => new Date(CREATED.getTime() + n * 60_000);
const HOSTILE = '<!channel> <https://evil.example|x> <@U999> & <!here>';

function view(overrides: Partial<TriageView> = {}): TriageView {
  return {
    state: 'open',
    createdAt: CREATED,
    stateChangedAt: CREATED,
    stateById: null,
    stateByName: null,
    stateReasonCategory: null,
    stateReason: null,
    acknowledgedAt: null,
    acknowledgedById: null,
    assigneeId: null,
    escalatedById: null,
    recurrences: 0,
    reviewStatus: null,
    reviewedById: null,
    reviewComment: null,
    gdArchived: false,
    gdArchivedAt: null,
    gdSyncError: null,
    gdArchiveWanted: false,
    ...overrides,
  };
}

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    source: 'aws.guardduty',
    id: '16afba5c5c43e07c9e3e5e2e544e95df',
    type: 'Recon:EC2/PortProbeUnprotectedPort',
    severity: 8,
    severityLabel: 'High',
    title: 'Unprotected port on EC2 instance i-0abc is being probed',
    description: 'EC2 instance has an unprotected port which is being probed by a known malicious host.',
    accountId: '123456789012',
    region: 'eu-west-1',
    partition: 'aws',
    resource: { type: 'Instance', label: 'i-0abc', details: [] },
    count: 1,
    updatedAt: '2026-03-01T09:59:00.000Z',
    isSample: false,
    archived: false,
    ...overrides,
  };
}

function cardInput(overrides: Partial<SecurityCardInput> = {}): SecurityCardInput {
  return {
    alertId: ALERT_ID,
    finding: finding(),
    triage: view(),
    cardChannelId: 'C0123ABCD',
    cardTs: '1772359200.123456',
    ...overrides,
  };
}

function audit(overrides: Partial<AuditRow>): AuditRow {
  return {
    id: '1',
    alertId: ALERT_ID,
    action: 'acknowledge',
    outcome: 'applied',
    actorId: 'U0ALICE1',
    actorName: 'alice',
    fromState: 'open',
    toState: 'acknowledged',
    reasonCategory: null,
    reason: null,
    detail: {},
    createdAt: minutesAfter(4),
    ...overrides,
  };
}

// ---- reading blocks -----------------------------------------------------------------------

const mrkdwn = z.object({ type: z.literal('mrkdwn'), text: z.string() });
const plainText = z.object({ type: z.literal('plain_text'), text: z.string(), emoji: z.boolean().optional() });
const buttonSchema = z.object({
  type: z.literal('button'),
  action_id: z.string(),
  text: plainText,
  value: z.string(),
  style: z.enum(['primary', 'danger']).optional(),
});
const blockSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('header'), block_id: z.string().optional(), text: plainText }),
  z.object({
    type: z.literal('section'),
    block_id: z.string().optional(),
    text: mrkdwn.optional(),
    fields: z.array(mrkdwn).optional(),
  }),
  z.object({
    type: z.literal('context'),
    block_id: z.string().optional(),
    elements: z.array(z.union([mrkdwn, plainText])),
  }),
  z.object({ type: z.literal('actions'), block_id: z.string().optional(), elements: z.array(buttonSchema) }),
]);
type Block = z.infer<typeof blockSchema>;
type Button = z.infer<typeof buttonSchema>;

const parseBlocks = (blocks: SlackBlock[]): Block[] => z.array(blockSchema).parse(blocks);

function buttonsOf(blocks: SlackBlock[]): Button[] {
  return parseBlocks(blocks).flatMap((b) => (b.type === 'actions' ? b.elements : []));
}

/** Every mrkdwn text: section texts and fields, mrkdwn context elements. */
function mrkdwnTexts(blocks: SlackBlock[]): string[] {
  return parseBlocks(blocks).flatMap((b) => {
    if (b.type === 'section') return [...(b.text ? [b.text.text] : []), ...(b.fields ?? []).map((f) => f.text)];
    if (b.type === 'context') return b.elements.flatMap((e) => (e.type === 'mrkdwn' ? [e.text] : []));
    return [];
  });
}

/** Every mrkdwn text of a card, joined. */
const allText = (card: SecurityCard) => mrkdwnTexts(card.blocks).join('\n');

// ---- status lines and buttons -------------------------------------------------------------

describe('the status lines of an alert card', () => {
  it.each<[AlertState, string]>([
    ['open', ':rotating_light: *Open*'],
    ['acknowledged', ':eyes: *Acknowledged* by <@U0ALICE1> · 4 min after the alert'],
    ['escalated', ':sos: *Escalated to security* by <@U0ALICE1> · 4 min after the alert'],
    [
      'archive_requested',
      ':hourglass_flowing_sand: *Archive requested*, waiting for security review by <@U0ALICE1> · 4 min after the alert',
    ],
    ['archived', ':file_cabinet: *Archived* by <@U0ALICE1> · 4 min after the alert'],
    ['resolved', ':white_check_mark: *Resolved* by <@U0ALICE1> · 4 min after the alert'],
  ])('heads a %s alert with %j', (state, line) => {
    const v = view({ state, stateChangedAt: minutesAfter(4), stateById: 'U0ALICE1', stateByName: 'alice' });
    expect(statusLines(v)).toEqual([line]);
  });

  it('says who acknowledged and how long after the alert once the alert has moved on', () => {
    const v = view({
      state: 'escalated',
      stateChangedAt: minutesAfter(90),
      stateById: 'U0BOB22',
      acknowledgedAt: minutesAfter(4),
      acknowledgedById: 'U0ALICE1',
    });
    expect(statusLines(v)).toEqual([
      ':sos: *Escalated to security* by <@U0BOB22> · 1 h 30 min after the alert',
      'Acknowledged by <@U0ALICE1> · 4 min after the alert',
    ]);
  });

  it('adds the archive category and the reason as a quote', () => {
    const v = view({
      state: 'archived',
      stateChangedAt: minutesAfter(61),
      stateById: 'U0ALICE1',
      stateReasonCategory: 'expected_activity',
      stateReason: 'Our own\nvulnerability   scanner',
    });
    expect(statusLines(v)).toEqual([
      ':file_cabinet: *Archived* by <@U0ALICE1> · 1 h 1 min after the alert · expected activity',
      '> Our own vulnerability scanner',
    ]);
  });

  it('shows who took it, recurrences, the review outcome and GuardDuty archiving', () => {
    const v = view({
      state: 'open',
      assigneeId: 'U0SEC001',
      recurrences: 2,
      reviewStatus: 'rejected',
      reviewedById: 'U0SEC001',
      reviewComment: 'Not a scanner & we need to look',
      gdArchiveWanted: true,
    });
    expect(statusLines(v)).toEqual([
      ':rotating_light: *Open*',
      ':bust_in_silhouette: Taken by <@U0SEC001>',
      ':repeat: Recurred after it was closed (2×)',
      ':x: Archive rejected by <@U0SEC001>: Not a scanner &amp; we need to look',
      'Archiving in GuardDuty…',
    ]);
  });

  it('prefers a GuardDuty archiving error over the archived note', () => {
    const v = view({ gdArchived: true, gdArchivedAt: minutesAfter(5), gdSyncError: 'AccessDenied <boom>' });
    expect(statusLines(v).at(-1)).toBe(':warning: GuardDuty archiving failed: AccessDenied &lt;boom&gt;');
    const ok = view({ gdArchived: true, gdArchivedAt: minutesAfter(5) });
    expect(statusLines(ok).at(-1)).toBe('Archived in GuardDuty 5 min after the alert');
  });

  it('shows an actor that is not a Slack user by name, escaped', () => {
    const kanshi = view({ state: 'escalated', stateById: 'kanshi', stateByName: 'Kanshi' });
    expect(statusLines(kanshi)[0]).toBe(':sos: *Escalated to security* by Kanshi · less than a minute after the alert');
    const hostile = view({ state: 'archived', stateById: 'kanshi', stateByName: '<!channel>' });
    expect(statusLines(hostile)[0]).toBe(
      ':file_cabinet: *Archived* by &lt;!channel&gt; · less than a minute after the alert',
    );
    const noName = view({ state: 'archived', stateById: '<!here>', stateByName: null });
    expect(statusLines(noName)[0]).toContain('by &lt;!here&gt;');
  });

  it('escapes markup in the reason, the category and the review comment', () => {
    const v = view({
      state: 'archived',
      stateById: 'U0ALICE1',
      stateReasonCategory: '<!channel>',
      stateReason: HOSTILE,
      reviewStatus: 'rejected',
      reviewedById: 'U0SEC001',
      reviewComment: HOSTILE,
    });
    const text = statusLines(v).join('\n');
    for (const raw of ['<!channel>', '<https://evil', '<@U999>', '<!here>']) expect(text).not.toContain(raw);
    expect(text).toContain('> &lt;!channel&gt; &lt;https://evil.example|x&gt; &lt;@U999&gt; &amp; &lt;!here&gt;');
  });
});

describe('the buttons of an alert card', () => {
  // The Runbook button stays on the card in every state, last.
  const EXPECTED: Record<AlertState, string[]> = {
    open: [
      ACTION_IDS.acknowledge,
      ACTION_IDS.archive,
      ACTION_IDS.escalate,
      ACTION_IDS.runbook,
      ACTION_IDS.silenceSimilar,
    ],
    acknowledged: [
      ACTION_IDS.resolve,
      ACTION_IDS.archive,
      ACTION_IDS.escalate,
      ACTION_IDS.runbook,
      ACTION_IDS.silenceSimilar,
    ],
    escalated: [ACTION_IDS.resolve, ACTION_IDS.archive, ACTION_IDS.runbook, ACTION_IDS.silenceSimilar],
    archive_requested: [ACTION_IDS.runbook, ACTION_IDS.silenceSimilar],
    archived: [ACTION_IDS.runbook, ACTION_IDS.silenceSimilar],
    resolved: [ACTION_IDS.runbook, ACTION_IDS.silenceSimilar],
  };

  it.each(ALERT_STATES)(
    'offers exactly the actions a %s alert allows, plus the runbook and Silence similar',
    (state) => {
      const blocks = triageBlocks(ALERT_ID, view({ state }));
      const buttons = buttonsOf(blocks);
      expect(buttons.map((b) => b.action_id)).toEqual(EXPECTED[state]);
      expect(buttons).toHaveLength(availableActions(state).length + 2);
      for (const b of buttons) expect(b.value).toBe(ALERT_ID);
    },
  );

  it.each(ALERT_STATES)('puts the status first and the buttons after it (%s)', (state) => {
    const blocks = parseBlocks(triageBlocks(ALERT_ID, view({ state })));
    expect(blocks[0]).toEqual(expect.objectContaining({ type: 'section', block_id: CARD_BLOCK_IDS.status }));
    expect(blocks.map((b) => b.block_id)).toEqual([CARD_BLOCK_IDS.status, CARD_BLOCK_IDS.actions]);
  });

  it('labels and styles the buttons', () => {
    const open = buttonsOf(triageBlocks(ALERT_ID, view({ state: 'open' })));
    expect(open.map((b) => [b.text.text, b.style])).toEqual([
      ['Acknowledge', 'primary'],
      ['Archive…', undefined],
      ['Escalate…', 'danger'],
      ['Runbook', undefined],
      ['Silence similar…', undefined],
    ]);
  });
});

// ---- security cards -----------------------------------------------------------------------

describe('the archive review card', () => {
  const archived = (overrides: Partial<TriageView>) =>
    view({
      state: 'archived',
      stateById: 'U0ALICE1',
      stateReasonCategory: 'false_positive',
      stateReason: 'Pen test by our red team',
      ...overrides,
    });

  it('offers Approve and Reject while the review is pending', () => {
    const card = buildReviewCard(cardInput({ triage: archived({ reviewStatus: 'pending' }) }));
    expect(buttonsOf(card.blocks).map((b) => [b.action_id, b.value])).toEqual([
      [ACTION_IDS.approveArchive, ALERT_ID],
      [ACTION_IDS.rejectArchive, ALERT_ID],
    ]);
    expect(allText(card)).toContain('<@U0ALICE1> archived it as *false positive*:\n> Pen test by our red team');
  });

  it('says who approved it, without buttons, once approved', () => {
    const card = buildReviewCard(
      cardInput({ triage: archived({ reviewStatus: 'approved', reviewedById: 'U0SEC001' }) }),
    );
    expect(buttonsOf(card.blocks)).toEqual([]);
    expect(mrkdwnTexts(card.blocks).at(-1)).toBe(':white_check_mark: Approved by <@U0SEC001>');
  });

  it('says who rejected it and their comment, escaped, without buttons, once rejected', () => {
    const card = buildReviewCard(
      cardInput({
        triage: archived({ reviewStatus: 'rejected', reviewedById: 'U0SEC001', reviewComment: 'Not ours <!here>' }),
      }),
    );
    expect(buttonsOf(card.blocks)).toEqual([]);
    expect(mrkdwnTexts(card.blocks).at(-1)).toBe(':x: Rejected by <@U0SEC001>: Not ours &lt;!here&gt;');
  });

  it('has no buttons and no outcome line when there is no review', () => {
    const card = buildReviewCard(cardInput({ triage: archived({ reviewStatus: null }) }));
    expect(buttonsOf(card.blocks)).toEqual([]);
    expect(allText(card)).not.toMatch(/Approved by|Rejected by/);
  });

  it('links to the alert card', () => {
    const card = buildReviewCard(cardInput({ triage: archived({ reviewStatus: 'pending' }) }));
    expect(mrkdwnTexts(card.blocks)).toContain(
      '<https://slack.com/archives/C0123ABCD/p1772359200123456|Open the alert card>',
    );
  });
});

describe('the escalation card', () => {
  it('mentions the security user group when one is configured, and nobody otherwise', () => {
    const triage = view({ state: 'escalated', escalatedById: 'U0ALICE1' });
    const withGroup = buildEscalationCard(cardInput({ triage, securityUsergroupId: 'S0SECURITY' }));
    expect(mrkdwnTexts(withGroup.blocks)[0]).toMatch(/^<!subteam\^S0SECURITY> <@U0ALICE1> escalated this alert\.\n/);
    const without = buildEscalationCard(cardInput({ triage }));
    expect(mrkdwnTexts(without.blocks)[0]).toMatch(/^<@U0ALICE1> escalated this alert\.\n/);
    expect(allText(without)).not.toContain('<!subteam');
  });

  it('says Kanshi escalated it when nobody acknowledged in time', () => {
    const card = buildEscalationCard(cardInput({ triage: view({ state: 'escalated', escalatedById: 'kanshi' }) }));
    expect(mrkdwnTexts(card.blocks)[0]).toMatch(/^Kanshi escalated this alert: nobody acknowledged it in time\.\n/);
  });

  it('offers Take while escalated and not taken', () => {
    const card = buildEscalationCard(cardInput({ triage: view({ state: 'escalated', escalatedById: 'U0ALICE1' }) }));
    expect(buttonsOf(card.blocks).map((b) => [b.action_id, b.value, b.text.text])).toEqual([
      [ACTION_IDS.take, ALERT_ID, 'Take'],
    ]);
  });

  it('shows who took it instead of Take once taken', () => {
    const card = buildEscalationCard(
      cardInput({ triage: view({ state: 'escalated', escalatedById: 'U0ALICE1', assigneeId: 'U0SEC001' }) }),
    );
    expect(buttonsOf(card.blocks)).toEqual([]);
    expect(mrkdwnTexts(card.blocks)).toContain(':bust_in_silhouette: Taken by <@U0SEC001>');
  });

  it.each<AlertState>(['resolved', 'archived', 'open', 'acknowledged'])(
    'offers no Take once the alert is %s',
    (state) => {
      const card = buildEscalationCard(
        cardInput({ triage: view({ state, escalatedById: 'U0ALICE1', stateById: 'U0BOB22' }) }),
      );
      expect(buttonsOf(card.blocks)).toEqual([]);
    },
  );

  it('says who closed it', () => {
    const card = buildEscalationCard(
      cardInput({ triage: view({ state: 'resolved', escalatedById: 'U0ALICE1', stateById: 'U0BOB22' }) }),
    );
    expect(mrkdwnTexts(card.blocks).at(-1)).toBe('Closed: resolved by <@U0BOB22>');
  });

  it('links to the original card with a message link', () => {
    expect(messageLink('C0123ABCD', '1772359200.123456')).toBe(
      'https://slack.com/archives/C0123ABCD/p1772359200123456',
    );
    const card = buildEscalationCard(cardInput({ triage: view({ state: 'escalated' }) }));
    expect(mrkdwnTexts(card.blocks)).toContain(
      '<https://slack.com/archives/C0123ABCD/p1772359200123456|Open the alert card>',
    );
  });

  it('says the card is still being posted when it has no timestamp yet', () => {
    const card = buildEscalationCard(cardInput({ triage: view({ state: 'escalated' }), cardTs: null }));
    expect(mrkdwnTexts(card.blocks)).toContain('The alert card is still being posted.');
    expect(allText(card)).not.toContain('slack.com/archives');
  });

  it('escapes the finding title, type, account and region', () => {
    const card = buildEscalationCard(
      cardInput({
        triage: view({ state: 'escalated' }),
        finding: finding({ title: HOSTILE, type: HOSTILE, accountId: HOSTILE, region: HOSTILE }),
      }),
    );
    const text = allText(card);
    for (const raw of ['<!channel>', '<https://evil', '<@U999>', '<!here>']) expect(text).not.toContain(raw);
    expect(card.text).toBe(
      'Escalated: &lt;!channel&gt; &lt;https://evil.example|x&gt; &lt;@U999&gt; &amp; &lt;!here&gt;',
    );
  });
});

// ---- timeline and nudges ------------------------------------------------------------------

describe('the timeline', () => {
  it('writes an acknowledgement with how long after the alert it came', () => {
    expect(timelineText(audit({ action: 'acknowledge' }), CREATED)).toBe(
      ':eyes: <@U0ALICE1> acknowledged this · 4 min after the alert',
    );
  });

  it('writes an archive request with its category and quoted reason', () => {
    const row = audit({
      action: 'archive',
      toState: 'archive_requested',
      reasonCategory: 'false_positive',
      reason: 'Red team\nexercise   this week',
    });
    expect(timelineText(row, CREATED)).toBe(
      ':hourglass_flowing_sand: <@U0ALICE1> asked to archive this as false positive: “Red team exercise this week” — waiting for security review',
    );
  });

  it('writes a rejection with the reviewer comment', () => {
    const row = audit({ action: 'reject_archive', actorId: 'U0SEC001', reason: 'Not a scanner we know' });
    expect(timelineText(row, CREATED)).toBe(
      ':x: <@U0SEC001> rejected the archive and reopened this: “Not a scanner we know”',
    );
  });

  const ROWS: Array<[string, Partial<AuditRow>, RegExp]> = [
    ['acknowledge', { action: 'acknowledge' }, /^:eyes: .* acknowledged this · 4 min after the alert$/],
    ['archive (after)', { action: 'archive', toState: 'archived' }, /^:file_cabinet: .* archived this as /],
    [
      'archive (before)',
      { action: 'archive', toState: 'archive_requested' },
      /^:hourglass_flowing_sand: .* asked to archive this as .* — waiting for security review$/,
    ],
    ['approve_archive', { action: 'approve_archive' }, /^:white_check_mark: .* approved the archive$/],
    ['reject_archive', { action: 'reject_archive' }, /^:x: .* rejected the archive and reopened this/],
    ['escalate (manual)', { action: 'escalate' }, /^:sos: .* escalated this to the security team/],
    [
      'escalate (automatic)',
      { action: 'escalate', detail: { automatic: true } },
      /^:sos: Nobody acknowledged this in time, so Kanshi escalated it to the security team\.$/,
    ],
    ['take', { action: 'take' }, /^:bust_in_silhouette: .* took this for the security team$/],
    ['resolve', { action: 'resolve' }, /^:white_check_mark: .* resolved this · 4 min after the alert/],
    [
      'recur',
      { action: 'recur' },
      /^:repeat: The finding was updated after it was closed, so the alert is open again\.$/,
    ],
    [
      'archived_in_guardduty',
      { action: 'archived_in_guardduty' },
      /^:file_cabinet: The finding was archived in GuardDuty outside Kanshi, so the alert is archived\.$/,
    ],
  ];

  it.each(ROWS)('writes %s as one line of the expected shape', (_label, overrides, shape) => {
    expect(timelineText(audit(overrides), CREATED)).toMatch(shape);
  });

  it.each(ROWS)('escapes a hostile actor, category and reason in %s', (_label, overrides) => {
    const row = audit({
      actorId: 'kanshi',
      actorName: HOSTILE,
      reasonCategory: HOSTILE,
      reason: HOSTILE,
      ...overrides,
    });
    const text = timelineText(row, CREATED);
    expect(text).not.toContain('<');
    expect(text).not.toContain('>');
    expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });

  it.each(['escalate', 'resolve', 'reject_archive', 'archive'])('quotes the escaped reason for %s', (action) => {
    const text = timelineText(audit({ action, reason: 'see <!channel> now' }), CREATED);
    expect(text).toContain('“see &lt;!channel&gt; now”');
  });

  it('writes an unknown action escaped', () => {
    expect(timelineText(audit({ action: 'poke<!channel>' }), CREATED)).toBe('<@U0ALICE1> poke&lt;!channel&gt;');
  });
});

describe('nudges', () => {
  it.each<[string, number, string]>([
    ['here', 1, '<!here> this alert has not been acknowledged after 15 min. Please take a look and press Acknowledge.'],
    ['here', 2, '<!here> nobody has acknowledged this after 15 min. Kanshi is escalating it to the security team.'],
    [
      'channel',
      1,
      '<!channel> this alert has not been acknowledged after 15 min. Please take a look and press Acknowledge.',
    ],
    [
      'channel',
      2,
      '<!channel> nobody has acknowledged this after 15 min. Kanshi is escalating it to the security team.',
    ],
    [
      'S0ONCALL',
      1,
      '<!subteam^S0ONCALL> this alert has not been acknowledged after 15 min. Please take a look and press Acknowledge.',
    ],
    [
      'S0ONCALL',
      2,
      '<!subteam^S0ONCALL> nobody has acknowledged this after 15 min. Kanshi is escalating it to the security team.',
    ],
  ])('mentions %s at step %i', (mention, step, text) => {
    expect(nudgeText(mention, step, '15 min')).toBe(text);
  });
});

// ---- modals -------------------------------------------------------------------------------

describe('the triage modals', () => {
  const meta = { alertId: randomUUID(), channel: 'C0123ABCD', messageTs: '1772359200.123456' };
  const MODALS = [
    ['archive', archiveModal, CALLBACK_IDS.archive],
    ['escalate', escalateModal, CALLBACK_IDS.escalate],
    ['resolve', resolveModal, CALLBACK_IDS.resolve],
    ['reject', rejectModal, CALLBACK_IDS.reject],
  ] as const;

  const optionSchema = z.object({ text: plainText, value: z.string() });
  const archiveBlocks = z.tuple([
    z.object({ type: z.literal('context') }),
    z.object({
      type: z.literal('input'),
      block_id: z.literal(INPUT_IDS.category.block),
      element: z.object({
        type: z.literal('static_select'),
        action_id: z.literal(INPUT_IDS.category.action),
        options: z.array(optionSchema),
      }),
    }),
    z.object({
      type: z.literal('input'),
      block_id: z.literal(INPUT_IDS.reason.block),
      optional: z.literal(false),
      element: z.object({
        type: z.literal('plain_text_input'),
        action_id: z.literal(INPUT_IDS.reason.action),
        min_length: z.number(),
        max_length: z.number(),
      }),
    }),
  ]);

  it('offers the five archive categories, valued by their keys', () => {
    const [, select] = archiveBlocks.parse(archiveModal(meta, 'title').blocks);
    expect(select.element.options.map((o) => [o.value, o.text.text])).toEqual([
      ['false_positive', 'False positive'],
      ['expected_activity', 'Expected activity'],
      ['remediated', 'Remediated'],
      ['accepted_risk', 'Accepted risk'],
      ['duplicate', 'Duplicate'],
    ]);
    expect(select.element.options.map((o) => o.value)).toEqual(Object.keys(ARCHIVE_CATEGORIES));
  });

  it('asks for a reason of 10 to 3000 characters', () => {
    const [, , reason] = archiveBlocks.parse(archiveModal(meta, 'title').blocks);
    expect([reason.element.min_length, reason.element.max_length]).toEqual([10, 3000]);
  });

  it.each(MODALS)('%s: has a short title, its callback id, and ids only in private_metadata', (_n, build, cb) => {
    const v = build(meta, 'Some finding title');
    expect(v.title.text.length).toBeLessThanOrEqual(24);
    expect(v.callback_id).toBe(cb);
    const parsed: unknown = JSON.parse(v.private_metadata);
    expect(modalMetadata.parse(parsed)).toEqual(meta);
    expect(Object.keys(z.record(z.string(), z.unknown()).parse(parsed)).sort()).toEqual([
      'alertId',
      'channel',
      'messageTs',
    ]);
    expect(v.private_metadata).not.toContain('Some finding title');
  });

  /** Paths to every string containing `needle`, with the object holding it. */
  function holders(node: unknown, needle: string, path = ''): Array<{ path: string; holder: unknown }> {
    if (Array.isArray(node)) return node.flatMap((n, i) => holders(n, needle, `${path}[${i}]`));
    if (node && typeof node === 'object') {
      return Object.entries(node).flatMap(([k, v]) =>
        typeof v === 'string' && v.includes(needle)
          ? [{ path: `${path}.${k}`, holder: node }]
          : holders(v, needle, `${path}.${k}`),
      );
    }
    return [];
  }

  it.each(MODALS)('%s: shows a hostile alert title only as plain text', (_n, build) => {
    const title = `*bold* ${HOSTILE}`;
    const v = build(meta, title);
    const found = holders(v, '<!channel>');
    expect(found.length).toBeGreaterThan(0);
    for (const { path, holder } of found) {
      expect({ path, holder }).toEqual({
        path: expect.stringMatching(/\.text$/),
        holder: expect.objectContaining({ type: 'plain_text' }),
      });
    }
    expect(JSON.stringify(v)).toContain(JSON.stringify(title).slice(1, -1));
  });

  it('refuses metadata that is not ids', () => {
    expect(modalMetadata.safeParse({ alertId: 'not-a-uuid' }).success).toBe(false);
    expect(modalMetadata.safeParse({ alertId: meta.alertId, channel: '<!channel>' }).success).toBe(false);
    expect(modalMetadata.safeParse({ alertId: meta.alertId, messageTs: 'x' }).success).toBe(false);
  });
});

// ---- properties ---------------------------------------------------------------------------

const nasty = fc.constantFrom(
  '<',
  '>',
  '&',
  '|',
  '*',
  '\n',
  '<!channel>',
  '<https://evil.example|click>',
  '<@U123>',
  '<!subteam^S1>',
  '&amp;',
  '&lt;',
  '😀',
  '\u0000',
  '\u202e',
);
const anyText = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 3 },
  {
    arbitrary: fc.string({ unit: fc.oneof(nasty, fc.string({ maxLength: 1, minLength: 1 })), maxLength: 150 }),
    weight: 3,
  },
  {
    arbitrary: fc
      .tuple(fc.string({ unit: nasty, minLength: 1, maxLength: 6 }), fc.integer({ min: 1000, max: 4000 }))
      .map(([chunk, length]) => chunk.repeat(Math.ceil(length / chunk.length))),
    weight: 1,
  },
);
const optText = fc.option(anyText, { nil: null });
const anyId = fc.option(fc.oneof(fc.constantFrom('U0ALICE1', 'W0BOB22', 'kanshi', 'guardduty'), anyText), {
  nil: null,
});
const anyDate = fc.date({ min: CREATED, max: new Date('2026-04-01T00:00:00Z'), noInvalidDate: true });

const triageView: fc.Arbitrary<TriageView> = fc.record({
  state: fc.constantFrom(...ALERT_STATES),
  createdAt: fc.constant(CREATED),
  stateChangedAt: anyDate,
  stateById: anyId,
  stateByName: optText,
  stateReasonCategory: fc.option(fc.oneof(fc.constantFrom(...Object.keys(ARCHIVE_CATEGORIES)), anyText), {
    nil: null,
  }),
  stateReason: optText,
  acknowledgedAt: fc.option(anyDate, { nil: null }),
  acknowledgedById: anyId,
  assigneeId: anyId,
  escalatedById: anyId,
  recurrences: fc.nat({ max: 1000 }),
  reviewStatus: fc.constantFrom(null, 'pending', 'approved', 'rejected'),
  reviewedById: anyId,
  reviewComment: optText,
  gdArchived: fc.boolean(),
  gdArchivedAt: fc.option(anyDate, { nil: null }),
  gdSyncError: optText,
  gdArchiveWanted: fc.boolean(),
});

const securityInput: fc.Arbitrary<SecurityCardInput> = fc
  .record({
    triage: triageView,
    title: anyText,
    type: anyText,
    accountId: anyText,
    region: anyText,
    severityLabel: fc.constantFrom('Critical', 'High', 'Medium', 'Low' as const),
    card: fc.option(
      fc.record({
        channel: fc.stringMatching(/^[CG][A-Z0-9]{8,10}$/),
        ts: fc.tuple(fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }), fc.integer({ min: 0, max: 999_999 })),
      }),
      { nil: null },
    ),
    group: fc.option(fc.stringMatching(/^S[A-Z0-9]{8,10}$/), { nil: undefined }),
  })
  .map((r) => ({
    alertId: ALERT_ID,
    finding: finding({
      title: r.title,
      type: r.type,
      accountId: r.accountId,
      region: r.region,
      severityLabel: r.severityLabel,
    }),
    triage: r.triage,
    cardChannelId: r.card?.channel ?? null,
    cardTs: r.card ? `${r.card.ts[0]}.${String(r.card.ts[1]).padStart(6, '0')}` : null,
    securityUsergroupId: r.group,
  }));

/** The constructs the builders write themselves; anything else with '<' came from input. */
const OWN_CONSTRUCTS = [
  /<@[UW][A-Z0-9]{2,}>/g,
  /<!subteam\^S[A-Z0-9]+>/g,
  /<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>]*>/g,
  /<https:\/\/slack\.com\/archives\/[CGD][A-Z0-9]+\/p\d+\|Open the alert card>/g,
];
const withoutOwnConstructs = (text: string) => OWN_CONSTRUCTS.reduce((t, re) => t.replace(re, ''), text);

function checkLimits(blocks: SlackBlock[]): void {
  for (const b of parseBlocks(blocks)) {
    if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    if (b.type === 'section') {
      expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(LIMITS.sectionText);
      for (const f of b.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(LIMITS.fieldText);
    }
    if (b.type === 'context') {
      expect(b.elements.length).toBeLessThanOrEqual(LIMITS.contextElements);
      for (const e of b.elements) expect(e.text.length).toBeLessThanOrEqual(LIMITS.contextText);
    }
  }
  expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
}

describe('triage blocks with any input', () => {
  it('carry no markup but their own and stay within Slack limits', () => {
    fc.assert(
      fc.property(securityInput, (input) => {
        const status = triageBlocks(input.alertId, input.triage);
        const review = buildReviewCard(input);
        const escalation = buildEscalationCard(input);
        for (const blocks of [status, review.blocks, escalation.blocks]) {
          checkLimits(blocks);
          for (const text of mrkdwnTexts(blocks)) {
            expect(withoutOwnConstructs(text)).not.toContain('<');
            expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
          }
        }
        for (const card of [review, escalation]) {
          expect(card.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
          expect(card.text).not.toContain('<');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('give every button the alert id as its value and a known action id', () => {
    const known = new Set<string>(Object.values(ACTION_IDS));
    fc.assert(
      fc.property(securityInput, (input) => {
        const all = [
          ...triageBlocks(input.alertId, input.triage),
          ...buildReviewCard(input).blocks,
          ...buildEscalationCard(input).blocks,
        ];
        for (const b of buttonsOf(all)) {
          expect(b.value).toBe(ALERT_ID);
          expect(known.has(b.action_id)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

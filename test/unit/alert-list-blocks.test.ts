/** /alert list replies: title line, one section per alert, page buttons, escaping and Slack's limits. */
import type { AlertListItem } from '../../app/ports/alert-queries';
import { type ListPage, listPage } from '../../app/services/alert-commands';
import { alertListBlocks, PAGE_SIZE } from '../../app/slack/blocks/alert-list';
import { LIMITS } from '../../app/slack/blocks/mrkdwn';
import { ACTION_IDS } from '../../app/slack/ids';

const HOSTILE = '<!channel> <https://evil|x> & <@U999>';

interface Section {
  type: 'section';
  text: { type: 'mrkdwn'; text: string };
}
interface Button {
  type: 'button';
  action_id: string;
  text: { type: 'plain_text'; text: string };
  value: string;
}
interface Actions {
  type: 'actions';
  elements: Button[];
}

function item(overrides: Partial<AlertListItem> = {}): AlertListItem {
  return {
    id: '3f2b8c1e-9a4d-4c6e-b1f0-7d2e5a9c8b41',
    findingType: 'Recon:EC2/Portscan',
    title: 'EC2 instance i-0abc is performing outbound port scans',
    accountId: '123456789012',
    severityLabel: 'High',
    state: 'archive_requested',
    createdAt: new Date('2026-11-22T12:00:00.000Z'),
    cardChannelId: 'C0123ABCD',
    cardTs: '1763812800.123456',
    ...overrides,
  };
}

const sectionText = (block: Record<string, unknown> | undefined): string => {
  expect(block?.type).toBe('section');
  return (block as unknown as Section).text.text;
};

const actionsOf = (blocks: Array<Record<string, unknown>>): Actions[] =>
  blocks.filter((b) => b.type === 'actions') as unknown as Actions[];

describe('alertListBlocks', () => {
  it('starts with the title, the total and "page N of M"', () => {
    const blocks = alertListBlocks('Open alerts · all accounts', [item()], { number: 2, total: 23 });
    expect(sectionText(blocks[0])).toBe('*Open alerts · all accounts* · 23 alert(s) · page 2 of 3');
  });

  it('counts one page when there is nothing to show', () => {
    const blocks = alertListBlocks('Open alerts', [], { number: 1, total: 0 });
    expect(sectionText(blocks[0])).toBe('*Open alerts* · 0 alert(s) · page 1 of 1');
  });

  it('says "Nothing here." for no items, and has no buttons', () => {
    const blocks = alertListBlocks('Open alerts', [], { number: 1, total: 0 });
    expect(blocks).toHaveLength(2);
    expect(sectionText(blocks[1])).toBe('Nothing here.');
    expect(actionsOf(blocks)).toEqual([]);
  });

  it('renders one section per item, with the title linked to its card, type, account, state and id', () => {
    const a = item({ id: 'a-1', title: 'First' });
    const b = item({ id: 'b-2', title: 'Second', state: 'open', cardChannelId: 'C999', cardTs: '1700000000.000100' });
    const blocks = alertListBlocks('Open alerts', [a, b], { number: 1, total: 2 });
    expect(blocks).toHaveLength(3);
    const first = sectionText(blocks[1]);
    expect(first).toContain('*<https://slack.com/archives/C0123ABCD/p1763812800123456|First>*');
    expect(first).toContain(':large_orange_circle:');
    expect(first).toContain('Recon:EC2/Portscan');
    expect(first).toContain('account 123456789012');
    expect(first).toContain('archive requested');
    expect(first).toContain('<!date^1795348800^');
    expect(first.split('\n').at(-1)).toBe('`a-1`');
    const second = sectionText(blocks[2]);
    expect(second).toContain('*<https://slack.com/archives/C999/p1700000000000100|Second>*');
    expect(second).toContain(' · open · ');
    expect(second.split('\n').at(-1)).toBe('`b-2`');
  });

  it('shows the title without a link when the alert has no card yet', () => {
    const blocks = alertListBlocks('Open alerts', [item({ title: 'No card', cardChannelId: null, cardTs: null })], {
      number: 1,
      total: 1,
    });
    const text = sectionText(blocks[1]);
    expect(text).toContain('*No card*');
    expect(text).not.toContain('https://slack.com/archives');
  });

  it('has no actions block when neither page is given', () => {
    const blocks = alertListBlocks('Open alerts', [item()], { number: 1, total: 1 });
    expect(actionsOf(blocks)).toEqual([]);
  });

  it('has only a Next button on the first page', () => {
    const blocks = alertListBlocks('Open alerts', [item()], { number: 1, total: 23, next: 'N' });
    const actions = actionsOf(blocks);
    expect(actions).toHaveLength(1);
    expect(actions[0]?.elements).toEqual([
      { type: 'button', action_id: ACTION_IDS.listNext, text: { type: 'plain_text', text: 'Next →' }, value: 'N' },
    ]);
    expect(blocks.at(-1)).toBe(actions[0]);
  });

  it('has only a Previous button on the last page', () => {
    const blocks = alertListBlocks('Open alerts', [item()], { number: 3, total: 23, previous: 'P' });
    expect(actionsOf(blocks)[0]?.elements).toEqual([
      {
        type: 'button',
        action_id: ACTION_IDS.listPrevious,
        text: { type: 'plain_text', text: '← Previous' },
        value: 'P',
      },
    ]);
  });

  it('has Previous then Next in the middle, with the given values', () => {
    const blocks = alertListBlocks('Open alerts', [item()], { number: 2, total: 23, previous: 'P', next: 'N' });
    const elements = actionsOf(blocks)[0]?.elements ?? [];
    expect(elements.map((e) => [e.action_id, e.value])).toEqual([
      [ACTION_IDS.listPrevious, 'P'],
      [ACTION_IDS.listNext, 'N'],
    ]);
  });

  it('escapes a hostile list title, alert title and finding type', () => {
    const blocks = alertListBlocks(HOSTILE, [item({ title: HOSTILE, findingType: HOSTILE, cardChannelId: null })], {
      number: 1,
      total: 1,
    });
    const escaped = '&lt;!channel&gt; &lt;https://evil|x&gt; &amp; &lt;@U999&gt;';
    expect(sectionText(blocks[0])).toContain(`*${escaped}*`);
    const text = sectionText(blocks[1]);
    expect(text).toContain(`*${escaped}*`);
    expect(text).toContain(`${escaped} · account`);
    for (const t of [sectionText(blocks[0]), text]) {
      expect(t).not.toContain('<!channel>');
      expect(t).not.toContain('<https://evil');
      expect(t).not.toContain('<@U999>');
    }
  });

  it('escapes a hostile title inside the card link', () => {
    const blocks = alertListBlocks('Open alerts', [item({ title: '<https://evil|x>' })], { number: 1, total: 1 });
    const text = sectionText(blocks[1]);
    expect(text).not.toContain('<https://evil');
    // The only link is the card's; the label cannot close it or start another.
    expect(text.match(/<https?:/g)).toEqual(['<https:']);
    expect(text).toMatch(/^\S* \*<https:\/\/slack\.com\/archives\/C0123ABCD\/p1763812800123456\|[^<>]*>\*$/m);
  });

  it('escapes a linked title exactly once', () => {
    const blocks = alertListBlocks('Open alerts', [item({ title: 'S3 & IAM <prod>' })], { number: 1, total: 1 });
    expect(sectionText(blocks[1])).toContain(
      '*<https://slack.com/archives/C0123ABCD/p1763812800123456|S3 &amp; IAM &lt;prod&gt;>*',
    );
  });

  it('keeps every section within Slack limits for a full page of 5000-character titles', () => {
    const long = `${'&<>'.repeat(1000)}${'x'.repeat(2000)}`;
    const items = Array.from({ length: PAGE_SIZE }, (_, i) =>
      item({ id: `id-${i}`, title: long, findingType: long, accountId: long }),
    );
    const blocks = alertListBlocks(long, items, { number: 1, total: 1000, previous: 'P', next: 'N' });
    expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
    expect(blocks).toHaveLength(PAGE_SIZE + 2);
    for (const block of blocks.filter((b) => b.type === 'section')) {
      expect(sectionText(block).length).toBeLessThanOrEqual(LIMITS.sectionText);
    }
    expect(sectionText(blocks[1])).toContain('…');
  });

  it('carries page values that the button handler parses back with listPage', () => {
    const filter: ListPage = {
      scope: 'all',
      accountId: '123456789012',
      severity: 'high',
      page: 2,
      channel: 'C0123ABCD',
    };
    const page = (n: number) => JSON.stringify({ ...filter, page: n });
    const blocks = alertListBlocks('All alerts', [item()], {
      number: 2,
      total: 35,
      previous: page(1),
      next: page(3),
    });
    const [previous, next] = actionsOf(blocks)[0]?.elements ?? [];
    expect(listPage.parse(JSON.parse(previous?.value ?? ''))).toEqual({ ...filter, page: 1 });
    expect(listPage.parse(JSON.parse(next?.value ?? ''))).toEqual({ ...filter, page: 3 });
    // Slack caps a button value at 2000 characters.
    expect(next?.value.length).toBeLessThanOrEqual(2000);
  });

  it('carries a minimal filter (no account, no severity) that listPage accepts', () => {
    const filter: ListPage = { scope: 'open', page: 1, channel: 'G0123ABCD' };
    const blocks = alertListBlocks('Open alerts', [item()], {
      number: 1,
      total: 11,
      next: JSON.stringify({ ...filter, page: 2 }),
    });
    const value = actionsOf(blocks)[0]?.elements[0]?.value ?? '';
    expect(listPage.safeParse(JSON.parse(value))).toEqual({ success: true, data: { ...filter, page: 2 } });
  });
});

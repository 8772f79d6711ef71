/** /alert list and review replies: compact, paginated, escaped. Pure. */
import type { SeverityLabel } from '../../domain/severity';
import { SEVERITY_EMOJI } from '../../domain/severity';
import type { AlertListItem } from '../../ports/alert-queries';
import { ACTION_IDS } from '../ids';
import { escapeAndFit, fitPlain, link, slackDate } from './mrkdwn';
import { messageLink } from './security-cards';

export const PAGE_SIZE = 10;

/** One alert as mrkdwn: severity, linked title, type, account, state, arrival and id. */
export function alertLines(a: AlertListItem): string {
  const emoji = SEVERITY_EMOJI[a.severityLabel as SeverityLabel] ?? '';
  // link() escapes its label itself, so it gets the raw (fitted) title.
  const card =
    a.cardChannelId && a.cardTs
      ? link(messageLink(a.cardChannelId, a.cardTs), fitPlain(a.title, 150))
      : escapeAndFit(a.title, 150);
  return [
    `${emoji} *${card}*`,
    `${escapeAndFit(a.findingType, 120)} · account ${escapeAndFit(a.accountId, 20)} · ${a.state.replace('_', ' ')} · ${slackDate(a.createdAt.toISOString())}`,
    `\`${a.id}\``,
  ].join('\n');
}

export function alertListBlocks(
  title: string,
  items: AlertListItem[],
  page: { number: number; total: number; next?: string | undefined; previous?: string | undefined },
): Array<Record<string, unknown>> {
  const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  const blocks: Array<Record<string, unknown>> = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${escapeAndFit(title, 200)}* · ${page.total} alert(s) · page ${page.number} of ${pages}`,
      },
    },
  ];
  if (items.length === 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'Nothing here.' } });
  for (const a of items) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: alertLines(a) } });
  const buttons = [
    ...(page.previous
      ? [
          {
            type: 'button',
            action_id: ACTION_IDS.listPrevious,
            text: { type: 'plain_text', text: '← Previous' },
            value: page.previous,
          },
        ]
      : []),
    ...(page.next
      ? [
          {
            type: 'button',
            action_id: ACTION_IDS.listNext,
            text: { type: 'plain_text', text: 'Next →' },
            value: page.next,
          },
        ]
      : []),
  ];
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return blocks;
}

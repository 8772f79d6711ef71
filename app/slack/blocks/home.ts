/** The App Home tab. Pure. */
import type { AlertListItem } from '../../ports/alert-queries';
import type { AlertStats } from '../../ports/stats-store';
import { alertLines } from './alert-list';
import { escapeAndFit } from './mrkdwn';
import { durationLine } from './stats';

export interface HomeView {
  type: 'home';
  blocks: Array<Record<string, unknown>>;
}

export interface HomeInput {
  mine: AlertListItem[];
  /** Open alerts of the accounts routed to the user's channels; undefined: no such accounts. */
  inChannels?: AlertListItem[] | undefined;
  accounts: string[];
  /** Pending reviews; undefined: the user is not a security engineer. */
  reviews?: AlertListItem[] | undefined;
  stats?: AlertStats | undefined;
  /** Slack could not say which channels the user is in. */
  channelsUnknown: boolean;
}

function list(title: string, items: AlertListItem[], empty: string): Array<Record<string, unknown>> {
  return [
    { type: 'header', text: { type: 'plain_text', text: title } },
    ...(items.length === 0
      ? [{ type: 'section', text: { type: 'mrkdwn', text: empty } }]
      : items.map((a) => ({ type: 'section', text: { type: 'mrkdwn', text: alertLines(a) } }))),
  ];
}

export function homeView(h: HomeInput): HomeView {
  const blocks: Array<Record<string, unknown>> = [
    ...list('Your alerts', h.mine, 'Nothing acknowledged or taken by you is still open.'),
    { type: 'divider' },
  ];
  if (h.inChannels) {
    blocks.push(...list('Open in your channels', h.inChannels, 'No open alerts for the accounts in your channels.'));
  } else {
    blocks.push(
      { type: 'header', text: { type: 'plain_text', text: 'Open in your channels' } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: h.channelsUnknown
            ? 'Slack did not say which channels you are in; try again in a moment.'
            : 'None of your channels receives alerts for an account.',
        },
      },
    );
  }
  if (h.reviews)
    blocks.push({ type: 'divider' }, ...list('Archives to review', h.reviews, 'No archive is waiting for review.'));
  if (h.stats) {
    const accounts = escapeAndFit(h.accounts.join(', '), 500);
    blocks.push(
      { type: 'divider' },
      { type: 'header', text: { type: 'plain_text', text: 'Last 7 days in your accounts' } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Alerts*\n${h.stats.total}` },
          { type: 'mrkdwn', text: `*Time to acknowledge*\n${durationLine(h.stats.timeToAcknowledge)}` },
          { type: 'mrkdwn', text: `*Time to resolve*\n${durationLine(h.stats.timeToResolve)}` },
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Accounts: ${accounts}` }] },
    );
  }
  // A home tab holds at most 100 blocks.
  return { type: 'home', blocks: blocks.slice(0, 100) };
}

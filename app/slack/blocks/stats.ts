/**
 * The statistics message: what arrived in a period, how fast it was handled,
 * and what is still waiting. Pure. Finding types, account ids and archive
 * categories come from the database (and so from findings): all escaped.
 */
import { SEVERITY_EMOJI, type SeverityLabel } from '../../domain/severity';
import { type AlertState, categoryLabel, humanDuration } from '../../domain/triage';
import type { AlertStats, Durations } from '../../ports/stats-store';
import type { SlackBlock } from './finding-card';
import { escapeAndFit, fitPlain, LIMITS, slackDate } from './mrkdwn';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Lines per list: with values fitted to VALUE_MAX, a field stays far below LIMITS.fieldText. */
const LIST_MAX = 10;
const VALUE_MAX = 120;

const STATE_NAME: Record<AlertState, string> = {
  open: 'Open',
  acknowledged: 'Acknowledged',
  escalated: 'Escalated',
  archive_requested: 'Archive requested',
  archived: 'Archived',
  resolved: 'Resolved',
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "last 7 days"; a period shorter than a day (or not a whole number of days) in hours. */
export function periodLabel(since: Date, until: Date): string {
  const ms = Math.max(0, until.getTime() - since.getTime());
  if (ms >= DAY_MS && ms % DAY_MS === 0) return `last ${plural(ms / DAY_MS, 'day')}`;
  if (ms >= 2 * DAY_MS) return `last ${plural(Math.round(ms / DAY_MS), 'day')}`;
  return `last ${plural(Math.max(1, Math.round(ms / HOUR_MS)), 'hour')}`;
}

/** "median 4 min · p90 2 h (12 alerts)", or "no data". */
export function durationLine(d: Durations): string {
  if (d.count === 0 || d.medianMs === null || d.p90Ms === null) return 'no data';
  return `median ${humanDuration(d.medianMs)} · p90 ${humanDuration(d.p90Ms)} (${plural(d.count, 'alert')})`;
}

function stateName(state: string): string {
  return Object.hasOwn(STATE_NAME, state) ? STATE_NAME[state as AlertState] : escapeAndFit(state, VALUE_MAX);
}

function severityName(severity: string): string {
  const emoji = Object.hasOwn(SEVERITY_EMOJI, severity) ? `${SEVERITY_EMOJI[severity as SeverityLabel]} ` : '';
  return `${emoji}${escapeAndFit(severity, VALUE_MAX)}`;
}

/** A titled list for a section field, at most LIST_MAX lines, "none" when empty. */
function listField(title: string, lines: string[]): { type: 'mrkdwn'; text: string } {
  const shown = lines.slice(0, LIST_MAX);
  if (lines.length > shown.length) shown.push(`…and ${lines.length - shown.length} more`);
  const body = shown.length ? shown.join('\n') : '_none_';
  return { type: 'mrkdwn', text: `*${title}*\n${body}` };
}

export function statsBlocks(s: AlertStats, scope: string): SlackBlock[] {
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: fitPlain(`Alert statistics · ${periodLabel(s.since, s.until)}`, LIMITS.headerText),
      },
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${escapeAndFit(scope, 200)} · ${slackDate(s.since.toISOString())} to ${slackDate(s.until.toISOString())} · sample findings excluded`,
        },
      ],
    },
  ];
  if (s.total === 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'No alerts arrived in this period.' } });
    return blocks;
  }
  blocks.push(
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*${plural(s.total, 'alert')}*` },
      fields: [
        listField(
          'By severity',
          s.bySeverity.map((x) => `${severityName(x.severity)}: ${x.count}`),
        ),
        listField(
          'By state',
          s.byState.map((x) => `${stateName(x.state)}: ${x.count}`),
        ),
      ],
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Time to acknowledge*\n${durationLine(s.timeToAcknowledge)}` },
        { type: 'mrkdwn', text: `*Time to resolve or archive*\n${durationLine(s.timeToResolve)}` },
      ],
    },
    { type: 'divider' },
    {
      type: 'section',
      fields: [
        listField(
          'Noisiest finding types',
          s.noisiestTypes.map((x) => `${escapeAndFit(x.type, VALUE_MAX)}: ${x.count}`),
        ),
        listField(
          'Archive reasons',
          s.archiveReasons.map((x) => `${escapeAndFit(categoryLabel(x.category), VALUE_MAX)}: ${x.count}`),
        ),
        listField(
          'Unacknowledged, by account',
          s.unacknowledgedByAccount.map((x) => `${escapeAndFit(x.accountId, VALUE_MAX)}: ${x.count}`),
        ),
        listField(
          'How they reached Slack',
          s.byDelivery.map((x) => `${DELIVERY_NAME[x.delivery] ?? escapeAndFit(x.delivery, VALUE_MAX)}: ${x.count}`),
        ),
        listField(
          'Suppressed, by rule',
          s.suppressedByRule.map((x) => `${escapeAndFit(x.rule, VALUE_MAX)}: ${x.count}`),
        ),
      ],
    },
  );
  return blocks;
}

/** The notification fallback: one paragraph. Slack parses it as mrkdwn too, so values are escaped. */
const DELIVERY_NAME: Record<string, string> = {
  card: 'own card',
  digest: 'in a storm digest',
  thread: 'threaded (first only)',
  silenced: 'silenced',
  suppressed: 'suppressed by a rule',
};

export function statsText(s: AlertStats, scope: string): string {
  const head = `Alert statistics for ${escapeAndFit(scope, 200)}, ${periodLabel(s.since, s.until)}`;
  if (s.total === 0) return `${head}: no alerts.`;
  // Capped like the lists in the blocks, so the paragraph stays well under LIMITS.fallbackText.
  const severity = s.bySeverity
    .slice(0, LIST_MAX)
    .map((x) => `${x.count} ${escapeAndFit(x.severity, VALUE_MAX)}`)
    .join(', ');
  const open = s.byState.find((x) => x.state === 'open')?.count ?? 0;
  return (
    `${head}: ${plural(s.total, 'alert')} (${severity}). ` +
    `Time to acknowledge: ${durationLine(s.timeToAcknowledge)}. ` +
    `Time to resolve or archive: ${durationLine(s.timeToResolve)}. ` +
    `${open} still open.`
  );
}

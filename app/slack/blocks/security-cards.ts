/**
 * Cards in the security channel: the archive review (Approve / Reject) and the
 * escalation (Take). Pure; every finding field is escaped.
 */
import type { Finding } from '../../domain/finding';
import { categoryLabel } from '../../domain/triage';
import { ACTION_IDS } from '../ids';
import type { SlackBlock } from './finding-card';
import { escapeAndFit, fitPlain, link } from './mrkdwn';
import { button, type TriageView, who } from './status';

export interface SecurityCardInput {
  alertId: string;
  finding: Finding;
  triage: TriageView;
  /** Where the alert's own card is, to link back to it. */
  cardChannelId: string | null;
  cardTs: string | null;
  securityUsergroupId?: string | undefined;
}

export interface SecurityCard {
  text: string;
  blocks: SlackBlock[];
}

/** A link to a message that works in any Slack client of the workspace. */
export function messageLink(channelId: string, ts: string): string {
  return `https://slack.com/archives/${channelId}/p${ts.replace('.', '')}`;
}

function facts(f: Finding): string {
  return [
    `*${escapeAndFit(f.title, 300)}*`,
    `${f.severityLabel} · ${escapeAndFit(f.type, 200)} · account ${escapeAndFit(f.accountId, 20)} · ${escapeAndFit(f.region, 40)}`,
  ].join('\n');
}

function original(input: SecurityCardInput): string {
  return input.cardChannelId && input.cardTs
    ? link(messageLink(input.cardChannelId, input.cardTs), 'Open the alert card')
    : 'The alert card is still being posted.';
}

export function buildReviewCard(input: SecurityCardInput): SecurityCard {
  const t = input.triage;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitPlain(`Archive review: ${input.finding.title}`, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: facts(input.finding) } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [
          `${who(t.stateById, t.stateByName)} archived it as *${escapeAndFit(categoryLabel(t.stateReasonCategory), 40)}*:`,
          `> ${escapeAndFit((t.stateReason ?? '').replace(/\s+/g, ' '), 2500)}`,
        ].join('\n'),
      },
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: original(input) }] },
  ];
  if (t.reviewStatus === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: 'kanshi_review_actions',
      elements: [
        button('Approve', ACTION_IDS.approveArchive, input.alertId, 'primary'),
        button('Reject…', ACTION_IDS.rejectArchive, input.alertId, 'danger'),
      ],
    });
  } else if (t.reviewStatus === 'approved') {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `:white_check_mark: Approved by ${who(t.reviewedById, null)}` },
    });
  } else if (t.reviewStatus === 'rejected') {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:x: Rejected by ${who(t.reviewedById, null)}: ${escapeAndFit(t.reviewComment ?? '', 2000)}`,
      },
    });
  }
  return { text: escapeAndFit(`Archive review: ${input.finding.title}`, 300), blocks };
}

export function buildEscalationCard(input: SecurityCardInput): SecurityCard {
  const t = input.triage;
  const group = input.securityUsergroupId ? `<!subteam^${input.securityUsergroupId}> ` : '';
  const by =
    t.escalatedById === 'kanshi'
      ? 'Kanshi escalated this alert: nobody acknowledged it in time.'
      : `${who(t.escalatedById, null)} escalated this alert.`;
  const lines = [`${group}${by}`];
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitPlain(`Escalated: ${input.finding.title}`, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: `${lines.join('\n')}\n${facts(input.finding)}` } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: original(input) }] },
  ];
  if (t.assigneeId) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `:bust_in_silhouette: Taken by ${who(t.assigneeId, null)}` },
    });
  } else if (t.state === 'escalated') {
    blocks.push({
      type: 'actions',
      block_id: 'kanshi_escalation_actions',
      elements: [button('Take', ACTION_IDS.take, input.alertId, 'primary')],
    });
  }
  if (t.state === 'resolved' || t.state === 'archived') {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `Closed: ${t.state} by ${who(t.stateById, t.stateByName)}` },
    });
  }
  return { text: escapeAndFit(`Escalated: ${input.finding.title}`, 300), blocks };
}

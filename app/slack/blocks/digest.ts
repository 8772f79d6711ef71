/**
 * Storm control's digest card, its member list and its "Archive all" modal.
 * Pure. One digest stands for every alert of one finding type that reached a
 * channel during a storm; it is edited in place as alerts arrive.
 */
import { z } from 'zod';
import { SEVERITY_EMOJI, type SeverityLabel } from '../../domain/severity';
import { ARCHIVE_CATEGORIES, humanDuration, REASON_MAX, REASON_MIN } from '../../domain/triage';
import type { DigestReview } from '../../ports/digest-store';
import { DIGEST_ACTION_IDS, DIGEST_CALLBACK_IDS, DIGEST_METADATA_PREFIX, INPUT_IDS } from '../ids';
import type { CardMessage, SlackBlock } from './finding-card';
import { archiveInputs, modal, type View } from './modals';
import { escapeAndFit, fitPlain, LIMITS } from './mrkdwn';

export interface DigestView {
  id: string;
  channelId: string;
  findingType: string;
  openedAt: Date;
  lastAlertAt: Date;
  closedAt: Date | null;
  total: number;
  /** Distinct resources (instances, keys, buckets…) among them. */
  resources: number;
  resourceType: string;
  highest: SeverityLabel;
  /** Alerts by state, e.g. { open: 30, acknowledged: 5, archived: 2 }. */
  states: Record<string, number>;
  threshold: number;
  windowMinutes: number;
}

export interface DigestMember {
  id: string;
  findingId: string;
  severityLabel: SeverityLabel;
  resource: string;
  accountId: string;
  region: string;
  state: string;
  createdAt: Date;
}

export const digestMetadata = z.object({ digestId: z.string().regex(/^\d{1,19}$/) });

const RESOURCE_WORDS: Record<string, [string, string]> = {
  Instance: ['instance', 'instances'],
  AccessKey: ['access key', 'access keys'],
  S3Bucket: ['bucket', 'buckets'],
  S3Object: ['bucket', 'buckets'],
  EKSCluster: ['cluster', 'clusters'],
  ECSCluster: ['cluster', 'clusters'],
  Container: ['container', 'containers'],
  Lambda: ['function', 'functions'],
  RDSDBInstance: ['database', 'databases'],
};

function resourceWords(type: string, n: number): string {
  const [one, many] = (Object.hasOwn(RESOURCE_WORDS, type) ? RESOURCE_WORDS[type] : undefined) ?? [
    'resource',
    'resources',
  ];
  return `${n} ${n === 1 ? one : many}`;
}

const STATE_ORDER = ['open', 'acknowledged', 'escalated', 'archive_requested', 'archived', 'resolved'];

function stateLine(states: Record<string, number>): string {
  return STATE_ORDER.filter((s) => (states[s] ?? 0) > 0)
    .map((s) => `${states[s]} ${s.replace('_', ' ')}`)
    .join(' · ');
}

/** "37 more UnauthorizedAccess:EC2/SSHBruteForce on 12 instances", edited in place. */
export function buildDigestCard(d: DigestView, now: Date): CardMessage {
  const type = escapeAndFit(d.findingType, 300);
  const open = d.states.open ?? 0;
  const headline = `${SEVERITY_EMOJI[d.highest]} *${d.total} more* \`${type}\` on ${resourceWords(d.resourceType, d.resources)}`;
  const when = d.closedAt
    ? `Storm over: from ${clock(d.openedAt)} to ${clock(d.lastAlertAt)} UTC.`
    : `Since ${clock(d.openedAt)} UTC, last one ${humanDuration(now.getTime() - d.lastAlertAt.getTime())} ago.`;
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        emoji: true,
        text: fitPlain(`:cyclone: Alert storm: ${d.findingType}`, LIMITS.headerText),
      },
    },
    { type: 'section', text: { type: 'mrkdwn', text: fitPlain(headline, LIMITS.sectionText) } },
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `${when} ${stateLine(d.states) || 'none open'}.` },
        {
          type: 'mrkdwn',
          text: `This channel got ${d.threshold} cards within ${d.windowMinutes} minutes, so Kanshi groups further alerts here until it is quiet for ${d.windowMinutes} minutes. Every alert is stored: \`/alert list\` shows them and \`/alert show &lt;id&gt;\` acts on one.`,
        },
      ],
    },
  ];
  const value = d.id;
  const buttons: Array<Record<string, unknown>> = [
    { type: 'button', action_id: DIGEST_ACTION_IDS.list, text: { type: 'plain_text', text: 'List them' }, value },
  ];
  if (open > 0) {
    buttons.push(
      {
        type: 'button',
        action_id: DIGEST_ACTION_IDS.acknowledgeAll,
        style: 'primary',
        text: { type: 'plain_text', text: `Acknowledge all ${open}` },
        value,
        confirm: {
          title: { type: 'plain_text', text: 'Acknowledge all?' },
          text: {
            type: 'plain_text',
            text: fitPlain(`Acknowledge ${open} open ${d.findingType} alerts? Each one is audited in your name.`, 300),
          },
          confirm: { type: 'plain_text', text: 'Acknowledge all' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
      {
        type: 'button',
        action_id: DIGEST_ACTION_IDS.archiveAll,
        text: { type: 'plain_text', text: 'Archive all…' },
        value,
      },
    );
  }
  blocks.push({ type: 'actions', elements: buttons });
  return {
    text: escapeAndFit(`${d.total} more ${d.findingType} alerts (storm digest)`, LIMITS.fallbackText),
    blocks,
    metadata: { event_type: 'kanshi_alert', event_payload: { alert_id: `${DIGEST_METADATA_PREFIX}${d.id}` } },
  };
}

const LIST_MAX = 45;

/** The digest's alerts, newest first, in a modal (at most 100 blocks; we show 45). */
export function digestListModal(d: DigestView, members: DigestMember[]): View {
  const lines = members.slice(0, LIST_MAX).map((m) => ({
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: fitPlain(
        `${SEVERITY_EMOJI[m.severityLabel]} *${escapeAndFit(m.resource, 200)}* · ${escapeAndFit(m.accountId, 20)} · ${escapeAndFit(m.region, 30)} · _${m.state.replace('_', ' ')}_\n\`/alert show ${m.id}\``,
        LIMITS.sectionText,
      ),
    },
  }));
  const more = d.total - Math.min(members.length, LIST_MAX);
  // Read-only: no submit button, so Slack sends no view_submission for it.
  const { submit: _none, ...view } = modal(DIGEST_CALLBACK_IDS.list, 'Storm alerts', 'Close', { digestId: d.id }, [
    {
      type: 'context',
      elements: [{ type: 'plain_text', emoji: false, text: fitPlain(`${d.total} × ${d.findingType}`, 2000) }],
    },
    ...lines,
    ...(more > 0
      ? [
          {
            type: 'context',
            elements: [{ type: 'mrkdwn', text: `…and ${more} more: \`/alert list\` pages through all.` }],
          },
        ]
      : []),
  ]);
  return { ...view, close: { type: 'plain_text', text: 'Close' } };
}

export function digestArchiveModal(d: DigestView): View {
  const open = d.states.open ?? 0;
  return modal(DIGEST_CALLBACK_IDS.archiveAll, 'Archive all', 'Archive all', { digestId: d.id }, [
    {
      type: 'context',
      elements: [
        {
          type: 'plain_text',
          emoji: false,
          text: fitPlain(
            `${open} open ${d.findingType} alerts. Each is archived and audited on its own, with this reason.`,
            2000,
          ),
        },
      ],
    },
    ...archiveInputs('Reason, for all of them (security engineers review it)'),
  ]);
}

function clock(d: Date): string {
  return d.toISOString().slice(11, 16);
}

/**
 * The one review card for a digest's bulk archive, in the security channel:
 * security engineers approve or reject them all at once (each alert audited).
 */
export function digestReviewCard(r: DigestReview): { text: string; blocks: Array<Record<string, unknown>> } {
  const pending = r.reviews.pending ?? 0;
  const approved = r.reviews.approved ?? 0;
  const rejected = r.reviews.rejected ?? 0;
  const total = pending + approved + rejected;
  const who = r.archivedById && /^[UW][A-Z0-9]+$/.test(r.archivedById) ? `<@${r.archivedById}>` : 'Someone';
  // The category is read back from the audit row: look it up as our own key only.
  const category =
    r.category && Object.hasOwn(ARCHIVE_CATEGORIES, r.category)
      ? ((ARCHIVE_CATEGORIES as Record<string, string>)[r.category] ?? r.category)
      : (r.category ?? 'no category');
  const lines = [
    `:package: ${who} archived *${total}* \`${escapeAndFit(r.findingType, 300)}\` alerts from a storm in <#${r.channelId}>, all at once.`,
    `*Why:* ${escapeAndFit(category, 60)}: ${escapeAndFit(r.reason ?? '', 1500)}`,
    `Waiting for review: ${pending} · approved: ${approved} · rejected: ${rejected}`,
  ];
  const blocks: Array<Record<string, unknown>> = [
    { type: 'section', text: { type: 'mrkdwn', text: fitPlain(lines.join('\n'), LIMITS.sectionText) } },
  ];
  if (pending > 0) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: DIGEST_ACTION_IDS.approveAll,
          style: 'primary',
          text: { type: 'plain_text', text: `Approve all ${pending}` },
          value: r.digestId,
          confirm: {
            title: { type: 'plain_text', text: 'Approve all?' },
            text: { type: 'plain_text', text: `Approve ${pending} archives? Each one is audited in your name.` },
            confirm: { type: 'plain_text', text: 'Approve all' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        {
          type: 'button',
          action_id: DIGEST_ACTION_IDS.rejectAll,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject all…' },
          value: r.digestId,
        },
      ],
    });
  }
  return {
    text: escapeAndFit(`Review: ${total} ${r.findingType} alerts archived at once`, LIMITS.fallbackText),
    blocks,
  };
}

export function digestRejectModal(digestId: string, pending: number): View {
  return modal(DIGEST_CALLBACK_IDS.rejectAll, 'Reject all', 'Reject all', { digestId }, [
    {
      type: 'context',
      elements: [
        {
          type: 'plain_text',
          emoji: false,
          text: `Reopen ${pending} archived alerts; each is reopened and audited on its own, with this comment.`,
        },
      ],
    },
    {
      type: 'input',
      block_id: INPUT_IDS.comment.block,
      label: { type: 'plain_text', text: 'Comment for the account owners' },
      element: {
        type: 'plain_text_input',
        action_id: INPUT_IDS.comment.action,
        multiline: true,
        min_length: REASON_MIN,
        max_length: REASON_MAX,
      },
    },
  ]);
}

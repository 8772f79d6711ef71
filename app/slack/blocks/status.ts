/**
 * The triage part of cards: a status line (state, who, when, how long after
 * the alert) and the buttons the state allows. Pure.
 */
import {
  type AlertState,
  availableActions,
  categoryLabel,
  humanDuration,
  type TriageAction,
} from '../../domain/triage';
import { ACTION_IDS, CARD_BLOCK_IDS } from '../ids';
import type { SlackBlock } from './finding-card';
import { escapeAndFit } from './mrkdwn';

export interface TriageView {
  state: AlertState;
  createdAt: Date;
  stateChangedAt: Date;
  stateById: string | null;
  stateByName: string | null;
  stateReasonCategory: string | null;
  stateReason: string | null;
  acknowledgedAt: Date | null;
  acknowledgedById: string | null;
  assigneeId: string | null;
  escalatedById: string | null;
  recurrences: number;
  reviewStatus: string | null;
  reviewedById: string | null;
  reviewComment: string | null;
  gdArchived: boolean;
  gdArchivedAt: Date | null;
  gdSyncError: string | null;
  gdArchiveWanted: boolean;
}

const USER = /^[UW][A-Z0-9]{2,}$/;

/** A Slack mention for a user id we stored; anything else (e.g. "kanshi") is shown by name. */
export function who(id: string | null, name: string | null): string {
  if (id && USER.test(id)) return `<@${id}>`;
  return escapeAndFit(name ?? id ?? 'someone', 80);
}

const STATE_LABEL: Record<AlertState, string> = {
  open: ':rotating_light: *Open*',
  acknowledged: ':eyes: *Acknowledged*',
  escalated: ':sos: *Escalated to security*',
  archive_requested: ':hourglass_flowing_sand: *Archive requested*, waiting for security review',
  archived: ':file_cabinet: *Archived*',
  resolved: ':white_check_mark: *Resolved*',
};

export function statusLines(v: TriageView): string[] {
  const after = (at: Date) => humanDuration(at.getTime() - v.createdAt.getTime());
  const lines: string[] = [];
  let head = STATE_LABEL[v.state];
  if (v.state !== 'open') head += ` by ${who(v.stateById, v.stateByName)} · ${after(v.stateChangedAt)} after the alert`;
  if (v.stateReasonCategory) head += ` · ${escapeAndFit(categoryLabel(v.stateReasonCategory), 40)}`;
  lines.push(head);
  if (v.stateReason) lines.push(`> ${escapeAndFit(v.stateReason.replace(/\s+/g, ' '), 500)}`);
  if (v.acknowledgedAt && v.state !== 'acknowledged') {
    lines.push(`Acknowledged by ${who(v.acknowledgedById, null)} · ${after(v.acknowledgedAt)} after the alert`);
  }
  if (v.assigneeId) lines.push(`:bust_in_silhouette: Taken by ${who(v.assigneeId, null)}`);
  if (v.recurrences > 0) lines.push(`:repeat: Recurred after it was closed (${v.recurrences}×)`);
  if (v.reviewStatus === 'approved') lines.push(`:white_check_mark: Archive approved by ${who(v.reviewedById, null)}`);
  if (v.reviewStatus === 'rejected') {
    lines.push(`:x: Archive rejected by ${who(v.reviewedById, null)}: ${escapeAndFit(v.reviewComment ?? '', 300)}`);
  }
  if (v.gdSyncError) lines.push(`:warning: GuardDuty archiving failed: ${escapeAndFit(v.gdSyncError, 300)}`);
  else if (v.gdArchived && v.gdArchivedAt) lines.push(`Archived in GuardDuty ${after(v.gdArchivedAt)} after the alert`);
  else if (v.gdArchiveWanted) lines.push('Archiving in GuardDuty…');
  return lines;
}

const BUTTON: Record<TriageAction, { text: string; actionId: string; style?: 'primary' | 'danger' } | undefined> = {
  acknowledge: { text: 'Acknowledge', actionId: ACTION_IDS.acknowledge, style: 'primary' },
  archive: { text: 'Archive…', actionId: ACTION_IDS.archive },
  escalate: { text: 'Escalate…', actionId: ACTION_IDS.escalate, style: 'danger' },
  resolve: { text: 'Resolve…', actionId: ACTION_IDS.resolve, style: 'primary' },
  approve_archive: undefined,
  reject_archive: undefined,
  take: undefined,
  recur: undefined,
  archived_in_guardduty: undefined,
  // Offered by the investigation, only when the resource is gone.
  resolve_gone: undefined,
};

export function button(
  text: string,
  actionId: string,
  alertId: string,
  style?: 'primary' | 'danger',
): Record<string, unknown> {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text, emoji: true },
    value: alertId,
    ...(style ? { style } : {}),
  };
}

/** Every piece of the status is fitted, so the whole stays well under a section's 3000 characters. */
export function triageBlocks(alertId: string, v: TriageView): SlackBlock[] {
  const blocks: SlackBlock[] = [
    { type: 'section', block_id: CARD_BLOCK_IDS.status, text: { type: 'mrkdwn', text: statusLines(v).join('\n') } },
  ];
  const buttons = availableActions(v.state)
    .map((a) => BUTTON[a])
    .filter((b) => b !== undefined)
    .map((b) => button(b.text, b.actionId, alertId, b.style));
  // The runbook stays available in every state.
  buttons.push(button('Runbook', ACTION_IDS.runbook, alertId));
  // Mute more of the same (type, account, resource) for a while; every silence is audited.
  buttons.push(button('Silence similar…', ACTION_IDS.silenceSimilar, alertId));
  blocks.push({ type: 'actions', block_id: CARD_BLOCK_IDS.actions, elements: buttons });
  return blocks;
}

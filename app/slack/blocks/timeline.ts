/** Thread replies: the alert's timeline, one line per audit row, and nudges. Pure. */
import { categoryLabel, humanDuration } from '../../domain/triage';
import type { AuditRow } from '../../ports/triage-store';
import { escapeAndFit } from './mrkdwn';
import { who } from './status';

const quote = (text: string | null) => (text ? `: “${escapeAndFit(text.replace(/\s+/g, ' '), 1500)}”` : '');

export function timelineText(e: AuditRow, alertCreatedAt: Date): string {
  const actor = who(e.actorId, e.actorName);
  const after = humanDuration(e.createdAt.getTime() - alertCreatedAt.getTime());
  switch (e.action) {
    case 'acknowledge':
      return `:eyes: ${actor} acknowledged this · ${after} after the alert`;
    case 'archive':
      return e.toState === 'archive_requested'
        ? `:hourglass_flowing_sand: ${actor} asked to archive this as ${escapeAndFit(categoryLabel(e.reasonCategory), 40)}${quote(e.reason)} — waiting for security review`
        : `:file_cabinet: ${actor} archived this as ${escapeAndFit(categoryLabel(e.reasonCategory), 40)}${quote(e.reason)}`;
    case 'approve_archive':
      return `:white_check_mark: ${actor} approved the archive`;
    case 'reject_archive':
      return `:x: ${actor} rejected the archive and reopened this${quote(e.reason)}`;
    case 'escalate':
      return e.detail.automatic
        ? ':sos: Nobody acknowledged this in time, so Kanshi escalated it to the security team.'
        : `:sos: ${actor} escalated this to the security team${quote(e.reason)}`;
    case 'take':
      return `:bust_in_silhouette: ${actor} took this for the security team`;
    case 'resolve':
      return `:white_check_mark: ${actor} resolved this · ${after} after the alert${quote(e.reason)}`;
    case 'recur':
      return ':repeat: The finding was updated after it was closed, so the alert is open again.';
    case 'resolve_gone':
      return `:white_check_mark: ${actor} resolved this: the resource no longer exists · ${after} after the alert`;
    case 'investigate':
      return `:mag: ${actor} ran the investigation again`;
    case 'archived_in_guardduty':
      return ':file_cabinet: The finding was archived in GuardDuty outside Kanshi, so the alert is archived.';
    default:
      return `${actor} ${escapeAndFit(e.action, 40)}`;
  }
}

export function nudgeText(mention: string, step: number, waited: string): string {
  const who = mention === 'here' || mention === 'channel' ? `<!${mention}>` : `<!subteam^${mention}>`;
  return step >= 2
    ? `${who} nobody has acknowledged this after ${waited}. Kanshi is escalating it to the security team.`
    : `${who} this alert has not been acknowledged after ${waited}. Please take a look and press Acknowledge.`;
}

/**
 * The alert lifecycle, as a pure state machine.
 *
 *   open → acknowledged → resolved
 *   open | acknowledged → archived            (ARCHIVE_REVIEW=after: reviewed afterwards)
 *   open | acknowledged → archive_requested   (ARCHIVE_REVIEW=before: waits for approval)
 *   archive_requested → archived (approve) | open (reject)
 *   archived → open (reject, after the fact)
 *   open | acknowledged → escalated → resolved | archived
 *   archived | resolved → open (a newer update of the finding: it recurred)
 */

export const ALERT_STATES = ['open', 'acknowledged', 'escalated', 'archive_requested', 'archived', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export type TriageAction =
  | 'acknowledge'
  | 'archive'
  | 'escalate'
  | 'resolve'
  | 'approve_archive'
  | 'reject_archive'
  | 'take'
  | 'recur'
  | 'archived_in_guardduty'
  /** The investigated resource no longer exists: resolved as "resource gone". */
  | 'resolve_gone';

export type ArchiveReview = 'after' | 'before';

export const ARCHIVE_CATEGORIES = {
  false_positive: 'false positive',
  expected_activity: 'expected activity',
  remediated: 'remediated',
  accepted_risk: 'accepted risk',
  duplicate: 'duplicate',
} as const;
export type ArchiveCategory = keyof typeof ARCHIVE_CATEGORIES;

export const REASON_MIN = 10;
export const REASON_MAX = 3000;

export type Transition = { ok: true; to: AlertState } | { ok: false; why: 'not_allowed' };

const ACTIVE: readonly AlertState[] = ['open', 'acknowledged'];

/** Where `action` takes an alert in `from`, or why it cannot. */
export function transition(from: AlertState, action: TriageAction, review: ArchiveReview = 'after'): Transition {
  const to = target(from, action, review);
  return to ? { ok: true, to } : { ok: false, why: 'not_allowed' };
}

function target(from: AlertState, action: TriageAction, review: ArchiveReview): AlertState | undefined {
  switch (action) {
    case 'acknowledge':
      return from === 'open' ? 'acknowledged' : undefined;
    case 'archive':
      if (ACTIVE.includes(from)) return review === 'before' ? 'archive_requested' : 'archived';
      return from === 'escalated' ? 'archived' : undefined;
    case 'escalate':
      return ACTIVE.includes(from) ? 'escalated' : undefined;
    case 'resolve':
      return from === 'acknowledged' || from === 'escalated' ? 'resolved' : undefined;
    case 'approve_archive':
      // Approving after the fact leaves the alert archived; before, it archives it.
      return from === 'archive_requested' || from === 'archived' ? 'archived' : undefined;
    case 'reject_archive':
      return from === 'archive_requested' || from === 'archived' ? 'open' : undefined;
    case 'take':
      return from === 'escalated' ? 'escalated' : undefined;
    case 'recur':
      return from === 'archived' || from === 'resolved' ? 'open' : undefined;
    case 'archived_in_guardduty':
      return from === 'archived' ? undefined : 'archived';
    case 'resolve_gone':
      return ACTIVE.includes(from) || from === 'escalated' ? 'resolved' : undefined;
  }
}

/** Buttons a card offers in each state (the escalation card adds Take). */
export function availableActions(state: AlertState): TriageAction[] {
  switch (state) {
    case 'open':
      return ['acknowledge', 'archive', 'escalate'];
    case 'acknowledged':
      return ['resolve', 'archive', 'escalate'];
    case 'escalated':
      return ['resolve', 'archive'];
    default:
      return [];
  }
}

export function validateReason(text: string): string | undefined {
  const t = text.trim();
  if (t.length < REASON_MIN) return `Please give a reason of at least ${REASON_MIN} characters.`;
  if (t.length > REASON_MAX) return `Please keep the reason under ${REASON_MAX} characters.`;
  return undefined;
}

/** "4 min", "2 h 5 min", "3 d 4 h": how long after the alert something happened. */
export function humanDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

export function categoryLabel(category: string | null | undefined): string {
  if (!category) return '';
  return Object.hasOwn(ARCHIVE_CATEGORIES, category) ? ARCHIVE_CATEGORIES[category as ArchiveCategory] : category;
}

import type { SeverityLabel } from '../domain/severity';
import type { AlertState, TriageAction } from '../domain/triage';
import type { Delivery } from './ingest-store';

export interface Actor {
  /** Slack user id, or "kanshi" / "guardduty" for automatic changes. */
  id: string;
  name: string;
}

export const KANSHI_ACTOR: Actor = { id: 'kanshi', name: 'Kanshi' };
export const GUARDDUTY_ACTOR: Actor = { id: 'guardduty', name: 'GuardDuty' };

/** Where in Slack an action came from, for the audit trail. */
export interface SlackContext {
  team?: string | undefined;
  channel?: string | undefined;
  messageTs?: string | undefined;
}

export interface AlertSnapshot {
  id: string;
  findingId: string;
  findingType: string;
  title: string;
  accountId: string;
  region: string;
  severityLabel: SeverityLabel;
  state: AlertState;
  channelId: string;
  cardChannelId: string | null;
  cardTs: string | null;
  createdAt: Date;
  stateChangedAt: Date;
  stateById: string | null;
  stateByName: string | null;
  acknowledgedAt: Date | null;
  disposedAt: Date | null;
  findingUpdatedAt: Date;
  findingArchived: boolean;
  recurrences: number;
  reviewStatus: string | null;
  assigneeId: string | null;
  gdArchiveWanted: boolean;
  /** How it reached Slack; only `card` alerts have a card (and a thread) of their own. */
  delivery: Delivery;
  digestId: string | null;
  reviewCardTs: string | null;
  /** Regions of an IAM finding folded across regions (empty: only `region`). */
  regions: string[];
}

/** A job to arm in the same transaction as a state change. */
export interface JobSpec {
  kind: string;
  key: string;
  lane: string | null;
  payload: Record<string, unknown>;
  runAt?: Date | undefined;
  /** rearm: run it (again) even if it ran before; once: never a second time. */
  mode: 'rearm' | 'once';
}

/** Column changes that go with a transition (undefined: unchanged; null: cleared). */
export interface AlertPatch {
  acknowledgedAt?: Date;
  acknowledgedById?: string;
  escalatedAt?: Date;
  escalatedById?: string;
  disposedAt?: Date | null;
  assigneeId?: string | null;
  gdArchiveWanted?: boolean;
  gdSyncError?: null;
  reviewStatus?: string | null;
  reviewedById?: string | null;
  reviewComment?: string | null;
  recurrences?: number;
  gdArchived?: boolean;
  gdArchivedAt?: Date;
}

export interface TransitionRequest {
  alertId: string;
  /** A triage action, or 'investigate' for an audited action that changes no state. */
  action: TriageAction | 'investigate';
  from: AlertState;
  to: AlertState;
  actor: Actor;
  ctx: SlackContext;
  reasonCategory?: string | undefined;
  reason?: string | undefined;
  detail?: Record<string, unknown>;
  patch: AlertPatch;
  /** Jobs; a `{auditId}` placeholder in a key or payload value is replaced by the new audit row's id. */
  jobs: JobSpec[];
}

export interface AuditRow {
  id: string;
  alertId: string;
  action: string;
  outcome: 'applied' | 'refused';
  actorId: string;
  actorName: string;
  fromState: string;
  toState: string;
  reasonCategory: string | null;
  reason: string | null;
  detail: Record<string, unknown>;
  createdAt: Date;
}

export interface TriageStore {
  get(alertId: string): Promise<AlertSnapshot | undefined>;
  /**
   * In one transaction: moves the alert from `from` to `to` (only if it is
   * still in `from`: the first click wins), writes exactly one audit row and
   * arms the jobs. Returns the audit id, or the alert as it now is.
   */
  applyTransition(
    req: TransitionRequest,
  ): Promise<{ applied: true; auditId: string } | { applied: false; current: AlertSnapshot }>;
  /** Audits an attempt that was refused (not allowed in this state, or not authorised). */
  recordRefusal(req: Omit<TransitionRequest, 'to' | 'patch' | 'jobs'> & { why: string }): Promise<void>;
  /** Audits an action that does not change the state (e.g. re-running the investigation), arming its jobs. */
  recordAction(req: Omit<TransitionRequest, 'to' | 'patch'>): Promise<string>;
  audit(auditId: string): Promise<AuditRow | undefined>;
  trail(alertId: string): Promise<AuditRow[]>;
}

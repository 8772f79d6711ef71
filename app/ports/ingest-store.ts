import type { EventEnvelope, Finding } from '../domain/finding';
import type { SeverityLabel } from '../domain/severity';

/** `folded`: the finding joined another region's alert for the same IAM finding. */
export type IngestStatus = 'accepted' | 'updated' | 'folded' | 'duplicate' | 'stale';

/**
 * How an alert reaches Slack. `card` and `suppressed` are decided in code
 * (rules); `silenced`, `thread` and `digest` by the store, against silences,
 * earlier alerts and the channel's recent cards, in the same statement.
 */
export type Delivery = 'card' | 'suppressed' | 'silenced' | 'thread' | 'digest';

export interface ExtraJob {
  kind: string;
  key: string;
  lane: string | null;
  /** The alert id is added as `alertId`. */
  payload: Record<string, unknown>;
}

export interface IngestRecord {
  envelope: EventEnvelope;
  finding: Finding;
  /** The event exactly as received, kept for review and replay. */
  raw: unknown;
  /**
   * `raw` as the JSON text it was parsed from (given when storable() changed nothing): stored
   * as sent, without serialising `raw` again. If PostgreSQL refuses the text (a number past
   * its numeric range), the store falls back to `raw`.
   */
  rawJson?: string | undefined;
  /** Routing precedence: a rule's route, then an /alert route override (in the database), then `fallback`. */
  ruleRoute?: { rule: string; channelId: string } | undefined;
  /** accounts.yml, then the OU mapping, then the default channel. */
  fallback: { channelId: string; reason: string };
  /** After rules; `originalSeverityLabel` is set only when a rule changed it. */
  severityLabel: SeverityLabel;
  originalSeverityLabel?: SeverityLabel | undefined;
  ruleOutcome?: unknown;
  resourceId: string;
  /** `suppressed` when a rule said so; otherwise `card`, which the store may turn into silenced, thread or digest. */
  delivery: 'card' | 'suppressed';
  /** A first_only rule matched: thread under the first carded alert with this key, if any. */
  firstOnly?: { rule: string; key: string; withinMs: number } | undefined;
  /** Stateful rules that matched (occurrences, first_only), recorded for later counts. */
  ruleHits: Array<{ rule: string; key: string }>;
  /** Storm control: above `threshold` cards in the channel within `windowMs`, new alerts go to a digest. */
  storm?: { threshold: number; windowMs: number } | undefined;
  /** Kanshi's clock: silences expire by it. */
  now: Date;
  /** May fold into another region's open alert for the same finding type and resource (IAM findings). */
  foldable: boolean;
  jobs: {
    /** Posts or updates the card; payload gets the alert id. */
    card: { kind: string; key: string };
    /** Renders a storm digest (key digest:<id>), and closes it once quiet (key digest-close:<id>). */
    digest: { kind: string; closeKind: string; closeAfterMs: number };
    /** A first_only reply under the first alert's card. */
    reply: { kind: string; key: string };
    /** The first nudge for a new carded alert, if its severity has a deadline. */
    nudge?: { kind: string; key: string; runAt: Date } | undefined;
    /** For a new alert that reaches Slack (also_notify, page). */
    extra: ExtraJob[];
    /** Tells the security channel about an account with no route (once per account). */
    accountNotice?: { kind: string } | undefined;
  };
}

export interface RecordedFinding {
  status: IngestStatus;
  alertId: string;
  delivery: Delivery;
  channelId: string;
  routeReason: string;
}

export interface IngestStore {
  /**
   * In one transaction: keeps the raw event, creates or updates the alert and
   * (re-)arms the job that posts or updates its card. Idempotent by
   * (finding id, updatedAt). Throws StorageUnavailableError when PostgreSQL
   * cannot be reached.
   */
  recordFinding(record: IngestRecord): Promise<RecordedFinding>;
  /** For stateful rules: how many alerts each (rule, key) had within its window, counting the one being ingested. */
  countRuleHits(keys: Array<{ rule: string; key: string; withinMs: number }>): Promise<Map<string, number>>;
}

export interface IngestFollowUp {
  /** Applies what the stored finding implies for the alert's state (archived elsewhere, recurred). */
  reconcileFinding(alertId: string): Promise<unknown>;
}

export interface QuarantineEntry {
  requestId: string;
  httpStatus: number;
  reason: string;
  detail: unknown;
  contentType?: string | undefined;
  userAgent?: string | undefined;
  bodySize: number;
  truncated: boolean;
  body: Buffer;
}

export interface QuarantineStore {
  quarantine(entry: QuarantineEntry): Promise<void>;
}

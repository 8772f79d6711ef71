import type { EventEnvelope, Finding } from '../domain/finding';

export type IngestStatus = 'accepted' | 'updated' | 'duplicate' | 'stale';

export interface IngestRecord {
  envelope: EventEnvelope;
  finding: Finding;
  /** The event exactly as received, kept for review and replay. */
  raw: unknown;
  channelId: string;
  /** The job that posts or updates the card; its payload is the alert id. */
  cardJob: { kind: string; key: string };
  /** The first nudge for a new alert, if its severity has a deadline; payload gets the alert id. */
  nudgeJob?: { kind: string; key: string; runAt: Date } | undefined;
}

export interface IngestStore {
  /**
   * In one transaction: keeps the raw event, creates or updates the alert and
   * (re-)arms the job that posts or updates its card. Idempotent by
   * (finding id, updatedAt). Throws StorageUnavailableError when PostgreSQL
   * cannot be reached.
   */
  recordFinding(record: IngestRecord): Promise<{ status: IngestStatus; alertId: string }>;
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

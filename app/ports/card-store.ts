import type { Finding } from '../domain/finding';
import type { Enrichment } from '../domain/investigation';
import type { SeverityLabel } from '../domain/severity';
import type { TriageView } from '../slack/blocks/status';
import type { Delivery } from './ingest-store';

export interface AlertForCard {
  id: string;
  finding: Finding;
  /** After rules; differs from the finding's when a rule changed it (see severityNote). */
  severityLabel: SeverityLabel;
  severityNote?: string | undefined;
  /** From the Organizations sync, when known. */
  account?: { name: string; ouPath: string } | undefined;
  /** Only `card` alerts get a card of their own. */
  delivery: Delivery;
  /** A first_only rule's later alert: the first alert, under whose card it is a reply. */
  parentAlertId: string | null;
  /** Regions of an IAM finding folded across regions (empty: only the finding's). */
  regions: string[];
  routeReason: string | null;
  channelId: string;
  revision: number;
  cardChannelId: string | null;
  cardTs: string | null;
  cardRevision: number;
  cardPostStartedAt: Date | null;
  cardError: string | null;
  triage: TriageView;
  reviewCardTs: string | null;
  escalationCardTs: string | null;
  enrichment: Enrichment | null;
}

export interface CardStore {
  load(alertId: string): Promise<AlertForCard | undefined>;
  /** Committed before a post is attempted, so a crash leaves a trace to reconcile. */
  beginPost(alertId: string, channelId: string): Promise<void>;
  /** The attempt definitely did not post (Slack said so): no reconciling needed. */
  clearPostStarted(alertId: string): Promise<void>;
  /** The card goes to another channel from now on, because of `error`. */
  redirect(alertId: string, channelId: string, error: string): Promise<void>;
  recordPosted(alertId: string, channelId: string, ts: string, revision: number): Promise<void>;
  recordUpdated(alertId: string, revision: number): Promise<void>;
  recordCardError(alertId: string, error: string): Promise<void>;
  /** Where the review or escalation card for the alert is, in the security channel. */
  recordSecurityCard(alertId: string, kind: 'review' | 'escalation', ts: string): Promise<void>;
}

/** Per-channel pacing of Slack writes, shared by every replica through the database. */
export interface Pacer {
  /** Takes the channel's next write slot now, or says when one is free. */
  reserve(channelId: string): Promise<{ ok: true } | { ok: false; waitUntil: Date }>;
  /** Slack said to wait (429 Retry-After): nobody writes to the channel until then. */
  block(channelId: string, until: Date): Promise<void>;
}

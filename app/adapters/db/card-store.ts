/**
 * Alert state the card job reads and writes, in plain SQL through the main pool.
 *
 * Every card post and edit runs these, so they are written as single statements
 * rather than through Prisma: the alert and its account's name come in one query,
 * and each query costs the worker a fraction of the CPU of an ORM call (measured
 * with `npm run bench:cards`, see docs/benchmarks.md).
 */
import type { Pool } from 'pg';
import type { Finding } from '../../domain/finding';
import type { Enrichment } from '../../domain/investigation';
import type { SeverityLabel } from '../../domain/severity';
import type { AlertState } from '../../domain/triage';
import type { AlertReader } from '../../ports/alert-reader';
import type { AlertForCard, CardStore } from '../../ports/card-store';
import type { Delivery } from '../../ports/ingest-store';
import { guardDb } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An alert row as the card needs it, with its account's name and OU from the Organizations sync. */
interface CardRow {
  id: string;
  finding: Finding;
  severity_label: string;
  rule_outcome: unknown;
  org_name: string | null;
  org_ou_path: string | null;
  delivery: string;
  parent_alert_id: string | null;
  regions: string[];
  route_reason: string | null;
  channel_id: string;
  revision: number;
  card_channel_id: string | null;
  card_ts: string | null;
  card_revision: number;
  card_post_started_at: Date | null;
  card_error: string | null;
  state: string;
  created_at: Date;
  state_changed_at: Date;
  state_by_id: string | null;
  state_by_name: string | null;
  state_reason_category: string | null;
  state_reason: string | null;
  acknowledged_at: Date | null;
  acknowledged_by_id: string | null;
  assignee_id: string | null;
  escalated_by_id: string | null;
  recurrences: number;
  review_status: string | null;
  reviewed_by_id: string | null;
  review_comment: string | null;
  gd_archived: boolean;
  gd_archived_at: Date | null;
  gd_sync_error: string | null;
  gd_archive_wanted: boolean;
  review_card_ts: string | null;
  escalation_card_ts: string | null;
  enrichment: Enrichment | null;
}

const SELECT_CARD = `
SELECT a.id::text AS id, a.finding, a.severity_label, a.rule_outcome, o.name AS org_name, o.ou_path AS org_ou_path,
       a.delivery, a.parent_alert_id::text AS parent_alert_id, a.regions, a.route_reason, a.channel_id, a.revision,
       a.card_channel_id, a.card_ts, a.card_revision, a.card_post_started_at, a.card_error, a.state, a.created_at,
       a.state_changed_at, a.state_by_id, a.state_by_name, a.state_reason_category, a.state_reason,
       a.acknowledged_at, a.acknowledged_by_id, a.assignee_id, a.escalated_by_id, a.recurrences, a.review_status,
       a.reviewed_by_id, a.review_comment, a.gd_archived, a.gd_archived_at, a.gd_sync_error, a.gd_archive_wanted,
       a.review_card_ts, a.escalation_card_ts, a.enrichment
FROM alert a LEFT JOIN org_account o ON o.account_id = a.account_id`;

export class PgCardStore implements CardStore, AlertReader {
  constructor(private readonly pool: Pool) {}

  async load(alertId: string): Promise<AlertForCard | undefined> {
    // Not a UUID: no alert has that id (and PostgreSQL would refuse the cast).
    if (!UUID.test(alertId)) return undefined;
    return this.first(`${SELECT_CARD} WHERE a.id = $1::uuid`, [alertId]);
  }

  async findByRef(ref: string): Promise<AlertForCard | undefined> {
    if (!UUID.test(ref)) return this.first(`${SELECT_CARD} WHERE a.finding_id = $1`, [ref]);
    // Either the alert's id or a finding id that happens to look like one; the id wins.
    return this.first(
      `${SELECT_CARD} WHERE a.id = $2::uuid OR a.finding_id = $1 ORDER BY a.id = $2::uuid DESC LIMIT 1`,
      [ref, ref],
    );
  }

  private async first(text: string, values: unknown[]): Promise<AlertForCard | undefined> {
    const res = await guardDb(() => this.pool.query<CardRow>(text, values));
    const a = res.rows[0];
    return a ? toCard(a) : undefined;
  }

  async beginPost(alertId: string, channelId: string): Promise<void> {
    await this.update(alertId, 'card_channel_id = $2, card_post_started_at = $3', [channelId, new Date()]);
  }

  async clearPostStarted(alertId: string): Promise<void> {
    await this.update(alertId, 'card_post_started_at = NULL', []);
  }

  async redirect(alertId: string, channelId: string, error: string): Promise<void> {
    await this.update(alertId, 'card_channel_id = $2, card_error = $3, card_post_started_at = NULL', [
      channelId,
      error.slice(0, 1000),
    ]);
  }

  async recordPosted(alertId: string, channelId: string, ts: string, revision: number): Promise<void> {
    await this.update(alertId, 'card_channel_id = $2, card_ts = $3, card_revision = $4', [channelId, ts, revision]);
  }

  async recordUpdated(alertId: string, revision: number): Promise<void> {
    // Never move backwards if two renders race.
    await guardDb(() =>
      this.pool.query('UPDATE alert SET card_revision = $2 WHERE id = $1::uuid AND card_revision < $2', [
        alertId,
        revision,
      ]),
    );
  }

  async recordCardError(alertId: string, error: string): Promise<void> {
    await this.update(alertId, 'card_error = $2', [error.slice(0, 1000)]);
  }

  async recordSecurityCard(alertId: string, kind: 'review' | 'escalation', ts: string): Promise<void> {
    await this.update(alertId, kind === 'review' ? 'review_card_ts = $2' : 'escalation_card_ts = $2', [ts]);
  }

  /** One alert's columns; an alert that is not there is an error, as for every caller here it must exist. */
  private async update(alertId: string, set: string, values: unknown[]): Promise<void> {
    const res = await guardDb(() =>
      this.pool.query(`UPDATE alert SET ${set} WHERE id = $1::uuid`, [alertId, ...values]),
    );
    if (res.rowCount === 0) throw new Error(`alert ${alertId} not found`);
  }
}

function toCard(a: CardRow): AlertForCard {
  return {
    id: a.id,
    // Written by the ingest stage from a validated Finding.
    finding: a.finding,
    severityLabel: a.severity_label as SeverityLabel,
    severityNote: severityNote(a.rule_outcome),
    account: a.org_name !== null ? { name: a.org_name, ouPath: a.org_ou_path ?? '' } : undefined,
    delivery: a.delivery as Delivery,
    parentAlertId: a.parent_alert_id,
    regions: a.regions,
    routeReason: a.route_reason,
    channelId: a.channel_id,
    revision: a.revision,
    cardChannelId: a.card_channel_id,
    cardTs: a.card_ts,
    cardRevision: a.card_revision,
    cardPostStartedAt: a.card_post_started_at,
    cardError: a.card_error,
    triage: {
      state: a.state as AlertState,
      createdAt: a.created_at,
      stateChangedAt: a.state_changed_at,
      stateById: a.state_by_id,
      stateByName: a.state_by_name,
      stateReasonCategory: a.state_reason_category,
      stateReason: a.state_reason,
      acknowledgedAt: a.acknowledged_at,
      acknowledgedById: a.acknowledged_by_id,
      assigneeId: a.assignee_id,
      escalatedById: a.escalated_by_id,
      recurrences: a.recurrences,
      reviewStatus: a.review_status,
      reviewedById: a.reviewed_by_id,
      reviewComment: a.review_comment,
      gdArchived: a.gd_archived,
      gdArchivedAt: a.gd_archived_at,
      gdSyncError: a.gd_sync_error,
      gdArchiveWanted: a.gd_archive_wanted,
    },
    reviewCardTs: a.review_card_ts,
    escalationCardTs: a.escalation_card_ts,
    // Written by the investigation job from a validated Enrichment.
    enrichment: a.enrichment,
  };
}

/** "raised from High to Critical by rule prod-instances" — from the rules outcome stored at ingest. */
export function severityNote(outcome: unknown): string | undefined {
  const changes = (outcome as { severityChanges?: unknown } | null)?.severityChanges;
  if (!Array.isArray(changes) || changes.length === 0) return undefined;
  const ORDER = ['info', 'low', 'medium', 'high', 'critical'];
  return changes
    .map((c: { rule?: unknown; from?: unknown; to?: unknown }) => {
      const from = String(c.from);
      const to = String(c.to);
      const verb = ORDER.indexOf(to) > ORDER.indexOf(from) ? 'raised' : 'lowered';
      return `${verb} from ${from} to ${to} by rule ${String(c.rule)}`;
    })
    .join('; ');
}

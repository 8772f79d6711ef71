/** Alert state the card job reads and writes, through Prisma. */
import type { Finding } from '../../domain/finding';
import type { Enrichment } from '../../domain/investigation';
import type { SeverityLabel } from '../../domain/severity';
import type { AlertState } from '../../domain/triage';
import type { AlertReader } from '../../ports/alert-reader';
import type { AlertForCard, CardStore } from '../../ports/card-store';
import type { Delivery } from '../../ports/ingest-store';
import type { Alert, PrismaClient } from './generated/client';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PrismaCardStore implements CardStore, AlertReader {
  constructor(private readonly prisma: PrismaClient) {}

  async load(alertId: string): Promise<AlertForCard | undefined> {
    return this.toCard(await this.prisma.alert.findUnique({ where: { id: alertId } }));
  }

  async findByRef(ref: string): Promise<AlertForCard | undefined> {
    const where = UUID.test(ref) ? { OR: [{ id: ref }, { findingId: ref }] } : { findingId: ref };
    return this.toCard(await this.prisma.alert.findFirst({ where }));
  }

  private async toCard(a: Alert | null): Promise<AlertForCard | undefined> {
    if (!a) return undefined;
    const org = await this.prisma.orgAccount.findUnique({ where: { accountId: a.accountId } });
    return {
      id: a.id,
      // Written by the ingest stage from a validated Finding.
      finding: a.finding as unknown as Finding,
      severityLabel: a.severityLabel as SeverityLabel,
      severityNote: severityNote(a.ruleOutcome),
      account: org ? { name: org.name, ouPath: org.ouPath } : undefined,
      delivery: a.delivery as Delivery,
      parentAlertId: a.parentAlertId,
      regions: a.regions,
      routeReason: a.routeReason,
      channelId: a.channelId,
      revision: a.revision,
      cardChannelId: a.cardChannelId,
      cardTs: a.cardTs,
      cardRevision: a.cardRevision,
      cardPostStartedAt: a.cardPostStartedAt,
      cardError: a.cardError,
      triage: {
        state: a.state as AlertState,
        createdAt: a.createdAt,
        stateChangedAt: a.stateChangedAt,
        stateById: a.stateById,
        stateByName: a.stateByName,
        stateReasonCategory: a.stateReasonCategory,
        stateReason: a.stateReason,
        acknowledgedAt: a.acknowledgedAt,
        acknowledgedById: a.acknowledgedById,
        assigneeId: a.assigneeId,
        escalatedById: a.escalatedById,
        recurrences: a.recurrences,
        reviewStatus: a.reviewStatus,
        reviewedById: a.reviewedById,
        reviewComment: a.reviewComment,
        gdArchived: a.gdArchived,
        gdArchivedAt: a.gdArchivedAt,
        gdSyncError: a.gdSyncError,
        gdArchiveWanted: a.gdArchiveWanted,
      },
      reviewCardTs: a.reviewCardTs,
      escalationCardTs: a.escalationCardTs,
      // Written by the investigation job from a validated Enrichment.
      enrichment: (a.enrichment as unknown as Enrichment | null) ?? null,
    };
  }

  async beginPost(alertId: string, channelId: string): Promise<void> {
    await this.prisma.alert.update({
      where: { id: alertId },
      data: { cardChannelId: channelId, cardPostStartedAt: new Date() },
    });
  }

  async clearPostStarted(alertId: string): Promise<void> {
    await this.prisma.alert.update({ where: { id: alertId }, data: { cardPostStartedAt: null } });
  }

  async redirect(alertId: string, channelId: string, error: string): Promise<void> {
    await this.prisma.alert.update({
      where: { id: alertId },
      data: { cardChannelId: channelId, cardError: error.slice(0, 1000), cardPostStartedAt: null },
    });
  }

  async recordPosted(alertId: string, channelId: string, ts: string, revision: number): Promise<void> {
    await this.prisma.alert.update({
      where: { id: alertId },
      data: { cardChannelId: channelId, cardTs: ts, cardRevision: revision },
    });
  }

  async recordUpdated(alertId: string, revision: number): Promise<void> {
    // Never move backwards if two renders race.
    await this.prisma.alert.updateMany({
      where: { id: alertId, cardRevision: { lt: revision } },
      data: { cardRevision: revision },
    });
  }

  async recordCardError(alertId: string, error: string): Promise<void> {
    await this.prisma.alert.update({ where: { id: alertId }, data: { cardError: error.slice(0, 1000) } });
  }

  async recordSecurityCard(alertId: string, kind: 'review' | 'escalation', ts: string): Promise<void> {
    await this.prisma.alert.update({
      where: { id: alertId },
      data: kind === 'review' ? { reviewCardTs: ts } : { escalationCardTs: ts },
    });
  }
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

/** Alert state the card job reads and writes, through Prisma. */
import type { Finding } from '../../domain/finding';
import type { AlertForCard, CardStore } from '../../ports/card-store';
import type { PrismaClient } from './generated/client';

export class PrismaCardStore implements CardStore {
  constructor(private readonly prisma: PrismaClient) {}

  async load(alertId: string): Promise<AlertForCard | undefined> {
    const a = await this.prisma.alert.findUnique({ where: { id: alertId } });
    if (!a) return undefined;
    return {
      id: a.id,
      // Written by the ingest stage from a validated Finding.
      finding: a.finding as unknown as Finding,
      channelId: a.channelId,
      revision: a.revision,
      cardChannelId: a.cardChannelId,
      cardTs: a.cardTs,
      cardRevision: a.cardRevision,
      cardPostStartedAt: a.cardPostStartedAt,
      cardError: a.cardError,
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
}

/** Alert state changes with their audit rows and jobs, in one Prisma transaction each. */
import type { Finding } from '../../domain/finding';
import type { SeverityLabel } from '../../domain/severity';
import type { AlertState } from '../../domain/triage';
import type { Delivery } from '../../ports/ingest-store';
import type { AlertSnapshot, AuditRow, JobSpec, TransitionRequest, TriageStore } from '../../ports/triage-store';
import { ENQUEUE_SQL, enqueueParams } from './enqueue';
import { guardPrisma } from './errors';
import type { Alert, AuditEvent, Prisma, PrismaClient } from './generated/client';

const AUDIT_ID = '{auditId}';

function withAuditId(job: JobSpec, auditId: string): JobSpec {
  const fill = (v: unknown) => (typeof v === 'string' ? v.replaceAll(AUDIT_ID, auditId) : v);
  return {
    ...job,
    key: job.key.replaceAll(AUDIT_ID, auditId),
    payload: Object.fromEntries(Object.entries(job.payload).map(([k, v]) => [k, fill(v)])),
  };
}

export function toSnapshot(a: Alert): AlertSnapshot {
  const finding = a.finding as unknown as Finding;
  return {
    id: a.id,
    findingId: a.findingId,
    findingType: a.findingType,
    title: a.title,
    accountId: a.accountId,
    region: a.region,
    severityLabel: a.severityLabel as SeverityLabel,
    state: a.state as AlertState,
    channelId: a.channelId,
    cardChannelId: a.cardChannelId,
    cardTs: a.cardTs,
    createdAt: a.createdAt,
    stateChangedAt: a.stateChangedAt,
    stateById: a.stateById,
    stateByName: a.stateByName,
    acknowledgedAt: a.acknowledgedAt,
    disposedAt: a.disposedAt,
    findingUpdatedAt: a.findingUpdatedAt,
    findingArchived: finding.archived === true,
    recurrences: a.recurrences,
    reviewStatus: a.reviewStatus,
    assigneeId: a.assigneeId,
    gdArchiveWanted: a.gdArchiveWanted,
    delivery: a.delivery as Delivery,
    digestId: a.digestId?.toString() ?? null,
    reviewCardTs: a.reviewCardTs,
    regions: a.regions,
  };
}

function toAudit(e: AuditEvent): AuditRow {
  return {
    id: e.id.toString(),
    alertId: e.alertId,
    action: e.action,
    outcome: e.outcome as AuditRow['outcome'],
    actorId: e.actorId,
    actorName: e.actorName,
    fromState: e.fromState,
    toState: e.toState,
    reasonCategory: e.reasonCategory,
    reason: e.reason,
    detail: (e.detail ?? {}) as Record<string, unknown>,
    createdAt: e.createdAt,
  };
}

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** One audit row's data; `to` equals `from` for refusals and state-less actions. */
function auditData(
  req: Pick<
    TransitionRequest,
    'alertId' | 'action' | 'actor' | 'ctx' | 'reasonCategory' | 'reason' | 'detail' | 'from'
  >,
  outcome: 'applied' | 'refused',
  to: string,
  detail: Record<string, unknown> = req.detail ?? {},
): Prisma.AuditEventUncheckedCreateInput {
  return {
    alertId: req.alertId,
    action: req.action,
    outcome,
    actorId: req.actor.id,
    actorName: req.actor.name,
    fromState: req.from,
    toState: to,
    reasonCategory: req.reasonCategory ?? null,
    reason: req.reason ?? null,
    detail: detail as Prisma.InputJsonValue,
    slackTeam: req.ctx.team ?? null,
    slackChannel: req.ctx.channel ?? null,
    slackMessageTs: req.ctx.messageTs ?? null,
  };
}

/** Arms the jobs of an audited change inside its transaction, with `{auditId}` filled in. */
async function armJobs(tx: Tx, jobs: JobSpec[], auditId: string): Promise<void> {
  for (const job of jobs) {
    const j = withAuditId(job, auditId);
    await tx.$executeRawUnsafe(ENQUEUE_SQL[j.mode], ...enqueueParams(j));
  }
}

export class PrismaTriageStore implements TriageStore {
  constructor(private readonly prisma: PrismaClient) {}

  async get(alertId: string): Promise<AlertSnapshot | undefined> {
    const a = await guardPrisma(() => this.prisma.alert.findUnique({ where: { id: alertId } }));
    return a ? toSnapshot(a) : undefined;
  }

  async applyTransition(
    req: TransitionRequest,
  ): Promise<{ applied: true; auditId: string } | { applied: false; current: AlertSnapshot }> {
    // An unreachable database is StorageUnavailableError (ingest answers 503), not a bug.
    const result = await guardPrisma(() => this.transition(req));
    if (result !== undefined) return { applied: true, auditId: result };
    const current = await this.get(req.alertId);
    if (!current) throw new Error(`alert ${req.alertId} not found`);
    return { applied: false, current };
  }

  private transition(req: TransitionRequest): Promise<string | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const p = req.patch;
      // Actions that keep the state (take, approving an archive afterwards)
      // keep who set it and why: the card still says who archived it.
      const stateChange =
        req.from === req.to
          ? {}
          : {
              state: req.to,
              stateChangedAt: new Date(),
              stateById: req.actor.id,
              stateByName: req.actor.name,
              stateReasonCategory: req.reasonCategory ?? null,
              stateReason: req.reason ?? null,
            };
      const data: Prisma.AlertUpdateManyMutationInput = {
        ...stateChange,
        // Every change shows on the card: the card job renders until it catches up.
        revision: { increment: 1 },
        updatedAt: new Date(),
        ...(p.acknowledgedAt !== undefined ? { acknowledgedAt: p.acknowledgedAt } : {}),
        ...(p.acknowledgedById !== undefined ? { acknowledgedById: p.acknowledgedById } : {}),
        ...(p.escalatedAt !== undefined ? { escalatedAt: p.escalatedAt } : {}),
        ...(p.escalatedById !== undefined ? { escalatedById: p.escalatedById } : {}),
        ...(p.disposedAt !== undefined ? { disposedAt: p.disposedAt } : {}),
        ...(p.assigneeId !== undefined ? { assigneeId: p.assigneeId } : {}),
        ...(p.gdArchiveWanted !== undefined ? { gdArchiveWanted: p.gdArchiveWanted } : {}),
        ...(p.gdSyncError !== undefined ? { gdSyncError: p.gdSyncError } : {}),
        ...(p.reviewStatus !== undefined ? { reviewStatus: p.reviewStatus } : {}),
        ...(p.reviewedById !== undefined ? { reviewedById: p.reviewedById } : {}),
        ...(p.reviewComment !== undefined ? { reviewComment: p.reviewComment } : {}),
        ...(p.recurrences !== undefined ? { recurrences: p.recurrences } : {}),
        ...(p.gdArchived !== undefined ? { gdArchived: p.gdArchived } : {}),
        ...(p.gdArchivedAt !== undefined ? { gdArchivedAt: p.gdArchivedAt } : {}),
      };
      // Only if the alert is still where the caller saw it: the first click wins.
      const changed = await tx.alert.updateMany({ where: { id: req.alertId, state: req.from }, data });
      if (changed.count === 0) return undefined;
      const audit = await tx.auditEvent.create({ data: auditData(req, 'applied', req.to) });
      const auditId = audit.id.toString();
      await armJobs(tx, req.jobs, auditId);
      return auditId;
    });
  }

  async recordRefusal(req: Omit<TransitionRequest, 'to' | 'patch' | 'jobs'> & { why: string }): Promise<void> {
    await guardPrisma(() =>
      this.prisma.auditEvent.create({
        data: auditData(req, 'refused', req.from, { ...(req.detail ?? {}), why: req.why }),
      }),
    );
  }

  async recordAction(req: Omit<TransitionRequest, 'to' | 'patch'>): Promise<string> {
    return this.prisma.$transaction(async (tx) => {
      const audit = await tx.auditEvent.create({ data: auditData(req, 'applied', req.from) });
      const auditId = audit.id.toString();
      await armJobs(tx, req.jobs, auditId);
      return auditId;
    });
  }

  async audit(auditId: string): Promise<AuditRow | undefined> {
    const e = await this.prisma.auditEvent.findUnique({ where: { id: BigInt(auditId) } });
    return e ? toAudit(e) : undefined;
  }

  async trail(alertId: string): Promise<AuditRow[]> {
    const rows = await this.prisma.auditEvent.findMany({ where: { alertId }, orderBy: { id: 'asc' } });
    return rows.map(toAudit);
  }
}

/** The audit trail: one row per applied change, refusals recorded, and the database keeping it append-only. */
import { randomBytes } from 'node:crypto';
import { PrismaTriageStore } from '../../app/adapters/db/triage-store';
import type { JobSpec, TransitionRequest } from '../../app/ports/triage-store';
import { createTestDb, type TestDb } from '../support/test-db';

interface AuditDbRow {
  id: string;
  alert_id: string;
  action: string;
  outcome: string;
  actor_id: string;
  actor_name: string;
  from_state: string;
  to_state: string;
  reason_category: string | null;
  reason: string | null;
  detail: Record<string, unknown>;
  slack_team: string | null;
  slack_channel: string | null;
  slack_message_ts: string | null;
  created_at: Date;
}

interface JobDbRow {
  kind: string;
  key: string;
  lane: string | null;
  payload: Record<string, unknown>;
  status: string;
  generation: number;
  attempts: number;
  run_at: Date;
}

describe('the audit trail', () => {
  let db: TestDb;
  let store: PrismaTriageStore;
  beforeAll(async () => {
    // Room for 20 concurrent transactions, so the race below really is one.
    db = await createTestDb(24);
    store = new PrismaTriageStore(db.prisma);
  });
  afterAll(async () => {
    await db.drop();
  });

  /** A fresh open alert, inserted as ingest would leave it. */
  async function insertAlert(): Promise<string> {
    const findingId = randomBytes(16).toString('hex');
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO alert (finding_id, source, finding_type, account_id, region, severity, severity_label, title,
         finding_updated_at, count, is_sample, finding, channel_id)
       VALUES ($1, 'aws.guardduty', 'Recon:EC2/PortProbeUnprotectedPort', '123456789012', 'eu-west-1', 8.0, 'High',
         'Unprotected port probed', now(), 1, false, $2::jsonb, 'C0ALERTS1')
       RETURNING id`,
      [findingId, JSON.stringify({ severityLabel: 'High', archived: false })],
    );
    const id = rows[0]?.id;
    if (!id) throw new Error('alert not inserted');
    return id;
  }

  const auditRows = async (alertId: string) =>
    (await db.pool.query<AuditDbRow>('SELECT * FROM audit_event WHERE alert_id = $1 ORDER BY id', [alertId])).rows.map(
      (r) => ({ ...r, id: String(r.id) }),
    );

  const job = async (key: string): Promise<JobDbRow | undefined> =>
    (
      await db.pool.query<JobDbRow>(
        'SELECT kind, key, lane, payload, status, generation, attempts, run_at FROM job WHERE key = $1',
        [key],
      )
    ).rows[0];

  const alertState = async (alertId: string) =>
    (
      await db.pool.query<{ state: string; revision: number }>('SELECT state, revision FROM alert WHERE id = $1', [
        alertId,
      ])
    ).rows[0];

  function ack(alertId: string, overrides: Partial<TransitionRequest> = {}): TransitionRequest {
    return {
      alertId,
      action: 'acknowledge',
      from: 'open',
      to: 'acknowledged',
      actor: { id: 'U0ALICE1', name: 'alice' },
      ctx: { team: 'T0TEAM1', channel: 'C0ALERTS1', messageTs: '1772359200.123456' },
      reason: 'looking into it',
      detail: { via: 'button' },
      patch: { acknowledgedAt: new Date(), acknowledgedById: 'U0ALICE1' },
      jobs: [],
      ...overrides,
    };
  }

  const cardJob = (alertId: string, mode: JobSpec['mode'] = 'rearm'): JobSpec => ({
    kind: 'card.sync',
    key: `card:${alertId}`,
    lane: 'C0ALERTS1',
    payload: { alertId },
    mode,
  });

  describe('applying a transition', () => {
    it('moves the alert and writes exactly one applied row with every field', async () => {
      const alertId = await insertAlert();
      const result = await store.applyTransition(ack(alertId));
      if (!result.applied) throw new Error('expected the transition to apply');

      const rows = await auditRows(alertId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toEqual({
        id: result.auditId,
        alert_id: alertId,
        action: 'acknowledge',
        outcome: 'applied',
        actor_id: 'U0ALICE1',
        actor_name: 'alice',
        from_state: 'open',
        to_state: 'acknowledged',
        reason_category: null,
        reason: 'looking into it',
        detail: { via: 'button' },
        slack_team: 'T0TEAM1',
        slack_channel: 'C0ALERTS1',
        slack_message_ts: '1772359200.123456',
        created_at: expect.any(Date),
      });
      expect(await alertState(alertId)).toEqual({ state: 'acknowledged', revision: 2 });
      const snapshot = await store.get(alertId);
      expect(snapshot).toEqual(
        expect.objectContaining({ state: 'acknowledged', stateById: 'U0ALICE1', stateByName: 'alice' }),
      );
    });

    it('reads the row back through the store as it was written', async () => {
      const alertId = await insertAlert();
      const result = await store.applyTransition(
        ack(alertId, { action: 'archive', to: 'archived', reasonCategory: 'false_positive', patch: {} }),
      );
      if (!result.applied) throw new Error('expected the transition to apply');
      expect(await store.audit(result.auditId)).toEqual({
        id: result.auditId,
        alertId,
        action: 'archive',
        outcome: 'applied',
        actorId: 'U0ALICE1',
        actorName: 'alice',
        fromState: 'open',
        toState: 'archived',
        reasonCategory: 'false_positive',
        reason: 'looking into it',
        detail: { via: 'button' },
        createdAt: expect.any(Date),
      });
      expect((await store.trail(alertId)).map((r) => r.id)).toEqual([result.auditId]);
    });

    it('arms the jobs given, with {auditId} filled in keys and payload values', async () => {
      const alertId = await insertAlert();
      const runAt = new Date('2030-01-01T00:00:00.000Z');
      const result = await store.applyTransition(
        ack(alertId, {
          jobs: [
            cardJob(alertId),
            {
              kind: 'timeline.post',
              key: `timeline:{auditId}`,
              lane: null,
              payload: { auditId: '{auditId}', note: 'row {auditId} of {auditId}', count: 3 },
              runAt,
              mode: 'once',
            },
          ],
        }),
      );
      if (!result.applied) throw new Error('expected the transition to apply');
      const id = result.auditId;

      expect(await job(`card:${alertId}`)).toEqual(
        expect.objectContaining({ kind: 'card.sync', lane: 'C0ALERTS1', payload: { alertId }, status: 'pending' }),
      );
      expect(await job(`timeline:${id}`)).toEqual(
        expect.objectContaining({
          kind: 'timeline.post',
          lane: null,
          payload: { auditId: id, note: `row ${id} of ${id}`, count: 3 },
          status: 'pending',
          run_at: runAt,
        }),
      );
      expect(await job('timeline:{auditId}')).toBeUndefined();
    });

    it('applies nothing, writes no row and arms no job when the alert is no longer where the caller saw it', async () => {
      const alertId = await insertAlert();
      const first = await store.applyTransition(ack(alertId));
      expect(first.applied).toBe(true);
      const before = await auditRows(alertId);

      const again = await store.applyTransition(
        ack(alertId, {
          actor: { id: 'U0BOB22', name: 'bob' },
          jobs: [{ ...cardJob(alertId), key: `late:${alertId}` }],
        }),
      );
      expect(again).toEqual({
        applied: false,
        current: expect.objectContaining({
          id: alertId,
          state: 'acknowledged',
          stateById: 'U0ALICE1',
          stateByName: 'alice',
          severityLabel: 'High',
          findingArchived: false,
        }),
      });
      expect(await auditRows(alertId)).toEqual(before);
      expect(await job(`late:${alertId}`)).toBeUndefined();
      expect(await alertState(alertId)).toEqual({ state: 'acknowledged', revision: 2 });
    });

    it('lets exactly one of 20 concurrent clicks win', async () => {
      const alertId = await insertAlert();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.applyTransition(ack(alertId, { actor: { id: `U0USER${i}`, name: `user ${i}` } })),
        ),
      );
      const winners = results.filter((r) => r.applied);
      expect(winners).toHaveLength(1);
      const rows = await auditRows(alertId);
      expect(rows).toHaveLength(1);
      const winner = winners[0];
      expect(rows[0]?.id).toBe(winner?.applied ? winner.auditId : undefined);
      for (const r of results) {
        if (!r.applied) expect(r.current.state).toBe('acknowledged');
      }
      expect(await alertState(alertId)).toEqual({ state: 'acknowledged', revision: 2 });
    });
  });

  describe('recording a refusal', () => {
    it('writes a refused row that keeps the state and says why', async () => {
      const alertId = await insertAlert();
      await store.recordRefusal({
        alertId,
        action: 'resolve',
        from: 'open',
        actor: { id: 'U0MALLORY', name: 'mallory' },
        ctx: { team: 'T0TEAM1', channel: 'C0ALERTS1', messageTs: '1772359200.123456' },
        reason: 'just close it',
        detail: { via: 'button' },
        why: 'not_allowed',
      });
      const rows = await auditRows(alertId);
      expect(rows).toEqual([
        expect.objectContaining({
          action: 'resolve',
          outcome: 'refused',
          actor_id: 'U0MALLORY',
          actor_name: 'mallory',
          from_state: 'open',
          to_state: 'open',
          reason: 'just close it',
          detail: { via: 'button', why: 'not_allowed' },
          slack_team: 'T0TEAM1',
          slack_channel: 'C0ALERTS1',
          slack_message_ts: '1772359200.123456',
        }),
      ]);
      expect(await alertState(alertId)).toEqual({ state: 'open', revision: 1 });
    });
  });

  describe('the database', () => {
    let alertId: string;
    let before: AuditDbRow[];
    beforeAll(async () => {
      alertId = await insertAlert();
      await store.applyTransition(ack(alertId));
      await store.recordRefusal({
        alertId,
        action: 'acknowledge',
        from: 'acknowledged',
        actor: { id: 'U0BOB22', name: 'bob' },
        ctx: {},
        why: 'not_allowed',
      });
      before = await auditRows(alertId);
      expect(before).toHaveLength(2);
    });

    /** The error a query rejected with, or a failure if it did not reject. */
    async function refusal(sql: string, params: unknown[] = []): Promise<{ code?: string; message: string }> {
      try {
        await db.pool.query(sql, params);
      } catch (err) {
        if (err instanceof Error) return err;
        throw err;
      }
      throw new Error(`expected ${sql} to be refused`);
    }

    it.each<[string, string]>([
      ['UPDATE', `UPDATE audit_event SET reason = 'rewritten', actor_id = 'U0NOBODY' WHERE alert_id = $1`],
      ['UPDATE of one column', `UPDATE audit_event SET outcome = outcome WHERE alert_id = $1`],
      ['DELETE', 'DELETE FROM audit_event WHERE alert_id = $1'],
    ])('refuses %s with insufficient_privilege and keeps the rows', async (_op, sql) => {
      const err = await refusal(sql, [alertId]);
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/append-only/);
      expect(await auditRows(alertId)).toEqual(before);
    });

    it.each<[string, string]>([
      ['TRUNCATE', 'TRUNCATE audit_event'],
      ['TRUNCATE through a cascade from alert', 'TRUNCATE alert CASCADE'],
    ])('refuses %s with insufficient_privilege and keeps the rows', async (_op, sql) => {
      const err = await refusal(sql);
      expect(err.code).toBe('42501');
      expect(await auditRows(alertId)).toEqual(before);
    });

    it('refuses deleting an alert that has an audit trail', async () => {
      await expect(db.pool.query('DELETE FROM alert WHERE id = $1', [alertId])).rejects.toThrow();
      expect(await auditRows(alertId)).toEqual(before);
    });
  });

  describe('arming jobs', () => {
    const setStatus = (key: string, status: string) =>
      db.pool.query('UPDATE job SET status = $2, attempts = 3 WHERE key = $1', [key, status]);

    it('does not re-arm a once job that already exists', async () => {
      const alertId = await insertAlert();
      const key = `once:${alertId}`;
      const spec = (payload: Record<string, unknown>): JobSpec => ({
        kind: 'review.post',
        key,
        lane: 'C0SECURITY',
        payload,
        mode: 'once',
      });
      await store.applyTransition(ack(alertId, { jobs: [spec({ n: 1 })] }));
      await setStatus(key, 'done');
      const second = await store.applyTransition(
        ack(alertId, { action: 'escalate', from: 'acknowledged', to: 'escalated', patch: {}, jobs: [spec({ n: 2 })] }),
      );
      expect(second.applied).toBe(true);
      expect(await job(key)).toEqual(
        expect.objectContaining({ status: 'done', generation: 1, attempts: 3, payload: { n: 1 } }),
      );
    });

    it('re-arms a rearm job: the generation moves on and a done job is pending again', async () => {
      const alertId = await insertAlert();
      const key = `card:${alertId}`;
      await store.applyTransition(ack(alertId, { jobs: [cardJob(alertId)] }));
      expect(await job(key)).toEqual(expect.objectContaining({ status: 'pending', generation: 1 }));
      await setStatus(key, 'done');
      const second = await store.applyTransition(
        ack(alertId, {
          action: 'escalate',
          from: 'acknowledged',
          to: 'escalated',
          patch: {},
          jobs: [cardJob(alertId)],
        }),
      );
      expect(second.applied).toBe(true);
      expect(await job(key)).toEqual(expect.objectContaining({ status: 'pending', generation: 2, attempts: 0 }));
      const count = await db.pool.query('SELECT count(*)::int AS n FROM job WHERE key = $1', [key]);
      expect(count.rows[0]).toEqual({ n: 1 });
    });

    it('keeps a running rearm job running but moves its generation on', async () => {
      const alertId = await insertAlert();
      const key = `card:${alertId}`;
      await store.applyTransition(ack(alertId, { jobs: [cardJob(alertId)] }));
      await setStatus(key, 'running');
      await store.applyTransition(
        ack(alertId, {
          action: 'escalate',
          from: 'acknowledged',
          to: 'escalated',
          patch: {},
          jobs: [cardJob(alertId)],
        }),
      );
      expect(await job(key)).toEqual(expect.objectContaining({ status: 'running', generation: 2, attempts: 3 }));
    });
  });
});

/** Helpers for app-level tests: fresh findings and the cards the fake Slack holds for an alert. */
import { randomBytes } from 'node:crypto';
import type { FakeMessage } from '../fakes/fake-slack';
import type { Harness } from './app-harness';
import { PROD_ACCOUNT } from './app-harness';
import { eventually } from './eventually';
import { guardDutyFindings, type Json, wrapFinding } from './fixtures';

const BASE = guardDutyFindings().find((f) => f.finding.type === 'UnauthorizedAccess:EC2/MaliciousIPCaller.Custom');
if (!BASE) throw new Error('fixture UnauthorizedAccess:EC2/MaliciousIPCaller.Custom is missing');

/** A real fixture finding with a fresh id, owned by `accountId`. */
export function freshFinding(accountId = PROD_ACCOUNT, extra: Json = {}): Json {
  return { ...structuredClone(BASE?.finding), id: randomBytes(16).toString('hex'), accountId, ...extra };
}

/** Every card (top-level message) posted for an alert, in any channel. */
export function cardsFor(h: Harness, alertId: unknown): FakeMessage[] {
  return h.slack
    .allMessages()
    .filter(
      (m) =>
        !m.thread_ts && (m.metadata as { event_payload?: { alert_id?: unknown } })?.event_payload?.alert_id === alertId,
    );
}

export async function alertRow(h: Harness, alertId: unknown): Promise<Record<string, unknown>> {
  const r = await h.db.pool.query('SELECT * FROM alert WHERE id = $1', [alertId]);
  return r.rows[0] as Record<string, unknown>;
}

export async function cardJobOf(h: Harness, alertId: unknown): Promise<Record<string, unknown>> {
  const r = await h.db.pool.query(`SELECT * FROM job WHERE kind = 'card.sync' AND payload->>'alertId' = $1`, [alertId]);
  return r.rows[0] as Record<string, unknown>;
}

/** The alert's audit trail, oldest first. */
export async function auditTrail(h: Harness, alertId: unknown): Promise<Array<Record<string, unknown>>> {
  const r = await h.db.pool.query('SELECT * FROM audit_event WHERE alert_id = $1 ORDER BY id', [alertId]);
  return r.rows as Array<Record<string, unknown>>;
}

/** Ingests a fresh finding and waits until its card is in Slack; returns what a click needs. */
export async function postedCard(h: Harness, extra: Json = {}) {
  const finding = freshFinding(undefined, extra);
  const { body } = await h.ingest(wrapFinding(finding));
  const alertId = String(body.alertId);
  const ts = String(await eventually(async () => (await alertRow(h, alertId)).card_ts as string | null));
  return { alertId, ts, finding, findingId: String(finding.id) };
}

/** The blocks of the alert's card as JSON, for text checks. */
export function cardJson(h: Harness, alertId: string): string {
  return JSON.stringify(cardsFor(h, alertId)[0]?.blocks ?? []);
}

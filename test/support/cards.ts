/** Helpers for app-level tests: fresh findings and the cards the fake Slack holds for an alert. */
import { randomBytes } from 'node:crypto';
import type { FakeMessage } from '../fakes/fake-slack';
import type { Harness } from './app-harness';
import { PROD_ACCOUNT } from './app-harness';
import { guardDutyFindings, type Json } from './fixtures';

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

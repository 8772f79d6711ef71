/**
 * Shared pieces of the fault scenarios: the short/full switch, an
 * EventBridge-like sender (5 s timeout, retry on 429/5xx honouring
 * Retry-After), the two checks every scenario ends with, and the one-line
 * result that goes into docs/benchmarks.md.
 *
 * The checks:
 *   (a) every finding whose POST got a 2xx is stored (its finding_event and
 *       its alert) and has exactly one card in the fake Slack;
 *   (b) nothing is carded twice (no alert has two top-level cards).
 */
import type { Pool } from 'pg';
import type { FakeMessage, LocalSlack } from '../../app/sandbox/local-slack';
import { API_KEY } from '../support/app-harness';
import type { Json } from '../support/fixtures';

/** FAULTS_FULL=1: the long form, run by hand (minutes); otherwise the short form CI runs. */
export const FULL = process.env.FAULTS_FULL === '1';
export const shortOrFull = <T>(short: T, full: T): T => (FULL ? full : short);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What one POST to /ingest/eventbridge came back with. */
export interface Sent {
  event: Json;
  findingId: string;
  updatedAt: string;
  /** HTTP status, or 0 when the request failed without an answer (refused, reset, timed out). */
  status: number;
  retryAfter: string | null;
  alertId?: string;
  ingestStatus?: string;
  error?: string;
  /** Date.now() when the request was sent, and how long the answer took. */
  at: number;
  ms: number;
}

export function findingOf(event: Json): { id: string; updatedAt: string } {
  const detail = event.detail as { id: string; updatedAt: string };
  return { id: detail.id, updatedAt: detail.updatedAt };
}

/** One POST as an EventBridge API destination makes it: API key header, 5 s timeout. */
export async function postEvent(baseUrl: string, event: Json): Promise<Sent> {
  const { id, updatedAt } = findingOf(event);
  const started = Date.now();
  try {
    const res = await fetch(`${baseUrl}/ingest/eventbridge`, {
      method: 'POST',
      body: JSON.stringify(event),
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-api-key': API_KEY,
        'user-agent': 'Amazon/EventBridge/ApiDestinations',
      },
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // A non-JSON answer is recorded by its status alone.
    }
    return {
      event,
      findingId: id,
      updatedAt,
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      ...(typeof body.alertId === 'string' ? { alertId: body.alertId } : {}),
      ...(typeof body.status === 'string' ? { ingestStatus: body.status } : {}),
      at: started,
      ms: Date.now() - started,
    };
  } catch (err) {
    return {
      event,
      findingId: id,
      updatedAt,
      status: 0,
      retryAfter: null,
      error: (err as Error).name,
      at: started,
      ms: Date.now() - started,
    };
  }
}

export const is2xx = (s: Sent) => s.status >= 200 && s.status < 300;

/**
 * Sends events open-loop at `perSecond` (like EventBridge: the next request
 * does not wait for the previous answer), calling `onTick` with the index
 * before each send so a scenario can inject its fault mid-stream.
 */
export async function sendAtRate(
  baseUrl: () => string,
  events: Json[],
  perSecond: number,
  onTick?: (i: number) => Promise<void> | void,
): Promise<Sent[]> {
  const interval = 1000 / perSecond;
  const start = Date.now();
  const inFlight: Array<Promise<Sent>> = [];
  for (let i = 0; i < events.length; i++) {
    await onTick?.(i);
    const due = start + i * interval;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(postEvent(baseUrl(), events[i] as Json));
  }
  return Promise.all(inFlight);
}

/**
 * EventBridge's retry of what was not acknowledged: resends each until it
 * gets a 2xx, waiting as long as Retry-After says (at most `deadlineMs` in all).
 */
export async function resendUntilAccepted(baseUrl: () => string, failed: Sent[], deadlineMs = 30_000): Promise<Sent[]> {
  const deadline = Date.now() + deadlineMs;
  return Promise.all(
    failed.map(async (first) => {
      let last = first;
      while (!is2xx(last)) {
        if (Date.now() > deadline) return last;
        const after = Number(last.retryAfter ?? '1');
        await sleep(Math.min(Number.isFinite(after) ? after * 1000 : 1000, 5000));
        last = await postEvent(baseUrl(), first.event);
      }
      return last;
    }),
  );
}

/** Top-level messages whose metadata names an alert, by alert id (the card test in test/support/cards.ts). */
export function cardsByAlert(slack: LocalSlack): Map<string, FakeMessage[]> {
  const byAlert = new Map<string, FakeMessage[]>();
  for (const m of slack.allMessages()) {
    if (m.thread_ts) continue;
    const id = (m.metadata as { event_payload?: { alert_id?: unknown } } | undefined)?.event_payload?.alert_id;
    if (typeof id !== 'string') continue;
    byAlert.set(id, [...(byAlert.get(id) ?? []), m]);
  }
  return byAlert;
}

export interface DeliveryCheck {
  /** Distinct findings acknowledged with a 2xx. */
  accepted: number;
  /** Of those, stored: a finding_event for the acknowledged (id, updatedAt) and the alert the answer named. */
  stored: number;
  /** Acknowledged alerts with exactly one card. */
  carded: number;
  /** Acknowledged alerts with no card. */
  uncarded: string[];
  /** Alerts (acknowledged or not) with more than one card. */
  duplicates: string[];
  /** Acknowledged findings not stored. */
  lost: string[];
}

/** Checks (a) and (b) for every acknowledged POST in `sent`. */
export async function checkDelivery(pool: Pool, slack: LocalSlack, sent: Sent[]): Promise<DeliveryCheck> {
  const acked = sent.filter(is2xx);
  const events = await pool.query<{ finding_id: string; ms: string }>(
    'SELECT finding_id, round(extract(epoch FROM finding_updated_at) * 1000)::bigint::text AS ms FROM finding_event',
  );
  const stored = new Set(events.rows.map((r) => `${r.finding_id}|${r.ms}`));
  const alerts = await pool.query<{ id: string; finding_id: string }>('SELECT id::text AS id, finding_id FROM alert');
  const alertOf = new Map(alerts.rows.map((r) => [r.id, r.finding_id]));
  const cards = cardsByAlert(slack);

  const lost = new Set<string>();
  const alertIds = new Set<string>();
  for (const s of acked) {
    const key = `${s.findingId}|${Date.parse(s.updatedAt)}`;
    if (!stored.has(key) || !s.alertId || alertOf.get(s.alertId) !== s.findingId) lost.add(s.findingId);
    if (s.alertId) alertIds.add(s.alertId);
  }
  const findings = new Set(acked.map((s) => s.findingId));
  const uncarded = [...alertIds].filter((id) => (cards.get(id)?.length ?? 0) === 0);
  const carded = [...alertIds].filter((id) => cards.get(id)?.length === 1).length;
  const duplicates = [...cards].filter(([, list]) => list.length > 1).map(([id]) => id);
  return {
    accepted: findings.size,
    stored: findings.size - lost.size,
    carded,
    uncarded,
    duplicates,
    lost: [...lost],
  };
}

/**
 * The suite's contract, asserted: every acknowledged finding is stored (none
 * lost, none still `missing` from the scenario's own count), and each of the
 * `expected` alerts has exactly one card.
 */
export function expectStoredAndCardedOnce(d: DeliveryCheck, missing: number, expected: number): void {
  expect(d.lost).toEqual([]);
  expect(missing).toBe(0);
  expect(d.uncarded).toEqual([]);
  expect(d.carded).toBe(expected);
  expect(d.duplicates).toEqual([]);
}

/** Waits until every acknowledged alert has at least one card, then a little longer for stragglers. */
export async function waitForCards(slack: LocalSlack, sent: Sent[], timeoutMs: number, settleMs = 1500) {
  const ids = new Set(sent.filter(is2xx).flatMap((s) => (s.alertId ? [s.alertId] : [])));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cards = cardsByAlert(slack);
    const missing = [...ids].filter((id) => !cards.has(id));
    if (missing.length === 0) break;
    if (Date.now() > deadline) return missing.length;
    await sleep(100);
  }
  await sleep(settleMs);
  return 0;
}

/** Waits until no job is due or running (the outbox has drained). */
export async function waitForQuietQueue(pool: Pool, timeoutMs: number, kinds?: string[]): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM job
       WHERE (status = 'running' OR (status = 'pending' AND run_at < now() + interval '2 seconds'))
         AND ($1::text[] IS NULL OR kind = ANY($1::text[]))`,
      [kinds ?? null],
    );
    const n = r.rows[0]?.n ?? 0;
    if (n === 0 || Date.now() > deadline) return n;
    await sleep(100);
  }
}

/** Prints the scenario's figures on one line, for docs/benchmarks.md. */
export function printResult(scenario: string, parts: Array<string | false | undefined>): void {
  process.stdout.write(`faults: ${scenario}: ${parts.filter(Boolean).join(', ')}\n`);
}

/** The standard figures of checks (a) and (b). */
export function deliveryFigures(d: DeliveryCheck): string[] {
  return [
    `${d.accepted} accepted`,
    `${d.stored} stored`,
    `${d.carded} cards`,
    `${d.uncarded.length} uncarded`,
    `${d.duplicates.length} duplicates`,
  ];
}

/** How many answers had each HTTP status (0: no answer). */
export function statusCounts(sent: Sent[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const s of sent) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return counts;
}

/**
 * `n` accounts, each routed by a rule to a channel of its own: more card lanes
 * (one card at a time per channel), so a few thousand cards drain quickly.
 */
export function accountsWithChannels(n: number, first = 4): { accounts: string[]; rules: string } {
  const accounts = Array.from({ length: n }, (_, i) => `${first}${String(i + 1).padStart(11, '0')}`);
  const rules = [
    'rules:',
    ...accounts.map(
      (account, i) => `  - name: lane-${i + 1}
    description: Account ${account} has a channel of its own in this test.
    match:
      accounts: ["${account}"]
    route: C0FLT${String(i + 1).padStart(5, '0')}`,
    ),
  ].join('\n');
  return { accounts, rules: `${rules}\n` };
}

/** Why alerts have no card yet: their card job's state, grouped, for the report of a failed run. */
export async function cardJobStates(pool: Pool, alertIds: string[]): Promise<string> {
  if (alertIds.length === 0) return 'none';
  const r = await pool.query<{ status: string; attempts: number; last_error: string | null; n: number; due: string }>(
    `SELECT j.status, j.attempts, j.last_error, count(*)::int AS n,
            to_char(max(j.run_at) - now(), 'SS.MS') AS due
     FROM job j WHERE j.kind = 'card.sync' AND j.payload->>'alertId' = ANY($1::text[])
     GROUP BY 1, 2, 3 ORDER BY n DESC`,
    [alertIds],
  );
  return r.rows
    .map((x) => `${x.n} ${x.status} after ${x.attempts} attempts (${x.last_error ?? 'no error'}, due in ${x.due} s)`)
    .join('; ');
}

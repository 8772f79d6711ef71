/**
 * The walking skeleton end to end: EventBridge POST → alert in PostgreSQL →
 * card in the owning account's Slack channel, through the real app.
 */
import { openDatabase } from '../../app/adapters/db/database';
import type { FakeMessage } from '../fakes/fake-slack';
import {
  API_KEY,
  BOT_TOKEN,
  DEFAULT_CHANNEL,
  DISABLED_ACCOUNT,
  type Harness,
  PROD_ACCOUNT,
  PROD_CHANNEL,
  SIGNING_SECRET,
  signedSlackHeaders,
  startHarness,
} from '../support/app-harness';
import { cardsFor, freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { type Json, readNdjson, SECURITY_HUB_FILES, wrapFinding } from '../support/fixtures';

const finding = freshFinding;

function headerText(m: FakeMessage | undefined): string {
  const header = (m?.blocks as Array<{ type: string; text?: { text: string } }> | undefined)?.find(
    (b) => b.type === 'header',
  );
  return header?.text?.text ?? '';
}

function cardText(m: FakeMessage | undefined): string {
  return JSON.stringify(m?.blocks ?? []);
}

describe('ingesting GuardDuty findings', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => h.slack.reset());

  it('stores a new finding and posts its card in the account channel', async () => {
    const f = finding();
    const res = await h.ingest(wrapFinding(f));
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('accepted');
    const card = await h.slack.waitFor(() => h.slack.messages(PROD_CHANNEL)[0]);
    expect(headerText(card)).toContain(String(f.title));
    expect(cardText(card)).toContain(String(f.id));
    expect(card.metadata).toEqual({ event_type: 'kanshi_alert', event_payload: { alert_id: res.body.alertId } });
    const row = await eventually(async () => {
      const r = await h.db.pool.query('SELECT card_channel_id, card_ts, account_id FROM alert WHERE id = $1', [
        res.body.alertId,
      ]);
      return r.rows[0].card_ts && r.rows[0];
    });
    expect(row).toEqual({ card_channel_id: PROD_CHANNEL, card_ts: card.ts, account_id: PROD_ACCOUNT });
  });

  it('routes unlisted and disabled accounts to the default channel', async () => {
    await h.ingest(wrapFinding(finding('555566667777')));
    await h.ingest(wrapFinding(finding(DISABLED_ACCOUNT)));
    const cards = await h.slack.waitFor(
      () => h.slack.messages(DEFAULT_CHANNEL).length === 2 && h.slack.messages(DEFAULT_CHANNEL),
    );
    expect(cards.map((c) => cardText(c))).toEqual([
      expect.stringContaining('555566667777'),
      expect.stringContaining(DISABLED_ACCOUNT),
    ]);
  });

  it('answers a redelivered event as a duplicate and posts no second card', async () => {
    const event = wrapFinding(finding());
    const first = await h.ingest(event);
    const again = await h.ingest({ ...event, id: 'another-envelope-id' });
    expect(again).toEqual({
      status: 202,
      body: expect.objectContaining({ status: 'duplicate', alertId: first.body.alertId }),
    });
    await h.slack.waitFor(() => cardsFor(h, first.body.alertId).length === 1);
    // Give the worker time to (wrongly) post again before checking it did not.
    await new Promise((r) => setTimeout(r, 300));
    expect(cardsFor(h, first.body.alertId)).toHaveLength(1);
  });

  it('edits the card in place when a newer update of the finding arrives', async () => {
    const f = finding(PROD_ACCOUNT, { updatedAt: '2026-01-01T00:00:00.000Z' });
    const first = await h.ingest(wrapFinding(f));
    const card = await h.slack.waitFor(() => cardsFor(h, first.body.alertId)[0]);
    const newer = { ...f, updatedAt: '2026-01-01T06:00:00.000Z', service: { ...(f.service as Json), count: 7 } };
    const res = await h.ingest(wrapFinding(newer));
    expect(res.body).toEqual(expect.objectContaining({ status: 'updated', alertId: first.body.alertId }));
    const edited = await h.slack.waitFor(() => {
      const m = cardsFor(h, first.body.alertId)[0];
      return m && m.edits > 0 && m;
    });
    expect(edited.ts).toBe(card.ts);
    expect(cardText(edited)).toContain('*Count*\\n7');
    expect(cardsFor(h, first.body.alertId)).toHaveLength(1);
  });

  it('records an older update as stale without regressing the alert', async () => {
    const f = finding(PROD_ACCOUNT, { updatedAt: '2026-02-01T06:00:00.000Z', service: { count: 5 } });
    const first = await h.ingest(wrapFinding(f));
    const older = await h.ingest(wrapFinding({ ...f, updatedAt: '2026-02-01T00:00:00.000Z', service: { count: 2 } }));
    expect(older.body).toEqual(expect.objectContaining({ status: 'stale', alertId: first.body.alertId }));
    const row = await h.db.pool.query('SELECT count, finding_updated_at FROM alert WHERE id = $1', [
      first.body.alertId,
    ]);
    expect(row.rows[0].count).toBe(5);
    expect((row.rows[0].finding_updated_at as Date).toISOString()).toBe('2026-02-01T06:00:00.000Z');
    const events = await h.db.pool.query('SELECT count(*)::int AS n FROM finding_event WHERE finding_id = $1', [f.id]);
    expect(events.rows[0].n).toBe(2);
  });

  it('stores concurrent deliveries of one finding as one alert with one card', async () => {
    const event = wrapFinding(finding());
    const answers = await Promise.all(Array.from({ length: 12 }, () => h.ingest(event)));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(202));
    expect(answers.filter((a) => a.body.status === 'accepted')).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.alertId)).size).toBe(1);
    await h.slack.waitFor(() => cardsFor(h, answers[0]?.body.alertId).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(cardsFor(h, answers[0]?.body.alertId)).toHaveLength(1);
  });
});

describe('refusing bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ runWorker: false });
  });
  afterAll(async () => {
    await h.close();
  });

  async function quarantined(requestId: string) {
    const res = await h.db.pool.query('SELECT * FROM quarantine WHERE request_id = $1', [requestId]);
    return res.rows[0] as Record<string, unknown> | undefined;
  }

  it('refuses a missing or wrong API key and stores nothing', async () => {
    const body = JSON.stringify(wrapFinding(finding()));
    const missing = await h.post('/ingest/eventbridge', body, {
      'content-type': 'application/json',
      'x-request-id': 'r-missing',
    });
    const wrong = await h.post('/ingest/eventbridge', body, {
      'content-type': 'application/json',
      'x-api-key': `${API_KEY}x`,
      'x-request-id': 'r-wrong',
    });
    expect([missing.status, wrong.status]).toEqual([401, 401]);
    expect(await quarantined('r-missing')).toBeUndefined();
    expect(await quarantined('r-wrong')).toBeUndefined();
    const alerts = await h.db.pool.query('SELECT count(*)::int AS n FROM alert');
    expect(alerts.rows[0].n).toBe(0);
  });

  it('answers 400 naming the field for invalid JSON and keeps the payload', async () => {
    const res = await h.post('/ingest/eventbridge', '{"source": "aws.guardduty",', {
      'content-type': 'application/json',
      'x-api-key': API_KEY,
      'x-request-id': 'r-badjson',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(expect.objectContaining({ error: 'invalid_json' }));
    const q = await quarantined('r-badjson');
    expect(q?.reason).toBe('invalid_json');
    expect(String(q?.body)).toBe('{"source": "aws.guardduty",');
  });

  it('answers 400 naming the offending field of an invalid GuardDuty event', async () => {
    const event = wrapFinding(finding(PROD_ACCOUNT, { updatedAt: 'yesterday' }));
    const res = await h.ingest(event, { 'x-request-id': 'r-badfield' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expect.objectContaining({ error: 'invalid_event', field: 'detail.updatedAt' }));
    expect((await quarantined('r-badfield'))?.http_status).toBe(400);
  });

  it('answers 422 for a well-formed event it does not handle yet, and keeps it', async () => {
    const hub = SECURITY_HUB_FILES.flatMap(readNdjson).find(
      (e) => e['detail-type'] === 'Security Hub Findings - Imported',
    );
    const res = await h.ingest(hub, { 'x-request-id': 'r-hub' });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('unsupported_event');
    const q = await quarantined('r-hub');
    expect(JSON.parse(String(q?.body))).toEqual(hub);
  });

  it('answers 413 for a body over 256 KiB and keeps the start of it', async () => {
    const huge = JSON.stringify(wrapFinding(finding(PROD_ACCOUNT, { description: 'x'.repeat(300 * 1024) })));
    const res = await h.post('/ingest/eventbridge', huge, {
      'content-type': 'application/json',
      'x-api-key': API_KEY,
      'x-request-id': 'r-huge',
    });
    expect(res.status).toBe(413);
    const q = await quarantined('r-huge');
    expect(q?.body_size).toBe(Buffer.byteLength(huge));
    expect(String(q?.body)).toBe(huge);
  });

  it('answers 415 for a body that is not JSON, and keeps it', async () => {
    const res = await h.post('/ingest/eventbridge', 'source=aws.guardduty', {
      'content-type': 'application/x-www-form-urlencoded',
      'x-api-key': API_KEY,
      'x-request-id': 'r-form',
    });
    expect(res.status).toBe(415);
    expect((await quarantined('r-form'))?.reason).toBe('unsupported_media_type');
  });

  it('answers 403 for an envelope account that is not allowed, when a list is configured', async () => {
    await h.restart({ INGEST_ALLOWED_ACCOUNTS: '111122223333' });
    const res = await h.ingest(wrapFinding(finding()), { 'x-request-id': 'r-account' });
    expect(res.status).toBe(403);
    expect((await quarantined('r-account'))?.reason).toBe('account_not_allowed');
    await h.restart();
  });

  it('keeps serving after hostile bodies: deep nesting, arrays, nulls and odd unicode', async () => {
    const bodies = [
      '[]',
      'null',
      '"\u0000\ud800"',
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
      '{"detail":{"id":{"$gt":""}}}',
    ];
    for (const body of bodies) {
      const res = await h.post('/ingest/eventbridge', body, {
        'content-type': 'application/json',
        'x-api-key': API_KEY,
      });
      expect(res.status).toBe(400);
    }
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('when the database is down', () => {
  it('answers 503 with Retry-After, and readiness says not ready', async () => {
    const deadDb = openDatabase({
      url: 'postgresql://postgres@127.0.0.1:1/kanshi',
      poolSize: 1,
      connectTimeoutMs: 500,
    });
    const h = await startHarness({ runWorker: false, database: deadDb });
    try {
      const res = await h.post('/ingest/eventbridge', JSON.stringify(wrapFinding(finding())), {
        'content-type': 'application/json',
        'x-api-key': API_KEY,
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toEqual(expect.objectContaining({ error: 'database_unavailable' }));
      expect((await fetch(`${h.baseUrl}/readyz`)).status).toBe(503);
      expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await h.close();
      await deadDb.close();
    }
  });

  it('answers 503 when PostgreSQL drops our connections, and recovers without a restart', async () => {
    const h = await startHarness({ runWorker: false });
    try {
      expect((await h.ingest(wrapFinding(finding()))).status).toBe(202);
      // Kill every connection the app holds, as a PostgreSQL restart would.
      const admin = openDatabase({ url: h.db.url, poolSize: 1 });
      await admin.pool.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      await admin.close();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await h.ingest(wrapFinding(finding()))).status);
      // The pool discards dead connections and reconnects: at worst a 503 (retried by EventBridge), never a 500.
      expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
      expect(statuses.at(-1)).toBe(202);
    } finally {
      await h.close();
    }
  });
});

describe('Slack requests', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ runWorker: false });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses a request without a valid signature', async () => {
    const body = JSON.stringify({ type: 'url_verification', challenge: 'abc' });
    const unsigned = await h.post('/slack/events', body, { 'content-type': 'application/json' });
    const badSig = await h.post('/slack/events', body, {
      ...signedSlackHeaders(body, 'application/json'),
      'x-slack-signature': 'v0=deadbeef',
    });
    const stale = await h.post(
      '/slack/events',
      body,
      signedSlackHeaders(body, 'application/json', Math.floor(Date.now() / 1000) - 600),
    );
    expect([unsigned.status, badSig.status, stale.status]).toEqual([401, 401, 401]);
  });

  it('answers a correctly signed URL verification', async () => {
    const body = JSON.stringify({ type: 'url_verification', challenge: 'c-123' });
    const res = await h.post('/slack/events', body, signedSlackHeaders(body, 'application/json'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('c-123');
  });

  it('never writes a secret to the log', async () => {
    await h.ingest(wrapFinding(finding()));
    await h.post('/ingest/eventbridge', '{}', {
      'content-type': 'application/json',
      'x-api-key': 'wrong-key-value-123',
    });
    const log = h.logs.join('');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [API_KEY, SIGNING_SECRET, BOT_TOKEN, 'wrong-key-value-123']) expect(log).not.toContain(secret);
  });
});

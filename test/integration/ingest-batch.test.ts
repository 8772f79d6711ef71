/**
 * Batched ingest writes (PgIngestStore): findings that arrive while a
 * statement runs are written together by the next one. What one statement
 * per finding guaranteed must hold for a batch too: duplicates, storm
 * control, IAM folding, and one bad finding failing only its own request.
 */
import { randomBytes } from 'node:crypto';
import type { QueryConfig } from 'pg';
import { REARM_STARTED } from '../../app/adapters/db/enqueue';
import { PgIngestStore } from '../../app/adapters/db/ingest-store';
import { RoutingTable } from '../../app/domain/routing';
import { createLogger } from '../../app/logging';
import type { IngestRecord, IngestStore } from '../../app/ports/ingest-store';
import { IngestService } from '../../app/services/ingest';
import { guardDutyFindings, type Json, wrapFinding } from '../support/fixtures';
import { createTestDb, type TestDb } from '../support/test-db';

const ACCOUNT = '111122223333';
const CHANNEL = 'C0BATCH01';
const quiet = createLogger('silent');

const fixtures = guardDutyFindings();
const plain = fixtures.find((f) => (f.finding.resource as { resourceType?: string }).resourceType === 'Instance');
const iam = fixtures.find((f) => (f.finding.resource as { resourceType?: string }).resourceType === 'AccessKey');
if (!plain || !iam) throw new Error('fixtures lack an Instance or an AccessKey finding');

function finding(base: Json, extra: Json = {}): Json {
  const f = structuredClone(base) as Json & { service: Json };
  return {
    ...f,
    service: { ...f.service, archived: false },
    id: randomBytes(16).toString('hex'),
    accountId: ACCOUNT,
    ...extra,
  };
}

describe('batched ingest writes', () => {
  let db: TestDb;
  let statements: number;
  // A fresh database per test: alerts cannot be truncated (the audit trail refers to them).
  beforeEach(async () => {
    statements = 0;
    db = await createTestDb();
    // Count the ingest statements the store sends.
    const query = db.pool.query.bind(db.pool) as (q: unknown, v?: unknown) => Promise<unknown>;
    (db.pool as unknown as { query: unknown }).query = (q: unknown, v?: unknown) => {
      if ((q as QueryConfig | undefined)?.name === 'kanshi_record_findings') statements++;
      return query(q, v);
    };
  });
  afterEach(async () => {
    await db.drop();
  });

  /** One statement at a time, so concurrent findings queue behind the first and share the next statement. */
  function service(opts: { stormThreshold?: number; store?: IngestStore } = {}) {
    const store = new PgIngestStore(db.pool, quiet, { maxStatements: 1, maxBatch: 64 });
    return new IngestService({
      store: opts.store ?? store,
      quarantine: store,
      routing: () => new RoutingTable([{ accountId: ACCOUNT, channelId: CHANNEL, enabled: true }], 'C0DEFAULT'),
      allowedAccounts: [],
      logger: quiet,
      stormThreshold: opts.stormThreshold ?? 0,
      clock: { now: () => new Date() },
    });
  }
  const ingest = (svc: IngestService, f: Json) =>
    svc.ingest({ requestId: 'r', raw: Buffer.alloc(0), size: 0 }, wrapFinding(f));

  it('writes concurrent findings in a few statements, each with its alert and card job', async () => {
    const svc = service();
    const results = await Promise.all(Array.from({ length: 40 }, () => ingest(svc, finding(plain.finding))));
    expect(results.every((r) => r.kind === 'stored' && r.status === 'accepted')).toBe(true);
    // The first alone, the other 39 together (one statement runs at a time).
    expect(statements).toBe(2);
    const counts = await db.pool.query(
      `SELECT (SELECT count(*) FROM alert)::int AS alerts, (SELECT count(*) FROM finding_event)::int AS events,
              (SELECT count(*) FROM job WHERE kind = 'card.sync')::int AS cards`,
    );
    expect(counts.rows[0]).toEqual({ alerts: 40, events: 40, cards: 40 });
  });

  it('puts copies of one finding in different statements: one alert, the copies are duplicates', async () => {
    const svc = service();
    const f = finding(plain.finding);
    const others = Array.from({ length: 5 }, () => finding(plain.finding));
    const results = await Promise.all([f, f, ...others, f].map((x) => ingest(svc, x)));
    const statuses = results.map((r) => (r.kind === 'stored' ? r.status : r.kind));
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(6);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(2);
    const alerts = await db.pool.query('SELECT count(*)::int AS n FROM alert WHERE finding_id = $1', [f.id]);
    expect(alerts.rows[0].n).toBe(1);
  });

  it('counts the batch’s own new cards towards the storm threshold', async () => {
    const svc = service({ stormThreshold: 5 });
    await Promise.all(Array.from({ length: 12 }, () => ingest(svc, finding(plain.finding))));
    const byDelivery = await db.pool.query(
      'SELECT delivery, count(*)::int AS n FROM alert GROUP BY delivery ORDER BY delivery',
    );
    expect(byDelivery.rows).toEqual([
      { delivery: 'card', n: 5 },
      { delivery: 'digest', n: 7 },
    ]);
    const digests = await db.pool.query(
      `SELECT (SELECT count(*) FROM storm_digest)::int AS digests,
              (SELECT count(*) FROM job WHERE key LIKE 'digest:%')::int AS jobs,
              (SELECT count(*) FROM job WHERE key LIKE 'digest-close:%')::int AS closes`,
    );
    expect(digests.rows[0]).toEqual({ digests: 1, jobs: 1, closes: 1 });
  });

  it('re-arms a digest job that a worker ran while a statement that saw it pending was running', async () => {
    const store = new PgIngestStore(db.pool, quiet, { maxStatements: 1 });
    const svc = service({ stormThreshold: 1, store });
    await ingest(svc, finding(plain.finding)); // the card
    await ingest(svc, finding(plain.finding)); // the digest, and its pending job
    const key = (await db.pool.query(`SELECT key FROM job WHERE key LIKE 'digest:%'`)).rows[0].key as string;
    // Hold the next statement after it took its snapshot (job pending): another transaction
    // holds the finding's event key, so the statement's event insert waits on it.
    const f = finding(plain.finding) as Json & { id: string; updatedAt: string };
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO finding_event (envelope_id, finding_id, finding_updated_at, payload) VALUES ('blocker', $1, $2, '{}')`,
        [f.id, f.updatedAt],
      );
      const third = ingest(svc, f);
      for (let waited = 0; ; waited += 20) {
        const w = await db.pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%jsonb_to_recordset%'`,
        );
        if (w.rows[0].n > 0) break;
        if (waited > 10_000) throw new Error('the ingest statement never waited on the blocker');
        await new Promise((r) => setTimeout(r, 20));
      }
      // Meanwhile a worker claims the job, renders the digest (without the third alert) and finishes.
      await db.pool.query(`UPDATE job SET status = 'done' WHERE key = $1`, [key]);
      await blocker.query('ROLLBACK');
      expect(await third).toMatchObject({ kind: 'stored', status: 'accepted' });
    } finally {
      blocker.release();
    }
    await store.rearmed();
    const alert = await db.pool.query('SELECT delivery FROM alert WHERE finding_id = $1', [f.id]);
    expect(alert.rows[0].delivery).toBe('digest');
    // Re-armed after the commit, so the next run renders the third alert too.
    const job = await db.pool.query('SELECT status, generation FROM job WHERE key = $1', [key]);
    expect(job.rows[0]).toEqual({ status: 'pending', generation: 2 });
  });

  it('leaves a digest job that is still pending alone: it has not read the digest yet', async () => {
    const store = new PgIngestStore(db.pool, quiet, { maxStatements: 1 });
    const svc = service({ stormThreshold: 1, store });
    for (let n = 0; n < 4; n++) await ingest(svc, finding(plain.finding));
    await store.rearmed();
    const job = await db.pool.query(`SELECT status, generation FROM job WHERE key LIKE 'digest:%'`);
    expect(job.rows).toEqual([{ status: 'pending', generation: 1 }]);
  });

  it('checks the digest jobs of many statements with one query after they commit', async () => {
    const store = new PgIngestStore(db.pool, quiet, { maxStatements: 1, rearmDelayMs: 60_000 });
    const svc = service({ stormThreshold: 1, store });
    const rearms: unknown[] = [];
    const query = db.pool.query.bind(db.pool) as (q: unknown, v?: unknown) => Promise<unknown>;
    (db.pool as unknown as { query: unknown }).query = (q: unknown, v?: unknown) => {
      if (q === REARM_STARTED) rearms.push(v);
      return query(q, v);
    };
    await ingest(svc, finding(plain.finding)); // the card
    // Each in its own statement, each finding the digest's job pending.
    for (let n = 0; n < 4; n++) await ingest(svc, finding(plain.finding));
    expect(statements).toBe(5);
    expect(rearms).toEqual([]);
    await store.rearmed();
    const key = (await db.pool.query(`SELECT key FROM job WHERE key LIKE 'digest:%'`)).rows[0].key as string;
    expect(rearms).toEqual([[[key]]]);
  });

  it('folds several regions of one IAM finding arriving together into the first region’s alert', async () => {
    const svc = service();
    const key = `AKIA${randomBytes(6).toString('hex').toUpperCase()}`;
    const inRegion = (region: string) => {
      const f = finding(iam.finding, { region }) as Json & { resource: Json & { accessKeyDetails: Json } };
      return {
        ...f,
        resource: { ...f.resource, accessKeyDetails: { ...f.resource.accessKeyDetails, accessKeyId: key } },
      };
    };
    const first = await ingest(svc, inRegion('us-east-1'));
    // The first holds the only statement slot while the other three queue, then share one.
    const [, ...rest] = await Promise.all([
      ingest(svc, finding(plain.finding)),
      ...['eu-west-1', 'ap-south-1', 'eu-west-1'].map((r) => ingest(svc, inRegion(r))),
    ]);
    expect(first).toMatchObject({ kind: 'stored', status: 'accepted' });
    expect(rest.map((r) => (r.kind === 'stored' ? r.status : r.kind))).toEqual(['folded', 'folded', 'folded']);
    const alert = await db.pool.query('SELECT regions, revision FROM alert WHERE id = $1', [
      first.kind === 'stored' ? first.alertId : '',
    ]);
    expect(alert.rows[0]).toEqual({ regions: ['us-east-1', 'ap-south-1', 'eu-west-1'], revision: 2 });
    const links = await db.pool.query('SELECT count(*)::int AS n FROM alert_finding');
    expect(links.rows[0].n).toBe(3);
  });

  it('fails only the finding the database refuses; the rest of its batch is stored', async () => {
    const real = new PgIngestStore(db.pool, quiet, { maxStatements: 1, maxBatch: 64 });
    // A NUL in a text field is refused by PostgreSQL; the service never lets one through,
    // so the store is handed one directly.
    const poisoned: IngestStore = {
      recordFinding: (r: IngestRecord) =>
        real.recordFinding(
          r.finding.title === 'poison' ? { ...r, finding: { ...r.finding, title: 'poi\u0000son' } } : r,
        ),
      countRuleHits: (keys) => real.countRuleHits(keys),
    };
    const svc = service({ store: poisoned });
    const blocker = ingest(svc, finding(plain.finding));
    const batch = [finding(plain.finding), finding(plain.finding, { title: 'poison' }), finding(plain.finding)];
    const settled = await Promise.allSettled([blocker, ...batch.map((f) => ingest(svc, f))]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const stored = await db.pool.query('SELECT count(*)::int AS n FROM alert WHERE finding_id = ANY($1)', [
      batch.map((f) => f.id),
    ]);
    expect(stored.rows[0].n).toBe(2);
    // The batch's statement, then one per finding of it.
    expect(statements).toBe(5);
  });

  describe('the raw event', () => {
    /** An event's text with `extra` (JSON text) as its last top-level field. */
    const eventText = (extra: string) =>
      JSON.stringify(wrapFinding(finding(plain.finding))).replace(/}$/, `,"extra":${extra}}`);
    const ingestAsSent = (svc: IngestService, text: string) =>
      svc.ingest({ requestId: 'r', raw: Buffer.from(text), text, size: text.length }, JSON.parse(text));
    /** One event with `extra`, ingested with its text, and `extra` as stored. */
    const ingestText = async (extra: string) => {
      const result = await ingestAsSent(service(), eventText(extra));
      const stored = await db.pool.query<{ extra: string | null }>(
        `SELECT payload->>'extra' AS extra FROM finding_event`,
      );
      return { result, extra: stored.rows[0]?.extra };
    };

    it('is compressed with lz4 where the server has it (faster than pglz)', async () => {
      const res = await db.pool.query<{ lz4: boolean; payload: string; finding: string }>(
        `SELECT 'lz4' = ANY (s.enumvals) AS lz4,
                (SELECT attcompression FROM pg_attribute
                 WHERE attrelid = 'finding_event'::regclass AND attname = 'payload') AS payload,
                (SELECT attcompression FROM pg_attribute
                 WHERE attrelid = 'alert'::regclass AND attname = 'finding') AS finding
         FROM pg_settings s WHERE s.name = 'default_toast_compression'`,
      );
      const row = res.rows[0];
      const expected = row?.lz4 ? 'l' : '';
      expect({ payload: row?.payload, finding: row?.finding }).toEqual({ payload: expected, finding: expected });
    });

    it('is stored as sent: a number keeps the digits JavaScript would drop', async () => {
      const { result, extra } = await ingestText('1.50');
      expect(result).toMatchObject({ kind: 'stored', status: 'accepted' });
      expect(extra).toBe('1.50');
    });

    it('is serialised from the parsed event when PostgreSQL could not read its text as JavaScript did', async () => {
      // 1e999999 is past PostgreSQL's numeric range; JavaScript reads it as Infinity (null in JSON).
      const { result, extra } = await ingestText('1e999999');
      expect(result).toMatchObject({ kind: 'stored', status: 'accepted' });
      expect(extra).toBeNull();
    });

    it('is refused as sent in a batch without failing the rest: each finding is stored', async () => {
      const svc = service();
      const results = await Promise.all(['1', '2', '1e999999', '4', '5'].map((x) => ingestAsSent(svc, eventText(x))));
      expect(results.map((r) => r.kind === 'stored' && r.status)).toEqual(Array(5).fill('accepted'));
      const stored = await db.pool.query<{ extra: string | null }>(
        `SELECT payload->>'extra' AS extra FROM finding_event ORDER BY payload->>'extra' NULLS LAST`,
      );
      expect(stored.rows.map((r) => r.extra)).toEqual(['1', '2', '4', '5', null]);
      // The first alone, then the other four together; that failed, so one by one.
      expect(statements).toBe(2 + 4 + 1);
    });

    it('is serialised from the storable event when a string had to be replaced', async () => {
      const { result, extra } = await ingestText('"a\\u0000b"');
      expect(result).toMatchObject({ kind: 'stored', status: 'accepted' });
      expect(extra).toBe('a\uFFFDb');
    });
  });

  describe('a second statement while one runs', () => {
    /** The first ingest statement is held back `holdMs` before it is sent, as a slow statement would be. */
    function holdFirstStatement(holdMs: number): void {
      const query = db.pool.query.bind(db.pool) as (q: unknown, v?: unknown) => Promise<unknown>;
      let held = false;
      (db.pool as unknown as { query: unknown }).query = async (q: unknown, v?: unknown) => {
        if (!held && (q as QueryConfig | undefined)?.name === 'kanshi_record_findings') {
          held = true;
          await new Promise((r) => setTimeout(r, holdMs));
        }
        return query(q, v);
      };
    }
    const serviceWith = (opts: { minBatch: number; maxWaitMs: number }) => {
      const store = new PgIngestStore(db.pool, quiet, { maxStatements: 2, maxBatch: 64, ...opts });
      return service({ store });
    };

    it('waits for more findings than a few: they go together when the first statement ends', async () => {
      holdFirstStatement(300);
      const svc = serviceWith({ minBatch: 8, maxWaitMs: 60_000 });
      const first = ingest(svc, finding(plain.finding));
      const rest = Array.from({ length: 5 }, () => ingest(svc, finding(plain.finding)));
      await new Promise((r) => setTimeout(r, 150));
      // A slot is free, but five findings are fewer than eight and have not waited a minute:
      // nothing is sent but the first statement (held, so not counted yet).
      expect(statements).toBe(0);
      const results = await Promise.all([first, ...rest]);
      expect(results.every((r) => r.kind === 'stored' && r.status === 'accepted')).toBe(true);
      expect(statements).toBe(2);
    });

    /** Ingests one finding, then `later` more at once; resolves with the order they were answered in. */
    const answerOrder = async (svc: IngestService, later: number): Promise<string[]> => {
      const order: string[] = [];
      const first = ingest(svc, finding(plain.finding)).then(() => order.push('first'));
      const rest = Array.from({ length: later }, () =>
        ingest(svc, finding(plain.finding)).then(() => order.push('later')),
      );
      await Promise.all([first, ...rest]);
      return order;
    };

    it('starts one for a finding that has waited maxWaitMs, while the first still runs', async () => {
      holdFirstStatement(1500);
      expect(await answerOrder(serviceWith({ minBatch: 8, maxWaitMs: 20 }), 1)).toEqual(['later', 'first']);
      expect(statements).toBe(2);
    });

    it('starts one at once when minBatch findings wait', async () => {
      holdFirstStatement(1500);
      expect(await answerOrder(serviceWith({ minBatch: 3, maxWaitMs: 60_000 }), 3)).toEqual([
        'later',
        'later',
        'later',
        'first',
      ]);
      expect(statements).toBe(2);
    });
  });
});

/**
 * Hostile input at the ingest door: random JSON and non-JSON bodies never get
 * a 5xx (the database is up), never crash the process, and every refusal is
 * kept in quarantine.
 */
import fc from 'fast-check';
import { API_KEY, type Harness, startHarness } from '../support/app-harness';
import { freshFinding } from '../support/cards';
import { wrapFinding } from '../support/fixtures';

describe('hostile ingest bodies', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ runWorker: false });
  });
  afterAll(async () => {
    await h.close();
  });

  const post = (body: string, contentType = 'application/json') =>
    h.post('/ingest/eventbridge', body, { 'content-type': contentType, 'x-api-key': API_KEY });

  it('answers random JSON values with a 4xx or a 202, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        const res = await post(JSON.stringify(value) ?? 'null');
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });

  it('answers mutated GuardDuty events field by field without a 5xx', async () => {
    const base = wrapFinding(freshFinding()) as Record<string, unknown>;
    const paths: string[][] = [
      ['detail', 'id'],
      ['detail', 'updatedAt'],
      ['detail', 'severity'],
      ['detail', 'accountId'],
      ['detail', 'region'],
      ['detail', 'type'],
      ['detail', 'resource'],
      ['detail', 'service'],
      ['source'],
      ['account'],
      ['region'],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.anything({ maxDepth: 3 }), async (path, replacement) => {
        const event = structuredClone(base);
        let cur = event as Record<string, unknown>;
        for (const key of path.slice(0, -1)) cur = cur[key] as Record<string, unknown>;
        cur[path.at(-1) ?? ''] = replacement;
        const res = await post(JSON.stringify(event) ?? 'null');
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });

  it('answers random bytes and unicode as not JSON or invalid JSON, and keeps them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 2000 }), async (text) => {
        const res = await post(text);
        expect([400, 422, 202]).toContain(res.status);
      }),
      { numRuns: 200 },
    );
    const before = Number((await h.db.pool.query('SELECT count(*) AS n FROM quarantine')).rows[0].n);
    expect((await post('{"not": "an event"')).status).toBe(400);
    const after = Number((await h.db.pool.query('SELECT count(*) AS n FROM quarantine')).rows[0].n);
    expect(after).toBe(before + 1);
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });
});

/**
 * The hot named statements run on PostgreSQL's cached generic plan, made once
 * per connection and kept. A connection opened on a fresh install makes that
 * plan while every table is empty, and then keeps it while the tables grow.
 * So no plan of them may read a growing table from end to end, unless behind
 * a one-time filter that skips the scan when there is nothing to do.
 *
 * (Found by measurement: a sequential scan of `alert` in the IAM-folding
 * update and a walk of every pending job in the digest job check halved
 * ingest throughput over 80,000 findings.)
 */
import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import { PgIngestStore, RECORD_FINDINGS } from '../../app/adapters/db/ingest-store';
import { CLAIM } from '../../app/adapters/db/job-queue';
import { RoutingTable } from '../../app/domain/routing';
import { createLogger } from '../../app/logging';
import { IngestService } from '../../app/services/ingest';
import { guardDutyFindings, type Json, wrapFinding } from '../support/fixtures';
import { createTestDb, type TestDb } from '../support/test-db';

const quietLogger = createLogger('silent');

const GROWING = new Set(['alert', 'alert_finding', 'finding_event', 'job', 'rule_hit', 'storm_digest', 'audit_event']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'One-Time Filter'?: string;
  Plans?: PlanNode[];
}

function indexesOf(node: PlanNode): string[] {
  return [...(node['Index Name'] ? [node['Index Name']] : []), ...(node.Plans ?? []).flatMap(indexesOf)];
}

/** Full scans of growing tables that no one-time filter above them can skip. */
function unguardedScans(node: PlanNode, guarded = false): string[] {
  const isGuarded = guarded || node['One-Time Filter'] !== undefined;
  const here =
    node['Node Type'] === 'Seq Scan' && GROWING.has(node['Relation Name'] ?? '') && !isGuarded
      ? [node['Relation Name'] as string]
      : [];
  return [...here, ...(node.Plans ?? []).flatMap((p) => unguardedScans(p, isGuarded))];
}

async function genericPlan(c: PoolClient, name: string, text: string, args: string): Promise<PlanNode> {
  await c.query(`PREPARE ${name} AS ${text}`);
  const res = await c.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${args})`);
  return (res.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]?.Plan as PlanNode;
}

describe('cached plans of the hot statements, made on empty tables', () => {
  let db: TestDb;
  let c: PoolClient;
  beforeAll(async () => {
    db = await createTestDb(1);
    c = await db.pool.connect();
    await c.query('SET plan_cache_mode = force_generic_plan');
  });
  afterAll(async () => {
    c.release();
    await db.drop();
  });

  it('the ingest statement scans no growing table in full', async () => {
    const plan = await genericPlan(
      c,
      'record_findings',
      RECORD_FINDINGS,
      `'[]', now(), 'card.sync', 'digest.sync', 'digest.close', 300000, 'reply', 20, 300000, 'account.notice'`,
    );
    expect(unguardedScans(plan)).toEqual([]);
    // Jobs are looked up by key; the status index would walk every pending job.
    expect(indexesOf(plan)).toContain('job_key_key');
    expect(indexesOf(plan)).not.toContain('job_status_run_at_idx');
    // The IAM fold lookup meets the partial index's condition, so it can use it.
    expect(indexesOf(plan)).toContain('alert_fold_idx');
  });

  it('the job claim scans no growing table in full', async () => {
    const plan = await genericPlan(c, 'claim_jobs', CLAIM, `'worker', 120000, 10`);
    // Lanes and their next jobs through the lane index, unlaned jobs through their own;
    // the status index only for the few running jobs.
    expect(indexesOf(plan)).toEqual(expect.arrayContaining(['job_lane_pending_idx', 'job_unlaned_pending_idx']));
    expect(unguardedScans(plan)).toEqual([]);
  });

  it('would catch a full scan: the check itself finds one in a statement that has it', async () => {
    const plan = await genericPlan(c, 'scan_alerts', 'SELECT count(*) FROM alert WHERE title LIKE $1', `'%x%'`);
    expect(unguardedScans(plan)).toEqual(['alert']);
  });
});

describe('the ingest pool', () => {
  it('runs the ingest statement on its cached generic plan from the first execution', async () => {
    const db = await createTestDb(1);
    try {
      const store = new PgIngestStore(db.pool, quietLogger, { statementPool: db.ingestPool });
      const svc = new IngestService({
        store,
        quarantine: store,
        routing: () => new RoutingTable([], 'C0DEFAULT'),
        allowedAccounts: [],
        logger: quietLogger,
        clock: { now: () => new Date() },
      });
      const base = guardDutyFindings()[0]?.finding as Json;
      // One after another, so the pool opens a single connection and reuses it.
      for (let i = 0; i < 3; i++) {
        const f = { ...base, id: randomBytes(16).toString('hex') };
        const r = await svc.ingest({ requestId: 'r', raw: Buffer.alloc(0), size: 0 }, wrapFinding(f));
        expect(r.kind).toBe('stored');
      }
      const c = await db.ingestPool.connect();
      try {
        const res = await c.query(
          `SELECT generic_plans::int AS generic, custom_plans::int AS custom
           FROM pg_prepared_statements WHERE name = 'kanshi_record_findings'`,
        );
        // With the default plan_cache_mode the first five would be planned afresh (custom).
        expect(res.rows).toEqual([{ generic: 3, custom: 0 }]);
      } finally {
        c.release();
      }
    } finally {
      await db.drop();
    }
  });
});

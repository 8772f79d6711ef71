/** The card job's reads and writes of an alert, in SQL: what the card shows, and where it is in Slack. */
import { PgCardStore } from '../../app/adapters/db/card-store';
import { createTestDb, type TestDb } from '../support/test-db';

describe('the card store', () => {
  let db: TestDb;
  let store: PgCardStore;
  beforeAll(async () => {
    db = await createTestDb();
    store = new PgCardStore(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });
  // No clean-up between tests: the audit trail refuses TRUNCATE, so each test uses finding ids of its own.

  const finding = { id: 'f-1', type: 'Recon:EC2/PortProbeUnprotectedPort', resource: { type: 'Instance' } };

  async function addAlert(findingId: string, opts: { account?: string; ruleOutcome?: unknown } = {}): Promise<string> {
    const res = await db.pool.query<{ id: string }>(
      `INSERT INTO alert (finding_id, source, finding_type, account_id, region, severity, severity_label, title,
                          finding_updated_at, count, is_sample, finding, channel_id, regions, rule_outcome)
       VALUES ($1, 'aws.guardduty', 'Recon:EC2/PortProbeUnprotectedPort', $2, 'eu-west-1', 8, 'high', 'Probe',
               now(), 1, false, $3, 'C0PROD', '{eu-west-1,us-east-1}', $4)
       RETURNING id::text`,
      [findingId, opts.account ?? '111122223333', JSON.stringify({ ...finding, id: findingId }), opts.ruleOutcome],
    );
    return res.rows[0]?.id ?? '';
  }

  it('loads an alert with its account from the Organizations sync, and without one', async () => {
    await db.pool.query(
      `INSERT INTO org_account (account_id, name, email, status, ou_path)
       VALUES ('111122223333', 'payments-prod', 'aws@example.com', 'ACTIVE', 'Root/Prod') ON CONFLICT DO NOTHING`,
    );
    const known = await addAlert('f-known', {
      ruleOutcome: { severityChanges: [{ rule: 'prod', from: 'medium', to: 'high' }] },
    });
    const unknown = await addAlert('f-unknown', { account: '999988887777' });

    const a = await store.load(known);
    expect(a).toMatchObject({
      id: known,
      finding: { id: 'f-known', resource: { type: 'Instance' } },
      severityLabel: 'high',
      severityNote: 'raised from medium to high by rule prod',
      account: { name: 'payments-prod', ouPath: 'Root/Prod' },
      delivery: 'card',
      regions: ['eu-west-1', 'us-east-1'],
      channelId: 'C0PROD',
      revision: 1,
      cardTs: null,
      cardRevision: 0,
      cardPostStartedAt: null,
      triage: { state: 'open', acknowledgedAt: null, recurrences: 0, gdArchived: false },
      enrichment: null,
    });
    expect(a?.triage.createdAt).toBeInstanceOf(Date);
    const b = await store.load(unknown);
    expect(b?.account).toBeUndefined();
    expect(b?.severityNote).toBeUndefined();
  });

  it('finds nothing for an id that is not a UUID or matches no alert', async () => {
    await addAlert('f-1');
    expect(await store.load('not-a-uuid')).toBeUndefined();
    expect(await store.load('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    expect(await store.findByRef('no-such-finding')).toBeUndefined();
  });

  it('finds an alert by its id or by its finding id, and prefers the id when a finding id looks like one', async () => {
    const first = await addAlert('f-by-finding');
    expect((await store.findByRef(first))?.id).toBe(first);
    expect((await store.findByRef('f-by-finding'))?.id).toBe(first);
    // Another alert whose finding id is the first alert's id: the id still finds the first.
    const second = await addAlert(first.toUpperCase());
    expect((await store.findByRef(first.toUpperCase()))?.id).toBe(first);
    expect(second).not.toBe(first);
  });

  it('records a post as it goes, and never moves the card revision backwards', async () => {
    const id = await addAlert('f-post');
    const before = Date.now();
    await store.beginPost(id, 'C0PROD');
    const started = await store.load(id);
    expect(started?.cardChannelId).toBe('C0PROD');
    expect(started?.cardPostStartedAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);

    await store.clearPostStarted(id);
    expect((await store.load(id))?.cardPostStartedAt).toBeNull();

    await store.redirect(id, 'C0DEFAULT', `channel_not_found${'x'.repeat(2000)}`);
    const redirected = await store.load(id);
    expect(redirected?.cardChannelId).toBe('C0DEFAULT');
    expect(redirected?.cardError).toHaveLength(1000);

    await store.recordPosted(id, 'C0DEFAULT', '1700000000.000100', 3);
    await store.recordUpdated(id, 2);
    const posted = await store.load(id);
    expect(posted).toMatchObject({ cardTs: '1700000000.000100', cardRevision: 3 });
    await store.recordUpdated(id, 5);
    expect((await store.load(id))?.cardRevision).toBe(5);

    await store.recordCardError(id, 'invalid_blocks');
    await store.recordSecurityCard(id, 'review', '1700000000.000200');
    await store.recordSecurityCard(id, 'escalation', '1700000000.000300');
    expect(await store.load(id)).toMatchObject({
      cardError: 'invalid_blocks',
      reviewCardTs: '1700000000.000200',
      escalationCardTs: '1700000000.000300',
    });
  });

  it('refuses to record a post for an alert that is not there', async () => {
    await expect(store.beginPost('00000000-0000-4000-8000-000000000000', 'C0PROD')).rejects.toThrow(/not found/);
  });
});

/**
 * The same IAM finding raised in several regions folds into one alert that
 * lists the regions: one card, edited in place; updates of any region's
 * finding find the alert; archiving it archives every region's finding.
 */
import { randomBytes } from 'node:crypto';
import { ArchiveFindingsCommand } from '@aws-sdk/client-guardduty';
import { ACTION_IDS, CALLBACK_IDS, INPUT_IDS } from '../../app/slack/ids';
import { type Harness, PROD_ACCOUNT, PROD_CHANNEL, startHarness } from '../support/app-harness';
import { ADMIN_ROLE_ARN, gd, mockHealthyAws } from '../support/aws-mocks';
import { alertRow, cardsFor } from '../support/cards';
import { eventually } from '../support/eventually';
import { guardDutyFindings, type Json, wrapFinding } from '../support/fixtures';
import { ALICE, click, openedView, selectValue, submit, textValue } from '../support/slack-interactions';

const IAM = guardDutyFindings().find(
  (f) => (f.finding.resource as { resourceType?: string } | undefined)?.resourceType === 'AccessKey',
);
if (!IAM) throw new Error('no AccessKey fixture');

/** The fixture's IAM finding, raised in `region` for `accessKeyId`, with a fresh finding id. */
function iamFinding(region: string, accessKeyId: string, extra: Json = {}): Json {
  const f = structuredClone(IAM?.finding) as Json & { resource: Json & { accessKeyDetails: Json }; service: Json };
  return {
    ...f,
    // The fixture was archived in GuardDuty; an archived alert takes no more regions.
    service: { ...f.service, archived: false },
    id: randomBytes(16).toString('hex'),
    accountId: PROD_ACCOUNT,
    region,
    arn: `arn:aws:guardduty:${region}:${PROD_ACCOUNT}:detector/d/finding/x`,
    resource: { ...f.resource, accessKeyDetails: { ...f.resource.accessKeyDetails, accessKeyId } },
    ...extra,
  };
}

function blocksText(h: Harness, alertId: string): string {
  return JSON.stringify(cardsFor(h, alertId)[0]?.blocks);
}

describe('IAM findings raised in several regions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { GUARDDUTY_ADMIN_ROLE_ARN: ADMIN_ROLE_ARN, STORM_THRESHOLD: '0' } });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => mockHealthyAws());

  it('folds into one alert with one card that lists the regions, and finds the alert again on an update', async () => {
    const key = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const first = iamFinding('us-east-1', key);
    const a = await h.ingest(wrapFinding(first));
    expect(a.status).toBe(202);
    expect(a.body.status).toBe('accepted');
    const alertId = String(a.body.alertId);
    await eventually(async () => (await alertRow(h, alertId)).card_ts);

    const second = iamFinding('eu-west-1', key);
    const b = await h.ingest(wrapFinding(second));
    expect(b.body).toEqual(expect.objectContaining({ status: 'folded', alertId }));
    const third = iamFinding('ap-southeast-2', key);
    expect((await h.ingest(wrapFinding(third))).body).toEqual(expect.objectContaining({ status: 'folded', alertId }));

    expect((await alertRow(h, alertId)).regions).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2']);
    expect(
      (await h.db.pool.query('SELECT count(*)::int AS n FROM alert WHERE resource_id = $1', [key])).rows[0].n,
    ).toBe(1);
    await eventually(async () => blocksText(h, alertId).includes('Regions (3)'));
    expect(cardsFor(h, alertId)).toHaveLength(1);
    expect(blocksText(h, alertId)).toContain('us-east-1, eu-west-1, ap-southeast-2');

    // An update of a folded region's finding finds its alert; a repeat of it is a duplicate.
    const update = wrapFinding({ ...second, updatedAt: new Date(Date.now() + 60_000).toISOString() });
    expect((await h.ingest(update)).body).toEqual(expect.objectContaining({ status: 'folded', alertId }));
    expect((await h.ingest(update)).body).toEqual(expect.objectContaining({ status: 'duplicate' }));
    expect((await alertRow(h, alertId)).regions).toHaveLength(3);
  });

  it('keeps another access key, and a non-IAM finding of the same kind elsewhere, as alerts of their own', async () => {
    const key = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const a = await h.ingest(wrapFinding(iamFinding('us-east-1', key)));
    const other = await h.ingest(wrapFinding(iamFinding('eu-west-1', `${key}X`)));
    expect(other.body.status).toBe('accepted');
    expect(other.body.alertId).not.toBe(a.body.alertId);
    // The same key in the same region is a different finding GuardDuty chose to raise: not folded.
    const sameRegion = await h.ingest(wrapFinding(iamFinding('us-east-1', key)));
    expect(sameRegion.body.status).toBe('accepted');
  });

  it('archives every region’s finding in GuardDuty when the folded alert is archived', async () => {
    const key = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const east = iamFinding('us-east-1', key);
    const west = iamFinding('us-west-2', key);
    const alertId = String((await h.ingest(wrapFinding(east))).body.alertId);
    expect((await h.ingest(wrapFinding(west))).body.status).toBe('folded');
    const ts = await eventually(async () => (await alertRow(h, alertId)).card_ts as string | null);

    const opened = await click(h, {
      actionId: ACTION_IDS.archive,
      value: alertId,
      user: ALICE,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    const view = await openedView(h, opened.triggerId);
    await submit(h, {
      callbackId: CALLBACK_IDS.archive,
      privateMetadata: view.private_metadata,
      user: ALICE,
      values: {
        [INPUT_IDS.category.block]: { [INPUT_IDS.category.action]: selectValue('expected_activity') },
        [INPUT_IDS.reason.block]: { [INPUT_IDS.reason.action]: textValue('red team exercise RT-7, all regions') },
      },
    });

    await eventually(async () => {
      const f = await h.db.pool.query('SELECT gd_archived FROM alert_finding WHERE finding_id = $1', [west.id]);
      return (await alertRow(h, alertId)).gd_archived === true && f.rows[0]?.gd_archived === true;
    }, 15_000);
    const archived = gd
      .commandCalls(ArchiveFindingsCommand)
      .flatMap((c) => c.args[0].input.FindingIds ?? [])
      .sort();
    expect(archived).toEqual([String(east.id), String(west.id)].sort());
  });
});

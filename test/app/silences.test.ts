/**
 * Silences, end to end: `/alert silence`, `/alert silences`, `/alert
 * unsilence` and the card's "Silence similar…" button through signed Slack
 * requests to the real app, findings over HTTP, real PostgreSQL and the fake
 * Slack. Kanshi's clock is injected and moved forward to reach expiry.
 */

import { randomBytes } from 'node:crypto';
import type { Clock } from '../../app/ports/clock';
import { ACTION_IDS, CALLBACK_IDS, INPUT_IDS } from '../../app/slack/ids';
import { type Harness, PROD_ACCOUNT, PROD_CHANNEL, startHarness } from '../support/app-harness';
import { alertRow, cardsFor, freshFinding } from '../support/cards';
import { eventually } from '../support/eventually';
import { type Json, wrapFinding } from '../support/fixtures';
import {
  ALICE,
  BOB,
  click,
  openedView,
  SECENG,
  type SlackUser,
  selectValue,
  slashCommand,
  submit,
  textValue,
} from '../support/slack-interactions';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const OTHER_ACCOUNT = '555566667777';

/** Kanshi's clock: real time plus an offset that only ever grows. */
class MovableClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

interface FindingSpec {
  type: string;
  account?: string;
  instance?: string;
}

function finding(spec: FindingSpec): Json {
  const f = freshFinding(spec.account ?? PROD_ACCOUNT, { type: spec.type });
  const resource = f.resource as { instanceDetails: Json };
  const instance = spec.instance ?? `i-${randomBytes(8).toString('hex')}`;
  return { ...f, resource: { ...resource, instanceDetails: { ...resource.instanceDetails, instanceId: instance } } };
}

async function query<T = Record<string, unknown>>(h: Harness, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await h.db.pool.query(sql, params)).rows as T[];
}

async function silenceRow(h: Harness, id: string): Promise<Record<string, unknown>> {
  const [row] = await query(h, 'SELECT * FROM silence WHERE id = $1', [id]);
  if (!row) throw new Error(`no silence ${id}`);
  return row;
}

async function changes(h: Harness, silenceId: string) {
  return query<{ action: string; outcome: string; actor_id: string; detail: unknown }>(
    h,
    'SELECT action, outcome, actor_id, detail FROM silence_change WHERE silence_id = $1 ORDER BY id',
    [silenceId],
  );
}

/** Sends `/alert <text>` from a channel; returns the ephemeral reply Kanshi sent to the response_url. */
function alertCommand(h: Harness, text: string, user: SlackUser = ALICE, channel = PROD_CHANNEL) {
  return slashCommand(h, text, user, channel);
}

/** Makes a silence with `/alert silence …` and returns its row, found by the short id in the reply. */
async function silenceBy(h: Harness, args: string, user: SlackUser = ALICE) {
  const reply = await alertCommand(h, `silence ${args}`, user);
  const short = /silenced `([0-9a-f]{8})`/.exec(reply.text)?.[1];
  if (!short) throw new Error(`no silence made: ${reply.text}`);
  const [row] = await query<{ id: string }>(h, `SELECT id::text FROM silence WHERE id::text LIKE $1 || '%'`, [short]);
  if (!row) throw new Error(`silence ${short} not stored`);
  return { id: row.id, short, reply: reply.text };
}

/** Ingests a finding; returns its alert id (the POST must be accepted). */
async function ingest(h: Harness, spec: FindingSpec): Promise<string> {
  const res = await h.ingest(wrapFinding(finding(spec)));
  expect(res.status).toBe(202);
  return String(res.body.alertId);
}

/** Ingests a finding and waits for its card; returns the alert id and the card's ts. */
async function carded(h: Harness, spec: FindingSpec): Promise<{ alertId: string; ts: string }> {
  const alertId = await ingest(h, spec);
  const ts = await eventually(async () => (await alertRow(h, alertId)).card_ts as string | null);
  expect(cardsFor(h, alertId)).toHaveLength(1);
  return { alertId, ts };
}

/**
 * Ingests a finding that a silence should mute: it is stored as silenced, no
 * card job exists for it, and no card shows up (checked after a later card,
 * which the worker posts after anything queued before it).
 */
async function silenced(h: Harness, spec: FindingSpec, silenceId: string): Promise<string> {
  const alertId = await ingest(h, spec);
  const row = await alertRow(h, alertId);
  expect({ delivery: row.delivery, silence_id: row.silence_id }).toEqual({
    delivery: 'silenced',
    silence_id: silenceId,
  });
  await carded(h, { type: 'Policy:S3/BucketBlockPublicAccessDisabled', account: OTHER_ACCOUNT });
  expect(cardsFor(h, alertId)).toEqual([]);
  expect(await query(h, `SELECT id FROM job WHERE kind = 'card.sync' AND payload->>'alertId' = $1`, [alertId])).toEqual(
    [],
  );
  return alertId;
}

/** The channel posts (not replies, not cards) whose text starts with `prefix`. */
function posts(h: Harness, channel: string, prefix: string) {
  return h.slack.messages(channel).filter((m) => m.text?.startsWith(prefix));
}

describe('silences', () => {
  let h: Harness;
  const clock = new MovableClock();
  beforeAll(async () => {
    h = await startHarness({ clock, env: { SECURITY_ENGINEER_IDS: SECENG.id } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('mutes new alerts matching `/alert silence Recon:EC2/* for 2h reason scanner`, counting hits, and cards the rest', async () => {
    const { id, short, reply } = await silenceBy(h, 'Recon:EC2/* for 2h reason scanner');
    expect(reply).toMatch(
      new RegExp(
        `^:mute: <@${ALICE.id}> silenced \`${short}\` \`Recon:EC2/\\*\` in every account for 2 h, until <!date\\^.+Reason: scanner\\n`,
      ),
    );
    const row = await silenceRow(h, id);
    expect(row).toEqual(
      expect.objectContaining({
        type_pattern: 'Recon:EC2/*',
        account_id: null,
        resource_id: null,
        reason: 'scanner',
        created_by_id: ALICE.id,
        channel_id: PROD_CHANNEL,
        hits: 0,
        lifted_at: null,
      }),
    );
    expect((row.expires_at as Date).getTime() - (row.created_at as Date).getTime()).toBe(2 * HOUR);
    expect(await changes(h, id)).toEqual([
      expect.objectContaining({ action: 'create', outcome: 'applied', actor_id: ALICE.id }),
    ]);

    await silenced(h, { type: 'Recon:EC2/PortProbeUnprotectedPort' }, id);
    expect(await silenceRow(h, id)).toEqual(expect.objectContaining({ hits: 1, last_hit_at: expect.any(Date) }));
    await silenced(h, { type: 'Recon:EC2/Portscan', account: OTHER_ACCOUNT }, id);
    expect((await silenceRow(h, id)).hits).toBe(2);

    // Other purposes, other resource kinds, and case differences are not muted.
    await carded(h, { type: 'Recon:IAMUser/MaliciousIPCaller' });
    await carded(h, { type: 'UnauthorizedAccess:EC2/SSHBruteForce' });
    await carded(h, { type: 'recon:EC2/Portscan' });
    expect((await silenceRow(h, id)).hits).toBe(2);

    // Every alert is still listed.
    const list = await alertCommand(h, 'list');
    expect(list.json).toContain('Recon:EC2/PortProbeUnprotectedPort');
  });

  it('limits a silence to the account or the resource it names', async () => {
    const byAccount = await silenceBy(h, `Backdoor:EC2/* account ${PROD_ACCOUNT} for 2h reason DoS drill in prod`);
    expect(byAccount.reply).toContain(`in account ${PROD_ACCOUNT}`);
    await silenced(h, { type: 'Backdoor:EC2/DenialOfService.Tcp' }, byAccount.id);
    await carded(h, { type: 'Backdoor:EC2/DenialOfService.Tcp', account: OTHER_ACCOUNT });

    const instance = `i-${randomBytes(8).toString('hex')}`;
    const byResource = await silenceBy(h, `Trojan:EC2/* resource ${instance} for 2h reason honeypot instance`);
    expect(byResource.reply).toContain(`on \`${instance}\``);
    await silenced(h, { type: 'Trojan:EC2/DNSDataExfiltration', instance }, byResource.id);
    await silenced(h, { type: 'Trojan:EC2/BlackholeTraffic', instance, account: OTHER_ACCOUNT }, byResource.id);
    await carded(h, { type: 'Trojan:EC2/DNSDataExfiltration' });

    expect((await silenceRow(h, byAccount.id)).hits).toBe(1);
    expect((await silenceRow(h, byResource.id)).hits).toBe(2);
  });

  it('refuses a silence that would mute every finding type, and makes none', async () => {
    const before = await query(h, 'SELECT id FROM silence');
    const reply = await alertCommand(h, 'silence * for 1h reason everything is noisy');
    expect(reply.text).toContain('too broad');
    expect(await query(h, 'SELECT id FROM silence')).toEqual(before);
  });

  it('lists silences with creator, reason and hits; refuses and records a lift by anyone else; lifts for the creator', async () => {
    const { id, short } = await silenceBy(h, 'Impact:EC2/* for 4h reason batch fleet maintenance window');
    await silenced(h, { type: 'Impact:EC2/BitcoinDomainRequest.Reputation' }, id);

    const mine = await alertCommand(h, 'silences');
    expect(mine.json).toContain(`\`${short}\` \`Impact:EC2/*\` in every account`);
    expect(mine.json).toContain(`by <@${ALICE.id}>`);
    expect(mine.json).toContain('1 hit, last');
    expect(mine.json).toContain('Reason: batch fleet maintenance window');
    expect(mine.json).toContain(`"value":"${id}"`); // the creator gets a Lift button
    const theirs = await alertCommand(h, 'silences', BOB);
    expect(theirs.json).toContain(`\`${short}\``);
    expect(theirs.json).not.toContain(`"value":"${id}"`);

    const refused = await alertCommand(h, `unsilence ${short}`, BOB);
    expect(refused.text).toBe(
      ':no_entry: Only its creator or a security engineer can lift this silence. Your attempt was recorded.',
    );
    expect(await changes(h, id)).toEqual([
      expect.objectContaining({ action: 'create', outcome: 'applied', actor_id: ALICE.id }),
      { action: 'lift', outcome: 'refused', actor_id: BOB.id, detail: { why: 'not_authorised' } },
    ]);
    expect((await silenceRow(h, id)).lifted_at).toBeNull();
    await silenced(h, { type: 'Impact:EC2/PortSweep' }, id);

    const lifted = await alertCommand(h, `unsilence ${short}`, ALICE);
    expect(lifted.text).toMatch(
      new RegExp(`^:bell: <@${ALICE.id}> lifted silence \`${short}\` \`Impact:EC2/\\*\` .* after 2 hits\\.`),
    );
    expect(await silenceRow(h, id)).toEqual(
      expect.objectContaining({ lifted_at: expect.any(Date), lifted_by_id: ALICE.id, hits: 2 }),
    );
    expect((await changes(h, id)).map((c) => [c.action, c.outcome, c.actor_id])).toEqual([
      ['create', 'applied', ALICE.id],
      ['lift', 'refused', BOB.id],
      ['lift', 'applied', ALICE.id],
    ]);
    await carded(h, { type: 'Impact:EC2/PortSweep' });

    // Lifting again is refused (and recorded), and the list no longer shows it as active.
    expect((await alertCommand(h, `unsilence ${short}`, ALICE)).text).toBe(
      ':no_entry: That silence has already ended.',
    );
    expect((await changes(h, id)).at(-1)).toEqual({
      action: 'lift',
      outcome: 'refused',
      actor_id: ALICE.id,
      detail: { why: 'not_active' },
    });
    expect((await alertCommand(h, 'silences')).json).not.toContain(`\`${short}\``);
    expect((await alertCommand(h, 'silences all')).json).toContain(`\`${short}\``);
  });

  it('lets a security engineer lift anyone’s silence with the Lift button', async () => {
    const { id, short } = await silenceBy(h, 'Stealth:IAMUser/* for 1d reason CloudTrail migration', BOB);
    const list = await alertCommand(h, 'silences', SECENG);
    expect(list.json).toContain(`"value":"${id}"`);
    const res = await click(h, {
      actionId: ACTION_IDS.liftSilence,
      value: id,
      user: SECENG,
      channel: PROD_CHANNEL,
      messageTs: '1.1',
    });
    expect(res.status).toBe(200);
    const reply = await h.slack.waitFor(() => h.slack.callsTo(res.responsePath)[0]);
    expect(String(reply.args.text)).toMatch(new RegExp(`^:bell: <@${SECENG.id}> lifted silence \`${short}\``));
    expect(await silenceRow(h, id)).toEqual(expect.objectContaining({ lifted_by_id: SECENG.id }));
    expect((await changes(h, id)).map((c) => [c.action, c.outcome, c.actor_id])).toEqual([
      ['create', 'applied', BOB.id],
      ['lift', 'applied', SECENG.id],
    ]);
  });

  it('mutes the type and resource chosen in the “Silence similar…” modal, after asking for a reason', async () => {
    const type = 'UnauthorizedAccess:EC2/TorClient';
    const instance = `i-${randomBytes(8).toString('hex')}`;
    const { alertId, ts } = await carded(h, { type, instance });
    const card = JSON.stringify(cardsFor(h, alertId)[0]?.blocks);
    expect(card).toContain(ACTION_IDS.silenceSimilar);

    const opened = await click(h, {
      actionId: ACTION_IDS.silenceSimilar,
      value: alertId,
      user: BOB,
      channel: PROD_CHANNEL,
      messageTs: ts,
    });
    const view = await openedView(h, opened.triggerId);
    expect(view.callback_id).toBe(CALLBACK_IDS.silence);
    expect(JSON.parse(view.private_metadata)).toEqual({ alertId, channel: PROD_CHANNEL, messageTs: ts });
    const shown = JSON.stringify(view);
    expect(shown).toContain(type);
    expect(shown).toContain(instance);

    const values = (scope: string[], reason: string) => ({
      [INPUT_IDS.silenceScope.block]: {
        [INPUT_IDS.silenceScope.action]: { type: 'checkboxes', selected_options: scope.map((value) => ({ value })) },
      },
      [INPUT_IDS.silenceDuration.block]: { [INPUT_IDS.silenceDuration.action]: selectValue('1d') },
      [INPUT_IDS.reason.block]: { [INPUT_IDS.reason.action]: textValue(reason) },
    });
    const meta = { callbackId: CALLBACK_IDS.silence, privateMetadata: view.private_metadata, user: BOB };

    const before = await query(h, 'SELECT id FROM silence');
    const blank = await submit(h, { ...meta, values: values(['type', 'resource'], '   ') });
    expect(JSON.parse(blank.body)).toEqual({
      response_action: 'errors',
      errors: { [INPUT_IDS.reason.block]: 'Give a reason for the silence.' },
    });
    const noType = await submit(h, { ...meta, values: values(['resource'], 'pen test of the staging VPC') });
    expect(JSON.parse(noType.body)).toEqual({
      response_action: 'errors',
      errors: { [INPUT_IDS.silenceScope.block]: expect.stringContaining('Keep “This finding type” checked') },
    });
    expect(await query(h, 'SELECT id FROM silence')).toEqual(before);

    const ok = await submit(h, { ...meta, values: values(['type', 'resource'], 'pen test of the staging VPC') });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    const row = await eventually(async () => {
      const [r] = await query<Record<string, unknown>>(h, 'SELECT * FROM silence WHERE type_pattern = $1', [type]);
      return r;
    });
    expect(row).toEqual(
      expect.objectContaining({
        type_pattern: type,
        account_id: null,
        resource_id: instance,
        reason: 'pen test of the staging VPC',
        created_by_id: BOB.id,
        channel_id: PROD_CHANNEL,
      }),
    );
    expect((row.expires_at as Date).getTime() - (row.created_at as Date).getTime()).toBe(DAY);
    const id = String(row.id);
    const note = await h.slack.waitFor(() => h.slack.ephemerals(PROD_CHANNEL).find((e) => e.user === BOB.id));
    expect(note.text).toMatch(new RegExp(`^:mute: <@${BOB.id}> silenced \`${id.slice(0, 8)}\``));

    await silenced(h, { type, instance, account: OTHER_ACCOUNT }, id);
    await carded(h, { type });
    await carded(h, { type: 'UnauthorizedAccess:EC2/TorRelay', instance });
  });

  it('tells the channel where a silence was made', async () => {
    const { short } = await silenceBy(h, 'Persistence:IAMUser/* for 3h reason IAM clean-up project');
    const notice = await h.slack.waitFor(
      () => posts(h, PROD_CHANNEL, `:mute: <@${ALICE.id}> silenced \`${short}\``)[0],
    );
    expect(notice.text).toContain('Reason: IAM clean-up project');
    expect(notice.text).toContain('for 3 h');
    // Once, however often the worker looks.
    await new Promise((r) => setTimeout(r, 300));
    expect(posts(h, PROD_CHANNEL, `:mute: <@${ALICE.id}> silenced \`${short}\``)).toHaveLength(1);
  });

  it('tells the channel when a silence is lifted by its creator', async () => {
    const { id, short } = await silenceBy(h, 'PrivilegeEscalation:IAMUser/* for 2h reason role migration');
    await alertCommand(h, `unsilence ${short}`, ALICE);
    const notice = await h.slack.waitFor(
      () => posts(h, PROD_CHANNEL, `:bell: <@${ALICE.id}> lifted silence \`${short}\``)[0],
    );
    expect(notice.text).toContain('Matching alerts get cards again.');
    await eventually(async () => {
      const [job] = await query<{ status: string }>(h, 'SELECT status FROM job WHERE key = $1', [
        `silence:${id}:lifted`,
      ]);
      return job?.status === 'done';
    });
    expect(posts(h, PROD_CHANNEL, `:bell: <@${ALICE.id}> lifted silence \`${short}\``)).toHaveLength(1);
  });

  it('stops muting once Kanshi’s clock passes the expiry, and tells the channel it expired', async () => {
    const { id, short } = await silenceBy(h, 'CryptoCurrency:EC2/* for 1h reason mining pool test');
    await silenced(h, { type: 'CryptoCurrency:EC2/BitcoinTool.B' }, id);
    expect(posts(h, PROD_CHANNEL, `:bell: Silence \`${short}\``)).toEqual([]);

    clock.advance(2 * HOUR);
    await carded(h, { type: 'CryptoCurrency:EC2/BitcoinTool.B' });
    expect((await silenceRow(h, id)).hits).toBe(1);
    expect((await alertCommand(h, 'silences')).json).not.toContain(`\`${short}\``);

    // The expiry notice is due at the expiry by Kanshi's clock; the queue runs on the database's.
    const moved = await h.db.pool.query(`UPDATE job SET run_at = now() WHERE key = $1 AND status = 'pending'`, [
      `silence:${id}:expired`,
    ]);
    expect(moved.rowCount).toBe(1);
    const notice = await h.slack.waitFor(() => posts(h, PROD_CHANNEL, `:bell: Silence \`${short}\``)[0]);
    expect(notice.text).toBe(
      `:bell: Silence \`${short}\` \`CryptoCurrency:EC2/*\` in every account by <@${ALICE.id}> has expired after 1 hit. Matching alerts get cards again.`,
    );
    await eventually(async () => (await changes(h, id)).some((c) => c.action === 'expire'));
    expect((await changes(h, id)).map((c) => [c.action, c.outcome, c.actor_id])).toEqual([
      ['create', 'applied', ALICE.id],
      ['expire', 'applied', 'kanshi'],
    ]);
  });

  it('cards a finding first seen under a silence when GuardDuty updates it after the silence ended', async () => {
    const { id } = await silenceBy(h, 'Backdoor:EC2/* for 1h reason red team exercise');
    const f = finding({ type: 'Backdoor:EC2/C&CActivity.B' });
    const first = await h.ingest(wrapFinding(f));
    const alertId = String(first.body.alertId);
    expect((await alertRow(h, alertId)).delivery).toBe('silenced');

    // Still silenced: a newer update of the same finding stays muted.
    const during = await h.ingest(wrapFinding({ ...f, updatedAt: new Date(Date.now() + 1000).toISOString() }));
    expect(during.body.status).toBe('updated');
    expect((await alertRow(h, alertId)).delivery).toBe('silenced');

    clock.advance(2 * HOUR);
    const after = await h.ingest(wrapFinding({ ...f, updatedAt: new Date(Date.now() + 2000).toISOString() }));
    expect(after.body).toEqual(expect.objectContaining({ status: 'updated', alertId }));
    await eventually(async () => (await alertRow(h, alertId)).card_ts);
    expect((await alertRow(h, alertId)).delivery).toBe('card');
    expect(cardsFor(h, alertId)).toHaveLength(1);
    expect((await silenceRow(h, id)).hits).toBe(1);
  });

  it('keeps silence_change append-only: UPDATE and DELETE are refused with SQLSTATE 42501', async () => {
    const [row] = await query<{ id: string }>(h, 'SELECT id::text FROM silence_change ORDER BY id LIMIT 1');
    expect(row).toBeDefined();
    await expect(
      h.db.pool.query(`UPDATE silence_change SET actor_id = 'U0MALLORY01' WHERE id = $1`, [row?.id]),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(h.db.pool.query('DELETE FROM silence_change WHERE id = $1', [row?.id])).rejects.toMatchObject({
      code: '42501',
    });
    await expect(h.db.pool.query('TRUNCATE silence_change')).rejects.toMatchObject({ code: '42501' });
    const [{ n } = { n: 0 }] = await query<{ n: number }>(h, 'SELECT count(*)::int AS n FROM silence_change');
    expect(n).toBeGreaterThan(0);
  });
});

describe('silence notices before expiry and when stale', () => {
  let h: Harness;
  const clock = new MovableClock();
  beforeAll(async () => {
    h = await startHarness({ clock });
  });
  afterAll(async () => {
    await h.close();
  });

  async function runNow(key: string): Promise<void> {
    const moved = await h.db.pool.query(`UPDATE job SET run_at = now() WHERE key = $1 AND status = 'pending'`, [key]);
    expect(moved.rowCount).toBe(1);
  }

  it('warns the channel a day before a silence longer than a day expires', async () => {
    const { id, short } = await silenceBy(h, 'Exfiltration:S3/* for 3d reason data lake backfill');
    // A silence of a day or less gets no warning.
    const oneDay = await silenceBy(h, 'Exfiltration:IAMUser/* for 1d reason one-day export');
    expect(await query(h, `SELECT key FROM job WHERE key LIKE $1 ORDER BY key`, [`silence:${oneDay.id}:%`])).toEqual([
      { key: `silence:${oneDay.id}:created` },
      { key: `silence:${oneDay.id}:expired` },
    ]);

    clock.advance(2 * DAY + HOUR);
    await runNow(`silence:${id}:warn`);
    const warn = await h.slack.waitFor(() => posts(h, PROD_CHANNEL, ':hourglass_flowing_sand:')[0]);
    expect(warn.text).toContain(`Silence \`${short}\` \`Exfiltration:S3/*\``);
    expect(warn.text).toContain('expires in 1 day');
    expect(warn.text).toContain('0 hits so far');
  });

  it('tells the channel once when a long silence has matched nothing for 7 days', async () => {
    const { id, short } = await silenceBy(h, 'Discovery:S3/* for 14d reason bucket inventory tooling');
    clock.advance(7 * DAY + HOUR);
    await runNow(`silence:${id}:stale`);
    const stale = await h.slack.waitFor(() => posts(h, PROD_CHANNEL, `:warning: Silence \`${short}\``)[0]);
    expect(stale.text).toContain('has matched nothing for 7 days');
    expect(stale.text).toContain(`/alert unsilence ${short}`);
    await eventually(async () => (await changes(h, id)).some((c) => c.action === 'stale'));
    expect((await silenceRow(h, id)).stale_notified_at).toBeInstanceOf(Date);
    expect((await alertCommand(h, 'silences')).json).toContain('matched nothing for 7 days');
  });
});

/** /alert through signed slash-command requests to the real Bolt app. */
import { randomBytes } from 'node:crypto';
import { type Harness, PROD_ACCOUNT, signedSlackHeaders, startHarness } from '../support/app-harness';
import { guardDutyFindings, wrapFinding } from '../support/fixtures';

describe('/alert', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ runWorker: false });
  });
  afterAll(async () => {
    await h.close();
  });

  /** Sends /alert <text>; returns what Kanshi sent to the command's response_url. */
  async function alert(text: string): Promise<Record<string, unknown>> {
    const hook = `response/${randomBytes(4).toString('hex')}`;
    const body = new URLSearchParams({
      command: '/alert',
      text,
      team_id: 'T0TEST',
      channel_id: 'C0PROD00001',
      user_id: 'U0ALICE',
      user_name: 'alice',
      response_url: `${h.slack.apiUrl}${hook}`,
      trigger_id: 'trigger-1',
    }).toString();
    const res = await h.post('/slack/events', body, signedSlackHeaders(body, 'application/x-www-form-urlencoded'));
    expect(res.status).toBe(200);
    const call = await h.slack.waitFor(() => h.slack.callsTo(hook)[0]);
    return call.args;
  }

  it('shows usage for help and for anything it does not understand, escaped', async () => {
    expect((await alert('help')).text).toContain('/alert show &lt;alert id | finding id&gt;');
    expect((await alert('frobnicate')).text).toContain("I don't know `frobnicate`");
    const hostile = await alert('list <!channel>');
    expect(hostile.text).toContain('&lt;!channel&gt;');
    expect(hostile.text).not.toContain('<!channel>');
    expect(hostile.response_type).toBe('ephemeral');
  });

  it('shows an alert card by alert id and by finding id', async () => {
    const base = guardDutyFindings()[1]?.finding ?? {};
    const f = { ...base, id: randomBytes(16).toString('hex'), accountId: PROD_ACCOUNT };
    const { body } = await h.ingest(wrapFinding(f));
    for (const ref of [String(body.alertId), String(f.id)]) {
      const reply = await alert(`show ${ref}`);
      expect(reply.response_type).toBe('ephemeral');
      expect(JSON.stringify(reply.blocks)).toContain(String(f.id));
    }
  });

  it('shows the runbook for a finding type', async () => {
    const reply = await alert('runbook Recon:EC2/Portscan');
    expect(reply.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply.blocks)).toContain('*What it means*');
    expect(JSON.stringify(reply.blocks)).toContain('Recon:EC2/Portscan');
  });

  it('says when no alert matches', async () => {
    expect((await alert('show 0000notthere')).text).toContain('No alert or finding with id `0000notthere`');
  });
});

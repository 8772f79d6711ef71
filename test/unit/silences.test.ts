/** Silences: matching (as SQL LIKE does it), durations, notices, staleness, and their Slack surfaces. */
import fc from 'fast-check';
import {
  isStale,
  MAX_SILENCE_MS,
  matchesSilence,
  noticePlan,
  parseSilenceDuration,
  type SilenceRecord,
  shortSilenceId,
  silenceMatcherFor,
  silenceStatus,
  typePatternToLike,
  validateTypePattern,
} from '../../app/domain/silences';
import { modalMetadata } from '../../app/slack/blocks/modals';
import { LIMITS, slackDate } from '../../app/slack/blocks/mrkdwn';
import {
  parseSilenceSubmission,
  type SilenceListItem,
  silenceCreatedText,
  silenceExpiredText,
  silenceExpiringText,
  silenceLiftedText,
  silenceListBlocks,
  silenceModal,
  silenceStaleText,
} from '../../app/slack/blocks/silences';
import { ACTION_IDS, CALLBACK_IDS, INPUT_IDS } from '../../app/slack/ids';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ID = '3f2b8c1e-9a4d-4c6e-b1f0-7d2e5a9c8b41';
const ACCOUNT = '123456789012';
const HOSTILE = '<!channel> *x* <http://evil|y> & `tick`';
const NOW = new Date('2026-11-22T12:00:00.000Z');
const at = (offsetMs: number): Date => new Date(NOW.getTime() + offsetMs);
const date = (d: Date): string => slackDate(d.toISOString());

const alert = { type: 'Recon:EC2/Portscan', accountId: ACCOUNT, resourceId: 'i-0abc123' };

/**
 * PostgreSQL's `LIKE … ESCAPE '\'`, written independently of the code under
 * test: `%` any run, `_` any one character, `\x` a literal x.
 */
function sqlLike(pattern: string, text: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\') source += (pattern[++i] ?? '').replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(text);
}

describe('validateTypePattern', () => {
  it.each([
    'Recon:EC2/*',
    'UnauthorizedAccess:IAMUser/*',
    'Recon:EC2/Portscan',
    'Backdoor:EC2/C&CActivity.B!DNS',
    'Policy:IAMUser/Root_*',
    'Recon:*',
    'CryptoCurrency:EC2/BitcoinTool.*',
  ])('accepts %s', (p) => {
    expect(validateTypePattern(p)).toBeUndefined();
  });

  const TOO_BROAD =
    'the finding type pattern is too broad: start it with a threat purpose and a colon, e.g. `Recon:EC2/*`';
  const BAD_CHARS = 'the finding type pattern may only contain letters, digits, `:/._!&-` and `*` as a wildcard';
  it.each<[string, string]>([
    ['', 'the finding type pattern is empty'],
    ['*', TOO_BROAD],
    ['**', TOO_BROAD],
    ['*:EC2/*', TOO_BROAD],
    ['Re*:EC2/Portscan', TOO_BROAD],
    ['Recon', TOO_BROAD],
    ['Recon:', TOO_BROAD],
    [':EC2/*', TOO_BROAD],
    ['Recon:EC2/Port scan', BAD_CHARS],
    ['Recon:EC2/%', BAD_CHARS],
    ['Recon:EC2/\\*', BAD_CHARS],
    [HOSTILE, BAD_CHARS],
    [`Recon:EC2/${'a'.repeat(119)}`, 'the finding type pattern must be at most 128 characters'],
  ])('refuses %j: %s', (p, error) => {
    expect(validateTypePattern(p)).toBe(error);
  });

  it('accepts a pattern of exactly 128 characters', () => {
    expect(validateTypePattern(`Recon:EC2/${'a'.repeat(118)}`)).toBeUndefined();
  });
});

describe('typePatternToLike', () => {
  it.each<[string, string]>([
    ['Recon:EC2/*', 'Recon:EC2/%'],
    ['Recon:EC2/Portscan', 'Recon:EC2/Portscan'],
    ['Policy:IAMUser/Root_*', 'Policy:IAMUser/Root\\_%'],
    ['a%b\\c_*d*', 'a\\%b\\\\c\\_%d%'],
  ])('turns %s into %s', (p, like) => {
    expect(typePatternToLike(p)).toBe(like);
  });
});

describe('matchesSilence', () => {
  it.each<[string, boolean]>([
    ['Recon:EC2/*', true],
    ['Recon:EC2/Portscan', true],
    ['Recon:*scan', true],
    ['Recon:EC2/Port*scan', true],
    ['Recon:EC2/Portscan*', true],
    ['Recon:EC2/Ports', false],
    ['recon:EC2/Portscan', false],
    ['Recon:EC2/Portscan.B', false],
    ['Recon:IAMUser/*', false],
    // `_` is literal, as the escaped SQL pattern makes it.
    ['Recon:EC2/Port_can', false],
  ])('%s matches Recon:EC2/Portscan: %s', (typePattern, expected) => {
    expect(matchesSilence({ typePattern }, alert)).toBe(expected);
  });

  it('also requires the account and the resource when the silence names them', () => {
    expect(matchesSilence({ typePattern: 'Recon:EC2/*', accountId: ACCOUNT }, alert)).toBe(true);
    expect(matchesSilence({ typePattern: 'Recon:EC2/*', accountId: '210987654321' }, alert)).toBe(false);
    expect(matchesSilence({ typePattern: 'Recon:EC2/*', resourceId: 'i-0abc123' }, alert)).toBe(true);
    expect(matchesSilence({ typePattern: 'Recon:EC2/*', resourceId: 'i-0abc12' }, alert)).toBe(false);
    expect(matchesSilence({ typePattern: 'Recon:EC2/*', accountId: ACCOUNT, resourceId: 'i-other' }, alert)).toBe(
      false,
    );
  });

  it('agrees with SQL LIKE on the translated pattern, for any pattern and type', () => {
    const chars = fc.constantFrom('a', 'b', '*', '_', '%', '\\', ':', '\n');
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 8 }), fc.string({ unit: chars, maxLength: 10 }), (p, type) => {
        expect(matchesSilence({ typePattern: p }, { type, accountId: ACCOUNT, resourceId: 'r' })).toBe(
          sqlLike(typePatternToLike(p), type),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('answers quickly for a pattern of many stars against a long type that does not match', () => {
    const started = Date.now();
    const result = matchesSilence(
      { typePattern: `Recon:${'a*'.repeat(60)}b` },
      { type: `Recon:${'a'.repeat(5000)}`, accountId: ACCOUNT, resourceId: '' },
    );
    expect(result).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('silenceMatcherFor', () => {
  it('mutes the exact type, plus the account and resource only when chosen', () => {
    expect(silenceMatcherFor(alert, { account: false, resource: false })).toEqual({
      typePattern: 'Recon:EC2/Portscan',
    });
    expect(silenceMatcherFor(alert, { account: true, resource: true })).toEqual({
      typePattern: 'Recon:EC2/Portscan',
      accountId: ACCOUNT,
      resourceId: 'i-0abc123',
    });
  });

  it('leaves the resource out when the alert names none', () => {
    expect(silenceMatcherFor({ ...alert, resourceId: '' }, { account: true, resource: true })).toEqual({
      typePattern: 'Recon:EC2/Portscan',
      accountId: ACCOUNT,
    });
  });
});

describe('parseSilenceDuration', () => {
  it.each<[string, number | 'invalid' | 'too_long']>([
    ['90m', 90 * MINUTE],
    ['2h', 2 * HOUR],
    ['3d', 3 * DAY],
    ['1w', 7 * DAY],
    [' 4H ', 4 * HOUR],
    ['1m', MINUTE],
    ['30d', MAX_SILENCE_MS],
    ['720h', MAX_SILENCE_MS],
    ['43200m', MAX_SILENCE_MS],
    ['43201m', 'too_long'],
    ['31d', 'too_long'],
    ['5w', 'too_long'],
    [`${'9'.repeat(400)}d`, 'too_long'],
    ['0m', 'invalid'],
    ['0d', 'invalid'],
    ['30s', 'invalid'],
    ['3', 'invalid'],
    ['d', 'invalid'],
    ['1.5d', 'invalid'],
    ['-1d', 'invalid'],
    ['1d2h', 'invalid'],
    ['', 'invalid'],
  ])('reads %j as %j', (text, expected) => {
    expect(parseSilenceDuration(text)).toBe(expected);
  });
});

describe('noticePlan', () => {
  it('warns a day before expiry when the silence lasts longer than a day', () => {
    expect(noticePlan(NOW, at(3 * DAY))).toEqual({ warnAt: at(2 * DAY), expireAt: at(3 * DAY) });
    expect(noticePlan(NOW, at(25 * HOUR))).toEqual({ warnAt: at(HOUR), expireAt: at(25 * HOUR) });
  });

  it('only notes the expiry of a silence lasting a day or less', () => {
    expect(noticePlan(NOW, at(DAY))).toEqual({ expireAt: at(DAY) });
    expect(noticePlan(NOW, at(HOUR))).toEqual({ expireAt: at(HOUR) });
  });
});

describe('isStale', () => {
  it('counts 7 days from the last hit', () => {
    expect(isStale({ createdAt: at(-30 * DAY), lastHitAt: at(-7 * DAY) }, NOW)).toBe(true);
    expect(isStale({ createdAt: at(-30 * DAY), lastHitAt: at(-7 * DAY + 1) }, NOW)).toBe(false);
  });

  it('counts from the creation when nothing has matched yet', () => {
    expect(isStale({ createdAt: at(-8 * DAY), lastHitAt: null }, NOW)).toBe(true);
    expect(isStale({ createdAt: at(-6 * DAY), lastHitAt: null }, NOW)).toBe(false);
  });
});

describe('silenceStatus and shortSilenceId', () => {
  it('is active until its expiry, expired from then, and lifted once lifted', () => {
    expect(silenceStatus({ expiresAt: at(1) }, NOW)).toBe('active');
    expect(silenceStatus({ expiresAt: NOW }, NOW)).toBe('expired');
    expect(silenceStatus({ expiresAt: at(DAY), liftedAt: at(-HOUR) }, NOW)).toBe('lifted');
    expect(silenceStatus({ expiresAt: at(DAY), liftedAt: null }, NOW)).toBe('active');
  });

  it('shortens a UUID to its first 8 hex digits', () => {
    expect(shortSilenceId(ID)).toBe('3f2b8c1e');
  });
});

// ---- Slack ----

interface Option {
  text: { type: string; text: string };
  value: string;
  description?: { type: string; text: string };
}
type Block = Record<string, unknown>;

const modalInput = {
  alertId: ID,
  findingType: 'Recon:EC2/Portscan',
  accountId: ACCOUNT,
  resourceId: 'i-0abc123',
  resourceLabel: 'EC2 instance i-0abc123 (web-1)',
  channel: 'C0123ABCD',
  messageTs: '1763812800.123456',
};

const blockById = (blocks: Block[], id: string): Block => {
  const b = blocks.find((x) => x.block_id === id);
  if (!b) throw new Error(`no block ${id}`);
  return b;
};
const elementOf = (b: Block) =>
  b.element as { type: string; options: Option[]; initial_options?: Option[]; initial_option?: Option } & Block;

describe('silenceModal', () => {
  it('is the silence modal, titled within 24 characters, with ids-only metadata', () => {
    const view = silenceModal(modalInput);
    expect(view.callback_id).toBe(CALLBACK_IDS.silence);
    expect(view.title.text).toBe('Silence similar alerts');
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    expect(view.submit.text).toBe('Silence');
    expect(modalMetadata.parse(JSON.parse(view.private_metadata))).toEqual({
      alertId: ID,
      channel: 'C0123ABCD',
      messageTs: '1763812800.123456',
    });
  });

  it('offers type, account and resource with their values, type and account checked', () => {
    const view = silenceModal(modalInput);
    const scope = elementOf(blockById(view.blocks, INPUT_IDS.silenceScope.block));
    expect(scope.type).toBe('checkboxes');
    expect(scope.action_id).toBe(INPUT_IDS.silenceScope.action);
    expect(scope.options.map((o) => [o.value, o.text.text, o.description?.text])).toEqual([
      ['type', 'This finding type', 'Recon:EC2/Portscan'],
      ['account', 'This account', ACCOUNT],
      ['resource', 'This resource', 'EC2 instance i-0abc123 (web-1)'],
    ]);
    expect(scope.initial_options).toEqual([scope.options[0], scope.options[1]]);
  });

  it('leaves out the resource box when the alert names no resource', () => {
    const view = silenceModal({ ...modalInput, resourceId: '', resourceLabel: '' });
    const scope = elementOf(blockById(view.blocks, INPUT_IDS.silenceScope.block));
    expect(scope.options.map((o) => o.value)).toEqual(['type', 'account']);
  });

  it('offers durations from an hour to 30 days, one day by default', () => {
    const view = silenceModal(modalInput);
    const duration = elementOf(blockById(view.blocks, INPUT_IDS.silenceDuration.block));
    expect(duration.type).toBe('static_select');
    expect(duration.options.map((o) => o.value)).toEqual(['1h', '4h', '1d', '3d', '7d', '14d', '30d']);
    expect(duration.initial_option).toEqual({ text: { type: 'plain_text', text: '1 day', emoji: false }, value: '1d' });
    for (const o of duration.options) expect(parseSilenceDuration(o.value)).toEqual(expect.any(Number));
  });

  it('asks for a required reason of at most 500 characters, in the shared reason input', () => {
    const view = silenceModal(modalInput);
    const reason = blockById(view.blocks, INPUT_IDS.reason.block);
    expect(reason.optional).toBeUndefined();
    expect(elementOf(reason)).toMatchObject({
      type: 'plain_text_input',
      action_id: INPUT_IDS.reason.action,
      max_length: 500,
    });
  });

  it('says matching alerts are stored and listed but not carded, and that the channel is told before expiry', () => {
    const view = silenceModal(modalInput);
    const context = view.blocks.at(-1) as { type: string; elements: Array<{ text: string }> };
    expect(context.type).toBe('context');
    expect(context.elements[0]?.text).toBe(
      'Matching alerts are still stored and listed (`/alert silences` shows the silence and its hits), ' +
        'but get no card. The channel is told before the silence expires and when it ends.',
    );
  });

  it('keeps hostile, long values as plain text within the 75-character option limit', () => {
    const long = `${HOSTILE} ${'r'.repeat(300)}`;
    const view = silenceModal({ ...modalInput, findingType: long, resourceId: long, resourceLabel: long });
    const scope = elementOf(blockById(view.blocks, INPUT_IDS.silenceScope.block));
    for (const o of scope.options) {
      expect(o.text.text.length).toBeLessThanOrEqual(75);
      expect(o.description?.type).toBe('plain_text');
      expect(o.description?.text.length).toBeLessThanOrEqual(75);
    }
    expect(scope.options[2]?.description?.text.startsWith('<!channel> *x*')).toBe(true);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
  });
});

function submission(opts: { scope?: string[]; duration?: string | null; reason?: string | null }) {
  return {
    [INPUT_IDS.silenceScope.block]: {
      [INPUT_IDS.silenceScope.action]: {
        type: 'checkboxes',
        selected_options: (opts.scope ?? ['type', 'account']).map((value) => ({
          text: { type: 'plain_text', text: value },
          value,
        })),
      },
    },
    [INPUT_IDS.silenceDuration.block]: {
      [INPUT_IDS.silenceDuration.action]: {
        type: 'static_select',
        selected_option: opts.duration === null ? null : { value: opts.duration ?? '3d' },
      },
    },
    [INPUT_IDS.reason.block]: {
      [INPUT_IDS.reason.action]: {
        type: 'plain_text_input',
        value: opts.reason === undefined ? '  pen test of staging  ' : opts.reason,
      },
    },
  };
}

describe('parseSilenceSubmission', () => {
  it('returns the scope, the duration and the trimmed reason', () => {
    expect(parseSilenceSubmission(submission({}))).toEqual({
      ok: true,
      scope: { type: true, account: true, resource: false },
      durationMs: 3 * DAY,
      reason: 'pen test of staging',
    });
    expect(parseSilenceSubmission(submission({ scope: ['resource', 'type'], duration: '30d' }))).toEqual({
      ok: true,
      scope: { type: true, account: false, resource: true },
      durationMs: 30 * DAY,
      reason: 'pen test of staging',
    });
  });

  it('refuses a submission with the finding type unchecked, on the scope block', () => {
    expect(parseSilenceSubmission(submission({ scope: ['account', 'resource'] }))).toEqual({
      ok: false,
      errors: {
        [INPUT_IDS.silenceScope.block]: 'Keep “This finding type” checked: a silence always matches a finding type.',
      },
    });
  });

  it('refuses a blank or missing reason, and one over 500 characters', () => {
    for (const reason of ['   \n ', null, '']) {
      expect(parseSilenceSubmission(submission({ reason }))).toEqual({
        ok: false,
        errors: { [INPUT_IDS.reason.block]: 'Give a reason for the silence.' },
      });
    }
    expect(parseSilenceSubmission(submission({ reason: 'x'.repeat(501) }))).toEqual({
      ok: false,
      errors: { [INPUT_IDS.reason.block]: 'Keep the reason to 500 characters.' },
    });
  });

  it('refuses a missing duration and one the modal does not offer', () => {
    for (const duration of [null, '2d', '31d', 'forever']) {
      expect(parseSilenceSubmission(submission({ duration }))).toEqual({
        ok: false,
        errors: { [INPUT_IDS.silenceDuration.block]: 'Choose how long the silence lasts.' },
      });
    }
  });

  it('reports every block when the values are not a silence modal’s at all', () => {
    for (const values of [null, 'x', { other: {} }]) {
      const result = parseSilenceSubmission(values);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(Object.keys(result.errors).sort()).toEqual(
        [INPUT_IDS.silenceScope.block, INPUT_IDS.silenceDuration.block, INPUT_IDS.reason.block].sort(),
      );
    }
  });
});

function silence(overrides: Partial<SilenceListItem> = {}): SilenceListItem {
  return {
    id: ID,
    typePattern: 'Recon:EC2/*',
    accountId: ACCOUNT,
    resourceId: 'i-0abc123',
    createdById: 'U012ABCDEF',
    reason: 'pen test of staging',
    hits: 3,
    lastHitAt: at(-HOUR),
    createdAt: at(-DAY),
    expiresAt: at(2 * DAY + 4 * HOUR),
    liftedAt: null,
    liftedById: null,
    stale: false,
    ...overrides,
  };
}

interface Section {
  type: 'section';
  text: { type: 'mrkdwn'; text: string };
  accessory?: Record<string, unknown>;
}
const sections = (blocks: Block[]) => blocks.filter((b) => b.type === 'section') as unknown as Section[];
const canLiftAll = { canLift: () => true };

describe('silenceListBlocks', () => {
  it('shows pattern, scope, creator, hits, expiry and reason for an active silence', () => {
    const [heading, one] = sections(silenceListBlocks([silence()], NOW, canLiftAll));
    expect(heading?.text.text).toBe('*Silences* · 1');
    expect(one?.text.text).toBe(
      [
        ':mute: `3f2b8c1e` `Recon:EC2/*` in account 123456789012 on `i-0abc123`',
        `by <@U012ABCDEF> ${date(at(-DAY))} · 3 hits, last ${date(at(-HOUR))} · expires in 2 d 4 h (${date(at(2 * DAY + 4 * HOUR))})`,
        'Reason: pen test of staging',
      ].join('\n'),
    );
  });

  it('says when a silence covers every account, has no hits, expired or was lifted', () => {
    const blocks = silenceListBlocks(
      [
        silence({ accountId: undefined, resourceId: undefined, hits: 0, lastHitAt: null }),
        silence({ expiresAt: at(-HOUR) }),
        silence({ liftedAt: at(-2 * HOUR), liftedById: 'U0LIFTER1' }),
      ],
      NOW,
      canLiftAll,
    );
    const [, everyAccount, expired, lifted] = sections(blocks).map((s) => s.text.text);
    expect(everyAccount?.split('\n')[0]).toBe(':mute: `3f2b8c1e` `Recon:EC2/*` in every account');
    expect(everyAccount?.split('\n')[1]).toContain(' · 0 hits · expires in');
    expect(expired?.split('\n')[1]).toContain(`· expired ${date(at(-HOUR))}`);
    expect(lifted?.split('\n')[1]).toContain(`· lifted by <@U0LIFTER1> ${date(at(-2 * HOUR))}`);
  });

  it('flags an active stale silence as having matched nothing for 7 days, and not an ended one', () => {
    const [, active, ended] = sections(
      silenceListBlocks([silence({ stale: true }), silence({ stale: true, expiresAt: at(-1) })], NOW, canLiftAll),
    );
    expect(active?.text.text.split('\n').at(-1)).toBe(':warning: matched nothing for 7 days');
    expect(ended?.text.text).not.toContain('matched nothing');
  });

  it('offers a danger Lift button with a confirmation only on active silences the user may lift', () => {
    const mine = silence({ createdById: 'UMINE0001' });
    const theirs = silence({ createdById: 'UTHEIRS01' });
    const lifted = silence({ createdById: 'UMINE0001', liftedAt: at(-HOUR) });
    const [, a, b, c] = sections(
      silenceListBlocks([mine, theirs, lifted], NOW, { canLift: (s) => s.createdById === 'UMINE0001' }),
    );
    expect(a?.accessory).toEqual({
      type: 'button',
      action_id: ACTION_IDS.liftSilence,
      text: { type: 'plain_text', text: 'Lift' },
      style: 'danger',
      value: ID,
      confirm: {
        title: { type: 'plain_text', text: 'Lift this silence?' },
        text: {
          type: 'plain_text',
          text: 'New alerts matching Recon:EC2/* in account 123456789012 will get cards again.',
          emoji: false,
        },
        confirm: { type: 'plain_text', text: 'Lift' },
        deny: { type: 'plain_text', text: 'Keep it' },
        style: 'danger',
      },
    });
    expect(b?.accessory).toBeUndefined();
    expect(c?.accessory).toBeUndefined();
  });

  it('escapes hostile reasons, resource ids and creators, keeping each reason on one line', () => {
    const [, one] = sections(
      silenceListBlocks(
        [silence({ reason: `${HOSTILE}\n:mute: fake line`, resourceId: HOSTILE, createdById: '<!here>' })],
        NOW,
        canLiftAll,
      ),
    );
    const text = one?.text.text ?? '';
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<http');
    expect(text).toContain('on `&lt;!channel&gt; *x* &lt;http://evil|y&gt; &amp; ˋtickˋ`');
    expect(text).toContain('by &lt;!here&gt; ');
    expect(text.split('\n').at(-1)).toBe(
      'Reason: &lt;!channel&gt; *x* &lt;http://evil|y&gt; &amp; `tick` :mute: fake line',
    );
  });

  it('lists at most 40 silences, then says how many more there are', () => {
    const blocks = silenceListBlocks(
      Array.from({ length: 45 }, () => silence()),
      NOW,
      canLiftAll,
    );
    expect(blocks).toHaveLength(42);
    expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
    expect(sections(blocks)[0]?.text.text).toBe('*Silences* · 45');
    expect(blocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: '…and 5 more not shown.' }] });
  });

  it('keeps every section within 3000 characters for the longest patterns, resource ids and reasons', () => {
    const worst = silence({
      typePattern: `Recon:EC2/${'&'.repeat(118)}`,
      resourceId: `i${'&'.repeat(255)}`,
      reason: '<&'.repeat(250),
      createdById: '<'.repeat(200),
      liftedById: '<'.repeat(200),
      stale: true,
    });
    const blocks = silenceListBlocks(
      Array.from({ length: 41 }, () => worst),
      NOW,
      canLiftAll,
    );
    expect(blocks).toHaveLength(42);
    for (const s of sections(blocks)) expect(s.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    const reasonLine = sections(blocks)[1]?.text.text.split('\n')[2] ?? '';
    expect(reasonLine.startsWith('Reason: &lt;&amp;&lt;&amp;')).toBe(true);
    expect(reasonLine.endsWith('…')).toBe(true);
    const button = sections(blocks)[1]?.accessory as { text: { text: string }; confirm: { text: { text: string } } };
    expect(button.text.text.length).toBeLessThanOrEqual(75);
    expect(button.confirm.text.text.length).toBeLessThanOrEqual(300);
  });

  it('says "No silences." when there are none', () => {
    expect(silenceListBlocks([], NOW, canLiftAll)).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: 'No silences.' } },
    ]);
  });
});

describe('channel posts', () => {
  const record: SilenceRecord = silence({ hits: 12, createdAt: at(-3 * DAY), expiresAt: at(DAY) });
  const expiry = date(at(DAY));
  const named = '`3f2b8c1e` `Recon:EC2/*` in account 123456789012 on `i-0abc123`';

  it('announces a new silence with its length, expiry, reason and where to list it', () => {
    expect(silenceCreatedText(record)).toBe(
      `:mute: <@U012ABCDEF> silenced ${named} for 4 d, until ${expiry}. Reason: pen test of staging\n` +
        'Matching alerts are stored but get no card; `/alert silences` lists them.',
    );
  });

  it('warns that a silence expires in 1 day, with its hits so far', () => {
    expect(silenceExpiringText(record)).toBe(
      `:hourglass_flowing_sand: Silence ${named} by <@U012ABCDEF> expires in 1 day (${expiry}) · 12 hits so far. ` +
        'To keep muting, create a new silence.',
    );
  });

  it('says a silence expired, and after how many hits', () => {
    expect(silenceExpiredText({ ...record, hits: 1 })).toBe(
      `:bell: Silence ${named} by <@U012ABCDEF> has expired after 1 hit. Matching alerts get cards again.`,
    );
  });

  it('names who lifted a silence', () => {
    expect(silenceLiftedText({ ...record, liftedAt: NOW, liftedById: 'U0LIFTER1' })).toBe(
      `:bell: <@U0LIFTER1> lifted silence ${named} by <@U012ABCDEF> after 12 hits. Matching alerts get cards again.`,
    );
  });

  it('says a stale silence matched nothing for 7 days, and how to lift it', () => {
    expect(silenceStaleText({ ...record, lastHitAt: at(-8 * DAY) })).toBe(
      `:warning: Silence ${named} by <@U012ABCDEF> has matched nothing for 7 days (12 hits, last hit ${date(at(-8 * DAY))}). ` +
        'If it is no longer needed: `/alert unsilence 3f2b8c1e`',
    );
    expect(silenceStaleText({ ...record, hits: 0, lastHitAt: null })).toContain(
      '(0 hits, no hits since it was created)',
    );
  });

  it('escapes hostile values and stays within a message’s text limit for the longest values', () => {
    const worst: SilenceRecord = {
      ...record,
      typePattern: `Recon:EC2/${'&'.repeat(118)}`,
      resourceId: `<!channel>${'&'.repeat(246)}`,
      reason: `${HOSTILE}${'<'.repeat(480)}`,
      createdById: '<!channel>',
      liftedById: '<!here>',
    };
    for (const make of [
      silenceCreatedText,
      silenceExpiringText,
      silenceExpiredText,
      silenceLiftedText,
      silenceStaleText,
    ]) {
      const text = make(worst);
      expect(text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
      expect(text).not.toMatch(/<!channel>|<!here>|<http/);
      expect(text).toContain('`3f2b8c1e`');
      expect(text).toContain('&lt;!channel&gt;');
    }
  });
});

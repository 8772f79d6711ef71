/** The /alert grammar: every verb, its options and its errors, and a parser that never throws. */
import fc from 'fast-check';
import { type AlertCommand, type ParseResult, parseAlertCommand } from '../../app/slack/commands/parse';

const UUID = '3f2b8c1e-9a4d-4c6e-b1f0-7d2e5a9c8b41';
const FINDING_ID = '5ec7a1b2c3d4e5f60718293a4b5c6d7e';
const ACCOUNT = '123456789012';

const ok = (command: AlertCommand): ParseResult => ({ ok: true, command });
const fail = (error: string): ParseResult => ({ ok: false, error });

const SILENCE_USAGE =
  'usage: `/alert silence <finding type pattern> [account <id>] [resource <id>] for <duration> reason <text>`';
const TOO_BROAD =
  'the finding type pattern is too broad: start it with a threat purpose and a colon, e.g. `Recon:EC2/*`';
const BAD_DURATION = '`for` needs a duration of at least a minute, such as `90m`, `4h`, `3d` or `1w`';
const NO_FOR = 'say how long the silence lasts: `for <duration>`, e.g. `for 3d`';
const NO_REASON = 'give a reason: `reason <text>` at the end';
const BAD_RESOURCE = '`resource` must be a resource id: letters, digits and `:/._@+=,-`, at most 256 characters';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const CATEGORIES_ERROR =
  'the category must be one of false_positive, expected_activity, remediated, accepted_risk, duplicate';

const CASES: Array<[string, ParseResult]> = [
  // help
  ['', ok({ kind: 'help' })],
  ['help', ok({ kind: 'help' })],
  ['   ', ok({ kind: 'help' })],
  // list
  ['list', ok({ kind: 'list', scope: 'open', page: 1 })],
  ['list open', ok({ kind: 'list', scope: 'open', page: 1 })],
  ['list mine', ok({ kind: 'list', scope: 'mine', page: 1 })],
  [
    `list all severity HIGH account ${ACCOUNT} page 2`,
    ok({ kind: 'list', scope: 'all', page: 2, accountId: ACCOUNT, severity: 'high' }),
  ],
  ['list severity critical', ok({ kind: 'list', scope: 'open', page: 1, severity: 'critical' })],
  ['list page 1000', ok({ kind: 'list', scope: 'open', page: 1000 })],
  ['list account 12345', fail('`account` must be a 12-digit AWS account id')],
  ['list account 1234567890123', fail('`account` must be a 12-digit AWS account id')],
  ['list severity urgent', fail('`severity` must be critical, high, medium or low')],
  ['list page 0', fail('`page` must be a number from 1 to 1000')],
  ['list page x', fail('`page` must be a number from 1 to 1000')],
  ['list page 1001', fail('`page` must be a number from 1 to 1000')],
  ['list page 1.5', fail('`page` must be a number from 1 to 1000')],
  ['list page -1', fail('`page` must be a number from 1 to 1000')],
  ['list foo', fail("I don't understand `foo`")],
  ['list account', fail('`account` needs a value')],
  ['list mine page', fail('`page` needs a value')],
  // show
  [`show ${UUID}`, ok({ kind: 'show', ref: UUID })],
  [`show ${FINDING_ID}`, ok({ kind: 'show', ref: FINDING_ID })],
  ['show', fail('usage: `/alert show <alert id | finding id>`')],
  [`show ${UUID} ${FINDING_ID}`, fail('usage: `/alert show <alert id | finding id>`')],
  ['show <!channel>', fail('usage: `/alert show <alert id | finding id>`')],
  // ack
  [`ack ${UUID}`, ok({ kind: 'ack', ref: UUID })],
  ['ack', fail('usage: `/alert ack <alert id | finding id>`')],
  [`ack ${UUID} now`, fail('usage: `/alert ack <alert id | finding id>`')],
  // resolve / escalate
  [`resolve ${UUID}`, ok({ kind: 'resolve', ref: UUID })],
  [`resolve ${UUID} keys rotated`, ok({ kind: 'resolve', ref: UUID, note: 'keys rotated' })],
  ['resolve', fail('usage: `/alert resolve <alert id> [note …]`')],
  [`escalate ${UUID}`, ok({ kind: 'escalate', ref: UUID })],
  [`escalate ${UUID} looks real`, ok({ kind: 'escalate', ref: UUID, note: 'looks real' })],
  ['escalate', fail('usage: `/alert escalate <alert id> [note …]`')],
  // archive
  [`archive ${UUID}`, ok({ kind: 'archive', ref: UUID })],
  [
    `archive ${UUID} false_positive scanner from our VPC`,
    ok({ kind: 'archive', ref: UUID, category: 'false_positive', reason: 'scanner from our VPC' }),
  ],
  [`archive ${UUID} duplicate`, ok({ kind: 'archive', ref: UUID, category: 'duplicate', reason: '' })],
  [`archive ${UUID} nonsense reason`, fail(CATEGORIES_ERROR)],
  [`archive ${UUID} constructor x`, fail(CATEGORIES_ERROR)],
  [`archive ${UUID} __proto__ x`, fail(CATEGORIES_ERROR)],
  [`archive ${UUID} toString x`, fail(CATEGORIES_ERROR)],
  ['archive', fail('usage: `/alert archive <alert id> [<category> <reason …>]`')],
  // runbook
  ['runbook Recon:EC2/Portscan', ok({ kind: 'runbook', type: 'Recon:EC2/Portscan' })],
  ['runbook Backdoor:EC2/C&CActivity.B!DNS', ok({ kind: 'runbook', type: 'Backdoor:EC2/C&CActivity.B!DNS' })],
  ['runbook nonsense', fail('usage: `/alert runbook <finding type>`')],
  ['runbook', fail('usage: `/alert runbook <finding type>`')],
  ['runbook Recon:EC2/Portscan extra', fail('usage: `/alert runbook <finding type>`')],
  // stats
  ['stats', ok({ kind: 'stats', days: 7 })],
  ['stats 7d', ok({ kind: 'stats', days: 7 })],
  ['stats 30d', ok({ kind: 'stats', days: 30 })],
  [`stats 90d account ${ACCOUNT}`, ok({ kind: 'stats', days: 90, accountId: ACCOUNT })],
  [`stats account ${ACCOUNT}`, ok({ kind: 'stats', days: 7, accountId: ACCOUNT })],
  // '14d' is not a period, so it is read as an (unknown) option.
  ['stats 14d', fail("I don't understand `14d`")],
  ['stats account 12345', fail('`account` must be a 12-digit AWS account id')],
  ['stats account', fail('`account` needs a value')],
  // review
  ['review', ok({ kind: 'review' })],
  ['review x', fail('usage: `/alert review`')],
  // route
  [`route ${ACCOUNT} <#C0123ABCD|aws-prod>`, ok({ kind: 'route', accountId: ACCOUNT, channelId: 'C0123ABCD' })],
  [`route ${ACCOUNT} <#C0123ABCD>`, ok({ kind: 'route', accountId: ACCOUNT, channelId: 'C0123ABCD' })],
  [`route ${ACCOUNT} C0123ABCD`, ok({ kind: 'route', accountId: ACCOUNT, channelId: 'C0123ABCD' })],
  [`route ${ACCOUNT} <#G0123ABCD|private>`, ok({ kind: 'route', accountId: ACCOUNT, channelId: 'G0123ABCD' })],
  [`route ${ACCOUNT} #aws-prod`, fail('usage: `/alert route <account id> <#channel>`')],
  ['route 12345 <#C0123ABCD>', fail('usage: `/alert route <account id> <#channel>`')],
  [`route ${ACCOUNT}`, fail('usage: `/alert route <account id> <#channel>`')],
  [`route ${ACCOUNT} <#C0123ABCD> extra`, fail('usage: `/alert route <account id> <#channel>`')],
  // silence
  [
    'silence Recon:EC2/* for 3d reason pen test of staging',
    ok({ kind: 'silence', typePattern: 'Recon:EC2/*', durationMs: 3 * DAY, reason: 'pen test of staging' }),
  ],
  [
    `silence UnauthorizedAccess:IAMUser/* account ${ACCOUNT} resource AKIAIOSFODNN7EXAMPLE for 90m reason rotating keys`,
    ok({
      kind: 'silence',
      typePattern: 'UnauthorizedAccess:IAMUser/*',
      accountId: ACCOUNT,
      resourceId: 'AKIAIOSFODNN7EXAMPLE',
      durationMs: 90 * 60_000,
      reason: 'rotating keys',
    }),
  ],
  [
    `silence Recon:EC2/Portscan FOR 1w Account ${ACCOUNT} RESOURCE i-0abc123 Reason scanner for account 1`,
    ok({
      kind: 'silence',
      typePattern: 'Recon:EC2/Portscan',
      accountId: ACCOUNT,
      resourceId: 'i-0abc123',
      durationMs: 7 * DAY,
      reason: 'scanner for account 1',
    }),
  ],
  [
    'silence Policy:S3/* resource arn:aws:s3:::my-bucket_1@x+y=z,w for 30d reason  data lake  ',
    ok({
      kind: 'silence',
      typePattern: 'Policy:S3/*',
      resourceId: 'arn:aws:s3:::my-bucket_1@x+y=z,w',
      durationMs: 30 * DAY,
      reason: 'data lake',
    }),
  ],
  [
    'silence Recon:EC2/* for 1m reason x',
    ok({ kind: 'silence', typePattern: 'Recon:EC2/*', durationMs: 60_000, reason: 'x' }),
  ],
  ['silence', fail(SILENCE_USAGE)],
  ['silence for 3d reason x', fail(SILENCE_USAGE)],
  ['silence reason x', fail(SILENCE_USAGE)],
  ['silence * for 3d reason everything', fail(TOO_BROAD)],
  ['silence *:EC2/* for 3d reason x', fail(TOO_BROAD)],
  ['silence Recon for 3d reason x', fail(TOO_BROAD)],
  [
    'silence Recon:EC2/% for 3d reason x',
    fail('the finding type pattern may only contain letters, digits, `:/._!&-` and `*` as a wildcard'),
  ],
  [
    `silence Recon:EC2/${'a'.repeat(120)} for 3d reason x`,
    fail('the finding type pattern must be at most 128 characters'),
  ],
  ['silence Recon:EC2/* reason pen test', fail(NO_FOR)],
  ['silence Recon:EC2/*', fail(NO_FOR)],
  ['silence Recon:EC2/* for', fail('`for` needs a value')],
  ['silence Recon:EC2/* for 3 reason x', fail(BAD_DURATION)],
  ['silence Recon:EC2/* for 3x reason x', fail(BAD_DURATION)],
  ['silence Recon:EC2/* for 30s reason x', fail(BAD_DURATION)],
  ['silence Recon:EC2/* for 0m reason x', fail(BAD_DURATION)],
  ['silence Recon:EC2/* for 1.5d reason x', fail(BAD_DURATION)],
  ['silence Recon:EC2/* for 31d reason x', fail('a silence lasts at most 30 days')],
  ['silence Recon:EC2/* for 5w reason x', fail('a silence lasts at most 30 days')],
  ['silence Recon:EC2/* for 721h reason x', fail('a silence lasts at most 30 days')],
  ['silence Recon:EC2/* for 3d', fail(NO_REASON)],
  ['silence Recon:EC2/* for 3d reason', fail(NO_REASON)],
  ['silence Recon:EC2/* for 3d reason    ', fail(NO_REASON)],
  [`silence Recon:EC2/* for 3d reason ${'x'.repeat(501)}`, fail('keep the reason to 500 characters')],
  ['silence Recon:EC2/* account 12345 for 3d reason x', fail('`account` must be a 12-digit AWS account id')],
  ['silence Recon:EC2/* resource <!channel> for 3d reason x', fail(BAD_RESOURCE)],
  ['silence Recon:EC2/* resource -leading-dash for 3d reason x', fail(BAD_RESOURCE)],
  [`silence Recon:EC2/* resource i${'a'.repeat(256)} for 3d reason x`, fail(BAD_RESOURCE)],
  ['silence Recon:EC2/* for 3d for 4d reason x', fail('`for` is given twice')],
  ['silence Recon:EC2/* until 3d reason x', fail("I don't understand `until`")],
  // silences / unsilence
  ['silences', ok({ kind: 'silences', includeEnded: false })],
  ['silences all', ok({ kind: 'silences', includeEnded: true })],
  ['silences ALL', ok({ kind: 'silences', includeEnded: true })],
  ['silences mine', fail('usage: `/alert silences [all]`')],
  ['silences all now', fail('usage: `/alert silences [all]`')],
  [`unsilence ${UUID}`, ok({ kind: 'unsilence', id: UUID })],
  ['unsilence 3f2b8c1e', ok({ kind: 'unsilence', id: '3f2b8c1e' })],
  ['unsilence 3F2B8C1E', ok({ kind: 'unsilence', id: '3F2B8C1E' })],
  ['unsilence', fail('usage: `/alert unsilence <silence id>`')],
  ['unsilence 3f2b8c1', fail('usage: `/alert unsilence <silence id>`')],
  ['unsilence 3f2b8c1e-9a4d', fail('usage: `/alert unsilence <silence id>`')],
  ['unsilence zzzzzzzz', fail('usage: `/alert unsilence <silence id>`')],
  [`unsilence ${UUID} now`, fail('usage: `/alert unsilence <silence id>`')],
  // verbs are case-insensitive
  ['LIST', ok({ kind: 'list', scope: 'open', page: 1 })],
  ['Help', ok({ kind: 'help' })],
  [`ShOw ${UUID}`, ok({ kind: 'show', ref: UUID })],
  // whitespace
  [`  list\tmine \n severity\t\tlow   page  3 \n`, ok({ kind: 'list', scope: 'mine', page: 3, severity: 'low' })],
  [`\n\tresolve   ${UUID}\tkeys\n rotated  `, ok({ kind: 'resolve', ref: UUID, note: 'keys rotated' })],
  // unknown verbs
  ['frobnicate', fail("I don't know `frobnicate`")],
  ['FROBNICATE now', fail("I don't know `frobnicate`")],
];

describe('parseAlertCommand', () => {
  it.each(CASES)('parses %j as expected', (input, expected) => {
    expect(parseAlertCommand(input)).toEqual(expected);
  });

  it('names every archive category when the category is unknown', () => {
    const result = parseAlertCommand(`archive ${UUID} nonsense reason`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const category of ['false_positive', 'expected_activity', 'remediated', 'accepted_risk', 'duplicate']) {
      expect(result.error).toContain(category);
    }
  });

  it('keeps the reason as typed after the word "reason", line breaks and inner spacing included', () => {
    const result = parseAlertCommand('silence Recon:EC2/* for 4h reason pen test:\n  staging VPC,  all week');
    expect(result).toEqual(
      ok({
        kind: 'silence',
        typePattern: 'Recon:EC2/*',
        durationMs: 4 * HOUR,
        reason: 'pen test:\n  staging VPC,  all week',
      }),
    );
  });

  it('reads only the first "reason" as the keyword, so later options words belong to the reason', () => {
    const result = parseAlertCommand(`silence Recon:EC2/* for 1d reason for 2d account ${ACCOUNT} reason again`);
    expect(result).toEqual(
      ok({
        kind: 'silence',
        typePattern: 'Recon:EC2/*',
        durationMs: DAY,
        reason: `for 2d account ${ACCOUNT} reason again`,
      }),
    );
  });

  it('accepts a reason of exactly 500 characters', () => {
    const reason = 'r'.repeat(500);
    expect(parseAlertCommand(`silence Recon:EC2/* for 1d reason ${reason}`)).toEqual(
      ok({ kind: 'silence', typePattern: 'Recon:EC2/*', durationMs: DAY, reason }),
    );
  });

  it('never throws and always returns a command or a string error, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (text) => {
        const result = parseAlertCommand(text);
        if (result.ok) {
          expect(Object.keys(result)).toEqual(['ok', 'command']);
          expect(typeof result.command.kind).toBe('string');
        } else {
          expect(Object.keys(result)).toEqual(['ok', 'error']);
          expect(typeof result.error).toBe('string');
          expect(result.error.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws for words of the grammar in any order', () => {
    const word = fc.constantFrom(
      'list',
      'show',
      'archive',
      'stats',
      'route',
      'account',
      'page',
      'severity',
      'mine',
      ACCOUNT,
      UUID,
      'constructor',
      '__proto__',
      '<#C0123ABCD>',
      '30d',
      '',
      'silence',
      'silences',
      'unsilence',
      'Recon:EC2/*',
      '*',
      'for',
      'reason',
      'resource',
      'i-0abc',
      '1w',
      '31d',
      'all',
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), fc.constantFrom(' ', '\t', '\n', '  '), (words, sep) => {
        const result = parseAlertCommand(words.join(sep));
        expect(result.ok ? typeof result.command.kind : typeof result.error).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * `/alert` grammar. Pure: text in, a command or a usage error out.
 *
 *   help
 *   list [open|mine|all] [account <id>] [severity <level>] [page <n>]
 *   show <alert id | finding id>
 *   ack <id> | resolve <id> [note …] | escalate <id> [note …] | archive <id> [<category> <reason …>]
 *   runbook <finding type>
 *   stats [7d|30d|90d] [account <id>]
 *   review
 *   route <account id> <#channel>
 *   silence <type pattern> [account <id>] [resource <id>] for <duration> reason <text …>
 *   silences [all]
 *   unsilence <silence id | its first 8 hex digits>
 */
import { parseSilenceDuration, SILENCE_REASON_MAX, validateTypePattern } from '../../domain/silences';
import { ARCHIVE_CATEGORIES, type ArchiveCategory } from '../../domain/triage';

export type ListScope = 'open' | 'mine' | 'all';
export type Severity = 'critical' | 'high' | 'medium' | 'low';

export type AlertCommand =
  | { kind: 'help' }
  | { kind: 'list'; scope: ListScope; accountId?: string; severity?: Severity; page: number }
  | { kind: 'show'; ref: string }
  | { kind: 'ack'; ref: string }
  | { kind: 'resolve' | 'escalate'; ref: string; note?: string }
  | { kind: 'archive'; ref: string; category?: ArchiveCategory; reason?: string }
  | { kind: 'runbook'; type: string }
  | { kind: 'stats'; days: 7 | 30 | 90; accountId?: string }
  | { kind: 'review' }
  | { kind: 'route'; accountId: string; channelId: string }
  | {
      kind: 'silence';
      typePattern: string;
      accountId?: string;
      resourceId?: string;
      durationMs: number;
      reason: string;
    }
  | { kind: 'silences'; includeEnded: boolean }
  | { kind: 'unsilence'; id: string };

export type ParseResult = { ok: true; command: AlertCommand } | { ok: false; error: string };

const REF = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ACCOUNT = /^\d{12}$/;
const FINDING_TYPE = /^[A-Za-z0-9]+:[A-Za-z0-9]+\/[A-Za-z0-9.!&_-]+$/;
const SEVERITIES = new Set(['critical', 'high', 'medium', 'low']);
/** `<#C123|name>` (as Slack escapes it), `<#C123>`, or a bare channel id. */
const CHANNEL = /^(?:<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|([CG][A-Z0-9]{2,}))$/;
/** An instance id, an access key id, a bucket name, an ARN… */
const RESOURCE = /^[A-Za-z0-9][A-Za-z0-9:/._@+=,-]{0,255}$/;
/** A silence's UUID, or its first 8 hex digits (what the lists and channel posts show). */
const SILENCE_ID = /^[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$/i;

const SILENCE_USAGE =
  'usage: `/alert silence <finding type pattern> [account <id>] [resource <id>] for <duration> reason <text>`';
const SILENCE_OPTIONS = ['account', 'resource', 'for'];

const fail = (error: string): ParseResult => ({ ok: false, error });
const ok = (command: AlertCommand): ParseResult => ({ ok: true, command });

/** Reads `key value` options; returns undefined for anything it does not know. */
function options(words: string[], known: string[]): Map<string, string> | string {
  const found = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (!known.includes(word)) return `I don't understand \`${word}\``;
    const value = words[i + 1];
    if (value === undefined) return `\`${word}\` needs a value`;
    found.set(word, value);
    i++;
  }
  return found;
}

export function parseAlertCommand(text: string): ParseResult {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first = 'help', ...rest] = words;
  const verb = first.toLowerCase();
  switch (verb) {
    case 'help':
      return ok({ kind: 'help' });
    case 'list': {
      let scope: ListScope = 'open';
      let args = rest;
      const first = args[0]?.toLowerCase();
      if (first === 'open' || first === 'mine' || first === 'all') {
        scope = first;
        args = args.slice(1);
      }
      const opts = options(args, ['account', 'severity', 'page']);
      if (typeof opts === 'string') return fail(opts);
      const accountId = opts.get('account');
      if (accountId !== undefined && !ACCOUNT.test(accountId))
        return fail('`account` must be a 12-digit AWS account id');
      const severity = opts.get('severity')?.toLowerCase();
      if (severity !== undefined && !SEVERITIES.has(severity))
        return fail('`severity` must be critical, high, medium or low');
      const pageText = opts.get('page') ?? '1';
      const page = /^\d{1,4}$/.test(pageText) ? Number(pageText) : Number.NaN;
      if (!Number.isInteger(page) || page < 1 || page > 1000) return fail('`page` must be a number from 1 to 1000');
      return ok({
        kind: 'list',
        scope,
        page,
        ...(accountId ? { accountId } : {}),
        ...(severity ? { severity: severity as Severity } : {}),
      });
    }
    case 'show':
    case 'ack': {
      const [ref, ...extra] = rest;
      if (!ref || !REF.test(ref) || extra.length > 0) return fail(`usage: \`/alert ${verb} <alert id | finding id>\``);
      return ok({ kind: verb === 'show' ? 'show' : 'ack', ref });
    }
    case 'resolve':
    case 'escalate': {
      const [ref, ...note] = rest;
      if (!ref || !REF.test(ref)) return fail(`usage: \`/alert ${verb} <alert id> [note …]\``);
      return ok({
        kind: verb === 'resolve' ? 'resolve' : 'escalate',
        ref,
        ...(note.length ? { note: note.join(' ') } : {}),
      });
    }
    case 'archive': {
      const [ref, category, ...reason] = rest;
      if (!ref || !REF.test(ref)) return fail('usage: `/alert archive <alert id> [<category> <reason …>]`');
      if (category === undefined) return ok({ kind: 'archive', ref });
      if (!Object.hasOwn(ARCHIVE_CATEGORIES, category)) {
        return fail(`the category must be one of ${Object.keys(ARCHIVE_CATEGORIES).join(', ')}`);
      }
      return ok({ kind: 'archive', ref, category: category as ArchiveCategory, reason: reason.join(' ') });
    }
    case 'runbook': {
      const [type, ...extra] = rest;
      if (!type || !FINDING_TYPE.test(type) || extra.length > 0) return fail('usage: `/alert runbook <finding type>`');
      return ok({ kind: 'runbook', type });
    }
    case 'stats': {
      let days: 7 | 30 | 90 = 7;
      let args = rest;
      const period = /^(7|30|90)d$/.exec(args[0] ?? '');
      if (period) {
        days = Number(period[1]) as 7 | 30 | 90;
        args = args.slice(1);
      }
      const opts = options(args, ['account']);
      if (typeof opts === 'string') return fail(opts);
      const accountId = opts.get('account');
      if (accountId !== undefined && !ACCOUNT.test(accountId))
        return fail('`account` must be a 12-digit AWS account id');
      return ok({ kind: 'stats', days, ...(accountId ? { accountId } : {}) });
    }
    case 'review':
      return rest.length === 0 ? ok({ kind: 'review' }) : fail('usage: `/alert review`');
    case 'route': {
      const [accountId, channel, ...extra] = rest;
      const m = CHANNEL.exec(channel ?? '');
      if (!accountId || !ACCOUNT.test(accountId) || !m || extra.length > 0) {
        return fail('usage: `/alert route <account id> <#channel>`');
      }
      return ok({ kind: 'route', accountId, channelId: m[1] ?? m[2] ?? '' });
    }
    case 'silence':
      return parseSilence(text);
    case 'silences': {
      const [scope, ...extra] = rest;
      if (extra.length > 0 || (scope !== undefined && scope.toLowerCase() !== 'all')) {
        return fail('usage: `/alert silences [all]`');
      }
      return ok({ kind: 'silences', includeEnded: scope !== undefined });
    }
    case 'unsilence': {
      const [id, ...extra] = rest;
      if (!id || !SILENCE_ID.test(id) || extra.length > 0) return fail('usage: `/alert unsilence <silence id>`');
      return ok({ kind: 'unsilence', id });
    }
    default:
      return fail(`I don't know \`${verb}\``);
  }
}

/**
 * `silence <pattern> [account <id>] [resource <id>] for <duration> reason <text…>`.
 * The options before `reason` may come in any order; the reason is the rest
 * of the text as typed (line breaks kept), so it is cut from `text` itself.
 */
function parseSilence(text: string): ParseResult {
  const tokens = Array.from(text.matchAll(/\S+/g), (m) => ({ word: m[0], end: m.index + m[0].length }));
  const [, pattern, ...rest] = tokens;
  const typePattern = pattern?.word ?? '';
  if (!typePattern || [...SILENCE_OPTIONS, 'reason'].includes(typePattern.toLowerCase())) return fail(SILENCE_USAGE);
  const patternError = validateTypePattern(typePattern);
  if (patternError) return fail(patternError);

  const found = new Map<string, string>();
  let reason: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i];
    if (!token) break;
    const key = token.word.toLowerCase();
    if (key === 'reason') {
      reason = text.slice(token.end).trim();
      break;
    }
    if (!SILENCE_OPTIONS.includes(key)) return fail(`I don't understand \`${token.word}\``);
    if (found.has(key)) return fail(`\`${key}\` is given twice`);
    const value = rest[i + 1]?.word;
    if (value === undefined) return fail(`\`${key}\` needs a value`);
    found.set(key, value);
    i++;
  }

  const accountId = found.get('account');
  if (accountId !== undefined && !ACCOUNT.test(accountId)) return fail('`account` must be a 12-digit AWS account id');
  const resourceId = found.get('resource');
  if (resourceId !== undefined && !RESOURCE.test(resourceId)) {
    return fail('`resource` must be a resource id: letters, digits and `:/._@+=,-`, at most 256 characters');
  }
  const durationText = found.get('for');
  if (durationText === undefined) return fail('say how long the silence lasts: `for <duration>`, e.g. `for 3d`');
  const durationMs = parseSilenceDuration(durationText);
  if (durationMs === 'too_long') return fail('a silence lasts at most 30 days');
  if (durationMs === 'invalid') {
    return fail('`for` needs a duration of at least a minute, such as `90m`, `4h`, `3d` or `1w`');
  }
  if (!reason) return fail('give a reason: `reason <text>` at the end');
  if (reason.length > SILENCE_REASON_MAX) return fail(`keep the reason to ${SILENCE_REASON_MAX} characters`);
  return ok({
    kind: 'silence',
    typePattern,
    ...(accountId !== undefined ? { accountId } : {}),
    ...(resourceId !== undefined ? { resourceId } : {}),
    durationMs,
    reason,
  });
}

/**
 * Hostile input for the fault suite (test/faults/hostile.fault.ts):
 *
 * - text an attacker can put in a finding (Slack markup, bidi overrides,
 *   zero-width characters, emoji, combining marks, lone surrogates, NUL…);
 * - requests to POST /ingest/eventbridge: a fast-check arbitrary of cases,
 *   each a small recipe (drawn by fast-check, so a seed replays it) that
 *   builds its body only when it is sent, so ten thousand of them, oversize
 *   ones included, never sit in memory at once;
 * - the checks every Block Kit surface must pass: Slack's limits, and no
 *   mention, link or broadcast in mrkdwn that Kanshi did not write itself.
 */
import fc from 'fast-check';
import { parseEvent } from '../../../app/domain/guardduty-event';
import { storable } from '../../../app/domain/text';
import { API_KEY, DISABLED_ACCOUNT, PROD_ACCOUNT } from '../../support/app-harness';
import {
  guardDutyFindings,
  type Json,
  NOT_EVENTBRIDGE_FILES,
  readNdjson,
  SECURITY_HUB_FILES,
  wrapFinding,
} from '../../support/fixtures';

// ---- hostile text -------------------------------------------------------------------------

const ch = (code: number) => String.fromCharCode(code);
const cp = (code: number) => String.fromCodePoint(code);

/** Slack mrkdwn control sequences and formatting, and entities already escaped once. */
export const SLACK_MARKUP: readonly string[] = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U123>',
  '<@W0ADMIN01>',
  '<#C0123|general>',
  '<#C0123>',
  '<http://evil|x>',
  '<https://evil.example/login|Reset your password>',
  '<mailto:boss@evil.example|mail the boss>',
  '<!subteam^S0123|@security>',
  '<!date^1700000000^{date}|yesterday>',
  '*bold*',
  '_italic_',
  '~strike~',
  '`code`',
  '```\nblock\n```',
  '\n> quoted',
  '&amp;',
  '&lt;',
  '&gt;',
  '&',
  '<',
  '>',
  '|',
  '&#60;!channel&#62;',
  '&lt;!channel&gt;',
  ':rotating_light:',
  '@channel',
  '@here',
];

/** Unicode that confuses renderers, length counts, databases or JSON. */
export const UNICODE_NASTIES: readonly string[] = [
  ch(0x202e), // right-to-left override
  ch(0x202d), // left-to-right override
  ch(0x2066), // left-to-right isolate
  ch(0x2067), // right-to-left isolate
  ch(0x2068), // first strong isolate
  ch(0x2069), // pop directional isolate
  ch(0x200f), // right-to-left mark
  ch(0x200e),
  ch(0x200d), // zero-width joiner
  ch(0x200b), // zero-width space
  ch(0x200c),
  ch(0x2060), // word joiner
  ch(0xfeff), // byte order mark
  ch(0xad), // soft hyphen
  `e${ch(0x301)}`,
  `Z${ch(0x335)}${ch(0x336)}${ch(0x337)}${ch(0x338)}${ch(0x334)}${ch(0x30d)}${ch(0x30e)}${ch(0x304)}`,
  cp(0x1f600),
  `${cp(0x1f469)}${ch(0x200d)}${cp(0x1f469)}${ch(0x200d)}${cp(0x1f467)}`,
  `${cp(0x1f3f3)}${ch(0xfe0f)}${ch(0x200d)}${cp(0x1f308)}`,
  `${cp(0x1f44d)}${cp(0x1f3fd)}`,
  `${cp(0x1f1ef)}${cp(0x1f1f5)}`,
  'مرحبا بالعالم',
  'שלום',
  '監視ボット',
  'नमस्ते',
  ch(0), // NUL
  ch(1),
  ch(0x1b), // escape
  ch(0x7f),
  ch(0x85), // next line
  ch(0x2028), // line separator
  ch(0x2029),
  '\n',
  '\r\n',
  '\t',
  ch(0xd800), // lone high surrogate
  ch(0xdfff), // lone low surrogate
  ch(0xdbff),
  ch(0xfffe),
  ch(0xffff),
  cp(0x10ffff),
  ch(0xe000),
  '＜!channel＞',
  '‹!channel›',
  '＠channel',
  'ﷺ',
];

/** Names that are also properties of every JavaScript object. */
export const PROTOTYPE_WORDS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'toLocaleString',
];

const textUnit = fc.oneof(
  { arbitrary: fc.constantFrom(...SLACK_MARKUP), weight: 4 },
  { arbitrary: fc.constantFrom(...UNICODE_NASTIES), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), weight: 1 },
  { arbitrary: fc.constantFrom(' ', 'a', 'Z', '0', '.', '-', ':', '/', 'i-0abc'), weight: 2 },
);

/**
 * Attacker text: mostly short runs of hostile units, sometimes long enough to
 * pass every Slack limit (built by repetition: generating thousands of units
 * one by one is slow).
 */
export function hostileText(opts: { maxUnits?: number; longTo?: number } = {}): fc.Arbitrary<string> {
  const maxUnits = opts.maxUnits ?? 30;
  const short = fc.array(textUnit, { maxLength: maxUnits }).map((units) => units.join(''));
  if (!opts.longTo) return short;
  const long = fc
    .tuple(fc.array(textUnit, { minLength: 1, maxLength: 6 }), fc.integer({ min: 200, max: opts.longTo }))
    .map(([units, length]) => {
      const chunk = units.join('') || 'x';
      return chunk.repeat(Math.ceil(length / chunk.length));
    });
  return fc.oneof({ arbitrary: short, weight: 8 }, { arbitrary: long, weight: 1 });
}

/**
 * What the card builders actually get: text read back from PostgreSQL, where
 * ingest stored it through `storable` (no NUL, no lone surrogates).
 */
export function storedText(opts: { maxUnits?: number; longTo?: number } = {}): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: hostileText(opts).map(storable), weight: 12 },
    { arbitrary: fc.constantFrom(...PROTOTYPE_WORDS), weight: 1 },
    { arbitrary: fc.constant(''), weight: 1 },
  );
}

/** A whole field value: hostile text, or a name every JavaScript object has. */
const wholeValue = fc.oneof(
  { arbitrary: hostileText({ maxUnits: 24, longTo: 5000 }), weight: 12 },
  { arbitrary: fc.constantFrom(...PROTOTYPE_WORDS), weight: 1 },
);

// ---- the events the bodies start from -----------------------------------------------------

/** Every GuardDuty fixture finding that Kanshi accepts as it is. */
export const FIXTURE_FINDINGS: readonly Json[] = guardDutyFindings()
  .map((f) => f.finding)
  .filter((f) => parseEvent(wrapFinding(f)).kind === 'finding');

const UNLISTED_ACCOUNTS = ['111122223333', '444455556666', '777788889999'];
/** A few finding ids shared by many cases, so that updates, duplicates and stale events happen too. */
const SHARED_FINDING_IDS = Array.from({ length: 24 }, (_, i) => `5ea4ed${String(i).padStart(2, '0')}${'a'.repeat(24)}`);

const hex32 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 });

interface EventSeed {
  fixture: number;
  findingId: string;
  accountId: string | undefined;
  updatedAt: Date;
  envelopeId: string;
}

const eventSeed: fc.Arbitrary<EventSeed> = fc.record({
  fixture: fc.nat({ max: FIXTURE_FINDINGS.length - 1 }),
  findingId: fc.oneof(
    { arbitrary: hex32, weight: 9 },
    { arbitrary: fc.constantFrom(...SHARED_FINDING_IDS), weight: 1 },
  ),
  // Mostly the listed account; some disabled, unlisted or as in the fixture (default channel).
  accountId: fc.oneof(
    { arbitrary: fc.constant(PROD_ACCOUNT), weight: 6 },
    { arbitrary: fc.constant(DISABLED_ACCOUNT), weight: 1 },
    { arbitrary: fc.constantFrom(...UNLISTED_ACCOUNTS), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 2 },
  ),
  updatedAt: fc.date({
    min: new Date('2025-01-01T00:00:00Z'),
    max: new Date('2026-12-31T00:00:00Z'),
    noInvalidDate: true,
  }),
  envelopeId: fc.uuid(),
});

/** A real fixture finding in its EventBridge envelope, with a fresh id. */
function eventOf(seed: EventSeed): Json {
  const finding = structuredClone(FIXTURE_FINDINGS[seed.fixture]) as Json;
  finding.id = seed.findingId;
  if (seed.accountId) finding.accountId = seed.accountId;
  finding.updatedAt = seed.updatedAt.toISOString();
  return wrapFinding(finding, { id: seed.envelopeId, time: seed.updatedAt.toISOString().replace(/\.\d{3}Z$/, 'Z') });
}

// ---- JSON paths and mutations ---------------------------------------------------------------

type Path = Array<string | number>;
type Container = Record<string, unknown> | unknown[];

const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/** Every path below the root, containers and leaves alike. */
function allPaths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (!isContainer(value)) return out;
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [key, child] of entries) {
    const path = [...prefix, key];
    out.push(path);
    allPaths(child, path, out);
  }
  return out;
}

function stringLeaves(value: unknown): Path[] {
  return allPaths(value).filter((p) => typeof getAt(value, p) === 'string');
}

function numberLeaves(value: unknown): Path[] {
  return allPaths(value).filter((p) => typeof getAt(value, p) === 'number');
}

function getAt(root: unknown, path: Path): unknown {
  let cur = root;
  for (const key of path) {
    if (!isContainer(cur)) return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/** Own data property, even for a key such as `__proto__`. */
function defineOwn(target: Container, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setAt(root: Json, path: Path, value: unknown): void {
  let cur: unknown = root;
  for (const key of path.slice(0, -1)) {
    const next = (cur as Record<string | number, unknown>)[key];
    if (!isContainer(next)) {
      const fresh = {};
      defineOwn(cur as Container, key, fresh);
      cur = fresh;
    } else cur = next;
  }
  const last = path.at(-1);
  if (last !== undefined) defineOwn(cur as Container, last, value);
}

function deleteAt(root: Json, path: Path): void {
  const parent = getAt(root, path.slice(0, -1));
  const last = path.at(-1);
  if (!isContainer(parent) || last === undefined) return;
  if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
  else delete (parent as Record<string, unknown>)[String(last)];
}

// Markers that survive JSON.stringify untouched (private-use characters are not
// escaped) and are replaced in the JSON text: raw literals JSON.stringify cannot
// write (1e400, NaN), deep nesting, and raw bytes inside strings.
const MARK = '\uF8FF\uF8FE';
const rawMarker = (literal: string) => `${MARK}raw:${literal}${MARK}`;
const deepMarker = (depth: number, shape: NestShape) => `${MARK}deep:${shape}:${depth}${MARK}`;
const bytesMarker = (bytes: readonly number[]) =>
  `${MARK}bytes:${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}${MARK}`;

type NestShape = 'array' | 'object' | 'mixed';

/** JSON text nesting `depth` levels deep. */
export function nested(depth: number, shape: NestShape): string {
  const opens: string[] = [];
  const closes: string[] = [];
  for (let i = 0; i < depth; i++) {
    const arr = shape === 'array' || (shape === 'mixed' && i % 2 === 1);
    opens.push(arr ? '[' : '{"k":');
    closes.push(arr ? ']' : '}');
  }
  return `${opens.join('')}0${closes.reverse().join('')}`;
}

const WHOLE_MARKER = new RegExp(`"${MARK}(raw|deep):([^"${MARK}]*)${MARK}"`, 'g');
const BYTES_MARKER = new RegExp(`${MARK}bytes:([0-9a-f]*)${MARK}`, 'g');

/** Serialises an event, then turns the markers into what they stand for. */
function assemble(value: unknown): Buffer {
  const text = (JSON.stringify(value) ?? 'null').replace(WHOLE_MARKER, (_m, kind: string, arg: string) => {
    if (kind === 'raw') return arg;
    const [shape = 'array', depth = '1'] = arg.split(':');
    return nested(Number(depth), shape as NestShape);
  });
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(BYTES_MARKER)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), Buffer.from(m[1] ?? '', 'hex'));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** Type confusion and odd values, as data so that fast-check draws (and a seed replays) them. */
export type Mutation =
  | { op: 'numberAsString' }
  | { op: 'number'; n: number }
  | { op: 'arrayAsObject' }
  | { op: 'null' }
  | { op: 'delete' }
  | { op: 'raw'; literal: string }
  | { op: 'nanish'; text: string }
  | { op: 'bool'; value: boolean | string | number }
  | { op: 'empty'; value: '{}' | '[]' | '""' }
  | { op: 'text'; text: string }
  | { op: 'nest'; depth: number; shape: NestShape }
  | { op: 'extraKey'; key: string; value: string };

const RAW_LITERALS = [
  '1e400',
  '-1e400',
  '1e-400',
  '123456789012345678901234567890',
  '1E+999',
  '-0',
  '0.0000000000000000000000001',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '99999999999',
  '1.5e1',
  '100000000000000000000000000000000000000000000000000000000000',
  // Not JSON at all: the body must be refused as invalid JSON.
  'NaN',
  'Infinity',
  'undefined',
  "'single'",
  '0x10',
  '01',
];

const NANISH = [
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'undefined',
  '',
  ' ',
  '0x1F',
  '1e3',
  '1e999',
  '٣',
  '５',
  `5${ch(0)}`,
  'true',
  '[]',
  '{}',
  '1,5',
  '1_000',
  '+5',
  '5.',
  '.5',
  '0005',
  ' 5 ',
  '2024-02-30T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '2024-01-01T00:00:00+25:00',
  '2024-01-01 00:00:00.99999999999999999999',
  '2147483648',
  '-1',
];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ op: 'numberAsString' as const }),
  fc.record({
    op: fc.constant('number' as const),
    n: fc.oneof(
      fc.constantFrom(
        0,
        -1,
        1,
        5,
        10,
        10.05,
        11,
        -0,
        0.1,
        2 ** 31 - 1,
        2 ** 31,
        2 ** 32,
        2 ** 53,
        1e15,
        1e308,
        -1e308,
        Number.MAX_SAFE_INTEGER,
        Number.MIN_VALUE,
        1700000000,
        1700000000000,
      ),
      fc.double(),
      fc.integer(),
    ),
  }),
  fc.constant({ op: 'arrayAsObject' as const }),
  fc.constant({ op: 'null' as const }),
  fc.constant({ op: 'delete' as const }),
  fc.record({ op: fc.constant('raw' as const), literal: fc.constantFrom(...RAW_LITERALS) }),
  fc.record({ op: fc.constant('nanish' as const), text: fc.constantFrom(...NANISH) }),
  fc.record({
    op: fc.constant('bool' as const),
    value: fc.constantFrom<boolean | string | number>(true, false, 'true', 0, 1),
  }),
  fc.record({ op: fc.constant('empty' as const), value: fc.constantFrom('{}' as const, '[]' as const, '""' as const) }),
  fc.record({ op: fc.constant('text' as const), text: wholeValue }),
  fc.record({
    op: fc.constant('nest' as const),
    depth: fc.integer({ min: 2, max: 50 }),
    shape: fc.constantFrom<NestShape>('array', 'object', 'mixed'),
  }),
  fc.record({
    op: fc.constant('extraKey' as const),
    key: fc.oneof(hostileText({ maxUnits: 6 }), fc.constantFrom(...PROTOTYPE_WORDS)),
    value: hostileText({ maxUnits: 6 }),
  }),
);

/** Paths worth hitting more often than a uniform pick over ~100 paths would. */
const FOCUS_PATHS: readonly Path[] = [
  ['id'],
  ['source'],
  ['detail-type'],
  ['account'],
  ['time'],
  ['region'],
  ['resources'],
  ['detail'],
  ['detail', 'id'],
  ['detail', 'severity'],
  ['detail', 'type'],
  ['detail', 'title'],
  ['detail', 'description'],
  ['detail', 'updatedAt'],
  ['detail', 'createdAt'],
  ['detail', 'accountId'],
  ['detail', 'region'],
  ['detail', 'partition'],
  ['detail', 'arn'],
  ['detail', 'resource'],
  ['detail', 'resource', 'resourceType'],
  ['detail', 'service'],
  ['detail', 'service', 'count'],
  ['detail', 'service', 'archived'],
  ['detail', 'service', 'eventFirstSeen'],
  ['detail', 'service', 'eventLastSeen'],
  ['detail', 'service', 'detectorId'],
  ['detail', 'service', 'additionalInfo'],
  ['detail', 'service', 'action'],
];

type Target = { focus: number } | { pick: number };
const target: fc.Arbitrary<Target> = fc.oneof(
  fc.record({ focus: fc.nat({ max: FOCUS_PATHS.length - 1 }) }),
  fc.record({ pick: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) }),
);

function resolveTarget(event: Json, t: Target): Path {
  if ('focus' in t) return [...(FOCUS_PATHS[t.focus] ?? ['detail'])];
  const paths = allPaths(event);
  return paths[Math.floor(t.pick * paths.length)] ?? ['detail'];
}

function applyMutation(event: Json, path: Path, m: Mutation): void {
  const current = getAt(event, path);
  switch (m.op) {
    case 'numberAsString':
      setAt(event, path, typeof current === 'number' ? String(current) : JSON.stringify(current ?? null));
      return;
    case 'number':
      setAt(event, path, m.n);
      return;
    case 'arrayAsObject':
      if (Array.isArray(current)) setAt(event, path, { ...current });
      else if (isContainer(current)) setAt(event, path, Object.values(current));
      else setAt(event, path, [current ?? null]);
      return;
    case 'null':
      setAt(event, path, null);
      return;
    case 'delete':
      deleteAt(event, path);
      return;
    case 'raw':
      setAt(event, path, rawMarker(m.literal));
      return;
    case 'nanish':
      setAt(event, path, m.text);
      return;
    case 'bool':
      setAt(event, path, m.value);
      return;
    case 'empty':
      setAt(event, path, m.value === '{}' ? {} : m.value === '[]' ? [] : '');
      return;
    case 'text':
      setAt(event, path, m.text);
      return;
    case 'nest':
      setAt(event, path, deepMarker(m.depth, m.shape));
      return;
    case 'extraKey': {
      const holder = isContainer(current) && !Array.isArray(current) ? current : getAt(event, path.slice(0, -1));
      if (isContainer(holder) && !Array.isArray(holder)) defineOwn(holder, m.key, m.value);
      return;
    }
  }
}

// ---- the cases sent to POST /ingest/eventbridge -----------------------------------------------

export const MAX_EVENT_BYTES = 256 * 1024;

export interface HostileCase {
  /** What the body is, e.g. `malformed:truncated`; outcomes are counted per kind. */
  kind: string;
  /** The x-api-key header; undefined leaves it out. */
  apiKey: string | undefined;
  /** The content-type header; undefined leaves it out. */
  contentType: string | undefined;
  /** x-request-id: none, one Kanshi must not take (it makes its own), or a valid unique one. */
  requestId: { mode: 'none' } | { mode: 'invalid'; value: string } | { mode: 'unique' };
  /** Statuses this body may get once the key, size and media type pass. */
  expect: readonly number[];
  build(): Buffer;
}

type Body = Pick<HostileCase, 'kind' | 'expect' | 'build'>;

const ACCEPT: readonly number[] = [202];
const INVALID: readonly number[] = [400];
const ANY_VERDICT: readonly number[] = [202, 400, 422];

/** A real event, unchanged. */
const validBody: fc.Arbitrary<Body> = eventSeed.map((seed) => ({
  kind: 'event:valid',
  expect: ACCEPT,
  build: () => assemble(eventOf(seed)),
}));

// Kanshi validates these; everything else in the event is free text it must carry safely.
const VALIDATED = new Set(['source', 'detail-type', 'account', 'region', 'time', 'id']);
const VALIDATED_DETAIL = new Set(['id', 'accountId', 'region', 'updatedAt', 'severity']);

function isFreeText(path: Path): boolean {
  if (path.length === 1) return !VALIDATED.has(String(path[0]));
  return !(path.length === 2 && path[0] === 'detail' && VALIDATED_DETAIL.has(String(path[1])));
}

/** Hostile text in every free-text string of a real event (or in every string at all). */
function textBody(everyString: boolean): fc.Arbitrary<Body> {
  return fc
    .record({
      seed: eventSeed,
      texts: fc.array(wholeValue, { minLength: 1, maxLength: 16 }),
      // The finding type is free text of at most 256 characters.
      typeText: fc.option(hostileText({ maxUnits: 10 }), { nil: undefined }),
      density: fc.double({ min: 0.3, max: 1, noNaN: true }),
      picks: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 64, maxLength: 64 }),
    })
    .map(({ seed, texts, typeText, density, picks }) => ({
      kind: everyString ? 'unicode:every-string' : 'unicode:free-text',
      expect: everyString ? ANY_VERDICT : [202, 400],
      build: () => {
        const event = eventOf(seed);
        stringLeaves(event).forEach((path, i) => {
          if (!everyString && !isFreeText(path)) return;
          if ((picks[i % picks.length] ?? 0) >= density) return;
          const isType = path.length === 2 && path[0] === 'detail' && path[1] === 'type';
          if (isType && !everyString) {
            if (typeText) setAt(event, path, typeText);
            return;
          }
          setAt(event, path, texts[i % texts.length] ?? '');
        });
        return assemble(event);
      },
    }));
}

/** Numbers at and past the bounds of what JSON, JavaScript and PostgreSQL hold, in every numeric field of a real event. */
const BOUNDARY_NUMBERS = [
  '0',
  '-0',
  '-1',
  '0.5',
  '2147483647',
  '2147483648',
  '-2147483649',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '1e15',
  '1e308',
  '-1e308',
  '1e400',
  '5e-324',
  '1700000000000',
  '99999999999999999999999999',
];

const numbersBody: fc.Arbitrary<Body> = fc
  .record({
    seed: eventSeed,
    values: fc.array(fc.constantFrom(...BOUNDARY_NUMBERS), { minLength: 1, maxLength: 8 }),
    density: fc.double({ min: 0.2, max: 1, noNaN: true }),
    picks: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
    asText: fc.boolean(),
  })
  .map(({ seed, values, density, picks, asText }) => ({
    kind: asText ? 'numbers:boundary-as-text' : 'numbers:boundary',
    expect: [202, 400],
    build: () => {
      const event = eventOf(seed);
      numberLeaves(event).forEach((path, i) => {
        if ((picks[i % picks.length] ?? 0) >= density) return;
        const literal = values[i % values.length] ?? '0';
        setAt(event, path, asText ? literal : rawMarker(literal));
      });
      return assemble(event);
    },
  }));

/** Hostile keys on the objects of a real event: unknown keys are kept, never refused. */
const keysBody: fc.Arbitrary<Body> = fc
  .record({
    seed: eventSeed,
    keys: fc.array(fc.tuple(hostileText({ maxUnits: 8 }), hostileText({ maxUnits: 8 })), {
      minLength: 1,
      maxLength: 8,
    }),
    picks: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 8, maxLength: 8 }),
  })
  .map(({ seed, keys, picks }) => ({
    kind: 'unicode:keys',
    expect: ACCEPT,
    build: () => {
      const event = eventOf(seed);
      const objects = [[], ...allPaths(event)].filter((p) => {
        const v = getAt(event, p);
        return isContainer(v) && !Array.isArray(v);
      });
      keys.forEach(([key, value], i) => {
        const at = objects[Math.floor((picks[i] ?? 0) * objects.length)] ?? [];
        const holder = getAt(event, at);
        // The `x-` prefix keeps them from replacing a field Kanshi reads.
        if (isContainer(holder)) defineOwn(holder, `x-${key}`, value);
      });
      return assemble(event);
    },
  }));

/** Wrong types, odd numbers and deletions at one to four places in a real event. */
const typedBody: fc.Arbitrary<Body> = fc
  .record({ seed: eventSeed, mutations: fc.array(fc.tuple(target, mutation), { minLength: 1, maxLength: 4 }) })
  .map(({ seed, mutations }) => ({
    kind: `typed:${mutations.map(([, m]) => m.op).join('+')}`,
    expect: ANY_VERDICT,
    build: () => {
      const event = eventOf(seed);
      for (const [t, m] of mutations) applyMutation(event, resolveTarget(event, t), m);
      return assemble(event);
    },
  }));

/** Names every JavaScript object has, as keys and as values where Kanshi looks things up by name. */
const prototypeBody: fc.Arbitrary<Body> = fc
  .record({
    seed: eventSeed,
    word: fc.constantFrom(...PROTOTYPE_WORDS),
    where: fc.constantFrom('resourceType', 'partition', 'type', 'keys', 'additionalInfo', 'severity-key'),
  })
  .map(({ seed, word, where }) => ({
    kind: `prototype:${where}`,
    expect: [202, 400],
    build: () => {
      const event = eventOf(seed);
      const detail = event.detail as Json;
      if (where === 'resourceType') setAt(event, ['detail', 'resource', 'resourceType'], word);
      if (where === 'partition') detail.partition = word;
      if (where === 'type') detail.type = word;
      if (where === 'keys') {
        for (const holder of [event, detail, detail.resource, detail.service]) {
          if (isContainer(holder)) defineOwn(holder, word, { polluted: true, sample: true, resourceType: 'x' });
        }
      }
      if (where === 'additionalInfo')
        setAt(event, ['detail', 'service', 'additionalInfo'], { [word]: { sample: true } });
      if (where === 'severity-key') defineOwn(detail, '__proto__', { severity: 5, id: 'x' });
      return assemble(event);
    },
  }));

/** Nesting far deeper than any GuardDuty event (refused), or a little deeper than usual (carried). */
const deepBody: fc.Arbitrary<Body> = fc.oneof(
  fc
    .record({
      depth: fc.integer({ min: 100, max: 10_000 }),
      shape: fc.constantFrom<NestShape>('array', 'object', 'mixed'),
      inEvent: fc.option(fc.tuple(eventSeed, target), { nil: undefined }),
    })
    .map(({ depth, shape, inEvent }) => ({
      kind: inEvent ? 'deep:in-event' : 'deep:whole-body',
      expect: INVALID,
      build: () => {
        if (!inEvent) return Buffer.from(nested(depth, shape));
        const event = eventOf(inEvent[0]);
        setAt(event, resolveTarget(event, inEvent[1]), deepMarker(depth, shape));
        return assemble(event);
      },
    })),
  fc
    .record({
      depth: fc.integer({ min: 10, max: 60 }),
      shape: fc.constantFrom<NestShape>('array', 'object', 'mixed'),
      seed: eventSeed,
      at: fc.constantFrom<Path>(
        ['detail', 'service', 'additionalInfo', 'nested'],
        ['detail', 'resource', 'nested'],
        ['x-nested'],
      ),
    })
    .map(({ depth, shape, seed, at }) => ({
      kind: 'deep:shallow',
      expect: [202, 400],
      build: () => {
        const event = eventOf(seed);
        setAt(event, at, deepMarker(depth, shape));
        return assemble(event);
      },
    })),
);

const INVALID_UTF8: readonly (readonly number[])[] = [
  [0xff],
  [0xfe],
  [0xc0, 0x80], // overlong NUL
  [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded as UTF-8
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0x80],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98], // a cut emoji
];

const JSON_ISH = [
  "{'source': 'aws.guardduty'}",
  '{"a":1,}',
  '[1,2,]',
  '{a:1}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":01}',
  '{"a":.5}',
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":1}{"b":2}',
  '/* comment */ {}',
  '{"a":1} // comment',
  'undefined',
  '"just a string"',
  'null',
  'true',
  '0',
  '[]',
  '{}',
  '',
  ' ',
  '\n\t ',
];

function spliceBytes(buf: Buffer, at: number, bytes: readonly number[]): Buffer {
  const i = Math.min(buf.length, Math.max(0, Math.floor(at * buf.length)));
  return Buffer.concat([buf.subarray(0, i), Buffer.from(bytes), buf.subarray(i)]);
}

/** Bodies that are not JSON, or JSON that is not one event. */
const malformedBody: fc.Arbitrary<Body> = fc.oneof(
  fc
    .record({ seed: eventSeed, at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) })
    .map(({ seed, at }) => ({
      kind: 'malformed:truncated',
      expect: INVALID,
      build: () => {
        const full = assemble(eventOf(seed));
        return full.subarray(0, Math.floor(at * full.length));
      },
    })),
  fc
    .record({
      seed: eventSeed,
      junk: fc.oneof(
        fc.constantFrom('}', ']', ',', 'x', ' }', '\u0000', '{"a":1}', 'null', '// comment', '<!channel>'),
        fc.uint8Array({ maxLength: 40 }).map((b) => `x${Buffer.from(b).toString('latin1')}`),
      ),
    })
    .map(({ seed, junk }) => ({
      kind: 'malformed:trailing-garbage',
      expect: INVALID,
      build: () => Buffer.concat([assemble(eventOf(seed)), Buffer.from(junk, 'latin1')]),
    })),
  eventSeed.map((seed) => ({
    kind: 'malformed:bom',
    expect: INVALID,
    build: () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), assemble(eventOf(seed))]),
  })),
  fc.record({ seed: eventSeed, bom: fc.boolean() }).map(({ seed, bom }) => ({
    kind: 'malformed:utf16',
    expect: INVALID,
    build: () =>
      Buffer.concat([
        Buffer.from(bom ? [0xff, 0xfe] : []),
        Buffer.from(assemble(eventOf(seed)).toString('utf8'), 'utf16le'),
      ]),
  })),
  fc.record({ seed: eventSeed, at: fc.double({ min: 0, max: 1, noNaN: true }) }).map(({ seed, at }) => ({
    kind: 'malformed:nul-byte',
    expect: INVALID,
    build: () => spliceBytes(assemble(eventOf(seed)), at, [0]),
  })),
  fc
    .record({
      seed: eventSeed,
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      bytes: fc.constantFrom(...INVALID_UTF8),
    })
    .map(({ seed, at, bytes }) => ({
      kind: 'malformed:invalid-utf8-anywhere',
      expect: ANY_VERDICT,
      build: () => spliceBytes(assemble(eventOf(seed)), at, bytes),
    })),
  fc
    .record({
      seed: eventSeed,
      field: fc.constantFrom('title', 'description'),
      bytes: fc.array(fc.constantFrom(...INVALID_UTF8), { minLength: 1, maxLength: 4 }),
    })
    .map(({ seed, field, bytes }) => ({
      kind: 'malformed:invalid-utf8-in-text',
      // The decoder makes U+FFFD of them: still one valid event.
      expect: ACCEPT,
      build: () => {
        const event = eventOf(seed);
        setAt(event, ['detail', field], `before ${bytesMarker(bytes.flat())} after`);
        return assemble(event);
      },
    })),
  fc.record({ seed: eventSeed, control: fc.integer({ min: 0, max: 0x1f }) }).map(({ seed, control }) => ({
    kind: 'malformed:raw-control-in-string',
    expect: INVALID,
    build: () => {
      const event = eventOf(seed);
      setAt(event, ['detail', 'title'], `a${bytesMarker([control])}b`);
      return assemble(event);
    },
  })),
  fc
    .record({ seed: eventSeed, last: fc.boolean(), value: fc.constantFrom('null', '5', '"x"', '[]', '{}') })
    .map(({ seed, last, value }) => ({
      kind: last ? 'malformed:duplicate-key-last' : 'malformed:duplicate-key-first',
      // JSON.parse keeps the last of duplicate keys.
      expect: last ? INVALID : ACCEPT,
      build: () => {
        const text = assemble(eventOf(seed)).toString('utf8');
        return Buffer.from(
          last ? `${text.slice(0, -1)},"detail":${value}}` : `{"detail":${value},"source":${value},${text.slice(1)}`,
        );
      },
    })),
  fc.constantFrom(...JSON_ISH).map((text) => ({
    kind: 'malformed:json-ish',
    expect: INVALID,
    build: () => Buffer.from(text),
  })),
  fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({
    kind: 'malformed:random-bytes',
    expect: INVALID,
    build: () => Buffer.from(bytes),
  })),
  fc.string({ unit: 'binary', maxLength: 500 }).map((text) => ({
    kind: 'malformed:random-text',
    expect: INVALID,
    build: () => Buffer.from(text, 'utf8'),
  })),
);

/** Any JSON value at all: never one GuardDuty event. */
const jsonValueBody: fc.Arbitrary<Body> = fc.jsonValue({ maxDepth: 5 }).map((value) => ({
  kind: 'json:random-value',
  expect: [400, 422],
  build: () => Buffer.from(JSON.stringify(value) ?? 'null'),
}));

/** Text that is well-formed, so its JSON length adds up when repeated. */
const paddingChunk = hostileText({ maxUnits: 12 }).map((t) => storable(t) || 'pad');

function padded(seed: EventSeed, chunk: string, size: number): Buffer {
  const event = eventOf(seed);
  const detail = event.detail as Json;
  detail.description = '';
  const base = Buffer.byteLength(JSON.stringify(event));
  const chunkBytes = Buffer.byteLength(JSON.stringify(chunk)) - 2;
  const room = Math.max(0, size - base);
  const reps = chunkBytes > 0 ? Math.floor(room / chunkBytes) : 0;
  detail.description = chunk.repeat(reps) + 'a'.repeat(room - reps * chunkBytes);
  const body = Buffer.from(JSON.stringify(event));
  if (body.length !== size) throw new Error(`padding built ${body.length} bytes, not ${size}`);
  return body;
}

/** Around the 256 KiB limit, and far past it. */
const oversizeBody: fc.Arbitrary<Body> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ seed: eventSeed, chunk: paddingChunk, under: fc.integer({ min: 0, max: 4096 }) })
      .map(({ seed, chunk, under }) => ({
        kind: under === 0 ? 'size:exactly-256KiB' : 'size:just-below-256KiB',
        expect: ACCEPT,
        build: () => padded(seed, chunk, MAX_EVENT_BYTES - under),
      })),
  },
  {
    weight: 2,
    arbitrary: fc.record({ seed: eventSeed, chunk: paddingChunk }).map(({ seed, chunk }) => ({
      kind: 'size:256KiB+1',
      expect: [413],
      build: () => padded(seed, chunk, MAX_EVENT_BYTES + 1),
    })),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({
        seed: eventSeed,
        chunk: paddingChunk,
        size: fc.integer({ min: MAX_EVENT_BYTES + 2, max: 1536 * 1024 }),
      })
      .map(({ seed, chunk, size }) => ({
        kind: 'size:over-256KiB',
        expect: [413],
        build: () => padded(seed, chunk, size),
      })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        size: fc.integer({ min: MAX_EVENT_BYTES + 1, max: 1024 * 1024 }),
        byte: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ size, byte }) => ({
        kind: 'size:over-256KiB-junk',
        expect: [413],
        build: () => Buffer.alloc(size, byte),
      })),
  },
  // Past 8 MiB Kanshi stops reading and closes the connection after answering.
  {
    weight: 1,
    arbitrary: fc.integer({ min: 8 * 1024 * 1024 + 1, max: 9 * 1024 * 1024 }).map((size) => ({
      kind: 'size:over-8MiB',
      expect: [413],
      build: () => Buffer.alloc(size, 0x7b),
    })),
  },
);

const SECURITY_HUB_EVENTS = SECURITY_HUB_FILES.flatMap((f) => readNdjson(f));
const NOT_EVENTBRIDGE = NOT_EVENTBRIDGE_FILES.flatMap((f) => readNdjson(f));

/** Events of other sources: other services' findings, Organizations events, made-up sources. */
const otherSourceBody: fc.Arbitrary<Body> = fc.oneof(
  fc.nat({ max: SECURITY_HUB_EVENTS.length - 1 }).map((i) => ({
    kind: 'source:security-hub',
    expect: [400, 422],
    build: () => assemble(SECURITY_HUB_EVENTS[i]),
  })),
  fc.nat({ max: NOT_EVENTBRIDGE.length - 1 }).map((i) => ({
    kind: 'source:not-eventbridge-shape',
    // One of them says source aws.guardduty with a CloudTrail detail-type: well formed, not handled (422).
    expect: [400, 422],
    build: () => assemble(NOT_EVENTBRIDGE[i]),
  })),
  fc
    .record({
      account: fc.oneof(fc.stringMatching(/^\d{12}$/), wholeValue),
      name: wholeValue,
      state: fc.constantFrom('SUCCEEDED', 'FAILED', 'IN_PROGRESS'),
      asText: fc.boolean(),
      id: fc.uuid(),
    })
    .map(({ account, name, state, asText, id }) => ({
      kind: 'source:organizations',
      expect: ANY_VERDICT,
      build: () => {
        const details = {
          createAccountStatus: { id: 'car-0123456789abcdef', state, accountId: account, accountName: name },
        };
        return assemble({
          version: '0',
          id,
          'detail-type': 'AWS Service Event via CloudTrail',
          source: 'aws.organizations',
          account: '999988887777',
          time: '2026-11-22T10:00:00Z',
          region: 'us-east-1',
          resources: [],
          detail: {
            eventName: 'CreateAccountResult',
            eventSource: 'organizations.amazonaws.com',
            serviceEventDetails: asText ? JSON.stringify(details) : details,
          },
        });
      },
    })),
  fc.record({ seed: eventSeed, source: wholeValue, detailType: wholeValue }).map(({ seed, source, detailType }) => ({
    kind: 'source:made-up',
    expect: [400, 422],
    build: () => {
      const event = eventOf(seed);
      event.source = source;
      event['detail-type'] = detailType;
      return assemble(event);
    },
  })),
  eventSeed.map((seed) => ({
    kind: 'source:pascal-case-detail',
    expect: INVALID,
    build: () => {
      const event = eventOf(seed);
      event.detail = Object.fromEntries(
        Object.entries(event.detail as Json).map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), v]),
      );
      return assemble(event);
    },
  })),
);

const body: fc.Arbitrary<Body> = fc.oneof(
  { arbitrary: validBody, weight: 8 },
  { arbitrary: textBody(false), weight: 20 },
  { arbitrary: textBody(true), weight: 4 },
  { arbitrary: keysBody, weight: 4 },
  { arbitrary: typedBody, weight: 20 },
  { arbitrary: numbersBody, weight: 3 },
  { arbitrary: prototypeBody, weight: 4 },
  { arbitrary: deepBody, weight: 6 },
  { arbitrary: malformedBody, weight: 16 },
  { arbitrary: jsonValueBody, weight: 4 },
  { arbitrary: oversizeBody, weight: 4 },
  { arbitrary: otherSourceBody, weight: 4 },
);

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});

const contentType = fc.oneof(
  {
    weight: 17,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/json;charset=UTF-8',
      'application/cloudevents+json',
      'application/json; charset=latin1',
      'application/vnd.api+json',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom(
        undefined,
        '',
        'text/plain',
        'text/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=----kanshi',
        'application/jsonp',
        'json',
        'application/ json',
        'application/xml',
        '*/*',
        'application/json+xml',
      ),
      printable,
    ),
  },
);

const apiKey = fc.oneof(
  { weight: 22, arbitrary: fc.constant(API_KEY) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom(
        undefined,
        '',
        API_KEY.toUpperCase(),
        API_KEY.slice(0, -1),
        `${API_KEY}0`,
        `Bearer ${API_KEY}`,
        `${API_KEY},${API_KEY}`,
        // Latin-1 bytes in a header: Node reads them as Latin-1 text.
        `${API_KEY.slice(0, -1)}é`,
        'x'.repeat(4000),
      ),
      printable,
    ),
  },
);

const requestId = fc.oneof(
  { weight: 17, arbitrary: fc.constant({ mode: 'none' as const }) },
  // Never a valid id (a space, or too long): Kanshi must make its own.
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        printable.map((s) => `${s} !`),
        fc.constant('a'.repeat(65)),
      )
      .map((value) => ({ mode: 'invalid' as const, value })),
  },
  { weight: 1, arbitrary: fc.constant({ mode: 'unique' as const }) },
);

/** One hostile request to POST /ingest/eventbridge. */
export const hostileCase: fc.Arbitrary<HostileCase> = fc
  .record({ body, apiKey, contentType, requestId })
  .map(({ body: b, apiKey: key, contentType: type, requestId: rid }) => ({
    kind: b.kind,
    expect: b.expect,
    build: b.build,
    apiKey: key,
    contentType: type,
    requestId: rid,
  }));

/** What fetch sends for a header value: leading and trailing blanks are dropped. */
export function sentHeaderValue(value: string): string {
  return value.replace(/^[\t ]+|[\t ]+$/g, '');
}

/** Whether Kanshi takes this content-type for JSON (the README: anything else is 415). */
export function isJsonMediaType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const type = (sentHeaderValue(value).split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

// ---- Block Kit checks --------------------------------------------------------------------------

export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** `&` that does not begin one of the three entities Slack decodes. */
const BARE_AMPERSAND = /&(?!amp;|lt;|gt;)/;
/** What makes Slack notify, mention or link. */
const CONTROL_MARKUP = /<[!@#]|<https?:|<mailto:/i;

/** Markup Kanshi writes itself, removed before looking for anything else. */
export const OWN_MARKUP = {
  consoleLink:
    /<https:\/\/[A-Za-z0-9%._~!*'()-]+\.console\.(?:aws\.amazon\.com|amazonaws-us-gov\.com|amazonaws\.cn)\/guardduty\/home\?region=[A-Za-z0-9%._~!*'()-]+#\/findings\?macros=current&amp;fId=[A-Za-z0-9%._~!*'()-]+\|Open in the GuardDuty console>/g,
  date: /<!date\^-?\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC>/g,
  /** A link to a Slack message; its label (a finding title, say) is escaped, `|` replaced. */
  messageLink: /<https:\/\/slack\.com\/archives\/[CGD][A-Z0-9]+\/p\d+\|[^<>|]*>/g,
  blockquote: /^> /gm,
} as const;

const USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** `<@id>` for each id Kanshi is allowed to mention (ids Slack gave it). */
export function mentionsOf(ids: ReadonlyArray<string | null | undefined>): string[] {
  return ids.filter((id): id is string => typeof id === 'string' && USER_ID.test(id)).map((id) => `<@${id}>`);
}

function snippet(text: string, at: number): string {
  return JSON.stringify(text.slice(Math.max(0, at - 30), at + 40));
}

/**
 * What is wrong with one mrkdwn text: control markup (a mention, broadcast,
 * channel link or URL) or any other `<`/`>` outside Kanshi's own markup, a
 * bare `&`, or a lone surrogate.
 */
export function markupProblems(text: string, own: ReadonlyArray<string | RegExp> = []): string[] {
  let rest = text;
  for (const o of own) rest = typeof o === 'string' ? rest.split(o).join(' ') : rest.replace(o, ' ');
  const problems: string[] = [];
  const control = CONTROL_MARKUP.exec(rest);
  if (control) problems.push(`unescaped Slack control markup ${snippet(rest, control.index)}`);
  else {
    const angle = /[<>]/.exec(rest);
    if (angle) problems.push(`unescaped angle bracket ${snippet(rest, angle.index)}`);
  }
  const amp = BARE_AMPERSAND.exec(rest);
  if (amp) problems.push(`bare & (a cut or unescaped entity) ${snippet(rest, amp.index)}`);
  const lone = LONE_SURROGATE.exec(text);
  if (lone) problems.push(`lone surrogate at ${lone.index}`);
  return problems;
}

export interface SurfaceRules {
  /** A message (50 blocks, fallback text), a modal or the home tab (100 blocks). */
  surface: 'message' | 'modal' | 'home';
  /** Kanshi's own markup in mrkdwn: exact strings or global regexes. */
  own?: ReadonlyArray<string | RegExp>;
  /** The longest message `text` allowed (Kanshi keeps fallbacks to 3000). */
  maxText?: number;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every violation of Slack's limits or of the escaping rules in one message, modal or home view. */
export function surfaceProblems(surface: unknown, rules: SurfaceRules): string[] {
  const problems: string[] = [];
  const own = rules.own ?? [];
  const add = (path: string, what: string): void => {
    problems.push(`${path}: ${what}`);
  };
  const maxLen = (path: string, value: unknown, max: number) => {
    if (value === undefined) return;
    if (typeof value !== 'string') add(path, `not a string (${typeof value})`);
    else if (value.length > max) add(path, `${value.length} characters, over ${max}`);
  };
  const textObject = (path: string, value: unknown, max: number, allowMrkdwn = true) => {
    if (!isRec(value) || typeof value.text !== 'string') return add(path, 'not a text object');
    if (value.type !== 'plain_text' && !(allowMrkdwn && value.type === 'mrkdwn')) add(path, `text type ${value.type}`);
    if (value.text.length === 0) add(path, 'empty text');
    if (value.text.length > max) add(path, `${value.text.length} characters, over ${max}`);
    if (value.type === 'mrkdwn') for (const p of markupProblems(value.text, own)) add(path, p);
    else if (LONE_SURROGATE.test(value.text)) add(path, 'lone surrogate in plain text');
  };
  const option = (path: string, value: unknown, mrkdwnOk: boolean) => {
    if (!isRec(value)) return add(path, 'not an option');
    textObject(`${path}.text`, value.text, 75, mrkdwnOk);
    maxLen(`${path}.value`, value.value, 150);
    if (value.description !== undefined) textObject(`${path}.description`, value.description, 75, mrkdwnOk);
  };
  const confirm = (path: string, value: unknown) => {
    if (value === undefined) return;
    if (!isRec(value)) return add(path, 'not a confirm object');
    textObject(`${path}.title`, value.title, 100, false);
    textObject(`${path}.text`, value.text, 300);
    textObject(`${path}.confirm`, value.confirm, 30, false);
    textObject(`${path}.deny`, value.deny, 30, false);
  };
  const element = (path: string, value: unknown) => {
    if (!isRec(value)) return add(path, 'not an element');
    maxLen(`${path}.action_id`, value.action_id, 255);
    if (value.placeholder !== undefined) textObject(`${path}.placeholder`, value.placeholder, 150, false);
    confirm(`${path}.confirm`, value.confirm);
    switch (value.type) {
      case 'button':
        textObject(`${path}.text`, value.text, 75, false);
        maxLen(`${path}.value`, value.value, 2000);
        maxLen(`${path}.url`, value.url, 3000);
        if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger') add(path, 'bad style');
        return;
      case 'static_select':
      case 'checkboxes': {
        const options = Array.isArray(value.options) ? value.options : [];
        if (options.length === 0 || options.length > (value.type === 'checkboxes' ? 10 : 100))
          add(path, `${options.length} options`);
        for (const [i, o] of options.entries()) option(`${path}.options[${i}]`, o, value.type === 'checkboxes');
        if (value.initial_option !== undefined) option(`${path}.initial_option`, value.initial_option, false);
        if (Array.isArray(value.initial_options))
          for (const [i, o] of value.initial_options.entries()) option(`${path}.initial_options[${i}]`, o, true);
        return;
      }
      case 'plain_text_input':
        for (const k of ['min_length', 'max_length'] as const) {
          const n = value[k];
          if (n !== undefined && (typeof n !== 'number' || n < 0 || n > 3000)) add(`${path}.${k}`, `bad ${String(n)}`);
        }
        maxLen(`${path}.initial_value`, value.initial_value, 3000);
        return;
      case 'conversations_select':
        return;
      default:
        add(path, `unexpected element type ${String(value.type)}`);
    }
  };
  const block = (path: string, b: unknown) => {
    if (!isRec(b)) return add(path, 'not a block');
    maxLen(`${path}.block_id`, b.block_id, 255);
    switch (b.type) {
      case 'header':
        return textObject(`${path}.text`, b.text, 150, false);
      case 'section': {
        if (b.text === undefined && b.fields === undefined) add(path, 'neither text nor fields');
        if (b.text !== undefined) textObject(`${path}.text`, b.text, 3000);
        if (b.fields !== undefined) {
          const fields = Array.isArray(b.fields) ? b.fields : [];
          if (fields.length === 0 || fields.length > 10) add(`${path}.fields`, `${fields.length} fields`);
          for (const [i, f] of fields.entries()) textObject(`${path}.fields[${i}]`, f, 2000);
        }
        if (b.accessory !== undefined) element(`${path}.accessory`, b.accessory);
        return;
      }
      case 'context': {
        const elements = Array.isArray(b.elements) ? b.elements : [];
        if (elements.length === 0 || elements.length > 10) add(`${path}.elements`, `${elements.length} elements`);
        for (const [i, e] of elements.entries()) textObject(`${path}.elements[${i}]`, e, 2000);
        return;
      }
      case 'actions': {
        const elements = Array.isArray(b.elements) ? b.elements : [];
        if (elements.length === 0 || elements.length > 25) add(`${path}.elements`, `${elements.length} elements`);
        for (const [i, e] of elements.entries()) element(`${path}.elements[${i}]`, e);
        return;
      }
      case 'input':
        textObject(`${path}.label`, b.label, 2000, false);
        if (b.hint !== undefined) textObject(`${path}.hint`, b.hint, 2000, false);
        return element(`${path}.element`, b.element);
      case 'divider':
        return;
      default:
        add(path, `unexpected block type ${String(b.type)}`);
    }
  };

  if (!isRec(surface)) return ['not an object'];
  const blocks = surface.blocks === undefined ? [] : surface.blocks;
  if (!Array.isArray(blocks)) return ['blocks: not an array'];
  const maxBlocks = rules.surface === 'message' ? 50 : 100;
  if (blocks.length > maxBlocks) add('blocks', `${blocks.length} blocks, over ${maxBlocks}`);
  for (const [i, b] of blocks.entries()) block(`blocks[${i}]`, b);
  if (rules.surface === 'message') {
    if (typeof surface.text !== 'string' || surface.text.length === 0) add('text', 'no fallback text');
    else {
      maxLen('text', surface.text, rules.maxText ?? 3000);
      for (const p of markupProblems(surface.text, own)) add('text', p);
    }
  }
  if (rules.surface === 'modal') {
    textObject('title', surface.title, 24, false);
    if (surface.submit !== undefined) textObject('submit', surface.submit, 24, false);
    if (surface.close !== undefined) textObject('close', surface.close, 24, false);
    maxLen('private_metadata', surface.private_metadata, 3000);
    maxLen('callback_id', surface.callback_id, 255);
  }
  return problems;
}

/**
 * Every text in a surface with how Slack reads it: text objects by their type, and a message's own
 * `text` (or a bare string: a reply's text) as mrkdwn.
 */
export function textsOf(surface: unknown): Array<{ type: 'mrkdwn' | 'plain_text'; text: string }> {
  const out: Array<{ type: 'mrkdwn' | 'plain_text'; text: string }> = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push({ type: 'mrkdwn', text: v });
    else if (Array.isArray(v)) for (const child of v) walk(child);
    else if (isRec(v)) {
      if ((v.type === 'mrkdwn' || v.type === 'plain_text') && typeof v.text === 'string')
        out.push({ type: v.type, text: v.text });
      else
        for (const [key, child] of Object.entries(v)) {
          if (key === 'text' && typeof child === 'string') out.push({ type: 'mrkdwn', text: child });
          else if (typeof child !== 'string') walk(child);
        }
    }
  };
  walk(surface);
  return out;
}

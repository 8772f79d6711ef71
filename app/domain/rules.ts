/**
 * Rules as code: the ordered policy in config/rules.yml that suppresses,
 * re-rates, routes and pages alerts. Pure: no I/O, no clock. Everything a rule
 * needs (patterns, regexes, CIDR blocks, CEL programs) is compiled once by
 * compileRules so that evaluating a finding only runs prepared predicates.
 *
 * Stateful conditions (occurrences, first_only) need counts from the
 * database, so evaluation has two phases: statefulKeys() says which counts the
 * store must look up, and evaluateRules() takes those counts.
 *
 * CEL comes from @bufbuild/cel rather than @marcbachmann/cel-js: both are
 * maintained, but cel-js ships only ES modules, which Jest's CommonJS runtime
 * (ts-jest compiling to commonjs, as jest.config.js does) refuses to load
 * ("Must use import to load ES Module") without transforming node_modules.
 * @bufbuild/cel publishes a CommonJS build beside its ESM one, so both `tsc`
 * (module node20) and Jest load it as is; it also evaluates `matches()` with
 * an RE2-style engine, so a rule author cannot write a catastrophic regex in
 * an expression.
 */
import { BlockList, isIP } from 'node:net';
import { type CelEnv, celEnv, isCelError, parse as parseCel, plan as planCel } from '@bufbuild/cel';
import { strings as celStrings } from '@bufbuild/cel/ext';
import { z } from 'zod';
import type { Finding } from './finding';

// ─── Public types ───────────────────────────────────────────────────────────

export type Level = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** From least to most severe. */
export const LEVELS: readonly Level[] = ['info', 'low', 'medium', 'high', 'critical'];
const RANK: Readonly<Record<Level, number>> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export interface RuleContext {
  finding: Finding;
  /** The raw GuardDuty finding (event.detail). */
  detail: unknown;
  account?:
    | { id: string; name?: string | undefined; ouPath?: string | undefined; tags: Record<string, string> }
    | undefined;
  /** e.g. instance id / access key id / bucket name: see defaultResourceKey. */
  resourceKey: string;
}

/**
 * What the rules decided for one finding. When `suppressed` is set the alert
 * is stored without a card and nobody is paged; the other fields still say
 * what the rules before the suppressing one decided, for the audit trail.
 */
export interface RuleOutcome {
  /** Names of the rules that matched, in file order. */
  matched: string[];
  originalSeverity: Level;
  finalSeverity: Level;
  severityChanges: Array<{ rule: string; from: Level; to: Level }>;
  suppressed?: { rule: string; reason: string } | undefined;
  /** Unset when no rule routes: the account/OU routing decides. */
  route?: { rule: string; channelId: string } | undefined;
  /** Deduplicated, in first-seen order, never the route channel. */
  alsoNotify: string[];
  page: boolean;
  /** Set when a first_only rule matched (the last one, like route). */
  firstOnly?: { rule: string; key: string; withinMs: number } | undefined;
  /** occurrences rules that matched, with the count that made them match. */
  occurrences: Array<{ rule: string; key: string; count: number }>;
  /** CEL runtime errors and non-bool results: each made its rule not match. */
  errors: Array<{ rule: string; error: string }>;
}

export type StatefulKind = 'occurrences' | 'first_only';
export type KeyField = 'type' | 'account' | 'resource' | 'region';

export interface StatefulKey {
  rule: string;
  kind: StatefulKind;
  /** Deterministic: the `by` fields in a fixed order, e.g. `type=Recon:EC2/Portscan|resource=i-0abc`. */
  key: string;
  withinMs: number;
}

export class RulesError extends Error {
  readonly code = 'kanshi_rules_invalid';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RulesError';
  }
}

/** GuardDuty's four labels; `Info` exists only as a level a rule sets. */
export type GuardDutyLabel = 'Critical' | 'High' | 'Medium' | 'Low';
const LEVEL_OF: Readonly<Record<GuardDutyLabel, Level>> = {
  Critical: 'critical',
  High: 'high',
  Medium: 'medium',
  Low: 'low',
};

export function levelOf(label: GuardDutyLabel): Level {
  return LEVEL_OF[label];
}

// ─── The file's schema ──────────────────────────────────────────────────────

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const CHANNEL = /^[CG][A-Z0-9]{2,}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+){1,3}-\d{1,2}$/;
const KEY_FIELDS: readonly KeyField[] = ['type', 'account', 'resource', 'region'];
const DEFAULT_BY: readonly KeyField[] = ['type', 'account', 'resource'];
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const MAX_WITHIN = 30 * DAY;
const MAX_REGEX = 200;
/** Longer values are not tested against a `regex`: bounds the work a hostile finding can cause. */
const MAX_REGEX_INPUT = 2000;
const MAX_EXPR = 4000;

const level = z.enum(['critical', 'high', 'medium', 'low', 'info'], {
  error: 'must be one of critical, high, medium, low, info',
});
const channel = z.string().regex(CHANNEL, 'must be a Slack channel id such as C0123456789');

/** YAML turns an unquoted id into a number and drops leading zeros: put them back. */
const accountId = z.preprocess(
  (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < 1e12 ? String(v).padStart(12, '0') : v),
  z.string().regex(ACCOUNT, 'must be a 12-digit AWS account id'),
);

const DURATION = /^(?:(\d{1,5})d)?(?:(\d{1,6})h)?(?:(\d{1,7})m)?(?:(\d{1,9})s)?$/;
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return Number(d) * DAY + Number(h) * 60 * MINUTE + Number(min) * MINUTE + Number(s) * 1000;
}

const duration = z.string({ error: 'must be a duration such as 30m, 24h or 7d' }).transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30m, 24h or 7d' });
    return z.NEVER;
  }
  if (ms > MAX_WITHIN) {
    ctx.addIssue({ code: 'custom', message: 'must be at most 30d' });
    return z.NEVER;
  }
  return ms;
});

const byFields = z
  .array(z.enum(['type', 'account', 'resource', 'region'], { error: 'must be type, account, resource or region' }))
  .refine((l) => new Set(l).size === l.length, 'must not list a field twice');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
});
const OPERATORS = ['equals', 'one_of', 'regex', 'cidr'] as const;
const PATH = /^[^.\s]+(\.[^.\s]+)*$/;

const fieldCondition = z
  .strictObject({
    path: z.string().max(300).regex(PATH, 'must be a dotted path such as service.action.actionType'),
    equals: scalar.optional(),
    one_of: z.array(scalar).min(1).max(1000).optional(),
    regex: z.string().min(1).max(MAX_REGEX, `must be at most ${MAX_REGEX} characters`).optional(),
    cidr: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string()).min(1).max(1000)).optional(),
  })
  .superRefine((f, ctx) => {
    const given = OPERATORS.filter((op) => op in f);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `needs exactly one of ${OPERATORS.join(', ')}${given.length ? ` (found ${given.join(', ')})` : ''}`,
      });
    }
    if (f.path.startsWith('detail.')) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'paths start inside the finding: drop the leading "detail."',
      });
    }
  });

const tagCondition = z.preprocess(
  (v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? [String(v)] : v),
  z
    .array(z.union([z.string(), z.number(), z.boolean()]).transform(String), {
      error: 'must be a tag value, a list of values, or "*"',
    })
    .min(1, 'must list at least one value (or "*" for any)'),
);

const severityRange = z
  .strictObject({ min: level.optional(), max: level.optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, 'needs min, max or both')
  .refine((r) => r.min === undefined || r.max === undefined || RANK[r.min] <= RANK[r.max], 'min must not be above max');

const ouPathPattern = z.string().superRefine((p, ctx) => {
  const segments = p.split('/');
  if (segments.some((s) => s === '' || s.trim() !== s)) {
    ctx.addIssue({ code: 'custom', message: 'must be an OU path such as Root/Sandbox or Root/Workloads/*' });
  } else if (segments[0] !== 'Root' && !segments[0]?.includes('*')) {
    ctx.addIssue({ code: 'custom', message: 'must start at the root, e.g. Root/Sandbox' });
  }
});

const matchSchema = z.strictObject({
  types: z.array(z.string().min(1).max(256)).min(1).optional(),
  severity: severityRange.optional(),
  accounts: z.array(accountId).min(1).optional(),
  ou_paths: z.array(ouPathPattern).min(1).optional(),
  regions: z.array(z.string().regex(REGION, 'must be an AWS region such as us-east-1')).min(1).optional(),
  resource_tags: z
    .record(z.string().min(1).max(128), tagCondition)
    .refine((r) => Object.keys(r).length > 0, 'needs at least one tag')
    .optional(),
  fields: z.array(fieldCondition).min(1).max(50).optional(),
  expr: z.string().min(1).max(MAX_EXPR).optional(),
});

const required = (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : 'must be text');

const ruleSchema = z
  .strictObject({
    name: z
      .string({ error: required })
      .regex(NAME, 'must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit'),
    description: z.string({ error: required }).trim().min(1, 'must say why the rule exists'),
    // `match:` with nothing under it reads as null in YAML: it matches everything.
    match: z.preprocess((v) => (v === null ? {} : v), matchSchema).optional(),
    suppress: z
      .strictObject({ reason: z.string().trim().min(1, 'must say why these findings need no card') })
      .optional(),
    severity: level.optional(),
    route: channel.optional(),
    also_notify: z.array(channel).min(1).optional(),
    page: z.boolean().optional(),
    stop: z.boolean().optional(),
    occurrences: z
      .strictObject({
        at_least: z.number().int().min(2).max(10000),
        within: duration,
        by: byFields.optional(),
      })
      .optional(),
    first_only: z
      .preprocess(
        (v) => (v === true || v === null ? {} : v === false ? undefined : v),
        z
          .strictObject(
            { within: duration.optional(), by: byFields.optional() },
            {
              error: 'must be true or {within, by}',
            },
          )
          .optional(),
      )
      .optional(),
  })
  .superRefine((r, ctx) => {
    const acts =
      r.suppress !== undefined ||
      r.severity !== undefined ||
      r.route !== undefined ||
      r.also_notify !== undefined ||
      r.page === true ||
      r.first_only !== undefined;
    if (!acts) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs at least one action: suppress, severity, route, also_notify, page: true or first_only',
      });
    }
    if (r.occurrences && r.first_only) {
      ctx.addIssue({
        code: 'custom',
        path: ['first_only'],
        message: 'cannot be combined with occurrences in one rule: write two rules',
      });
    }
    if (r.suppress) {
      for (const k of ['route', 'also_notify', 'first_only'] as const) {
        if (r[k] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: 'cannot be combined with suppress: a suppressed alert gets no card',
          });
        }
      }
      if (r.page === true) {
        ctx.addIssue({
          code: 'custom',
          path: ['page'],
          message: 'cannot be combined with suppress: a suppressed alert pages nobody',
        });
      }
    }
  });

export type RuleSpec = z.output<typeof ruleSchema>;

const fileSchema = z.strictObject(
  { rules: z.preprocess((v) => (v === null || v === undefined ? [] : v), z.array(z.unknown()).max(1000)) },
  { error: 'must be a map with a `rules:` list' },
);

/** Every key the language knows, for "did you mean" hints on typos. */
const KNOWN_KEYS = [
  'rules',
  ...Object.keys(ruleSchema.shape),
  ...Object.keys(matchSchema.shape),
  'path',
  ...OPERATORS,
  'min',
  'max',
  'reason',
  'at_least',
  'within',
  'by',
];

// ─── Compiled form ──────────────────────────────────────────────────────────

/** Per-evaluation scratch: derived views of the finding, computed at most once. */
interface EvalState {
  readonly ctx: RuleContext;
  readonly originalRank: number;
  tags: Array<{ key: string; value: string }> | undefined;
  ouSegments: string[] | null | undefined;
  cel: Record<string, unknown> | undefined;
  /** Where predicates report CEL errors; undefined when nobody listens (statefulKeys). */
  errors: Array<{ rule: string; error: string }> | undefined;
}

type Predicate = (s: EvalState, rule: string) => boolean;

export interface CompiledRule {
  readonly name: string;
  readonly description: string;
  /** 1-based position in the file. */
  readonly position: number;
  /** The rule as validated (durations in ms, account ids as 12-digit strings). */
  readonly spec: RuleSpec;
  readonly stateful?: { kind: StatefulKind; withinMs: number; by: readonly KeyField[]; atLeast: number } | undefined;
  /** The `match` conditions, cheapest first. Empty: matches every finding. */
  readonly predicates: readonly Predicate[];
}

export interface CompiledRules {
  readonly rules: readonly CompiledRule[];
  /** File path or label, for messages. */
  readonly source: string;
}

export interface CompileOptions {
  /** Maps a path into the input (e.g. ['rules', 2, 'match', 'expr']) to a line number, for messages. */
  locate?: ((path: ReadonlyArray<string | number>) => number | undefined) | undefined;
}

type Path = ReadonlyArray<string | number>;
interface Problem {
  path: Path;
  message: string;
}

export function compileRules(input: unknown, source: string, options: CompileOptions = {}): CompiledRules {
  const problems: Problem[] = [];
  const top = fileSchema.safeParse(input === null || input === undefined ? {} : input);
  if (!top.success) {
    throw new RulesError(source, formatProblems(zodProblems(top.error, []), input, options));
  }
  const rawRules = top.data.rules;
  const rules: CompiledRule[] = [];
  const seen = new Map<string, number>();
  rawRules.forEach((raw, index) => {
    const at = ['rules', index] as const;
    const parsed = ruleSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, at));
      return;
    }
    const spec = parsed.data;
    const folded = spec.name.toLowerCase();
    const earlier = seen.get(folded);
    if (earlier !== undefined) {
      problems.push({ path: [...at, 'name'], message: `is used by rule #${earlier + 1} too: names must be unique` });
      return;
    }
    seen.set(folded, index);
    const compiled = compileRule(spec, index, (path, message) => problems.push({ path: [...at, ...path], message }));
    if (compiled) rules.push(compiled);
  });
  if (problems.length > 0) throw new RulesError(source, formatProblems(problems, input, options));
  return { rules, source };
}

function zodProblems(error: z.ZodError, prefix: Path): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = closestKey(key);
        out.push({ path: [...path, key], message: `unknown key${hint ? ` (did you mean ${hint}?)` : ''}` });
      }
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function closestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const known of KNOWN_KEYS) {
    const d = editDistance(key.toLowerCase(), known);
    if (d <= 2 && (!best || d < best.distance)) best = { key: known, distance: d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** `rule "prod-raise" (#2): match.fields[0].regex: invalid regex …`, with `line N: ` in front when known. */
function formatProblems(problems: Problem[], input: unknown, options: CompileOptions): string[] {
  const rawRules = isObj(input) && Array.isArray(input.rules) ? input.rules : [];
  return problems.map(({ path, message }) => {
    const line = options.locate?.(path);
    const where = line === undefined ? '' : `line ${line}: `;
    if (path[0] === 'rules' && typeof path[1] === 'number') {
      const raw: unknown = rawRules[path[1]];
      const name = isObj(raw) && typeof raw.name === 'string' ? raw.name : undefined;
      const rule = name === undefined ? `rule #${path[1] + 1}` : `rule ${JSON.stringify(name)} (#${path[1] + 1})`;
      const field = formatPath(path.slice(2));
      return `${where}${rule}: ${field ? `${field}: ` : ''}${message}`;
    }
    const field = formatPath(path);
    return `${where}${field ? `${field}: ` : ''}${message}`;
  });
}

function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function compileRule(
  spec: RuleSpec,
  index: number,
  report: (path: Path, message: string) => void,
): CompiledRule | undefined {
  const predicates: Predicate[] = [];
  const before = { failed: false };
  const fail = (path: Path, message: string) => {
    before.failed = true;
    report(path, message);
  };
  const m = spec.match ?? {};
  if (m.types) predicates.push(typesPredicate(m.types));
  if (m.severity) {
    const min = m.severity.min === undefined ? 0 : RANK[m.severity.min];
    const max = m.severity.max === undefined ? 4 : RANK[m.severity.max];
    predicates.push((s) => s.originalRank >= min && s.originalRank <= max);
  }
  if (m.accounts) {
    const accounts = new Set(m.accounts);
    predicates.push((s) => accounts.has(s.ctx.finding.accountId));
  }
  if (m.regions) {
    const regions = new Set(m.regions);
    predicates.push((s) => regions.has(s.ctx.finding.region));
  }
  if (m.ou_paths) predicates.push(ouPredicate(m.ou_paths));
  if (m.resource_tags) predicates.push(tagsPredicate(m.resource_tags));
  m.fields?.forEach((f, i) => {
    const p = fieldPredicate(f, (op, message) => fail(['match', 'fields', i, op], message));
    if (p) predicates.push(p);
  });
  if (m.expr !== undefined) {
    const p = celPredicate(m.expr, (message) => fail(['match', 'expr'], message));
    if (p) predicates.push(p);
  }
  if (before.failed) return undefined;

  let stateful: CompiledRule['stateful'];
  if (spec.occurrences) {
    stateful = {
      kind: 'occurrences',
      withinMs: spec.occurrences.within,
      by: spec.occurrences.by ?? DEFAULT_BY,
      atLeast: spec.occurrences.at_least,
    };
  } else if (spec.first_only) {
    stateful = {
      kind: 'first_only',
      withinMs: spec.first_only.within ?? DAY,
      by: spec.first_only.by ?? DEFAULT_BY,
      atLeast: 1,
    };
  }
  return { name: spec.name, description: spec.description, position: index + 1, spec, stateful, predicates };
}

// ─── Conditions ─────────────────────────────────────────────────────────────

/** `*` matches any run of characters (including none); everything else is literal and case-sensitive. */
export function wildcardMatcher(pattern: string): (text: string) => boolean {
  if (!pattern.includes('*')) return (t) => t === pattern;
  const parts = pattern.split('*');
  if (parts.length === 2) {
    const [head = '', tail = ''] = parts;
    if (tail === '') return (t) => t.startsWith(head);
    if (head === '') return (t) => t.endsWith(tail);
    return (t) => t.length >= head.length + tail.length && t.startsWith(head) && t.endsWith(tail);
  }
  const re = new RegExp(`^${parts.map(escapeRegExp).join('[^]*')}$`);
  return (t) => re.test(t);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function typesPredicate(patterns: readonly string[]): Predicate {
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const wild = patterns.filter((p) => p.includes('*')).map(wildcardMatcher);
  return (s) => {
    const type = s.ctx.finding.type;
    if (exact.has(type)) return true;
    for (const w of wild) if (w(type)) return true;
    return false;
  };
}

/**
 * An OU pattern covers its OU and every OU below it: `Root/Sandbox` matches
 * `Root/Sandbox` and `Root/Sandbox/Team-a`; `*` matches within one segment.
 */
function ouPredicate(patterns: readonly string[]): Predicate {
  const compiled = patterns.map((p) => p.split('/').map(wildcardMatcher));
  return (s) => {
    if (s.ouSegments === undefined) {
      const ou = s.ctx.account?.ouPath;
      s.ouSegments = typeof ou === 'string' && ou !== '' ? ou.split('/').filter((x) => x !== '') : null;
    }
    const path = s.ouSegments;
    if (path === null) return false;
    return compiled.some((segs) => segs.length <= path.length && segs.every((seg, i) => seg(path[i] ?? '')));
  };
}

function tagsPredicate(conditions: Record<string, string[]>): Predicate {
  const conds = Object.entries(conditions).map(([key, values]) => ({
    key,
    any: values.includes('*'),
    values: new Set(values),
  }));
  return (s) => {
    s.tags ??= resourceTagsOf(s.ctx.detail);
    const tags = s.tags;
    return conds.every((c) => tags.some((t) => t.key === c.key && (c.any || c.values.has(t.value))));
  };
}

type FieldSpec = NonNullable<NonNullable<RuleSpec['match']>['fields']>[number];

function fieldPredicate(f: FieldSpec, fail: (op: string, message: string) => void): Predicate | undefined {
  const segments = f.path.split('.');
  let test: ((v: unknown) => boolean) | undefined;
  if ('equals' in f) {
    const expected = f.equals ?? null;
    test = expected === null ? (v) => v === null : (v) => scalarText(v) === String(expected);
  } else if (f.one_of) {
    const nullOk = f.one_of.includes(null);
    const texts = new Set(f.one_of.filter((x) => x !== null).map(String));
    test = (v) => (v === null ? nullOk : texts.has(scalarText(v) ?? '\u0000'));
  } else if (f.regex !== undefined) {
    const re = compileRegex(f.regex, (message) => fail('regex', message));
    if (!re) return undefined;
    test = (v) => {
      const text = scalarText(v);
      return text !== undefined && text.length <= MAX_REGEX_INPUT && re.test(text);
    };
  } else if (f.cidr) {
    const list = compileCidrs(f.cidr, (message) => fail('cidr', message));
    if (!list) return undefined;
    test = (v) => ipInList(list, v);
  }
  if (!test) return undefined;
  const t = test;
  return (s) => anyValueAt(s.ctx.detail, segments, 0, t, 0);
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}

const MAX_ARRAY_NESTING = 8;

/**
 * Whether any value at the dotted path passes the test. An array on the way
 * fans out (any element may match) unless the next segment is an index.
 */
function anyValueAt(
  node: unknown,
  segs: readonly string[],
  i: number,
  test: (v: unknown) => boolean,
  arrays: number,
): boolean {
  if (Array.isArray(node)) {
    if (arrays >= MAX_ARRAY_NESTING) return false;
    const seg = segs[i];
    if (seg !== undefined && /^\d+$/.test(seg)) return anyValueAt(node[Number(seg)], segs, i + 1, test, arrays + 1);
    for (const el of node) if (anyValueAt(el, segs, i, test, arrays + 1)) return true;
    return false;
  }
  if (i === segs.length) return node !== undefined && test(node);
  if (typeof node !== 'object' || node === null) return false;
  const seg = segs[i] as string;
  // Own properties only: a path such as `constructor` must not reach the prototype.
  if (!Object.hasOwn(node, seg)) return false;
  return anyValueAt((node as Record<string, unknown>)[seg], segs, i + 1, test, arrays);
}

function compileRegex(pattern: string, fail: (message: string) => void): RegExp | undefined {
  const risky = nestedQuantifier(pattern);
  if (risky) {
    fail(`${risky}: nested unbounded quantifiers can take exponential time; use a bounded {n,m} or rewrite`);
    return undefined;
  }
  try {
    return new RegExp(pattern);
  } catch (err) {
    fail(`invalid regex: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`);
    return undefined;
  }
}

/**
 * Finds a group that contains an unbounded quantifier and is itself repeated
 * without bound, like `(a+)+` or `(\w*x)*`: the classic catastrophic shapes.
 * A heuristic, not a proof; the length limits bound the rest.
 */
function nestedQuantifier(p: string): string | undefined {
  const stack: Array<{ start: number; unbounded: boolean }> = [];
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ start: i, unbounded: false });
    else if (c === ')') {
      const group = stack.pop();
      const next = unboundedQuantifierAt(p, i + 1);
      if (group?.unbounded && next) return p.slice(group.start, i + 1 + next);
      if (group?.unbounded || next) {
        const parent = stack[stack.length - 1];
        if (parent) parent.unbounded = true;
      }
    } else if (unboundedQuantifierAt(p, i)) {
      const top = stack[stack.length - 1];
      if (top) top.unbounded = true;
    }
  }
  return undefined;
}

/** Length of an unbounded quantifier (`+`, `*`, `{n,}`) starting at i, or 0. */
function unboundedQuantifierAt(p: string, i: number): number {
  const c = p[i];
  if (c === '+' || c === '*') return 1;
  if (c === '{') {
    const m = /^\{\d+,\}/.exec(p.slice(i, i + 12));
    if (m) return m[0].length;
  }
  return 0;
}

interface CidrList {
  blocks: BlockList;
}

function compileCidrs(cidrs: readonly string[], fail: (message: string) => void): CidrList | undefined {
  const blocks = new BlockList();
  let ok = true;
  for (const raw of cidrs) {
    const text = raw.trim();
    const [address = '', prefixText, extra] = text.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (family === 0 || extra !== undefined || address.includes('%') || !(prefix >= 0 && prefix <= bits)) {
      fail(`${JSON.stringify(raw)} is not an IPv4 or IPv6 network such as 198.51.100.0/24 or 2001:db8::/32`);
      ok = false;
      continue;
    }
    blocks.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return ok ? { blocks } : undefined;
}

/** IPv4 addresses and their IPv4-mapped IPv6 form (::ffff:a.b.c.d) are the same address to BlockList. */
function ipInList(list: CidrList, v: unknown): boolean {
  if (typeof v !== 'string' || v.length > 64) return false;
  const family = isIP(v);
  if (family === 0) return false;
  try {
    return list.blocks.check(v, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    // Whatever BlockList cannot place is not inside.
    return false;
  }
}

/** The address `ip` is inside one of the networks; throws on a network that is not one. */
export function ipInCidrs(ip: string, cidrs: readonly string[]): boolean {
  const list = compileCidrs(cidrs, (message) => {
    throw new Error(message);
  });
  return list !== undefined && ipInList(list, ip);
}

// ─── CEL ────────────────────────────────────────────────────────────────────

export const CEL_VARIABLES = ['finding', 'type', 'severity', 'severity_label', 'account', 'region', 'resource_tags'];
/** Identifiers CEL itself defines (type names), allowed beside our variables. */
const CEL_TYPE_NAMES = ['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn'];

let celEnvironment: CelEnv | undefined;
function cel(): CelEnv {
  // Immutable and stateless; built on first use so that files without `expr` pay nothing.
  celEnvironment ??= celEnv({ funcs: celStrings });
  return celEnvironment;
}

type CelProgram = (bindings: Record<string, unknown>) => unknown;

function celPredicate(source: string, fail: (message: string) => void): Predicate | undefined {
  let parsed: ReturnType<typeof parseCel>;
  try {
    parsed = parseCel(source);
  } catch (err) {
    fail(`does not compile: ${(err as Error).message.replace(/^<input>:/, '')}`);
    return undefined;
  }
  const unknown = unknownNames(parsed.expr, cel());
  if (unknown.length > 0) {
    fail(`does not compile: ${unknown.join('; ')} (variables: ${CEL_VARIABLES.join(', ')})`);
    return undefined;
  }
  const program = planCel(cel(), parsed) as unknown as CelProgram;
  return (s, rule) => {
    s.cel ??= celBindings(s);
    let result: unknown;
    try {
      result = program(s.cel);
    } catch (err) {
      // The library returns errors as values; a throw would be a bug there or input it cannot represent.
      s.errors?.push({ rule, error: `expr failed: ${(err as Error).message}` });
      return false;
    }
    if (isCelError(result)) {
      s.errors?.push({ rule, error: `expr failed: ${result.message}` });
      return false;
    }
    if (typeof result !== 'boolean') {
      s.errors?.push({ rule, error: `expr must evaluate to a bool, got ${describeCel(result)}` });
      return false;
    }
    return result;
  };
}

function describeCel(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'a list, map or message' : typeof v;
}

interface CelExprNode {
  exprKind: { case: string | undefined; value?: unknown };
}

/**
 * Free identifiers that are not our variables, and calls of functions the
 * environment lacks. CEL would only report them when the expression runs,
 * i.e. as a silent "no match" in production; we want them at load time.
 */
function unknownNames(root: CelExprNode, env: CelEnv): string[] {
  const found = new Set<string>();
  const known = new Set([...CEL_VARIABLES, ...CEL_TYPE_NAMES]);
  const walk = (node: CelExprNode | undefined, bound: ReadonlySet<string>): void => {
    if (!node) return;
    const kind = node.exprKind;
    const v = kind.value as Record<string, unknown>;
    switch (kind.case) {
      case 'identExpr': {
        const name = v.name as string;
        if (!bound.has(name) && !known.has(name)) found.add(`unknown variable ${name}`);
        return;
      }
      case 'selectExpr':
        walk(v.operand as CelExprNode, bound);
        return;
      case 'callExpr': {
        const fn = v.function as string;
        if (/^[A-Za-z]/.test(fn) && !env.funcs.find(fn)) found.add(`unknown function ${fn}`);
        walk(v.target as CelExprNode | undefined, bound);
        for (const a of v.args as CelExprNode[]) walk(a, bound);
        return;
      }
      case 'listExpr':
        for (const e of v.elements as CelExprNode[]) walk(e, bound);
        return;
      case 'structExpr':
        for (const e of v.entries as Array<{ keyKind: { case: string; value: unknown }; value: CelExprNode }>) {
          if (e.keyKind.case === 'mapKey') walk(e.keyKind.value as CelExprNode, bound);
          walk(e.value, bound);
        }
        return;
      case 'comprehensionExpr': {
        walk(v.iterRange as CelExprNode, bound);
        walk(v.accuInit as CelExprNode, bound);
        const inner = new Set(bound);
        for (const k of ['iterVar', 'iterVar2', 'accuVar'])
          if (typeof v[k] === 'string' && v[k]) inner.add(v[k] as string);
        walk(v.loopCondition as CelExprNode, inner);
        walk(v.loopStep as CelExprNode, inner);
        walk(v.result as CelExprNode, inner);
        return;
      }
      default:
        return;
    }
  };
  walk(root, new Set());
  return [...found];
}

function celBindings(s: EvalState): Record<string, unknown> {
  const { finding, account } = s.ctx;
  s.tags ??= resourceTagsOf(s.ctx.detail);
  const resourceTags: Record<string, string> = {};
  for (const t of s.tags) if (!Object.hasOwn(resourceTags, t.key)) resourceTags[t.key] = t.value;
  const acct: Record<string, unknown> = { id: account?.id ?? finding.accountId, tags: account?.tags ?? {} };
  if (account?.name !== undefined) acct.name = account.name;
  if (account?.ouPath !== undefined) acct.ou_path = account.ouPath;
  return {
    // CEL has no "undefined": a detail that is not a map is exposed as an empty one.
    finding: isObj(s.ctx.detail) ? s.ctx.detail : {},
    type: finding.type,
    severity: finding.severity,
    severity_label: LEVELS[s.originalRank],
    account: acct,
    region: finding.region,
    resource_tags: resourceTags,
  };
}

// ─── Resource tags and keys ─────────────────────────────────────────────────

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const MAX_TAG_DEPTH = 4;
const MAX_TAGS = 500;
const MAX_TAG_NODES = 2000;

/**
 * Every `[{key, value}]` list in the finding's resource, up to four objects
 * deep: instanceDetails.tags, s3BucketDetails[].tags, eksClusterDetails.tags,
 * ecsClusterDetails.tags, ecsClusterDetails.taskDetails.tags,
 * rdsDbInstanceDetails.tags, lambdaDetails.tags, and whatever GuardDuty adds.
 * Keys keep their case; values are text ('' when absent).
 */
export function resourceTagsOf(detail: unknown): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  if (!isObj(detail)) return out;
  let visited = 0;
  const walk = (node: unknown, depth: number): void => {
    if (++visited > MAX_TAG_NODES || out.length >= MAX_TAGS) return;
    if (Array.isArray(node)) {
      if (node.length > 0 && node.every(isTag)) {
        for (const t of node) {
          if (out.length >= MAX_TAGS) return;
          const key = (t.key ?? t.Key) as string;
          const value = t.value ?? t.Value;
          out.push({ key, value: scalarText(value) ?? '' });
        }
        return;
      }
      for (const el of node) walk(el, depth);
      return;
    }
    if (!isObj(node) || depth >= MAX_TAG_DEPTH) return;
    for (const key of Object.keys(node)) walk(node[key], depth + 1);
  };
  walk(detail.resource, 0);
  return out;
}

function isTag(v: unknown): v is Obj {
  return isObj(v) && (typeof v.key === 'string' || typeof v.Key === 'string');
}

function firstString(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === 'string' && v !== '') return v;
  return undefined;
}

/**
 * The id that names "the same resource" across findings: instance id,
 * access key id, bucket name, cluster name, … or the card's resource label.
 */
export function defaultResourceKey(detail: unknown, finding: Finding): string {
  const r = isObj(detail) && isObj(detail.resource) ? detail.resource : {};
  const get = (o: unknown, k: string): unknown => (isObj(o) ? o[k] : undefined);
  const firstBucket = Array.isArray(r.s3BucketDetails) ? r.s3BucketDetails[0] : undefined;
  let key: string | undefined;
  switch (r.resourceType) {
    case 'Instance':
      key = firstString(get(r.instanceDetails, 'instanceId'));
      break;
    case 'AccessKey':
      key = firstString(get(r.accessKeyDetails, 'accessKeyId'), get(r.accessKeyDetails, 'userName'));
      break;
    case 'S3Bucket':
      key = firstString(get(firstBucket, 'name'), get(firstBucket, 'arn'));
      break;
    case 'EKSCluster':
      key = firstString(get(r.eksClusterDetails, 'name'), get(r.eksClusterDetails, 'arn'));
      break;
    case 'ECSCluster':
      key = firstString(get(r.ecsClusterDetails, 'name'), get(r.ecsClusterDetails, 'arn'));
      break;
    case 'RDSDBInstance':
      key = firstString(
        get(r.rdsDbInstanceDetails, 'dbInstanceIdentifier'),
        get(r.rdsDbInstanceDetails, 'dbInstanceArn'),
      );
      break;
    case 'Lambda':
      key = firstString(get(r.lambdaDetails, 'functionArn'), get(r.lambdaDetails, 'functionName'));
      break;
  }
  return key ?? finding.resource.id ?? finding.resource.label;
}

// ─── Evaluation ─────────────────────────────────────────────────────────────

function newState(ctx: RuleContext, errors: EvalState['errors']): EvalState {
  return {
    ctx,
    originalRank: RANK[levelOf(ctx.finding.severityLabel)],
    tags: undefined,
    ouSegments: undefined,
    cel: undefined,
    errors,
  };
}

function holds(rule: CompiledRule, s: EvalState): boolean {
  for (const p of rule.predicates) if (!p(s, rule.name)) return false;
  return true;
}

/** `%`, `|` and `=` are escaped so that no two different keys print alike. */
function keyPart(v: string): string {
  return v.replace(/[%|=]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function stateKey(by: readonly KeyField[], ctx: RuleContext): string {
  const parts: string[] = [];
  // Fixed order, whatever order `by` lists them in, so that reordering it keeps the counts.
  for (const field of KEY_FIELDS) {
    if (!by.includes(field)) continue;
    const value =
      field === 'type'
        ? ctx.finding.type
        : field === 'account'
          ? ctx.finding.accountId
          : field === 'resource'
            ? ctx.resourceKey
            : ctx.finding.region;
    parts.push(`${field}=${keyPart(value)}`);
  }
  return parts.join('|');
}

/**
 * Phase one: the counts the store must look up. One entry per rule with a
 * stateful condition whose `match` holds, whatever rules before it decide:
 * counts measure what GuardDuty reported, not what we showed.
 */
export function statefulKeys(compiled: CompiledRules, ctx: RuleContext): StatefulKey[] {
  const s = newState(ctx, undefined);
  const out: StatefulKey[] = [];
  for (const rule of compiled.rules) {
    if (!rule.stateful || !holds(rule, s)) continue;
    out.push({
      rule: rule.name,
      kind: rule.stateful.kind,
      key: stateKey(rule.stateful.by, ctx),
      withinMs: rule.stateful.withinMs,
    });
  }
  return out;
}

/**
 * Phase two: runs the rules in file order. `counts` holds, per occurrences
 * rule, how many alerts with that rule and key were seen in its window,
 * including this one; a missing count reads as 1 (only this alert).
 */
export function evaluateRules(
  compiled: CompiledRules,
  ctx: RuleContext,
  counts: ReadonlyMap<string, number> = new Map(),
): RuleOutcome {
  const errors: RuleOutcome['errors'] = [];
  const s = newState(ctx, errors);
  const original = LEVELS[s.originalRank] as Level;
  const out: RuleOutcome = {
    matched: [],
    originalSeverity: original,
    finalSeverity: original,
    severityChanges: [],
    alsoNotify: [],
    page: false,
    occurrences: [],
    errors,
  };
  const notify: string[] = [];
  for (const rule of compiled.rules) {
    if (!holds(rule, s)) continue;
    const spec = rule.spec;
    const stateful = rule.stateful;
    if (stateful?.kind === 'occurrences') {
      const count = counts.get(rule.name) ?? 1;
      if (count < stateful.atLeast) continue;
      out.occurrences.push({ rule: rule.name, key: stateKey(stateful.by, ctx), count });
    }
    out.matched.push(rule.name);
    if (spec.severity !== undefined && spec.severity !== out.finalSeverity) {
      out.severityChanges.push({ rule: rule.name, from: out.finalSeverity, to: spec.severity });
      out.finalSeverity = spec.severity;
    }
    if (spec.route !== undefined) out.route = { rule: rule.name, channelId: spec.route };
    if (spec.also_notify) for (const c of spec.also_notify) if (!notify.includes(c)) notify.push(c);
    if (spec.page === true) out.page = true;
    if (stateful?.kind === 'first_only') {
      out.firstOnly = { rule: rule.name, key: stateKey(stateful.by, ctx), withinMs: stateful.withinMs };
    }
    if (spec.suppress) {
      out.suppressed = { rule: rule.name, reason: spec.suppress.reason };
      break;
    }
    if (spec.stop === true) break;
  }
  const routed = out.route?.channelId;
  out.alsoNotify = routed === undefined ? notify : notify.filter((c) => c !== routed);
  return out;
}

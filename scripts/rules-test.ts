/**
 * `npm run rules:test`: runs the cases in config/rules.test.yml against the
 * rules in config/rules.yml, in the spirit of `opa test`. Each case names a
 * finding (a fixture file or an inline event), optional overrides, the
 * account it belongs to and the counts the store would report, and what the
 * rules must decide. Fails on any failed case or an invalid file.
 *
 *   node dist/scripts/rules-test.js [tests.yml] [rules.yml]
 *
 * The rules file is, in order: the second argument, RULES_FILE, config/rules.yml.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { z } from 'zod';
import { loadRulesFile, readYaml } from '../app/config/rules-file';
import { parseEvent } from '../app/domain/guardduty-event';
import {
  type CompiledRules,
  defaultResourceKey,
  evaluateRules,
  type RuleContext,
  type RuleOutcome,
  RulesError,
} from '../app/domain/rules';

const ROOT = resolve(__dirname, '..', '..');
const testsPath = resolve(process.argv[2] ?? resolve(ROOT, 'config', 'rules.test.yml'));
const rulesPath = resolve(process.argv[3] ?? process.env.RULES_FILE ?? resolve(ROOT, 'config', 'rules.yml'));

const level = z.enum(['critical', 'high', 'medium', 'low', 'info']);
const channel = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123456789');

const caseSchema = z.strictObject({
  name: z.string().min(1),
  finding: z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
    error: 'must be a fixture path (relative to the tests file) or an inline event',
  }),
  set: z.record(z.string().min(1), z.unknown()).optional(),
  account: z
    .strictObject({
      id: z
        .string()
        .regex(/^\d{12}$/, 'must be a 12-digit AWS account id (quote it)')
        .optional(),
      name: z.string().optional(),
      ou_path: z.string().optional(),
      tags: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  counts: z.record(z.string(), z.number().int().min(1)).optional(),
  expect: z.strictObject({
    suppressed: z.union([z.boolean(), z.string()]).optional(),
    severity: level.optional(),
    route: channel.nullable().optional(),
    also_notify: z.array(channel).optional(),
    page: z.boolean().optional(),
    matched: z.array(z.string()).optional(),
    first_only: z.boolean().optional(),
  }),
});
type TestCase = z.output<typeof caseSchema>;
const testsSchema = z.strictObject(
  { cases: z.array(z.unknown()).min(1) },
  { error: 'must be a map with a `cases:` list' },
);

/** Sets a value at a dotted path, creating maps on the way; numeric segments index lists. */
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.');
  let node: Record<string, unknown> | unknown[] = root;
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    const key: string | number = Array.isArray(node) && /^\d+$/.test(seg) ? Number(seg) : seg;
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[key] = value;
      return;
    }
    let next = container[key];
    if (typeof next !== 'object' || next === null) {
      next = /^\d+$/.test(segs[i + 1] ?? '') ? [] : {};
      container[key] = next;
    }
    node = next as Record<string, unknown> | unknown[];
  });
}

/** A bare GuardDuty finding (as in ../shared/fixtures) is wrapped the way EventBridge delivers it. */
function asEvent(value: unknown): Record<string, unknown> {
  const v = value as Record<string, unknown>;
  if ('detail' in v || 'detail-type' in v) return v;
  return {
    version: '0',
    id: '00000000-0000-4000-8000-000000000000',
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: '999988887777',
    time: '2024-01-01T00:00:00Z',
    region: typeof v.region === 'string' ? v.region : 'us-east-1',
    resources: [],
    detail: v,
  };
}

function loadEvent(c: TestCase): Record<string, unknown> {
  const source =
    typeof c.finding === 'string'
      ? (JSON.parse(readFileSync(resolve(dirname(testsPath), c.finding), 'utf8')) as unknown)
      : c.finding;
  const event = structuredClone(asEvent(source));
  for (const [path, value] of Object.entries(c.set ?? {})) setPath(event, path, value);
  return event;
}

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Differences between what the case expects and what the rules decided, one line each. */
function diff(expect: TestCase['expect'], o: RuleOutcome): string[] {
  const out: string[] = [];
  const check = (field: string, expected: unknown, actual: unknown) => {
    if (expected !== undefined && JSON.stringify(expected) !== JSON.stringify(actual)) {
      out.push(`${field}: expected ${show(expected)}, got ${show(actual)}`);
    }
  };
  if (expect.suppressed !== undefined) {
    check('suppressed', expect.suppressed, typeof expect.suppressed === 'string' ? o.suppressed?.rule : !!o.suppressed);
  }
  check('severity', expect.severity, o.finalSeverity);
  if (expect.route !== undefined) check('route', expect.route, o.route?.channelId ?? null);
  if (expect.also_notify) check('also_notify', [...expect.also_notify].sort(), [...o.alsoNotify].sort());
  check('page', expect.page, o.page);
  check('matched', expect.matched, o.matched);
  if (expect.first_only !== undefined) check('first_only', expect.first_only, o.firstOnly !== undefined);
  return out;
}

/** Rule names a case mentions that the rules file does not have: a typo, or a renamed rule. */
function unknownRules(c: TestCase, names: ReadonlySet<string>): string[] {
  const mentioned = [
    ...Object.keys(c.counts ?? {}),
    ...(c.expect.matched ?? []),
    ...(typeof c.expect.suppressed === 'string' ? [c.expect.suppressed] : []),
  ];
  return [...new Set(mentioned.filter((n) => !names.has(n)))].map((n) => `no rule is named ${JSON.stringify(n)}`);
}

function runCase(
  c: TestCase,
  rules: CompiledRules,
  names: ReadonlySet<string>,
): { problems: string[]; outcome?: RuleOutcome } {
  const unknown = unknownRules(c, names);
  if (unknown.length > 0) return { problems: unknown };
  let event: Record<string, unknown>;
  try {
    event = loadEvent(c);
  } catch (err) {
    return { problems: [`finding cannot be read: ${(err as Error).message}`] };
  }
  const parsed = parseEvent(event);
  if (parsed.kind === 'unsupported')
    return { problems: [`not a GuardDuty finding: ${parsed.source} / ${parsed.detailType}`] };
  if (parsed.kind === 'invalid')
    return { problems: parsed.issues.map((i) => `invalid event: ${i.path}: ${i.message}`) };
  const { finding } = parsed;
  const a = c.account;
  const ctx: RuleContext = {
    finding,
    detail: event.detail,
    account: a ? { id: a.id ?? finding.accountId, name: a.name, ouPath: a.ou_path, tags: a.tags ?? {} } : undefined,
    resourceKey: defaultResourceKey(event.detail, finding),
  };
  const outcome = evaluateRules(rules, ctx, new Map(Object.entries(c.counts ?? {})));
  return { problems: diff(c.expect, outcome), outcome };
}

function main(): number {
  const rel = (p: string) => relative(process.cwd(), p) || p;
  let rules: CompiledRules;
  let cases: TestCase[];
  try {
    rules = loadRulesFile(rulesPath);
    const { value, locate } = readYaml(readFileSync(testsPath, 'utf8'), testsPath);
    const top = testsSchema.safeParse(value);
    if (!top.success) {
      throw new RulesError(
        testsPath,
        top.error.issues.map(
          (i) => `line ${locate(i.path.map(String)) ?? '?'}: ${i.path.join('.') || '(file)'}: ${i.message}`,
        ),
      );
    }
    const problems: string[] = [];
    cases = [];
    top.data.cases.forEach((raw, index) => {
      const parsed = caseSchema.safeParse(raw);
      if (parsed.success) {
        cases.push(parsed.data);
        return;
      }
      for (const issue of parsed.error.issues) {
        const path = ['cases', index, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
        const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
        problems.push(
          `line ${locate(path) ?? '?'}: case #${index + 1}: ${issue.path.join('.')}: ${issue.message}${keys}`,
        );
      }
    });
    if (problems.length > 0) throw new RulesError(testsPath, problems);
  } catch (err) {
    if (!(err instanceof RulesError || (err as NodeJS.ErrnoException).code)) throw err;
    process.stderr.write(`rules:test: ${(err as Error).message}\n`);
    return 1;
  }

  const names = new Set(rules.rules.map((r) => r.name));
  const exercised = new Set<string>();
  let failed = 0;
  for (const c of cases) {
    const { problems, outcome } = runCase(c, rules, names);
    for (const m of outcome?.matched ?? []) exercised.add(m);
    if (problems.length === 0) {
      process.stdout.write(`ok    ${c.name}\n`);
    } else {
      failed++;
      process.stdout.write(`FAIL  ${c.name}\n${problems.map((p) => `        ${p}\n`).join('')}`);
    }
    for (const e of outcome?.errors ?? []) process.stdout.write(`        note: rule ${e.rule}: ${e.error}\n`);
  }
  const unexercised = rules.rules.filter((r) => !exercised.has(r.name)).map((r) => r.name);
  if (unexercised.length > 0) {
    process.stdout.write(`note: no case matches ${unexercised.join(', ')}\n`);
  }
  process.stdout.write(
    `rules:test: ${cases.length - failed} passed, ${failed} failed (${rules.rules.length} rules in ${rel(rulesPath)}, cases in ${rel(testsPath)})\n`,
  );
  return failed > 0 ? 1 : 0;
}

process.exitCode = main();

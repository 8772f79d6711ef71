import fc from 'fast-check';
import { parseEvent } from '../../app/domain/guardduty-event';
import {
  type CompiledRules,
  compileRules,
  defaultResourceKey,
  evaluateRules,
  ipInCidrs,
  levelOf,
  type RuleContext,
  RulesError,
  resourceTagsOf,
  statefulKeys,
} from '../../app/domain/rules';
import { guardDutyFindings, type Json, wrapFinding } from '../support/fixtures';

const FIXTURES = guardDutyFindings();

/** A real fixture finding of this type, deep-copied and with overrides applied. */
function fixture(type: string, overrides: Json = {}): Json {
  const found = FIXTURES.find((f) => f.finding.type === type);
  if (!found) throw new Error(`no fixture of type ${type}`);
  return { ...structuredClone(found.finding), ...overrides };
}

function ctxOf(detail: Json, account?: RuleContext['account']): RuleContext {
  const parsed = parseEvent(wrapFinding(detail));
  if (parsed.kind !== 'finding') throw new Error(`fixture does not parse: ${JSON.stringify(parsed)}`);
  return { finding: parsed.finding, detail, account, resourceKey: defaultResourceKey(detail, parsed.finding) };
}

function rules(...list: unknown[]): CompiledRules {
  return compileRules({ rules: list }, 'test');
}

/** The problems compileRules reports for this input (fails the test if it compiles). */
function problemsOf(input: unknown): string[] {
  try {
    compileRules(input, 'test');
  } catch (err) {
    if (err instanceof RulesError) return err.problems;
    throw err;
  }
  throw new Error('expected the rules to be rejected');
}

const rule = (name: string, body: Json): Json => ({ name, description: `test rule ${name}`, ...body });

const portscan = () => fixture('Recon:EC2/Portscan'); // Medium (5), us-east-2, account 973743533182, instance i-99999999
const portProbe = () => fixture('Recon:EC2/PortProbeEMRUnprotectedPort'); // High (8)
const eks = () => fixture('Execution:Kubernetes/ExecInKubeSystemPod');
const s3 = () => fixture('PenTest:S3/KaliLinux');
const sandbox = { id: '973743533182', name: 'team-a-sandbox', ouPath: 'Root/Sandbox/Team-a', tags: { tier: 'dev' } };

function matches(r: Json, ctx: RuleContext): boolean {
  return evaluateRules(rules(r), ctx).matched.length === 1;
}

describe('loading rules', () => {
  it('accepts an empty file, an empty rules key and an empty list as "no rules"', () => {
    expect(compileRules(null, 'x').rules).toEqual([]);
    expect(compileRules({ rules: null }, 'x').rules).toEqual([]);
    expect(compileRules({ rules: [] }, 'x').rules).toEqual([]);
  });

  it('names the rule and field of every problem, with a hint for a misspelt key', () => {
    const problems = problemsOf({
      rules: [
        rule('ok-rule', { severity: 'low' }),
        rule('prod-raise', {
          match: { typs: ['Recon:*'], fields: [{ path: 'type', regex: '([a-z' }] },
          severity: 'hgh',
        }),
      ],
    });
    expect(problems).toEqual([
      'rule "prod-raise" (#2): match.typs: unknown key (did you mean types?)',
      'rule "prod-raise" (#2): severity: must be one of critical, high, medium, low, info',
    ]);
  });

  it('reports an invalid regex with the rule name, index and field', () => {
    const problems = problemsOf({
      rules: [
        rule('first', { page: true }),
        rule('prod-raise', { match: { fields: [{ path: 'type', regex: '([a-z' }] }, page: true }),
      ],
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBe(
      'rule "prod-raise" (#2): match.fields[0].regex: invalid regex: Unterminated character class',
    );
  });

  it('refuses regexes that can take exponential time, and long ones', () => {
    const nested = problemsOf({
      rules: [rule('r', { match: { fields: [{ path: 'a', regex: '^(a+)+$' }] }, page: true })],
    });
    expect(nested).toEqual([
      'rule "r" (#1): match.fields[0].regex: (a+)+: nested unbounded quantifiers can take exponential time; use a bounded {n,m} or rewrite',
    ]);
    const long = problemsOf({
      rules: [rule('r', { match: { fields: [{ path: 'a', regex: 'a'.repeat(201) }] }, page: true })],
    });
    expect(long).toEqual(['rule "r" (#1): match.fields[0].regex: must be at most 200 characters']);
    // Bounded repetition and unrepeated groups are fine.
    expect(() =>
      rules(rule('r', { match: { fields: [{ path: 'a', regex: '^(\\d+\\.){3}\\d+$' }] }, page: true })),
    ).not.toThrow();
  });

  it('needs exactly one operator per field condition', () => {
    expect(problemsOf({ rules: [rule('r', { match: { fields: [{ path: 'a' }] }, page: true })] })).toEqual([
      'rule "r" (#1): match.fields[0]: needs exactly one of equals, one_of, regex, cidr',
    ]);
    expect(
      problemsOf({ rules: [rule('r', { match: { fields: [{ path: 'a', equals: 1, regex: 'x' }] }, page: true })] }),
    ).toEqual([
      'rule "r" (#1): match.fields[0]: needs exactly one of equals, one_of, regex, cidr (found equals, regex)',
    ]);
  });

  it('rejects a field path that starts with detail.', () => {
    expect(
      problemsOf({ rules: [rule('r', { match: { fields: [{ path: 'detail.type', equals: 'x' }] }, page: true })] }),
    ).toEqual(['rule "r" (#1): match.fields[0].path: paths start inside the finding: drop the leading "detail."']);
  });

  it('rejects a CIDR that is not a network', () => {
    expect(
      problemsOf({
        rules: [
          rule('r', { match: { fields: [{ path: 'a', cidr: ['10.0.0.0/33', '2001:db8::/24', 'x'] }] }, page: true }),
        ],
      }),
    ).toEqual([
      'rule "r" (#1): match.fields[0].cidr: "10.0.0.0/33" is not an IPv4 or IPv6 network such as 198.51.100.0/24 or 2001:db8::/32',
      'rule "r" (#1): match.fields[0].cidr: "x" is not an IPv4 or IPv6 network such as 198.51.100.0/24 or 2001:db8::/32',
    ]);
  });

  it('reports a CEL syntax error, an unknown variable and an unknown function with the rule name', () => {
    const syntax = problemsOf({ rules: [rule('cel-bad', { match: { expr: 'severity >' }, page: true })] });
    expect(syntax).toHaveLength(1);
    expect(syntax[0]).toMatch(/^rule "cel-bad" \(#1\): match\.expr: does not compile: /);
    expect(problemsOf({ rules: [rule('cel-var', { match: { expr: 'sevrity > 5.0' }, page: true })] })).toEqual([
      'rule "cel-var" (#1): match.expr: does not compile: unknown variable sevrity (variables: finding, type, severity, severity_label, account, region, resource_tags)',
    ]);
    expect(
      problemsOf({ rules: [rule('cel-fn', { match: { expr: "type.beginsWith('Recon')" }, page: true })] })[0],
    ).toContain('unknown function beginsWith');
    // Comprehension variables are bound, not unknown.
    expect(() =>
      rules(
        rule('ok', { match: { expr: "finding.resource.instanceDetails.tags.exists(t, t.key == 'Name')" }, page: true }),
      ),
    ).not.toThrow();
  });

  it('refuses duplicate names, whatever their case', () => {
    expect(problemsOf({ rules: [rule('Prod', { page: true }), rule('prod', { page: true })] })).toEqual([
      'rule "prod" (#2): name: is used by rule #1 too: names must be unique',
    ]);
  });

  it('needs at least one action, and refuses actions a suppressed alert cannot have', () => {
    expect(problemsOf({ rules: [rule('r', { match: { regions: ['us-east-1'] }, stop: true })] })).toEqual([
      'rule "r" (#1): needs at least one action: suppress, severity, route, also_notify, page: true or first_only',
    ]);
    expect(problemsOf({ rules: [rule('r', { suppress: { reason: 'scanner' }, page: true, route: 'C0ABC' })] })).toEqual(
      [
        'rule "r" (#1): route: cannot be combined with suppress: a suppressed alert gets no card',
        'rule "r" (#1): page: cannot be combined with suppress: a suppressed alert pages nobody',
      ],
    );
    expect(problemsOf({ rules: [rule('r', { suppress: { reason: '  ' } })] })).toEqual([
      'rule "r" (#1): suppress.reason: must say why these findings need no card',
    ]);
  });

  it('checks names, descriptions, channels, levels, regions, accounts and durations', () => {
    const problems = problemsOf({
      rules: [
        { name: '-bad name', description: '', route: '#security' },
        rule('r2', { match: { regions: ['US-EAST-1'], accounts: ['12345'] }, severity: 'urgent' }),
        rule('r3', { occurrences: { at_least: 1, within: '31d', by: ['type', 'type'] }, page: true }),
        rule('r4', { first_only: { within: 'soon' } }),
        rule('r5', { match: { severity: { min: 'high', max: 'low' } }, page: true }),
        rule('r6', { match: { ou_paths: ['Sandbox', 'Root//Prod'] }, page: true }),
      ],
    });
    expect(problems).toEqual([
      'rule "-bad name" (#1): name: must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
      'rule "-bad name" (#1): description: must say why the rule exists',
      'rule "-bad name" (#1): route: must be a Slack channel id such as C0123456789',
      'rule "r2" (#2): match.accounts[0]: must be a 12-digit AWS account id',
      'rule "r2" (#2): match.regions[0]: must be an AWS region such as us-east-1',
      'rule "r2" (#2): severity: must be one of critical, high, medium, low, info',
      'rule "r3" (#3): occurrences.at_least: Too small: expected number to be >=2',
      'rule "r3" (#3): occurrences.within: must be at most 30d',
      'rule "r3" (#3): occurrences.by: must not list a field twice',
      'rule "r4" (#4): first_only.within: must be a duration such as 30m, 24h or 7d',
      'rule "r5" (#5): match.severity: min must not be above max',
      'rule "r6" (#6): match.ou_paths[0]: must start at the root, e.g. Root/Sandbox',
      'rule "r6" (#6): match.ou_paths[1]: must be an OU path such as Root/Sandbox or Root/Workloads/*',
    ]);
  });

  it('prefixes problems with the line the locate option gives', () => {
    const err = (() => {
      try {
        compileRules({ rules: [rule('r', { severity: 'x' })] }, 'f', { locate: (p) => p.length * 10 });
      } catch (e) {
        return e as RulesError;
      }
      throw new Error('expected a RulesError');
    })();
    expect(err.code).toBe('kanshi_rules_invalid');
    expect(err.problems).toEqual([
      'line 30: rule "r" (#1): severity: must be one of critical, high, medium, low, info',
    ]);
    expect(err.message).toContain('f is invalid');
  });

  it('reads account ids given as numbers as 12 digits, restoring leading zeros', () => {
    const compiled = rules(rule('r', { match: { accounts: [12345678901, '973743533182'] }, page: true }));
    expect(compiled.rules[0]?.spec.match?.accounts).toEqual(['012345678901', '973743533182']);
  });
});

describe('matching', () => {
  it('a rule without match applies to every finding', () => {
    expect(evaluateRules(rules(rule('all', { severity: 'info' })), ctxOf(portscan())).finalSeverity).toBe('info');
  });

  it('types use * wildcards anywhere and are case-sensitive', () => {
    const ctx = ctxOf(portscan());
    expect(matches(rule('r', { match: { types: ['Recon:EC2/*'] }, page: true }), ctx)).toBe(true);
    expect(matches(rule('r', { match: { types: ['*Portscan'] }, page: true }), ctx)).toBe(true);
    expect(matches(rule('r', { match: { types: ['Recon:*/Port*'] }, page: true }), ctx)).toBe(true);
    expect(matches(rule('r', { match: { types: ['Recon:EC2/Portscan'] }, page: true }), ctx)).toBe(true);
    expect(matches(rule('r', { match: { types: ['recon:ec2/*'] }, page: true }), ctx)).toBe(false);
    expect(matches(rule('r', { match: { types: ['Recon:IAMUser/*', '*SSHBruteForce'] }, page: true }), ctx)).toBe(
      false,
    );
  });

  it('severity bounds compare with GuardDuty label, not with what earlier rules made of it', () => {
    const ctx = ctxOf(portscan()); // Medium
    const out = evaluateRules(
      rules(
        rule('raise', { severity: 'critical' }),
        rule('medium-only', { match: { severity: { min: 'medium', max: 'medium' } }, page: true }),
        rule('high-up', { match: { severity: { min: 'high' } }, route: 'C0HIGH0001' }),
        rule('low-down', { match: { severity: { max: 'low' } }, route: 'C0LOW00001' }),
      ),
      ctx,
    );
    expect(out.matched).toEqual(['raise', 'medium-only']);
    expect(out.finalSeverity).toBe('critical');
    expect(out.originalSeverity).toBe('medium');
  });

  it('accounts and regions are exact lists', () => {
    const ctx = ctxOf(portscan());
    expect(matches(rule('r', { match: { accounts: ['973743533182'] }, page: true }), ctx)).toBe(true);
    expect(matches(rule('r', { match: { accounts: ['123456789012'] }, page: true }), ctx)).toBe(false);
    expect(matches(rule('r', { match: { regions: ['eu-west-1', 'us-east-2'] }, page: true }), ctx)).toBe(true);
    expect(matches(rule('r', { match: { regions: ['us-east-1'] }, page: true }), ctx)).toBe(false);
  });

  it('an OU path covers that OU and everything below it; * matches within one segment', () => {
    const at = (ouPath: string | undefined) => ctxOf(portscan(), { ...sandbox, ouPath });
    const ou = (pattern: string) => rule('r', { match: { ou_paths: [pattern] }, page: true });
    expect(matches(ou('Root/Sandbox'), at('Root/Sandbox'))).toBe(true);
    expect(matches(ou('Root/Sandbox'), at('Root/Sandbox/Team-a/Dev'))).toBe(true);
    expect(matches(ou('Root/Sandbox'), at('Root/SandboxLegacy'))).toBe(false);
    expect(matches(ou('Root/Sandbox/*'), at('Root/Sandbox'))).toBe(false);
    expect(matches(ou('Root/Sandbox/*'), at('Root/Sandbox/Team-b'))).toBe(true);
    expect(matches(ou('Root/*/Prod'), at('Root/Workloads/Prod/Payments'))).toBe(true);
    expect(matches(ou('Root/Work*'), at('Root/Workloads'))).toBe(true);
    expect(matches(ou('Root/Sandbox'), at(undefined))).toBe(false);
    expect(matches(ou('Root/Sandbox'), ctxOf(portscan()))).toBe(false);
  });

  it('resource tags: a value, a list of values, or * for "key present"; keys are case-sensitive', () => {
    const detail = portscan();
    const tags = (detail.resource as { instanceDetails: { tags: Array<{ key: string; value: string }> } })
      .instanceDetails.tags;
    tags.push({ key: 'Environment', value: 'prod' }, { key: 'Team', value: 'payments' });
    const ctx = ctxOf(detail);
    const tagged = (condition: Json) => rule('r', { match: { resource_tags: condition }, page: true });
    expect(matches(tagged({ Environment: 'prod' }), ctx)).toBe(true);
    expect(matches(tagged({ Environment: ['staging', 'prod'] }), ctx)).toBe(true);
    expect(matches(tagged({ Team: '*' }), ctx)).toBe(true);
    expect(matches(tagged({ Environment: 'prod', Team: 'payments' }), ctx)).toBe(true);
    expect(matches(tagged({ Environment: 'prod', Team: 'identity' }), ctx)).toBe(false);
    expect(matches(tagged({ environment: 'prod' }), ctx)).toBe(false);
    expect(matches(tagged({ Owner: '*' }), ctx)).toBe(false);
  });

  it('resource tags include S3 bucket and EKS cluster tags from real findings', () => {
    expect(matches(rule('r', { match: { resource_tags: { foo: 'bar' } }, page: true }), ctxOf(s3()))).toBe(true);
    expect(
      matches(
        rule('r', {
          match: { resource_tags: { GeneratedFindingEKSClusterTag2: 'GeneratedFindingEKSClusterTagValue2' } },
          page: true,
        }),
        ctxOf(eks()),
      ),
    ).toBe(true);
  });

  it('fields: equals compares as text, one_of takes any, a missing path never matches', () => {
    const ctx = ctxOf(portscan());
    const field = (f: Json) => rule('r', { match: { fields: [f] }, page: true });
    expect(
      matches(field({ path: 'service.action.networkConnectionAction.remotePortDetails.port', equals: 797 }), ctx),
    ).toBe(true);
    expect(
      matches(field({ path: 'service.action.networkConnectionAction.remotePortDetails.port', equals: '797' }), ctx),
    ).toBe(true);
    expect(matches(field({ path: 'service.action.networkConnectionAction.blocked', equals: false }), ctx)).toBe(true);
    expect(
      matches(field({ path: 'service.action.networkConnectionAction.protocol', one_of: ['UDP', 'TCP'] }), ctx),
    ).toBe(true);
    expect(matches(field({ path: 'service.action.networkConnectionAction.protocol', one_of: ['UDP'] }), ctx)).toBe(
      false,
    );
    expect(matches(field({ path: 'resource.instanceDetails.platform', equals: null }), ctx)).toBe(true);
    expect(matches(field({ path: 'service.action.awsApiCallAction.api', equals: null }), ctx)).toBe(false);
    expect(matches(field({ path: 'constructor.name', equals: 'Object' }), ctx)).toBe(false);
  });

  it('fields: a path through a list matches when any element does, or the one indexed', () => {
    const ctx = ctxOf(portscan());
    const field = (f: Json) => rule('r', { match: { fields: [f] }, page: true });
    expect(matches(field({ path: 'service.additionalInfo.portsScannedSample', equals: 400 }), ctx)).toBe(true);
    expect(
      matches(field({ path: 'resource.instanceDetails.tags.key', equals: 'GeneratedFindingInstaceTag7' }), ctx),
    ).toBe(true);
    expect(
      matches(field({ path: 'resource.instanceDetails.tags.0.key', equals: 'GeneratedFindingInstaceTag1' }), ctx),
    ).toBe(true);
    expect(
      matches(field({ path: 'resource.instanceDetails.tags.1.key', equals: 'GeneratedFindingInstaceTag1' }), ctx),
    ).toBe(false);
  });

  it('fields: regex tests text values and skips values longer than 2000 characters', () => {
    const detail = portscan();
    const field = (f: Json) => rule('r', { match: { fields: [f] }, page: true });
    expect(
      matches(field({ path: 'title', regex: '^Outbound portscan from EC2 instance i-[0-9]+' }), ctxOf(detail)),
    ).toBe(true);
    expect(matches(field({ path: 'title', regex: '^outbound' }), ctxOf(detail))).toBe(false);
    expect(matches(field({ path: 'severity', regex: '^5$' }), ctxOf(detail))).toBe(true);
    expect(
      matches(field({ path: 'description', regex: 'x' }), ctxOf({ ...detail, description: 'x'.repeat(2001) })),
    ).toBe(false);
    expect(
      matches(field({ path: 'description', regex: 'x' }), ctxOf({ ...detail, description: 'x'.repeat(2000) })),
    ).toBe(true);
  });

  it('fields: cidr matches IPv4 and IPv6 addresses inside the networks, anywhere in a list', () => {
    const probe = portProbe();
    const path = 'service.action.portProbeAction.portProbeDetails.remoteIpDetails.ipAddressV4';
    const cidr = (networks: string[]) => rule('r', { match: { fields: [{ path, cidr: networks }] }, page: true });
    expect(matches(cidr(['81.2.69.0/24']), ctxOf(probe))).toBe(true);
    expect(matches(cidr(['81.2.70.0/24', '10.0.0.0/8']), ctxOf(probe))).toBe(false);
    expect(matches(cidr(['81.2.69.144']), ctxOf(probe))).toBe(true);
    const v6 = portscan();
    const remote = (v6.service as Json).action as { networkConnectionAction: { remoteIpDetails: Json } };
    remote.networkConnectionAction.remoteIpDetails.ipAddressV6 = '2001:db8:5ca:1::42';
    const v6path = 'service.action.networkConnectionAction.remoteIpDetails.ipAddressV6';
    const v6rule = (n: string) => rule('r', { match: { fields: [{ path: v6path, cidr: n }] }, page: true });
    expect(matches(v6rule('2001:db8:5ca::/48'), ctxOf(v6))).toBe(true);
    expect(matches(v6rule('2001:db8:5cb::/48'), ctxOf(v6))).toBe(false);
    // A finding without the field never matches, even the widest network.
    expect(matches(v6rule('::/0'), ctxOf(portscan()))).toBe(false);
  });

  it('expr: CEL sees the finding, type, severity, account and resource tags', () => {
    const ctx = ctxOf(portscan(), {
      id: '973743533182',
      name: 'payments-prod',
      ouPath: 'Root/Prod',
      tags: { tier: 'production' },
    });
    const cel = (expr: string) => evaluateRules(rules(rule('r', { match: { expr }, page: true })), ctx);
    expect(cel("type.startsWith('Recon:') && severity >= 5.0 && severity_label == 'medium'").page).toBe(true);
    expect(
      cel("account.tags['tier'] == 'production' && account.name == 'payments-prod' && account.ou_path == 'Root/Prod'")
        .page,
    ).toBe(true);
    expect(cel("account.id == '973743533182' && region == 'us-east-2'").page).toBe(true);
    expect(cel("resource_tags['GeneratedFindingInstaceTag2'] == 'GeneratedFindingInstaceTagValue2'").page).toBe(true);
    expect(cel('finding.service.additionalInfo.portsScannedSample.exists(p, p == 400)').page).toBe(true);
    expect(cel("finding.service.action.networkConnectionAction.protocol == 'UDP'").page).toBe(false);
    expect(cel("type.lowerAscii().contains('portscan')").page).toBe(true);
  });

  it('expr: a runtime error is no match and is reported, never thrown', () => {
    const ctx = ctxOf(portscan());
    const out = evaluateRules(
      rules(
        rule('missing-field', { match: { expr: "finding.service.action.awsApiCallAction.api == 'x'" }, page: true }),
        rule('not-bool', { match: { expr: 'severity + 1.0' }, page: true }),
        rule('absent-account-field', { match: { expr: "account.name == 'x'" }, page: true }),
        rule('fine', { severity: 'high' }),
      ),
      ctx,
    );
    expect(out.matched).toEqual(['fine']);
    expect(out.page).toBe(false);
    expect(out.errors.map((e) => e.rule)).toEqual(['missing-field', 'not-bool', 'absent-account-field']);
    expect(out.errors[1]?.error).toBe('expr must evaluate to a bool, got double');
    expect(out.errors[0]?.error).toMatch(/^expr failed: /);
  });

  it('expr: false && error is false, as CEL defines', () => {
    const ctx = ctxOf(portscan());
    const out = evaluateRules(
      rules(rule('r', { match: { expr: "region == 'eu-west-1' && finding.nothing.here == 1" }, page: true })),
      ctx,
    );
    expect(out).toMatchObject({ matched: [], errors: [] });
  });

  it('all conditions of a match must hold', () => {
    const ctx = ctxOf(portscan());
    const both = (regions: string[]) => rule('r', { match: { types: ['Recon:*'], regions }, page: true });
    expect(matches(both(['us-east-2']), ctx)).toBe(true);
    expect(matches(both(['us-west-2']), ctx)).toBe(false);
  });
});

describe('actions and order', () => {
  it('later severities override earlier ones, and each change is recorded', () => {
    const out = evaluateRules(
      rules(
        rule('up', { severity: 'high' }),
        rule('same', { severity: 'high' }),
        rule('not-matching', { match: { regions: ['eu-west-1'] }, severity: 'critical' }),
        rule('down', { severity: 'low' }),
      ),
      ctxOf(portscan()),
    );
    expect(out.finalSeverity).toBe('low');
    expect(out.severityChanges).toEqual([
      { rule: 'up', from: 'medium', to: 'high' },
      { rule: 'down', from: 'high', to: 'low' },
    ]);
    expect(out.matched).toEqual(['up', 'same', 'down']);
  });

  it('the last matching route wins; also_notify accumulates without duplicates or the route channel', () => {
    const out = evaluateRules(
      rules(
        rule('a', { route: 'C0AAAAAAAA', also_notify: ['C0NOTIFY01', 'C0BBBBBBBB'] }),
        rule('b', { route: 'C0BBBBBBBB', also_notify: ['C0NOTIFY01', 'G0PRIVATE1'] }),
      ),
      ctxOf(portscan()),
    );
    expect(out.route).toEqual({ rule: 'b', channelId: 'C0BBBBBBBB' });
    expect(out.alsoNotify).toEqual(['C0NOTIFY01', 'G0PRIVATE1']);
  });

  it('page is on when any matching rule pages', () => {
    const out = evaluateRules(
      rules(rule('a', { page: true }), rule('b', { page: false, severity: 'low' })),
      ctxOf(portscan()),
    );
    expect(out.page).toBe(true);
  });

  it('the first suppressing rule ends evaluation, after its own severity applies', () => {
    const out = evaluateRules(
      rules(
        rule('route', { route: 'C0AAAAAAAA' }),
        rule('quiet', { match: { types: ['Recon:*'] }, suppress: { reason: 'expected scanning' }, severity: 'info' }),
        rule('later', { page: true }),
        rule('also-quiet', { suppress: { reason: 'never reached' } }),
      ),
      ctxOf(portscan()),
    );
    expect(out.suppressed).toEqual({ rule: 'quiet', reason: 'expected scanning' });
    expect(out.matched).toEqual(['route', 'quiet']);
    expect(out.finalSeverity).toBe('info');
    expect(out.page).toBe(false);
  });

  it('stop ends evaluation only when its rule matched', () => {
    const set = rules(
      rule('sandbox', { match: { ou_paths: ['Root/Sandbox'] }, severity: 'low', stop: true }),
      rule('prod', { severity: 'high' }),
    );
    expect(evaluateRules(set, ctxOf(portscan(), sandbox)).matched).toEqual(['sandbox']);
    expect(evaluateRules(set, ctxOf(portscan())).matched).toEqual(['prod']);
  });

  it('maps GuardDuty labels to levels', () => {
    expect([levelOf('Critical'), levelOf('High'), levelOf('Medium'), levelOf('Low')]).toEqual([
      'critical',
      'high',
      'medium',
      'low',
    ]);
  });
});

describe('stateful conditions', () => {
  const probes = () =>
    rules(
      rule('plain', { page: true }),
      rule('repeated', {
        match: { types: ['Recon:EC2/Port*'] },
        occurrences: { at_least: 3, within: '1h', by: ['resource', 'type'] },
        severity: 'critical',
      }),
      rule('ssh', { match: { types: ['*SSHBruteForce'] }, first_only: true, route: 'C0SSH00001' }),
      rule('never', { match: { regions: ['eu-west-1'] }, occurrences: { at_least: 2, within: '5m' }, page: true }),
    );

  it('statefulKeys lists the stateful rules whose match holds, with a deterministic key', () => {
    const ctx = ctxOf(portProbe());
    expect(statefulKeys(probes(), ctx)).toEqual([
      {
        rule: 'repeated',
        kind: 'occurrences',
        key: 'type=Recon:EC2/PortProbeEMRUnprotectedPort|resource=i-99999999',
        withinMs: 3_600_000,
      },
    ]);
    const ssh = ctxOf(
      fixture('UnauthorizedAccess:EC2/RDPBruteForce', { type: 'UnauthorizedAccess:EC2/SSHBruteForce' }),
    );
    expect(statefulKeys(probes(), ssh)).toEqual([
      {
        rule: 'ssh',
        kind: 'first_only',
        key: 'type=UnauthorizedAccess:EC2/SSHBruteForce|account=973743533182|resource=i-99999999',
        withinMs: 86_400_000,
      },
    ]);
  });

  it('keys escape the separators, so different values never share a key', () => {
    const set = rules(
      rule('r', { occurrences: { at_least: 2, within: '1d', by: ['resource', 'region'] }, page: true }),
    );
    const ctx = { ...ctxOf(portscan()), resourceKey: 'a|region=b' };
    expect(statefulKeys(set, ctx)[0]?.key).toBe('resource=a%7Cregion%3Db|region=us-east-2');
  });

  it('statefulKeys counts findings an earlier rule suppresses', () => {
    const set = rules(
      rule('quiet', { suppress: { reason: 'noise' } }),
      rule('count', { occurrences: { at_least: 2, within: '1h' }, page: true }),
    );
    expect(statefulKeys(set, ctxOf(portscan())).map((k) => k.rule)).toEqual(['count']);
  });

  it('an occurrences rule matches only once the count reaches at_least', () => {
    const ctx = ctxOf(portProbe());
    const below = evaluateRules(probes(), ctx, new Map([['repeated', 2]]));
    expect(below.matched).toEqual(['plain']);
    expect(below.finalSeverity).toBe('high');
    expect(below.occurrences).toEqual([]);
    const missing = evaluateRules(probes(), ctx);
    expect(missing.matched).toEqual(['plain']);
    const reached = evaluateRules(probes(), ctx, new Map([['repeated', 3]]));
    expect(reached.matched).toEqual(['plain', 'repeated']);
    expect(reached.finalSeverity).toBe('critical');
    expect(reached.occurrences).toEqual([
      { rule: 'repeated', key: 'type=Recon:EC2/PortProbeEMRUnprotectedPort|resource=i-99999999', count: 3 },
    ]);
  });

  it('a first_only rule applies its actions and says which key to thread under', () => {
    const ssh = ctxOf(
      fixture('UnauthorizedAccess:EC2/RDPBruteForce', { type: 'UnauthorizedAccess:EC2/SSHBruteForce' }),
    );
    const out = evaluateRules(probes(), ssh);
    expect(out.firstOnly).toEqual({
      rule: 'ssh',
      key: 'type=UnauthorizedAccess:EC2/SSHBruteForce|account=973743533182|resource=i-99999999',
      withinMs: 86_400_000,
    });
    expect(out.route?.channelId).toBe('C0SSH00001');
    expect(evaluateRules(probes(), ctxOf(portscan())).firstOnly).toBeUndefined();
  });

  it('first_only takes its own window and key fields', () => {
    const set = rules(rule('r', { first_only: { within: '30m', by: ['account'] } }));
    expect(evaluateRules(set, ctxOf(portscan())).firstOnly).toEqual({
      rule: 'r',
      key: 'account=973743533182',
      withinMs: 1_800_000,
    });
  });
});

describe('resource tags and keys of real findings', () => {
  it('collects instance, bucket and cluster tags wherever the resource holds them', () => {
    expect(resourceTagsOf(portscan())).toHaveLength(9);
    expect(resourceTagsOf(portscan())[0]).toEqual({
      key: 'GeneratedFindingInstaceTag1',
      value: 'GeneratedFindingInstaceValue1',
    });
    // The sample S3 finding carries both the bucket's tags and an instance's.
    expect(resourceTagsOf(s3())).toContainEqual({ key: 'foo', value: 'bar' });
    expect(resourceTagsOf(s3())).toHaveLength(10);
    expect(resourceTagsOf(eks()).map((t) => t.key)).toEqual([
      'GeneratedFindingEKSClusterTag1',
      'GeneratedFindingEKSClusterTag2',
      'GeneratedFindingEKSClusterTag3',
    ]);
    expect(resourceTagsOf(fixture('AttackSequence:IAM/CompromisedCredentials'))).toEqual([]);
  });

  it('reads every fixture finding without throwing, and ignores tags deeper than four levels', () => {
    for (const f of FIXTURES) expect(Array.isArray(resourceTagsOf(f.finding))).toBe(true);
    const deep = { resource: { a: { b: { c: { d: { tags: [{ key: 'k', value: 'v' }] } } } } } };
    const shallow = { resource: { a: { b: { c: { tags: [{ key: 'k', value: 1 }] } } } } };
    expect(resourceTagsOf(deep)).toEqual([]);
    expect(resourceTagsOf(shallow)).toEqual([{ key: 'k', value: '1' }]);
  });

  it('names the resource by its id', () => {
    const key = (d: Json) => ctxOf(d).resourceKey;
    expect(key(portscan())).toBe('i-99999999');
    expect(key(s3())).toBe('bucketName');
    expect(key(eks())).toBe('GeneratedFindingEKSClusterName');
    expect(key(fixture('Recon:IAMUser/MaliciousIPCaller.Custom'))).toBe('GeneratedFindingAccessKeyId');
  });
});

describe('CIDR membership', () => {
  it.each([
    ['198.51.100.7', ['198.51.100.0/24'], true],
    ['198.51.101.7', ['198.51.100.0/24'], false],
    ['10.1.2.3', ['10.0.0.0/8', '2001:db8::/32'], true],
    ['2001:db8::1', ['2001:db8::/32'], true],
    ['2001:db9::1', ['2001:db8::/32'], false],
    ['::ffff:10.0.0.1', ['10.0.0.0/8'], true],
    // An IPv4 address and its IPv4-mapped IPv6 form are one address.
    ['10.0.0.1', ['::ffff:10.0.0.0/104'], true],
    ['10.0.0.1', ['2001:db8::/32'], false],
    ['not an ip', ['0.0.0.0/0'], false],
    ['', ['0.0.0.0/0'], false],
    ['fe80::1%eth0', ['fe80::/10'], true],
  ])('%s in %j is %s', (ip, cidrs, inside) => {
    expect(ipInCidrs(ip, cidrs)).toBe(inside);
  });
});

describe('robustness and speed', () => {
  const everything = rules(
    rule('types', { match: { types: ['Recon:*', '*BruteForce'] }, severity: 'high' }),
    rule('ou', { match: { ou_paths: ['Root/*/Prod'] }, route: 'C0PROD0001' }),
    rule('tags', { match: { resource_tags: { Environment: '*' } }, also_notify: ['C0TAGS0001'] }),
    rule('fields', {
      match: {
        fields: [
          { path: 'service.action.networkConnectionAction.remoteIpDetails.ipAddressV4', cidr: ['0.0.0.0/0', '::/0'] },
          { path: 'resource.instanceDetails.tags.key', regex: '^Gen' },
          { path: 'a.b.0.c', one_of: [1, 'x', null] },
        ],
      },
      page: true,
    }),
    rule('cel', {
      match: {
        expr: "finding.service.count > 1.0 && resource_tags.exists(k, k.startsWith('G')) && account.tags.size() >= 0",
      },
      severity: 'critical',
    }),
    rule('counted', { occurrences: { at_least: 2, within: '1h' }, page: true }),
    rule('first', { first_only: true }),
  );

  it('evaluateRules never throws, whatever the raw finding holds', () => {
    const base = ctxOf(portscan(), sandbox);
    fc.assert(
      fc.property(fc.anything({ maxDepth: 6 }), (detail) => {
        const ctx = { ...base, detail };
        const out = evaluateRules(everything, ctx, new Map([['counted', 5]]));
        expect(out.matched).toContain('types');
        statefulKeys(everything, ctx);
      }),
      { numRuns: 300 },
    );
  });

  it('evaluateRules never throws on findings shaped like GuardDuty JSON', () => {
    const base = ctxOf(portscan());
    const shaped = fc.record({
      resource: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 5 })),
      service: fc.jsonValue({ maxDepth: 5 }),
      a: fc.jsonValue({ maxDepth: 4 }),
    });
    fc.assert(
      fc.property(shaped, (detail) => {
        expect(() => evaluateRules(everything, { ...base, detail })).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('applies 20 precompiled rules, CEL included, to a real finding', () => {
    const twenty = rules(
      ...Array.from({ length: 20 }, (_, i) =>
        i % 10 === 9
          ? rule(`cel-${i}`, { match: { expr: `severity >= ${i % 5}.0 && type.startsWith('Recon:')` }, page: true })
          : rule(`r-${i}`, {
              match: {
                types: [`Recon:EC2/*${i}`, '*Portscan'],
                fields: [
                  { path: 'service.action.networkConnectionAction.remoteIpDetails.ipAddressV4', cidr: '81.2.0.0/16' },
                ],
                resource_tags: { GeneratedFindingInstaceTag3: '*' },
              },
              severity: i % 2 ? 'high' : 'low',
            }),
      ),
    );
    const ctx = ctxOf(portscan());
    const counts = new Map<string, number>();
    // Speed belongs in benchmarks, not in timed tests; this checks the 20 precompiled rules all apply.
    expect(evaluateRules(twenty, ctx, counts).matched).toHaveLength(20);
    // Later rules override earlier ones: the last severity rule (r-18) sets low.
    expect(evaluateRules(twenty, ctx, counts).finalSeverity).toBe('low');
  });
});

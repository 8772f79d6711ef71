import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadRulesFile, parseRulesFile, type ReloadResult, RulesSource } from '../../app/config/rules-file';
import { RulesError } from '../../app/domain/rules';

const REPO_RULES = resolve(__dirname, '..', '..', 'config', 'rules.yml');

const GOOD = `rules:
  - name: sandbox-low
    description: Sandbox findings wait for the daily sweep.
    match:
      ou_paths: [Root/Sandbox]
    severity: low
`;

const TWO = `${GOOD}  - name: k8s
    description: Platform owns the clusters.
    match: { types: ['*:Kubernetes/*'] }
    route: C0PLATFORM1
`;

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof RulesError) return err.problems;
    throw err;
  }
  throw new Error('expected a RulesError');
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kanshi-rules-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('rules files', () => {
  it('the shipped config/rules.yml compiles', () => {
    const rules = loadRulesFile(REPO_RULES);
    expect(rules.rules.length).toBeGreaterThanOrEqual(5);
    expect(rules.source).toBe(REPO_RULES);
    for (const r of rules.rules) expect(r.description.length).toBeGreaterThan(10);
  });

  it('reports YAML syntax errors with their line', () => {
    const text = 'rules:\n  - name: a\n    description: [unclosed\n    severity: low\n';
    const p = problems(() => parseRulesFile(text, 'rules.yml'));
    expect(p.length).toBeGreaterThan(0);
    expect(p[0]).toMatch(/^line [345]: /);
  });

  it('reports a key given twice as a YAML error with its line', () => {
    const text = 'rules:\n  - name: a\n    description: d\n    severity: low\n    severity: high\n';
    expect(problems(() => parseRulesFile(text, 'rules.yml'))[0]).toMatch(/^line 5: .*unique/i);
  });

  it('names the line, rule and field of each validation problem', () => {
    const text = `rules:
  - name: fine
    description: ok
    page: true
  - name: prod-raise
    description: Raise prod.
    match:
      typs: ['Recon:*']
      fields:
        - path: service.action.actionType
          regex: '([a-z'
    severity: high
  - description: no name
    route: '#security'
`;
    const p = problems(() => parseRulesFile(text, 'rules.yml'));
    expect(p).toHaveLength(3);
    expect(p[0]).toBe('line 8: rule "prod-raise" (#2): match.typs: unknown key (did you mean types?)');
    expect(p[1]).toBe('line 13: rule #3: name: is required');
    expect(p[2]).toBe('line 14: rule #3: route: must be a Slack channel id such as C0123456789');
    // The regex is compiled once the rule's shape is valid: fix the key, see the regex problem.
    const fixed = problems(() =>
      parseRulesFile(text.replace('typs', 'types').replace(/ {2}- description: no name\n.*\n/, ''), 'f'),
    );
    expect(fixed).toHaveLength(1);
    expect(fixed[0]).toBe(
      'line 11: rule "prod-raise" (#2): match.fields[0].regex: invalid regex: Unterminated character class',
    );
  });

  it('reads an empty file as no rules', () => {
    expect(parseRulesFile('', 'f').rules).toEqual([]);
    expect(parseRulesFile('# nothing yet\nrules: []\n', 'f').rules).toEqual([]);
  });

  it('needs a rules list at the top', () => {
    expect(problems(() => parseRulesFile('- name: a\n', 'f'))).toEqual(['line 1: must be a map with a `rules:` list']);
    expect(problems(() => parseRulesFile('rule: []\n', 'f'))).toEqual([
      'line 1: rule: unknown key (did you mean rules?)',
    ]);
  });

  it('treats a missing file as no rules only when told it is optional', () => {
    const missing = join(dir, 'rules.yml');
    expect(problems(() => loadRulesFile(missing))).toEqual(['cannot be read: ENOENT']);
    expect(loadRulesFile(missing, { optional: true })).toEqual({ rules: [], source: missing });
    // A directory is never "missing".
    expect(problems(() => loadRulesFile(dir, { optional: true }))).toEqual(['cannot be read: EISDIR']);
  });

  it('refuses a file over 1 MiB', () => {
    const big = join(dir, 'rules.yml');
    writeFileSync(big, `# ${'x'.repeat(1024 * 1024)}\nrules: []\n`);
    expect(problems(() => loadRulesFile(big))).toEqual(['is larger than 1048576 bytes']);
  });
});

describe('RulesSource', () => {
  it('fails loudly at start on an invalid file', () => {
    const path = join(dir, 'rules.yml');
    writeFileSync(path, 'rules:\n  - name: x\n');
    expect(() => new RulesSource(path)).toThrow(RulesError);
  });

  it('reload swaps in valid rules and keeps the previous ones on error', () => {
    const path = join(dir, 'rules.yml');
    writeFileSync(path, GOOD);
    const source = new RulesSource(path);
    expect(source.current().rules.map((r) => r.name)).toEqual(['sandbox-low']);

    writeFileSync(path, TWO);
    expect(source.reload()).toEqual({ ok: true, count: 2 });
    expect(source.current().rules.map((r) => r.name)).toEqual(['sandbox-low', 'k8s']);

    writeFileSync(path, TWO.replace('route: C0PLATFORM1', 'route: platform'));
    const failed = source.reload();
    expect(failed).toEqual({
      ok: false,
      problems: ['line 10: rule "k8s" (#2): route: must be a Slack channel id such as C0123456789'],
    });
    expect(source.current().rules.map((r) => r.name)).toEqual(['sandbox-low', 'k8s']);

    rmSync(path);
    expect(source.reload()).toEqual({ ok: false, problems: ['cannot be read: ENOENT'] });
    expect(source.current().rules).toHaveLength(2);
  });

  it('an optional file that disappears means no rules', () => {
    const path = join(dir, 'rules.yml');
    const source = new RulesSource(path, { optional: true });
    expect(source.current().rules).toEqual([]);
    writeFileSync(path, GOOD);
    expect(source.reload()).toEqual({ ok: true, count: 1 });
  });

  describe('watch', () => {
    /** Resolves with the next reported result, or 'none' after the wait. */
    function nextResult(results: ReloadResult[], waitMs = 3000): Promise<ReloadResult | 'none'> {
      const seen = results.length;
      return new Promise((done) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (results.length > seen) {
            clearInterval(poll);
            done(results[seen] as ReloadResult);
          } else if (Date.now() - started > waitMs) {
            clearInterval(poll);
            done('none');
          }
        }, 20);
      });
    }

    it('reloads when the file is written, replaced by rename, or broken, and stops when told', async () => {
      const path = join(dir, 'rules.yml');
      writeFileSync(path, GOOD);
      const source = new RulesSource(path, { debounceMs: 50 });
      const results: ReloadResult[] = [];
      const stop = source.watch((r) => results.push(r));
      try {
        let next = nextResult(results);
        writeFileSync(path, TWO);
        expect(await next).toEqual({ ok: true, count: 2 });
        expect(source.current().rules).toHaveLength(2);

        // Editors that save to a temporary file and rename it over the original.
        next = nextResult(results);
        const tmp = join(dir, '.rules.yml.swp');
        writeFileSync(tmp, GOOD);
        renameSync(tmp, path);
        expect(await next).toEqual({ ok: true, count: 1 });

        next = nextResult(results);
        writeFileSync(path, 'rules:\n  - name: broken\n');
        const broken = await next;
        expect(broken).toMatchObject({ ok: false });
        expect(source.current().rules.map((r) => r.name)).toEqual(['sandbox-low']);

        // Other files in the directory are none of our business.
        next = nextResult(results, 500);
        writeFileSync(join(dir, 'accounts.yml'), '[]\n');
        expect(await next).toBe('none');
      } finally {
        stop();
      }
      const after = nextResult(results, 500);
      writeFileSync(path, TWO);
      expect(await after).toBe('none');
      expect(source.current().rules).toHaveLength(1);
    });

    it('collapses a burst of writes into one reload', async () => {
      const path = join(dir, 'rules.yml');
      writeFileSync(path, GOOD);
      const source = new RulesSource(path, { debounceMs: 150 });
      const results: ReloadResult[] = [];
      const stop = source.watch((r) => results.push(r));
      try {
        const next = nextResult(results);
        for (let i = 0; i < 5; i++) writeFileSync(path, `${TWO}# save ${i}\n`);
        expect(await next).toEqual({ ok: true, count: 2 });
        await new Promise((r) => setTimeout(r, 400));
        expect(results).toHaveLength(1);
      } finally {
        stop();
      }
    });
  });
});

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadOuRoutesFile, OuRoutesFileError, parseOuRoutesFile } from '../../app/config/ou-routes-file';
import { type OuRoute, routeByOu } from '../../app/domain/ou-routing';

function problemsOf(text: string): string[] {
  try {
    parseOuRoutesFile(text, 'ou-routes.yml');
  } catch (err) {
    if (err instanceof OuRoutesFileError) return err.problems;
    throw err;
  }
  throw new Error('expected parseOuRoutesFile to throw an OuRoutesFileError');
}

describe('parseOuRoutesFile', () => {
  it('reads each OU path and its channel, in file order', () => {
    const text = [
      '# most specific path wins',
      '- ou: Root/Workloads/Prod',
      '  channel: C0PRODSEC01',
      '- ou: Root/Sandbox',
      '  channel: G0SANDBOX01',
      '',
    ].join('\n');

    expect(parseOuRoutesFile(text, 'ou-routes.yml')).toEqual([
      { ou: 'Root/Workloads/Prod', channelId: 'C0PRODSEC01' },
      { ou: 'Root/Sandbox', channelId: 'G0SANDBOX01' },
    ]);
  });

  it('reads an empty or comment-only file as no routes', () => {
    expect(parseOuRoutesFile('', 'ou-routes.yml')).toEqual([]);
    expect(parseOuRoutesFile('# nothing routed by OU yet\n', 'ou-routes.yml')).toEqual([]);
  });

  it('accepts Root alone, as a route for the whole organization', () => {
    expect(parseOuRoutesFile('- ou: Root\n  channel: C0ORGWIDE01\n', 'f')).toEqual([
      { ou: 'Root', channelId: 'C0ORGWIDE01' },
    ]);
  });

  it('reports a bad channel id on its own line', () => {
    const text = [
      '- ou: Root/Sandbox',
      '  channel: C0SANDBOX01',
      '- ou: Root/Workloads',
      '  channel: "#security"',
    ].join('\n');

    expect(problemsOf(text)).toEqual(['line 4: [1].channel must be a Slack channel id such as C0123456789']);
  });

  it('reports every problem in the file at once, each with its line', () => {
    const text = [
      '- ou: Workloads/Prod', // line 1: not from the root
      '  channel: C0PRODSEC01',
      '- ou: Root//Sandbox', // line 3: empty segment
      '  channel: C0SANDBOX01',
      '- ou: Root/Sandbox/', // line 5: trailing slash
      '  channel: C0SANDBOX01',
      '- ou: Root/ Sandbox', // line 7: space after the slash
      '  channel: C0SANDBOX01',
      '- channel: C0NOOU00001', // line 9: no ou
    ].join('\n');

    expect(problemsOf(text)).toEqual([
      'line 1: [0].ou must start at the root, e.g. Root/Workloads/Prod',
      'line 3: [1].ou must not have empty segments or a trailing /',
      'line 5: [2].ou must not have empty segments or a trailing /',
      'line 7: [3].ou must not have spaces around a / or at either end',
      'line 9: [4].ou Invalid input: expected string, received undefined',
    ]);
  });

  it('reports a misspelt key at the key, rather than routing without a channel', () => {
    const text = ['- ou: Root/Sandbox', '  chanel: C0SANDBOX01'].join('\n');

    expect(problemsOf(text)).toEqual([
      'line 1: [0].channel Invalid input: expected string, received undefined',
      'line 2: [0] Unrecognized key: "chanel"',
    ]);
  });

  it('reports an OU path listed twice, with both lines', () => {
    const text = [
      '- ou: Root/Sandbox',
      '  channel: C0SANDBOX01',
      '- ou: Root/Workloads',
      '  channel: C0WORKLOAD1',
      '- ou: Root/Sandbox',
      '  channel: C0OTHER0001',
    ].join('\n');

    expect(problemsOf(text)).toEqual(['line 5: OU Root/Sandbox is listed twice (first at line 1)']);
  });

  it('treats paths that differ only in case as different OUs, as Organizations does', () => {
    const text = ['- ou: Root/Sandbox', '  channel: C0SANDBOX01', '- ou: Root/sandbox', '  channel: C0LOWER0001'].join(
      '\n',
    );

    expect(parseOuRoutesFile(text, 'f').map((r) => r.ou)).toEqual(['Root/Sandbox', 'Root/sandbox']);
  });

  it('rejects paths deeper than ten OU levels, which no walked account can have', () => {
    const deep = `Root/${Array.from({ length: 11 }, (_, i) => `L${i + 1}`).join('/')}`;

    expect(problemsOf(`- ou: ${deep}\n  channel: C0DEEP00001\n`)).toEqual([
      'line 1: [0].ou must not be more than 10 OU levels below the root',
    ]);
  });

  it('reports a file that is not a list, and YAML syntax errors, with their lines', () => {
    expect(problemsOf('ou: Root/Sandbox\nchannel: C0SANDBOX01\n')).toEqual([
      'line 1: expected a list of routes (- ou: …, channel: …)',
    ]);
    const syntax = problemsOf('- ou: Root/Sandbox\n  channel: [C0SANDBOX01\n');
    expect(syntax).toHaveLength(1);
    expect(syntax[0]).toMatch(/^line \d+: /);
  });

  it('names the file in the error message', () => {
    expect(() => parseOuRoutesFile('- ou: Sandbox\n  channel: C0SANDBOX01\n', 'config/ou-routes.yml')).toThrow(
      'config/ou-routes.yml is invalid:\n  - line 1: [0].ou must start at the root, e.g. Root/Workloads/Prod',
    );
  });
});

describe('loadOuRoutesFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `kanshi-ou-routes-${randomUUID()}-`));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the example file shipped in config/', () => {
    const routes = loadOuRoutesFile(resolve(__dirname, '../../config/ou-routes.yml'));

    expect(routes.length).toBeGreaterThanOrEqual(2);
    expect(routeByOu(routes, 'Root/Workloads/Prod/Payments')?.ou).toBe('Root/Workloads/Prod');
  });

  it('answers no routes for a missing optional file', () => {
    expect(loadOuRoutesFile(join(dir, 'absent.yml'), { optional: true })).toEqual([]);
  });

  it('refuses a missing file that is not optional', () => {
    const path = join(dir, 'absent.yml');

    expect(() => loadOuRoutesFile(path)).toThrow(OuRoutesFileError);
    expect(() => loadOuRoutesFile(path)).toThrow(`${path} is invalid:\n  - cannot be read: ENOENT`);
  });

  it('refuses an optional path that exists but cannot be read as a file', () => {
    expect(() => loadOuRoutesFile(dir, { optional: true })).toThrow('cannot be read: EISDIR');
  });

  it('reports problems in a file it read with the path it was given', () => {
    const path = join(dir, 'ou-routes.yml');
    writeFileSync(path, '- ou: Root/Sandbox\n  channel: nope\n');

    expect(() => loadOuRoutesFile(path, { optional: true })).toThrow(
      `${path} is invalid:\n  - line 2: [0].channel must be a Slack channel id such as C0123456789`,
    );
  });
});

describe('routeByOu', () => {
  const routes: OuRoute[] = [
    { ou: 'Root/Sandbox', channelId: 'C0SANDBOX01' },
    { ou: 'Root/Workloads', channelId: 'C0WORKLOAD1' },
    { ou: 'Root/Workloads/Prod', channelId: 'C0PRODSEC01' },
  ];

  it('matches an OU path exactly', () => {
    expect(routeByOu(routes, 'Root/Sandbox')).toEqual({ channelId: 'C0SANDBOX01', ou: 'Root/Sandbox' });
  });

  it('matches the OUs below a routed OU', () => {
    expect(routeByOu(routes, 'Root/Sandbox/Dev/Alice')).toEqual({ channelId: 'C0SANDBOX01', ou: 'Root/Sandbox' });
  });

  it('prefers the most specific path, whatever the order of the routes', () => {
    const expected = { channelId: 'C0PRODSEC01', ou: 'Root/Workloads/Prod' };
    expect(routeByOu(routes, 'Root/Workloads/Prod/Payments')).toEqual(expected);
    expect(routeByOu([...routes].reverse(), 'Root/Workloads/Prod/Payments')).toEqual(expected);
    expect(routeByOu(routes, 'Root/Workloads/Dev')).toEqual({ channelId: 'C0WORKLOAD1', ou: 'Root/Workloads' });
  });

  it('compares whole segments, so Root/Sandbox does not cover Root/SandboxOld', () => {
    expect(routeByOu(routes, 'Root/SandboxOld')).toBeUndefined();
    expect(routeByOu(routes, 'Root/SandboxOld/Dev')).toBeUndefined();
  });

  it('compares case-sensitively', () => {
    expect(routeByOu(routes, 'Root/sandbox')).toBeUndefined();
  });

  it('leaves accounts above every routed OU, or directly under the root, unrouted', () => {
    expect(routeByOu(routes, 'Root')).toBeUndefined();
    expect(routeByOu(routes, 'Root/Security')).toBeUndefined();
    expect(routeByOu([], 'Root/Sandbox')).toBeUndefined();
  });

  it('lets a Root route catch every account no deeper route claims', () => {
    const withRoot = [...routes, { ou: 'Root', channelId: 'C0ORGWIDE01' }];

    expect(routeByOu(withRoot, 'Root')).toEqual({ channelId: 'C0ORGWIDE01', ou: 'Root' });
    expect(routeByOu(withRoot, 'Root/Security/Audit')).toEqual({ channelId: 'C0ORGWIDE01', ou: 'Root' });
    expect(routeByOu(withRoot, 'Root/Sandbox/Dev')).toEqual({ channelId: 'C0SANDBOX01', ou: 'Root/Sandbox' });
  });

  it('does not treat a path that merely starts with the same characters as an ancestor', () => {
    expect(routeByOu([{ ou: 'Root/Work', channelId: 'C0WORK00001' }], 'Root/Workloads/Prod')).toBeUndefined();
  });
});

/**
 * `npm run runbooks:check`: validates every runbook (front matter, sections,
 * links) and prints how well they cover GuardDuty's finding types. Fails when
 * a runbook is invalid or a finding type has no guidance of its own (specific
 * section or family wildcard) — only the default runbook.
 *
 *   node dist/scripts/runbooks-check.js [runbooks dir] [finding-types.tsv]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readRunbooks } from '../app/adapters/fs/runbook-files';
import { patternMatches, RunbookLibrary, SUBSECTIONS } from '../app/domain/runbooks';

const ROOT = resolve(__dirname, '..', '..');
const dir = resolve(process.argv[2] ?? join(ROOT, 'runbooks'));
const tsv = resolve(process.argv[3] ?? join(ROOT, '..', 'shared', 'data', 'guardduty-finding-types.tsv'));
const MAX_SECTION = 2500;

const problems: string[] = [];
const { runbooks, fallback, errors } = readRunbooks(dir);
for (const e of errors) problems.push(e.message);
if (!fallback) problems.push('default.md is missing: types without a runbook would get no guidance at all');

const seen = new Map<string, string>();
for (const rb of [...runbooks, ...(fallback ? [fallback] : [])]) {
  const text = readFileSync(join(dir, rb.file), 'utf8');
  for (const link of text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
    const target = link[1] ?? '';
    if (/^https:\/\//.test(target)) continue;
    if (/^[a-z]+:/i.test(target)) problems.push(`${rb.file}: link ${target} must be https:// or a relative path`);
    else if (!existsSync(join(dir, target.split('#')[0] ?? '')))
      problems.push(`${rb.file}: link ${target} points nowhere`);
  }
  for (const s of rb.sections) {
    const where = `${rb.file} § ${s.type}`;
    const earlier = seen.get(s.type);
    if (earlier) problems.push(`${where}: also has a section in ${earlier}`);
    seen.set(s.type, rb.file);
    if (!rb.meta.applies_to.some((p) => patternMatches(p, s.type))) {
      problems.push(`${where}: no applies_to pattern of the file matches this type`);
    }
    const headings = [...s.markdown.matchAll(/^### (.+)$/gm)].map((h) => (h[1] ?? '').trim());
    if (JSON.stringify(headings) !== JSON.stringify(SUBSECTIONS)) {
      problems.push(
        `${where}: subsections must be ${SUBSECTIONS.join(' / ')}, found ${headings.join(' / ') || 'none'}`,
      );
    }
    if (s.markdown.length > MAX_SECTION)
      problems.push(`${where}: ${s.markdown.length} characters, over ${MAX_SECTION}`);
  }
}

const library = new RunbookLibrary(runbooks, fallback);
const types = existsSync(tsv)
  ? readFileSync(tsv, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => row.split('\t')[0] ?? '')
      .filter(Boolean)
  : [];
if (types.length === 0) problems.push(`no finding types read from ${tsv}`);
const coverage = { specific: 0, family: 0, none: [] as string[] };
for (const type of types) {
  const g = library.lookup(type);
  if (g?.kind === 'specific') coverage.specific++;
  else if (g?.kind === 'family') coverage.family++;
  else coverage.none.push(type);
}
for (const type of coverage.none) problems.push(`${type}: no runbook guidance (only the default runbook)`);

process.stdout.write(
  [
    `runbooks: ${runbooks.length} files${fallback ? ' + default.md' : ''}, ${seen.size} type sections`,
    `coverage of ${types.length} GuardDuty finding types: ${coverage.specific} specific, ${coverage.family} family only, ${coverage.none.length} none`,
    '',
  ].join('\n'),
);
if (problems.length > 0) {
  process.stderr.write(`${problems.map((p) => `  ✗ ${p}`).join('\n')}\n${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stdout.write('runbooks: OK\n');

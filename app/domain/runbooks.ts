/**
 * Runbooks: Markdown files with front matter (see runbooks/README.md).
 * Parsing and lookup are pure; reading the files is the caller's job.
 * Lookup: an exact `## <type>` section, then a family wildcard in
 * `applies_to`, then the default runbook.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const SUBSECTIONS = [
  'What it means',
  'How to investigate',
  'How to tell a false positive',
  'Contain and remediate',
  'When to escalate',
] as const;

const frontMatter = z.object({
  title: z.string().min(3).max(150),
  applies_to: z
    .array(z.string().regex(/^[\w*]+:[\w*]+\/[\w*.!&-]+$/, 'must be a finding type or a pattern such as Recon:EC2/*'))
    .min(1),
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  owner: z.string().min(1),
  updated: z
    .union([z.string(), z.date()])
    .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
    .pipe(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date such as 2026-11-22')),
});

export type RunbookMeta = z.infer<typeof frontMatter>;

export interface RunbookSection {
  type: string;
  markdown: string;
}

export interface Runbook {
  file: string;
  meta: RunbookMeta;
  /** The text before the first `## ` section: the family's guidance. */
  intro: string;
  sections: RunbookSection[];
  /** sha256 of the whole file, recorded in audit rows so a review can see which guidance the responder had. */
  hash: string;
}

export class RunbookError extends Error {
  readonly code = 'kanshi_runbook_invalid';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'RunbookError';
  }
}

export function parseRunbook(file: string, text: string): Runbook {
  const m = /^---\n([\s\S]*?)\n---\n?([\s\S]*)$/.exec(text.replace(/\r\n/g, '\n'));
  if (!m) throw new RunbookError(file, ['missing front matter (--- … ---)']);
  let raw: unknown;
  try {
    raw = parseYaml(m[1] ?? '');
  } catch (err) {
    throw new RunbookError(file, [`front matter is not YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const meta = frontMatter.safeParse(raw);
  if (!meta.success) {
    throw new RunbookError(
      file,
      meta.error.issues.map((i) => `${i.path.join('.') || 'front matter'}: ${i.message}`),
    );
  }
  const body = m[2] ?? '';
  const parts = body.split(/^## /m);
  const intro = (parts.shift() ?? '').trim();
  const sections = parts.map((p) => {
    const nl = p.indexOf('\n');
    const type = (nl < 0 ? p : p.slice(0, nl)).trim();
    return { type, markdown: `## ${p}`.trim() };
  });
  return { file, meta: meta.data, intro, sections, hash: createHash('sha256').update(text).digest('hex') };
}

/** Does a pattern such as `Recon:EC2/*` or `*:EC2/*` match a finding type? */
export function patternMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('[^]*')}$`);
  return re.test(type);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type Guidance =
  | { kind: 'specific'; runbook: Runbook; section: RunbookSection }
  | { kind: 'family'; runbook: Runbook }
  | { kind: 'default'; runbook: Runbook };

export class RunbookLibrary {
  private readonly byType = new Map<string, { runbook: Runbook; section: RunbookSection }>();

  constructor(
    readonly runbooks: readonly Runbook[],
    private readonly fallback: Runbook | undefined,
  ) {
    for (const runbook of runbooks) {
      for (const section of runbook.sections) this.byType.set(section.type, { runbook, section });
    }
  }

  lookup(type: string): Guidance | undefined {
    const exact = this.byType.get(type);
    if (exact) return { kind: 'specific', ...exact };
    // The most specific wildcard wins: the longest pattern before its first '*'.
    let best: { runbook: Runbook; score: number } | undefined;
    for (const runbook of this.runbooks) {
      for (const p of runbook.meta.applies_to) {
        if (!patternMatches(p, type)) continue;
        const score = p.indexOf('*') < 0 ? p.length : p.indexOf('*');
        if (!best || score > best.score) best = { runbook, score };
      }
    }
    if (best) return { kind: 'family', runbook: best.runbook };
    return this.fallback ? { kind: 'default', runbook: this.fallback } : undefined;
  }
}

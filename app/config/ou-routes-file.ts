/**
 * Reads config/ou-routes.yml: which Slack channel owns the alerts of the
 * accounts in an OU, below per-account routes in precedence. Validation
 * errors name the line at fault, as for config/accounts.yml.
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { OuRoute } from '../domain/ou-routing';

/** The root's name in every OU path the org directory builds. */
const ROOT_SEGMENT = 'Root';
/** AWS allows 5 OU levels below the root; the org directory walks at most 10. */
const MAX_OU_LEVELS = 10;
/** Organizations limits an OU name to 128 characters. */
const MAX_OU_NAME_LENGTH = 128;

const ouPath = z.string().superRefine((path, ctx) => {
  const problem = ouPathProblem(path);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

// Strict: a misspelt key ("chanel") must not leave a route silently without its channel.
const routeEntry = z.strictObject({
  ou: ouPath,
  channel: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123456789'),
});

export class OuRoutesFileError extends Error {
  readonly code = 'kanshi_ou_routes_file_invalid';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'OuRoutesFileError';
  }
}

/** Parses the YAML text of an OU routes file. `file` is only used in messages. */
export function parseOuRoutesFile(text: string, file: string): OuRoute[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? '?' : String(lineCounter.linePos(offset).line);
  if (doc.errors.length > 0) {
    throw new OuRoutesFileError(
      file,
      doc.errors.map((e) => `line ${lineOf(e.pos[0])}: ${e.message.split('\n')[0]}`),
    );
  }
  // An empty file, or one with only comments, routes nothing.
  if (doc.contents === null) return [];
  if (!isSeq(doc.contents)) {
    throw new OuRoutesFileError(file, [
      `line ${lineOf(doc.contents.range?.[0])}: expected a list of routes (- ou: …, channel: …)`,
    ]);
  }
  const problems: string[] = [];
  const routes: OuRoute[] = [];
  const seen = new Map<string, string>();
  doc.contents.items.forEach((item, index) => {
    const itemLine = lineOf((item as { range?: readonly number[] }).range?.[0]);
    const parsed = routeEntry.safeParse(isMap(item) || isSeq(item) ? (item as { toJSON(): unknown }).toJSON() : item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        // An unknown key's issue sits on the entry; point at the key itself.
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
        const node = doc.getIn([index, ...path], true) as { range?: readonly number[] } | undefined;
        const at = node?.range ? lineOf(node.range[0]) : itemLine;
        const field = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
        problems.push(`line ${at}: [${index}]${field} ${issue.message}`);
      }
      return;
    }
    const { ou, channel } = parsed.data;
    const earlier = seen.get(ou);
    if (earlier !== undefined) {
      problems.push(`line ${itemLine}: OU ${ou} is listed twice (first at line ${earlier})`);
      return;
    }
    seen.set(ou, itemLine);
    routes.push({ ou, channelId: channel });
  });
  if (problems.length > 0) throw new OuRoutesFileError(file, problems);
  return routes;
}

/** Reads and parses the file; a missing file is no routes when `optional` is set. */
export function loadOuRoutesFile(path: string, options: { optional?: boolean } = {}): OuRoute[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Only absence is optional: an unreadable file is a mistake to report.
    if (options.optional === true && code === 'ENOENT') return [];
    throw new OuRoutesFileError(path, [`cannot be read: ${code ?? String(err)}`]);
  }
  return parseOuRoutesFile(text, path);
}

/**
 * Why a path cannot match any account, or undefined when it can. Paths are
 * kept exactly as written (no trimming or case folding) because matching is
 * exact, segment by segment.
 */
function ouPathProblem(path: string): string | undefined {
  const segments = path.split('/');
  if (segments[0] !== ROOT_SEGMENT) return `must start at the root, e.g. ${ROOT_SEGMENT}/Workloads/Prod`;
  if (segments.some((s) => s === '')) return 'must not have empty segments or a trailing /';
  if (segments.some((s) => s.trim() !== s)) return 'must not have spaces around a / or at either end';
  if (segments.some((s) => s.length > MAX_OU_NAME_LENGTH)) {
    return `must not have an OU name longer than ${MAX_OU_NAME_LENGTH} characters`;
  }
  if (segments.length - 1 > MAX_OU_LEVELS) return `must not be more than ${MAX_OU_LEVELS} OU levels below the root`;
  return undefined;
}

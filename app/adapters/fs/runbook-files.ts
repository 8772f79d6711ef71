/** Reads runbooks/*.md into a RunbookLibrary. The default runbook is default.md. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunbook, type Runbook, RunbookError, RunbookLibrary } from '../../domain/runbooks';

export const DEFAULT_RUNBOOK = 'default.md';
const NOT_RUNBOOKS = new Set(['README.md']);

export function readRunbooks(dir: string): {
  runbooks: Runbook[];
  fallback: Runbook | undefined;
  errors: RunbookError[];
} {
  const runbooks: Runbook[] = [];
  const errors: RunbookError[] = [];
  let fallback: Runbook | undefined;
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.md') && !NOT_RUNBOOKS.has(f))
    .sort()) {
    try {
      const rb = parseRunbook(file, readFileSync(join(dir, file), 'utf8'));
      if (file === DEFAULT_RUNBOOK) fallback = rb;
      else runbooks.push(rb);
    } catch (err) {
      if (err instanceof RunbookError) errors.push(err);
      else throw err;
    }
  }
  return { runbooks, fallback, errors };
}

/** Loads the library; an invalid runbook stops start-up, naming the file and field. */
export function loadRunbookLibrary(dir: string): RunbookLibrary {
  const { runbooks, fallback, errors } = readRunbooks(dir);
  if (errors.length > 0) throw errors[0];
  return new RunbookLibrary(runbooks, fallback);
}

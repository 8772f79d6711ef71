/**
 * Reads config/rules.yml (path from RULES_FILE) and keeps the current rules,
 * reloading them on request (SIGHUP, wired by main) or when the file changes.
 * A reload that fails keeps the rules that were working: a typo must never
 * silence alerting. Problems name the line, the rule and the field.
 */
import { type FSWatcher, readFileSync, watch as watchDir } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { type CompiledRules, compileRules, RulesError } from '../domain/rules';

/** Rules files are small; anything bigger is a mistake (or an attack on the parser). */
const MAX_BYTES = 1024 * 1024;

export interface YamlInput {
  /** The document as plain data (null for an empty file). */
  value: unknown;
  /** The line of the deepest node along the path that exists, for messages. */
  locate: (path: ReadonlyArray<string | number>) => number | undefined;
}

/**
 * Parses YAML text, keeping positions so that later validation can say which
 * line is at fault. Syntax errors throw RulesError with their line numbers.
 */
export function readYaml(text: string, file: string): YamlInput {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  if (doc.errors.length > 0) {
    throw new RulesError(
      file,
      doc.errors.map((e) => `line ${lineOf(e.pos[0]) ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  let value: unknown;
  try {
    // maxAliasCount bounds "billion laughs" expansion.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new RulesError(file, [`cannot be read as data: ${(err as Error).message}`]);
  }
  const locate = (path: ReadonlyArray<string | number>): number | undefined => {
    let node: unknown = doc.contents;
    let line = lineOf((doc.contents as Node | null)?.range?.[0]);
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        // The key's line: that is where the reader looks for `regex:` or `typs:`.
        line = lineOf((pair.key as Node).range?.[0]) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) break;
        line = lineOf(item.range?.[0]) ?? line;
        node = item;
      } else {
        break;
      }
    }
    return line;
  };
  return { value, locate };
}

/** Parses the text of a rules file. `file` is only used in messages. */
export function parseRulesFile(text: string, file: string): CompiledRules {
  const { value, locate } = readYaml(text, file);
  return compileRules(value, file, { locate });
}

export interface LoadOptions {
  /** A missing file means "no rules" (for the default path); otherwise it is an error. */
  optional?: boolean | undefined;
}

/** The file's text, or undefined when it is missing and that is allowed. */
function readRulesText(path: string, options: LoadOptions): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.optional) return undefined;
    throw new RulesError(path, [`cannot be read: ${code ?? String(err)}`]);
  }
  if (Buffer.byteLength(text) > MAX_BYTES) throw new RulesError(path, [`is larger than ${MAX_BYTES} bytes`]);
  return text;
}

function compileText(text: string | undefined, path: string): CompiledRules {
  return text === undefined ? { rules: [], source: path } : parseRulesFile(text, path);
}

/** Reads and compiles a rules file; throws RulesError naming every problem. */
export function loadRulesFile(path: string, options: LoadOptions = {}): CompiledRules {
  return compileText(readRulesText(path, options), path);
}

export type ReloadResult = { ok: true; count: number } | { ok: false; problems: string[] };

export interface RulesSourceOptions extends LoadOptions {
  /** How long the file must be quiet before a change is reloaded. Editors write in bursts. */
  debounceMs?: number | undefined;
}

/** The rules in force, with reload on demand and on file change. */
export class RulesSource {
  private rules: CompiledRules;
  /** The text of the last load attempt, good or bad: unchanged text is not reloaded on a file event. */
  private lastText: string | undefined;

  /** Loads the file now; throws RulesError if it is invalid, so a bad file fails startup loudly. */
  constructor(
    readonly path: string,
    private readonly options: RulesSourceOptions = {},
  ) {
    this.lastText = readRulesText(path, options);
    this.rules = compileText(this.lastText, path);
  }

  current(): CompiledRules {
    return this.rules;
  }

  /** Reloads the file. On failure the previous rules stay in force and the problems are returned. */
  reload(): ReloadResult {
    let text: string | undefined;
    try {
      text = readRulesText(this.path, this.options);
    } catch (err) {
      return failure(err);
    }
    return this.apply(text);
  }

  private apply(text: string | undefined): ReloadResult {
    this.lastText = text;
    try {
      this.rules = compileText(text, this.path);
      return { ok: true, count: this.rules.rules.length };
    } catch (err) {
      return failure(err);
    }
  }

  /**
   * Reloads when the file changes and reports each result. Watches the
   * directory rather than the file: editors that save by writing a new file
   * and renaming it over the old one would leave a file watcher on a deleted
   * inode. Returns a function that stops watching.
   */
  watch(onChange: (result: ReloadResult) => void): () => void {
    const dir = dirname(resolve(this.path));
    const name = basename(this.path);
    const debounceMs = this.options.debounceMs ?? 200;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const fire = () => {
      timer = undefined;
      if (closed) return;
      let text: string | undefined;
      try {
        text = readRulesText(this.path, this.options);
      } catch (err) {
        // Mid-replace the file can be briefly missing; the next event reloads it.
        onChange(failure(err));
        return;
      }
      if (text === this.lastText) return;
      onChange(this.apply(text));
    };
    let watcher: FSWatcher;
    try {
      // Not persistent: watching must never keep the process alive on shutdown.
      watcher = watchDir(dir, { persistent: false }, (_event, filename) => {
        if (filename !== null && filename !== name) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(fire, debounceMs);
        timer.unref();
      });
    } catch (err) {
      onChange({ ok: false, problems: [`cannot watch ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`] });
      return () => {};
    }
    watcher.on('error', (err: NodeJS.ErrnoException) => {
      onChange({ ok: false, problems: [`watching ${dir} failed: ${err.code ?? err.message}`] });
    });
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    };
  }
}

/** reload() and watch() never throw: they run from signal handlers and timers. */
function failure(err: unknown): ReloadResult {
  if (err instanceof RulesError) return { ok: false, problems: err.problems };
  return { ok: false, problems: [`unexpected error: ${err instanceof Error ? err.message : String(err)}`] };
}

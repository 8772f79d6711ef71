/** Kanshi as a real process (`node dist/app/main.js`), with its stdout and stderr captured. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { eventually } from './eventually';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const MAIN = join(REPO_ROOT, 'dist', 'app', 'main.js');

export interface KanshiProcess {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  out: () => string;
  /** The signal that ended it, or else its exit code. */
  exited: Promise<NodeJS.Signals | number | null>;
}

/** Starts it with only `env` (plus PATH and HOME), so nothing leaks in from the test's environment. */
export function spawnKanshi(env: Record<string, string>): KanshiProcess {
  let out = '';
  const child = spawn(process.execPath, [MAIN], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b) => {
    out += String(b);
  });
  child.stderr?.on('data', (b) => {
    out += String(b);
  });
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    child.on('exit', (code, signal) => r(signal ?? code)),
  );
  return { child, out: () => out, exited };
}

/** The port it listens on, once its log says so. */
export function listeningPort(k: KanshiProcess, timeoutMs: number): Promise<number> {
  return eventually(async () => {
    if (k.child.exitCode !== null) throw new Error(`kanshi exited early:\n${k.out().slice(-3000)}`);
    const m = /"port":(\d+),"msg":"kanshi listening"/.exec(k.out());
    return m ? Number(m[1]) : undefined;
  }, timeoutMs);
}

/**
 * The normal suite's global setup (one PostgreSQL server and a migrated
 * template database), plus a build of dist/ when it is missing or older than
 * the sources: the PostgreSQL controller and the SIGKILL scenario run the
 * compiled app in child processes. Building here, once, keeps the two Jest
 * workers from running tsc over the same files at the same time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import baseGlobalSetup from '../support/global-setup';

const ROOT = resolve(__dirname, '..', '..');
const BUILT = join(ROOT, 'dist', 'app', 'main.js');

function newestSource(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return /\.(ts|json)$/.test(path) ? st.mtimeMs : 0;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestSource(join(path, name))), 0);
}

function distIsStale(): boolean {
  if (!existsSync(BUILT)) return true;
  const sources = ['app', 'scripts', 'bench', 'tsconfig.json', 'tsconfig.build.json']
    .map((p) => join(ROOT, p))
    .filter((p) => existsSync(p));
  return Math.max(...sources.map(newestSource)) > statSync(BUILT).mtimeMs;
}

export default async function globalSetup(): Promise<void> {
  await baseGlobalSetup();
  if (distIsStale()) {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
  }
}

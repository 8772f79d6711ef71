// Restores package-lock.json entries for other platforms' optional binaries
// (Biome's CLI, unrs-resolver's bindings) that `npm install` leaves out when
// the registry it can reach lacks those platforms' builds of the pinned
// version. Without the entries `npm ci` refuses the lockfile ("Missing: … from
// lock file"). Each entry carries only what npm needs to skip a package that
// does not fit this machine: version, os, cpu, libc, optional. Run it after
// `npm install` changes the lockfile: node scripts/lock-platform-packages.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

/** os, cpu and libc from a platform package's name, e.g. cli-linux-x64-musl, resolver-binding-win32-ia32-msvc. */
function platformOf(name) {
  const m =
    /-(android|darwin|freebsd|linux|openharmony|win32)-(arm64|arm|x64|ia32|loong64|ppc64|riscv64|s390x)(?:-(gnu|musl|gnueabihf|musleabihf|eabi|msvc))?$/.exec(
      name,
    );
  if (!m) return undefined;
  const [, os, cpu, abi] = m;
  const entry = { os: [os], cpu: [cpu] };
  if (abi === 'gnu' || abi === 'gnueabihf') entry.libc = ['glibc'];
  if (abi === 'musl' || abi === 'musleabihf') entry.libc = ['musl'];
  return entry;
}

let added = 0;
for (const [path, pkg] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (packages[key] || packages[`${path}/${key}`]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    packages[key] = { version, ...(pkg.dev ? { dev: true } : {}), optional: true, ...platform };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platform-packages: added ${added} entr${added === 1 ? 'y' : 'ies'}`);

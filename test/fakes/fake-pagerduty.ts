/**
 * FakePagerDuty: a local stand-in for the PagerDuty Events API v2 endpoint.
 *
 * Real HTTP on 127.0.0.1 (random port) so the adapter's real fetch, headers,
 * timeouts and body handling are exercised. It records every POST, validates
 * events roughly like PagerDuty does, and can be told to fail or hang.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';

export interface RecordedEvent {
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** Date.now() when the request arrived. */
  at: number;
  /** HTTP status answered; undefined while unanswered (hang). */
  status: number | undefined;
}

export interface FailOptions {
  /** Sent as the Retry-After header (seconds, or an HTTP date string). */
  retryAfter?: number | string;
  /** Response body: objects are sent as JSON, strings as text/plain. Default: a PagerDuty-like JSON body. */
  body?: unknown;
}

interface PendingFailure {
  status: number;
  opts: FailOptions;
  remaining: number;
}

const ENQUEUE_PATH = '/v2/enqueue';
const ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}

/** PagerDuty-style validation; returns the list of errors (empty when valid). */
export function validateEvent(body: unknown): string[] {
  if (!isRecord(body)) return ['Event must be a JSON object.'];
  const errors: string[] = [];
  if (!nonEmptyString(body.routing_key)) errors.push("'routing_key' is missing or blank.");
  if (!nonEmptyString(body.event_action)) {
    errors.push("'event_action' is missing or blank.");
  } else if (typeof body.event_action === 'string' && !ACTIONS.has(body.event_action)) {
    errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve').");
  }
  if (body.event_action !== 'trigger' && !nonEmptyString(body.dedup_key)) {
    errors.push("'dedup_key' is missing or blank.");
  }
  if (body.event_action === 'trigger') {
    const payload = body.payload;
    if (!isRecord(payload)) {
      errors.push("'payload' is missing or not an object.");
    } else {
      if (!nonEmptyString(payload.summary)) errors.push("'payload.summary' is missing or blank.");
      if (!nonEmptyString(payload.source)) errors.push("'payload.source' is missing or blank.");
      if (!nonEmptyString(payload.severity)) {
        errors.push("'payload.severity' is missing or blank.");
      } else if (typeof payload.severity === 'string' && !SEVERITIES.has(payload.severity)) {
        errors.push(
          "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info').",
        );
      }
    }
  }
  return errors;
}

function defaultFailureBody(status: number): unknown {
  if (status === 429)
    return { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' };
  if (status === 400) return { status: 'invalid event', message: 'Event object is invalid', errors: [] };
  if (status >= 500) return { status: 'error', message: 'Internal Server Error' };
  return { status: 'error', message: `HTTP ${status}` };
}

export class FakePagerDuty {
  /** Every POST received, in arrival order (including failed and unanswered ones). */
  readonly events: RecordedEvent[] = [];

  private server: Server | undefined;
  private port: number | undefined;
  private readonly sockets = new Set<Socket>();
  private failures: PendingFailure[] = [];
  private hangs = 0;

  async start(): Promise<void> {
    if (this.server) throw new Error('FakePagerDuty already started');
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) res.destroy();
      });
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('FakePagerDuty: unexpected server address');
    this.server = server;
    this.port = address.port;
  }

  /** Events API endpoint, e.g. http://127.0.0.1:PORT/v2/enqueue. */
  get url(): string {
    if (this.port === undefined) throw new Error('FakePagerDuty not started; call start() first');
    return `http://127.0.0.1:${this.port}${ENQUEUE_PATH}`;
  }

  /** The next `times` requests are answered with `status` (and optional Retry-After / body). */
  failNext(status: number, opts: FailOptions = {}, times = 1): void {
    this.failures.push({ status, opts, remaining: times });
  }

  /** The next request is never answered (until the client gives up or stop()). */
  hang(): void {
    this.hangs += 1;
  }

  /** Forgets recorded events and pending failures/hangs. */
  reset(): void {
    this.events.length = 0;
    this.failures = [];
    this.hangs = 0;
  }

  /** Closes the server, destroying hung and keep-alive connections. Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.port = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'POST' || url.pathname !== ENQUEUE_PATH) {
      req.resume();
      this.send(res, 404, { status: 'error', message: 'Not Found' });
      return;
    }
    const at = Date.now();
    const text = await readBody(req);
    let body: unknown = text;
    let parsed = true;
    try {
      body = JSON.parse(text);
    } catch {
      parsed = false;
    }
    const record: RecordedEvent = { body, at, status: undefined };
    this.events.push(record);

    if (this.hangs > 0) {
      this.hangs -= 1;
      return; // leave the response open; stop() or the client closes the socket
    }

    const failure = this.failures[0];
    if (failure) {
      failure.remaining -= 1;
      if (failure.remaining <= 0) this.failures.shift();
      const headers: Record<string, string> = {};
      if (failure.opts.retryAfter !== undefined) headers['retry-after'] = String(failure.opts.retryAfter);
      record.status = failure.status;
      this.send(res, failure.status, failure.opts.body ?? defaultFailureBody(failure.status), headers);
      return;
    }

    const errors = parsed ? validateEvent(body) : ['Malformed JSON in request body.'];
    if (errors.length > 0) {
      record.status = 400;
      this.send(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors });
      return;
    }
    const dedupKey =
      isRecord(body) && typeof body.dedup_key === 'string' && body.dedup_key !== ''
        ? body.dedup_key
        : randomBytes(16).toString('hex');
    record.status = 202;
    this.send(res, 202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const isText = typeof body === 'string';
    const payload = isText ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
    });
    res.end(payload);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

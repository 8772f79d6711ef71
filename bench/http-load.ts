/**
 * A lean HTTP/1.1 client for the load generator: keep-alive connections over
 * raw sockets, one request at a time on each (as EventBridge API destinations
 * send), and a response parser that reads only what the benchmark needs (the
 * status and the body, framed by Content-Length or chunked encoding).
 *
 * Node's http client costs about a quarter of a millisecond of CPU per
 * request; on a 2-core machine that is CPU the load generator takes from the
 * app it measures. This one costs a fraction of that, so more of the machine
 * is left to Kanshi and PostgreSQL, as it would be with a remote sender.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  body: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** What one response needs before it is whole; `null` until the head has arrived. */
interface Framing {
  status: number;
  bodyStart: number;
  contentLength: number | null;
  chunked: boolean;
  close: boolean;
}

function parseHead(buf: Buffer): Framing | null {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return null;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const status = Number((lines[0] ?? '').split(' ')[1]);
  if (!Number.isInteger(status)) throw new Error(`bad status line: ${(lines[0] ?? '').slice(0, 80)}`);
  let contentLength: number | null = null;
  let chunked = false;
  let close = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    if (name === 'content-length') contentLength = Number(value);
    else if (name === 'transfer-encoding') chunked = value.includes('chunked');
    else if (name === 'connection') close = value === 'close';
  }
  return { status, bodyStart: end + HEAD_END.length, contentLength, chunked, close };
}

/** The body of a chunked message starting at `from`, or null while it is incomplete. */
function dechunk(buf: Buffer, from: number): Buffer | null {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = Number.parseInt(buf.toString('latin1', at, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    const dataStart = lineEnd + 2;
    if (size === 0) return buf.indexOf('\r\n', dataStart) < 0 ? null : Buffer.concat(parts);
    if (buf.length < dataStart + size + 2) return null;
    parts.push(buf.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

interface InFlight {
  resolve: (r: RawResponse) => void;
  reject: (err: Error) => void;
}

/** One keep-alive connection, carrying one request at a time. */
class Connection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private head: Framing | null = null;
  private inFlight: InFlight | null = null;
  private ready: Promise<void>;
  closed = false;
  /** The server said `connection: close`: no further request on this one. */
  ending = false;

  constructor(port: number, onClosed: (c: Connection) => void) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.ready = new Promise<void>((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    // A refused connect is reported through the request that awaited `ready`.
    this.ready.catch(() => undefined);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      if (this.closed) return;
      this.closed = true;
      this.inFlight?.reject(err);
      this.inFlight = null;
      onClosed(this);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  async request(bytes: Buffer): Promise<RawResponse> {
    await this.ready;
    if (this.closed) throw new Error('connection closed');
    return new Promise<RawResponse>((resolve, reject) => {
      this.inFlight = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    try {
      this.head ??= parseHead(this.buf);
      const head = this.head;
      if (!head) return;
      let body: Buffer | null;
      if (head.chunked) body = dechunk(this.buf, head.bodyStart);
      else {
        const length = head.contentLength ?? 0;
        body =
          this.buf.length >= head.bodyStart + length
            ? this.buf.subarray(head.bodyStart, head.bodyStart + length)
            : null;
      }
      if (!body) return;
      const done = this.inFlight;
      this.inFlight = null;
      this.head = null;
      this.buf = Buffer.alloc(0);
      if (head.close) {
        this.ending = true;
        this.socket.end();
      }
      done?.resolve({ status: head.status, body: body.toString('utf8') });
    } catch (err) {
      this.socket.destroy(err as Error);
    }
  }
}

/**
 * At most `maxSockets` keep-alive connections to 127.0.0.1:`port`; a request
 * beyond them waits its turn (that wait is part of its latency).
 */
export class RawHttpClient {
  private readonly idle: Connection[] = [];
  private readonly waiters: Array<(c: Connection) => void> = [];
  private open = 0;
  private destroyed = false;

  constructor(
    private readonly port: number,
    private readonly maxSockets: number,
  ) {}

  /**
   * Sends `head` + `body` (the head must end with its blank line) and resolves with the response.
   * Rejects on a network error, or at `timeoutMs` from the call, queueing included.
   */
  async request(head: string, body: string, timeoutMs: number): Promise<RawResponse> {
    const bytes = Buffer.from(head + body, 'utf8');
    let timer: NodeJS.Timeout | undefined;
    let conn: Connection | undefined;
    let waiter: ((c: Connection) => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const queued = waiter ? this.waiters.indexOf(waiter) : -1;
        if (queued >= 0) this.waiters.splice(queued, 1);
        conn?.destroy();
        reject(new Error('timeout'));
      }, timeoutMs);
    });
    try {
      const acquired = this.acquire((w) => {
        waiter = w;
      });
      conn = await Promise.race([acquired, timeout]);
      waiter = undefined;
      const res = await Promise.race([conn.request(bytes), timeout]);
      this.release(conn);
      return res;
    } catch (err) {
      if (conn && !conn.closed) {
        conn.destroy();
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.destroyed = true;
    for (const c of this.idle) c.destroy();
    this.idle.length = 0;
  }

  private acquire(onWait: (w: (c: Connection) => void) => void): Promise<Connection> {
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.open < this.maxSockets) {
      this.open++;
      return Promise.resolve(new Connection(this.port, (c) => this.closed(c)));
    }
    return new Promise<Connection>((resolve) => {
      this.waiters.push(resolve);
      onWait(resolve);
    });
  }

  private release(conn: Connection): void {
    if (conn.closed) return;
    if (this.destroyed || conn.ending) {
      conn.destroy();
      return;
    }
    const next = this.waiters.shift();
    if (next) next(conn);
    else this.idle.push(conn);
  }

  /** A connection went away: forget it, and let a waiter open a new one. */
  private closed(conn: Connection): void {
    this.open--;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.waiters.shift();
    if (next && !this.destroyed) {
      this.open++;
      next(new Connection(this.port, (c) => this.closed(c)));
    }
  }
}

/**
 * LocalSlack: an in-process, Slack-compatible Web API. The test suite uses it
 * as its fake Slack (test/fakes/fake-slack.ts), and the sandbox
 * (app/sandbox/) as the workspace a newcomer clicks through: one
 * implementation for both.
 *
 * It speaks real HTTP on 127.0.0.1 so that production code can use a real
 * `WebClient` from @slack/web-api (pointed at `apiUrl` via `slackApiUrl`).
 * That way tests exercise the client's real request encoding, retry and error
 * handling instead of a hand-written mock of it. Failure injection
 * (failNext, failAlways, enforcePostRate) is for tests.
 *
 * Only the handful of methods Kanshi uses are implemented; everything else
 * answers `unknown_method`, like Slack does.
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export type Failure =
  /** HTTP 429 with `Retry-After: <retryAfter>` and body {ok:false,error:'ratelimited'}. */
  | { kind: 'ratelimited'; retryAfter: number }
  /** A non-200 HTTP status with a plain-text body (e.g. 500, 503). */
  | { kind: 'http'; status: number; body?: string }
  /** HTTP 200 with {ok:false, error} (channel_not_found, not_in_channel, is_archived, ...). */
  | { kind: 'error'; error: string }
  /** Process the request normally, but only after `ms` milliseconds. */
  | { kind: 'delay'; ms: number }
  /** Never answer; the socket is only closed by stop() (or by the client giving up). */
  | { kind: 'hang' };

export interface FailureOptions {
  /** How many matching requests the failure applies to (failNext only). Default 1. */
  times?: number;
  /** Only requests whose `channel` arg equals this are affected. */
  channel?: string;
}

export interface RecordedCall {
  method: string;
  /** Decoded request arguments (JSON-encoded blocks/attachments/metadata/view are parsed). */
  args: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  at: number;
  /** What was sent back: the JSON body, the plain-text body of an HTTP failure, or undefined while unanswered. */
  response: unknown;
  /** HTTP status sent back, undefined while unanswered (e.g. 'hang'). */
  status: number | undefined;
}

export interface FakeMessage {
  ts: string;
  channel: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  attachments: unknown[] | undefined;
  metadata: unknown;
  /** Parent ts for thread replies; undefined for top-level messages. */
  thread_ts: string | undefined;
  /** A thread reply that was also sent to the channel (shows up in history). */
  reply_broadcast: boolean;
  /** Number of successful chat.update calls on this message. */
  edits: number;
}

export interface FakeEphemeral {
  message_ts: string;
  channel: string;
  user: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  thread_ts: string | undefined;
}

export type ViewMethod = 'views.open' | 'views.push' | 'views.update';

export interface FakeView {
  id: string;
  /** The method that created the view. */
  method: ViewMethod;
  view: Record<string, unknown>;
  trigger_id: string | undefined;
  /** Number of views.update calls applied to this view. */
  updates: number;
}

export interface LocalSlackOptions {
  /** The bot token requests must carry. Default 'xoxb-test-token'. */
  token?: string;
}

export const FAKE_TEAM = { team: 'Kanshi Test', team_id: 'T0TEST' } as const;
export const FAKE_BOT = { user: 'kanshi', user_id: 'U0KANSHI', bot_id: 'B0KANSHI' } as const;

// ---------------------------------------------------------------------------
// Internal types and helpers
// ---------------------------------------------------------------------------

type Args = Record<string, unknown>;
type ApiResult = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };
type Handler = (args: Args) => ApiResult;

interface FailureRule {
  method: string;
  failure: Failure;
  channel: string | undefined;
  /** Remaining uses; Infinity for failAlways rules. */
  remaining: number;
}

/** Fields that @slack/web-api JSON-encodes inside form bodies and that we want as objects. */
const JSON_FIELDS = ['blocks', 'attachments', 'metadata', 'view'] as const;

const CHANNEL_RE = /^[CDG][A-Z0-9]+$/;

/** Block Kit limits we check (a subset of what Slack validates). */
const LIMITS = { blocks: 50, sectionText: 3000, headerText: 150, sectionFields: 10, fieldText: 2000 } as const;

function fail(error: string, extra: Record<string, unknown> = {}): ApiResult {
  return { ok: false, error, ...extra };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Form values are always strings; JSON bodies may carry numbers/booleans. */
function str(args: Args, key: string): string | undefined {
  const v = args[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function bool(args: Args, key: string): boolean {
  const v = args[key];
  return v === true || v === 'true' || v === '1' || v === 1;
}

/** Slack ts "1700000000.000123" -> integer microseconds (exact in a double until year ~2255). */
function tsToMicros(ts: string): number | undefined {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(ts);
  if (!m || m[1] === undefined) return undefined;
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
}

function microsToTs(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

function textOf(obj: unknown): string | undefined {
  return isRecord(obj) && typeof obj.text === 'string' ? obj.text : undefined;
}

/**
 * Returns human-readable problems (empty when valid), in the style of Slack's
 * `errors` array: "<problem> [json-pointer:/blocks/N/...]".
 */
function validateBlocks(blocks: unknown): string[] {
  if (!Array.isArray(blocks)) return ['blocks must be an array [json-pointer:/blocks]'];
  const problems: string[] = [];
  if (blocks.length > LIMITS.blocks) {
    problems.push(`no more than ${LIMITS.blocks} items allowed [json-pointer:/blocks]`);
  }
  blocks.forEach((block: unknown, i) => {
    const at = `/blocks/${i}`;
    if (!isRecord(block) || typeof block.type !== 'string' || block.type === '') {
      problems.push(`missing required field: type [json-pointer:${at}]`);
      return;
    }
    if (block.type === 'section') {
      const text = textOf(block.text);
      if (text !== undefined && text.length > LIMITS.sectionText) {
        problems.push(`must be less than ${LIMITS.sectionText + 1} characters [json-pointer:${at}/text/text]`);
      }
      if (Array.isArray(block.fields)) {
        if (block.fields.length > LIMITS.sectionFields) {
          problems.push(`no more than ${LIMITS.sectionFields} items allowed [json-pointer:${at}/fields]`);
        }
        block.fields.forEach((field: unknown, j) => {
          const t = textOf(field);
          if (t !== undefined && t.length > LIMITS.fieldText) {
            problems.push(`must be less than ${LIMITS.fieldText + 1} characters [json-pointer:${at}/fields/${j}/text]`);
          }
        });
      }
    } else if (block.type === 'header') {
      const text = textOf(block.text);
      if (text !== undefined && text.length > LIMITS.headerText) {
        problems.push(`must be less than ${LIMITS.headerText + 1} characters [json-pointer:${at}/text/text]`);
      }
    }
  });
  return problems;
}

/**
 * invalid_blocks answers carry an `errors` array like Slack's. We deliberately
 * do not echo them as response_metadata.messages "[ERROR] ..." entries: WebClient
 * logs those through logger.error, which would spam test output.
 */
function checkBlocks(blocks: unknown): ApiResult | undefined {
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks)) return fail('invalid_blocks_format');
  const problems = validateBlocks(blocks);
  return problems.length > 0 ? fail('invalid_blocks', { errors: problems }) : undefined;
}

/** Message metadata must look like {event_type: string, event_payload: object}. */
function checkMetadata(metadata: unknown): ApiResult | undefined {
  if (metadata === undefined) return undefined;
  if (!isRecord(metadata) || typeof metadata.event_type !== 'string' || !isRecord(metadata.event_payload)) {
    return fail('invalid_metadata_format');
  }
  return undefined;
}

function nonEmpty(list: unknown[] | undefined): boolean {
  return list !== undefined && list.length > 0;
}

function asList(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A client that disconnects mid-body never sends 'end'; no-op after 'end'.
    req.on('close', () => reject(new Error('request closed before body was read')));
  });
}

/**
 * WebClient sends application/x-www-form-urlencoded where every non-scalar
 * argument is a JSON string; other clients may send application/json. Query
 * string parameters are accepted too (Slack allows GET for many methods).
 */
function parseArgs(body: string, contentType: string | undefined, query: URLSearchParams): Args | undefined {
  const args: Args = Object.fromEntries(query.entries());
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (body.length > 0) {
    if (type === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return undefined;
      }
      if (!isRecord(parsed)) return undefined;
      Object.assign(args, parsed);
    } else if (type === 'application/x-www-form-urlencoded' || type === '') {
      Object.assign(args, Object.fromEntries(new URLSearchParams(body).entries()));
    } else {
      // multipart (file uploads) is not supported by this fake.
      return undefined;
    }
  }
  for (const key of JSON_FIELDS) {
    const v = args[key];
    if (typeof v !== 'string') continue;
    try {
      args[key] = JSON.parse(v) as unknown;
    } catch {
      // Leave malformed JSON as a string; the method's validation reports it.
    }
  }
  return args;
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m?.[1];
}

// ---------------------------------------------------------------------------
// LocalSlack
// ---------------------------------------------------------------------------

export class LocalSlack {
  private fallback: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | undefined;
  private changes = 0;
  /** Every request received, in arrival order (including failed and unanswered ones). */
  readonly calls: RecordedCall[] = [];

  private readonly token: string;
  private server: Server | undefined;
  private port: number | undefined;
  private readonly sockets = new Set<Socket>();
  /** Pending 'delay' timers, with the resolver that lets stop() release them. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();

  private channelMessages = new Map<string, FakeMessage[]>();
  private ephemeralList: FakeEphemeral[] = [];
  private viewMap = new Map<string, FakeView>();
  private lastMicros = 0;
  private viewCounter = 0;

  private onceRules: FailureRule[] = [];
  private alwaysRules: FailureRule[] = [];
  private missingChannels = new Set<string>();
  private postIntervalMs: number | undefined;
  private lastPostAt = new Map<string, number>();
  private readonly usergroups = new Map<string, string[]>();
  private readonly userChannels = new Map<string, string[]>();
  private readonly homes = new Map<string, Record<string, unknown>>();

  private readonly handlers: ReadonlyMap<string, Handler>;

  constructor(opts: LocalSlackOptions = {}) {
    this.token = opts.token ?? 'xoxb-test-token';
    this.handlers = new Map<string, Handler>([
      ['auth.test', () => this.authTest()],
      ['chat.postMessage', (a) => this.postMessage(a)],
      ['chat.update', (a) => this.update(a)],
      ['chat.postEphemeral', (a) => this.postEphemeral(a)],
      ['conversations.history', (a) => this.history(a)],
      ['conversations.replies', (a) => this.threadReplies(a)],
      ['views.open', (a) => this.storeView('views.open', a)],
      ['views.push', (a) => this.storeView('views.push', a)],
      ['views.update', (a) => this.storeView('views.update', a)],
      ['users.info', (a) => this.usersInfo(a)],
      ['usergroups.users.list', (a) => this.usergroupUsers(a)],
      ['users.conversations', (a) => this.userConversations(a)],
      ['views.publish', (a) => this.publishHome(a)],
    ]);
  }

  /** Channels a user is a member of, for users.conversations. */
  setUserChannels(userId: string, channelIds: string[]): void {
    this.userChannels.set(userId, [...channelIds]);
  }

  /** Serves every path outside /api/ (the sandbox's page and its own API). */
  setFallback(handler: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>): void {
    this.fallback = handler;
  }

  /** Every channel something was posted in. */
  channelIds(): string[] {
    return [...this.channelMessages.keys()];
  }

  /** Closes a modal (the user pressed Cancel, or a submission was accepted). */
  closeView(id: string): boolean {
    const closed = this.viewMap.delete(id);
    if (closed) this.changes += 1;
    return closed;
  }

  /** Grows with every request and change: a page can poll it to know when to redraw. */
  get version(): number {
    return this.calls.length + this.changes;
  }

  /** The App Home view last published for a user. */
  homeOf(userId: string): Record<string, unknown> | undefined {
    return this.homes.get(userId);
  }

  // ----- lifecycle ---------------------------------------------------------

  async start(port = 0): Promise<void> {
    if (this.server) throw new Error('LocalSlack already started');
    const server = createServer((req, res) => {
      this.handleRequest(req, res).catch(() => {
        // Only reachable when the socket died mid-request (e.g. during stop()).
        if (!res.headersSent && !res.destroyed) res.destroy();
      });
    });
    // Track sockets ourselves so stop() can kill keep-alive and hung connections.
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('LocalSlack: unexpected server address');
    this.server = server;
    this.port = address.port;
  }

  /** Base URL for `new WebClient(token, { slackApiUrl: fake.apiUrl })`. */
  get apiUrl(): string {
    if (this.port === undefined) throw new Error('LocalSlack not started; call start() first');
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** Closes the server, destroying keep-alive and hung connections. Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.port = undefined;
    for (const [timer, release] of this.timers) {
      clearTimeout(timer);
      release();
    }
    this.timers.clear();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // server.close() alone waits for every open connection, i.e. forever for a
    // hung request or an idle keep-alive socket held by fetch/undici.
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    server.closeAllConnections();
    await closed;
  }

  // ----- programming the fake ------------------------------------------------

  /** The next `times` (default 1) requests to `method` (optionally only for `channel`) fail this way. */
  failNext(method: string, failure: Failure, opts: FailureOptions = {}): void {
    this.onceRules.push({ method, failure, channel: opts.channel, remaining: opts.times ?? 1 });
  }

  /** Every request to `method` (optionally only for `channel`) fails until clearFailures(). */
  failAlways(method: string, failure: Failure, opts: Pick<FailureOptions, 'channel'> = {}): void {
    this.alwaysRules.push({ method, failure, channel: opts.channel, remaining: Number.POSITIVE_INFINITY });
  }

  /** Every write (and history/replies read) for this channel answers channel_not_found. */
  setChannelMissing(channel: string, missing = true): void {
    if (missing) this.missingChannels.add(channel);
    else this.missingChannels.delete(channel);
  }

  /** Removes failNext/failAlways rules and missing-channel marks. */
  clearFailures(): void {
    this.onceRules = [];
    this.alwaysRules = [];
    this.missingChannels.clear();
  }

  /**
   * Rejects a chat.postMessage that arrives sooner than 1/perChannelPerSecond
   * seconds after the previous accepted post to the same channel (429, Retry-After: 1).
   * Pass undefined to turn enforcement off.
   */
  enforcePostRate(opts: { perChannelPerSecond: number } | undefined): void {
    this.postIntervalMs = opts === undefined ? undefined : 1000 / opts.perChannelPerSecond;
    this.lastPostAt.clear();
  }

  setUsergroup(id: string, userIds: string[]): void {
    this.usergroups.set(id, [...userIds]);
  }

  /**
   * Clears recorded calls, messages, ephemerals, views and all failures.
   * Configuration (token, enforcePostRate, usergroups) is kept.
   */
  reset(): void {
    this.calls.length = 0;
    this.channelMessages = new Map();
    this.ephemeralList = [];
    this.viewMap = new Map();
    this.lastPostAt.clear();
    this.clearFailures();
  }

  // ----- queries -------------------------------------------------------------

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Top-level messages of a channel, oldest first (thread replies excluded). */
  messages(channel: string): FakeMessage[] {
    return (this.channelMessages.get(channel) ?? []).filter((m) => m.thread_ts === undefined);
  }

  /** Replies in the thread rooted at `ts`, oldest first (the parent is not included). */
  replies(channel: string, ts: string): FakeMessage[] {
    return (this.channelMessages.get(channel) ?? []).filter((m) => m.thread_ts === ts);
  }

  /** Every stored message (top-level and replies) across channels, in posting order. */
  allMessages(): FakeMessage[] {
    return [...this.channelMessages.values()].flat().sort((a, b) => this.cmpTs(a.ts, b.ts));
  }

  ephemerals(channel?: string): FakeEphemeral[] {
    return this.ephemeralList.filter((e) => channel === undefined || e.channel === channel);
  }

  views(): FakeView[] {
    return [...this.viewMap.values()];
  }

  /**
   * Polls `fn` every 10 ms until it returns something other than undefined/false
   * (exceptions count as "not yet"), and resolves with that value.
   */
  async waitFor<T>(fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = fn();
        if (value !== undefined && value !== false) return value;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() >= deadline) {
        const seen = this.calls.map((c) => c.method).join(', ') || 'none';
        const why = lastError instanceof Error ? ` Last error: ${lastError.message}.` : '';
        throw new Error(`LocalSlack.waitFor: condition not met within ${timeoutMs} ms.${why} Calls so far: ${seen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  // ----- request pipeline ------------------------------------------------------

  private async handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith('/api/')) {
      if (this.fallback) return this.fallback(req, res, url);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
      return;
    }
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    const body = await readBody(req);
    const parsed = parseArgs(body, req.headers['content-type'], url.searchParams);
    const args = parsed ?? {};
    const call: RecordedCall = { method, args, at: Date.now(), response: undefined, status: undefined };
    this.calls.push(call);
    if (parsed === undefined) {
      this.sendJson(res, call, 200, fail('invalid_form_data'));
      return;
    }

    // Programmed failures come first: they simulate infrastructure trouble that
    // happens regardless of what the request contains.
    const failure = this.takeFailure(method, str(args, 'channel'));
    if (failure) {
      switch (failure.kind) {
        case 'ratelimited':
          this.sendJson(res, call, 429, fail('ratelimited'), { 'Retry-After': String(failure.retryAfter) });
          return;
        case 'http': {
          const text = failure.body ?? `HTTP ${failure.status}`;
          call.status = failure.status;
          call.response = text;
          if (!res.destroyed) res.writeHead(failure.status, { 'Content-Type': 'text/plain' }).end(text);
          return;
        }
        case 'error':
          this.sendJson(res, call, 200, fail(failure.error));
          return;
        case 'hang':
          // Leave the response open; stop() destroys the socket.
          return;
        case 'delay':
          // State changes happen when the answer goes out, even if the client
          // already gave up - like a slow Slack that still posts the message.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              this.timers.delete(timer);
              resolve();
            }, failure.ms);
            this.timers.set(timer, resolve);
          });
          if (this.server === undefined) return; // stopped while delayed
          break;
      }
    }

    const token = bearer(req) ?? str(args, 'token');
    if (token === undefined) {
      this.sendJson(res, call, 200, fail('not_authed'));
      return;
    }
    if (token !== this.token) {
      this.sendJson(res, call, 200, fail('invalid_auth'));
      return;
    }

    const handler = this.handlers.get(method);
    if (!handler) {
      this.sendJson(res, call, 200, fail('unknown_method'));
      return;
    }

    if (method === 'chat.postMessage' && this.postIntervalMs !== undefined) {
      const channel = str(args, 'channel') ?? '';
      const last = this.lastPostAt.get(channel);
      if (last !== undefined && Date.now() - last < this.postIntervalMs) {
        this.sendJson(res, call, 429, fail('ratelimited'), { 'Retry-After': '1' });
        return;
      }
    }

    const result = handler(args);
    if (method === 'chat.postMessage' && result.ok) {
      this.lastPostAt.set(str(args, 'channel') ?? '', Date.now());
    }
    this.sendJson(res, call, 200, result);
  }

  /** One-shot rules (in registration order) win over failAlways rules. */
  private takeFailure(method: string, channel: string | undefined): Failure | undefined {
    const matches = (r: FailureRule): boolean =>
      r.method === method && (r.channel === undefined || r.channel === channel);
    const once = this.onceRules.find(matches);
    if (once) {
      once.remaining -= 1;
      if (once.remaining <= 0) this.onceRules = this.onceRules.filter((r) => r !== once);
      return once.failure;
    }
    return this.alwaysRules.find(matches)?.failure;
  }

  private sendJson(
    res: ServerResponse,
    call: RecordedCall,
    status: number,
    body: ApiResult,
    headers: Record<string, string> = {},
  ): void {
    call.status = status;
    call.response = body;
    if (res.destroyed || res.writableEnded) return; // client went away (timeout/abort)
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  // ----- state helpers --------------------------------------------------------

  /** Unique, strictly increasing ts derived from the wall clock, like Slack's. */
  private nextTs(): string {
    this.lastMicros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    return microsToTs(this.lastMicros);
  }

  private cmpTs(a: string, b: string): number {
    return (tsToMicros(a) ?? 0) - (tsToMicros(b) ?? 0);
  }

  private findMessage(channel: string, ts: string): FakeMessage | undefined {
    return this.channelMessages.get(channel)?.find((m) => m.ts === ts);
  }

  /** Common channel checks for writes and channel reads. */
  private checkChannel(channel: string | undefined): ApiResult | undefined {
    if (channel === undefined || !CHANNEL_RE.test(channel) || this.missingChannels.has(channel)) {
      return fail('channel_not_found');
    }
    return undefined;
  }

  /** The wire shape Slack uses for a message in history/replies/postMessage answers. */
  private toApi(m: FakeMessage, includeMetadata: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {
      type: 'message',
      user: FAKE_BOT.user_id,
      bot_id: FAKE_BOT.bot_id,
      ts: m.ts,
      text: m.text ?? '',
    };
    if (m.blocks !== undefined) out.blocks = m.blocks;
    if (m.attachments !== undefined) out.attachments = m.attachments;
    if (m.thread_ts !== undefined) out.thread_ts = m.thread_ts;
    if (m.reply_broadcast) out.subtype = 'thread_broadcast';
    const replies = m.thread_ts === undefined ? this.replies(m.channel, m.ts) : [];
    const lastReply = replies[replies.length - 1];
    if (lastReply) {
      // Slack marks a thread parent with its own ts as thread_ts.
      out.thread_ts = m.ts;
      out.reply_count = replies.length;
      out.latest_reply = lastReply.ts;
    }
    if (m.edits > 0) out.edited = { user: FAKE_BOT.user_id, ts: m.ts };
    if (includeMetadata && m.metadata !== undefined) out.metadata = m.metadata;
    return out;
  }

  // ----- method handlers --------------------------------------------------------

  private authTest(): ApiResult {
    return { ok: true, url: 'https://kanshi-test.slack.com/', ...FAKE_TEAM, ...FAKE_BOT };
  }

  private postMessage(args: Args): ApiResult {
    const channel = str(args, 'channel');
    const channelError = this.checkChannel(channel);
    if (channelError || channel === undefined) return channelError ?? fail('channel_not_found');

    const blockError = checkBlocks(args.blocks);
    if (blockError) return blockError;
    const metadataError = checkMetadata(args.metadata);
    if (metadataError) return metadataError;

    const text = str(args, 'text');
    const blocks = asList(args.blocks);
    const attachments = asList(args.attachments);
    if (!text && !nonEmpty(blocks) && !nonEmpty(attachments)) return fail('no_text');

    // Replying to a reply threads under its parent, as in Slack. Unlike Slack
    // (which is lenient here) an unknown parent is an error, to catch bugs.
    let threadTs = str(args, 'thread_ts');
    if (threadTs !== undefined && threadTs !== '') {
      const parent = this.findMessage(channel, threadTs);
      if (!parent) return fail('thread_not_found');
      threadTs = parent.thread_ts ?? parent.ts;
    } else {
      threadTs = undefined;
    }

    const message: FakeMessage = {
      ts: this.nextTs(),
      channel,
      text,
      blocks,
      attachments,
      metadata: args.metadata,
      thread_ts: threadTs,
      reply_broadcast: threadTs !== undefined && bool(args, 'reply_broadcast'),
      edits: 0,
    };
    const list = this.channelMessages.get(channel) ?? [];
    list.push(message);
    this.channelMessages.set(channel, list);
    return { ok: true, channel, ts: message.ts, message: this.toApi(message, true) };
  }

  private update(args: Args): ApiResult {
    const channel = str(args, 'channel');
    const channelError = this.checkChannel(channel);
    if (channelError || channel === undefined) return channelError ?? fail('channel_not_found');
    const ts = str(args, 'ts');
    const message = ts === undefined ? undefined : this.findMessage(channel, ts);
    if (!message) return fail('message_not_found');

    const blockError = checkBlocks(args.blocks);
    if (blockError) return blockError;
    const metadataError = checkMetadata(args.metadata);
    if (metadataError) return metadataError;

    // Like Slack: omitted fields keep their previous value; `blocks: []` removes blocks.
    const text = str(args, 'text');
    if (text !== undefined) message.text = text;
    if (args.blocks !== undefined) message.blocks = nonEmpty(asList(args.blocks)) ? asList(args.blocks) : undefined;
    if (args.attachments !== undefined) message.attachments = asList(args.attachments);
    if (args.metadata !== undefined) message.metadata = args.metadata;
    message.edits += 1;
    return { ok: true, channel, ts: message.ts, text: message.text ?? '', message: this.toApi(message, true) };
  }

  private postEphemeral(args: Args): ApiResult {
    const channel = str(args, 'channel');
    const channelError = this.checkChannel(channel);
    if (channelError || channel === undefined) return channelError ?? fail('channel_not_found');
    const user = str(args, 'user');
    if (!user) return fail('user_not_found');
    const blockError = checkBlocks(args.blocks);
    if (blockError) return blockError;
    const text = str(args, 'text');
    const blocks = asList(args.blocks);
    if (!text && !nonEmpty(blocks) && !nonEmpty(asList(args.attachments))) return fail('no_text');
    const ephemeral: FakeEphemeral = {
      message_ts: this.nextTs(),
      channel,
      user,
      text,
      blocks,
      thread_ts: str(args, 'thread_ts'),
    };
    this.ephemeralList.push(ephemeral);
    return { ok: true, message_ts: ephemeral.message_ts };
  }

  private history(args: Args): ApiResult {
    const channel = str(args, 'channel');
    const channelError = this.checkChannel(channel);
    if (channelError || channel === undefined) return channelError ?? fail('channel_not_found');

    const inclusive = bool(args, 'inclusive');
    const oldest = tsToMicros(str(args, 'oldest') ?? '0') ?? 0;
    const latestArg = str(args, 'latest');
    const latest =
      latestArg === undefined ? Number.POSITIVE_INFINITY : (tsToMicros(latestArg) ?? Number.POSITIVE_INFINITY);
    const limitArg = Number(str(args, 'limit') ?? '100');
    const limit = Number.isFinite(limitArg) && limitArg > 0 ? Math.floor(limitArg) : 100;
    const includeMetadata = bool(args, 'include_all_metadata');

    // Top-level messages plus broadcast replies, which Slack also shows in the channel.
    const inRange = (this.channelMessages.get(channel) ?? [])
      .filter((m) => m.thread_ts === undefined || m.reply_broadcast)
      .filter((m) => {
        const t = tsToMicros(m.ts) ?? 0;
        return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
      })
      .reverse(); // newest first, as Slack returns them
    const page = inRange.slice(0, limit);
    return {
      ok: true,
      messages: page.map((m) => this.toApi(m, includeMetadata)),
      has_more: inRange.length > page.length,
    };
  }

  private threadReplies(args: Args): ApiResult {
    const channel = str(args, 'channel');
    const channelError = this.checkChannel(channel);
    if (channelError || channel === undefined) return channelError ?? fail('channel_not_found');
    const ts = str(args, 'ts');
    const found = ts === undefined ? undefined : this.findMessage(channel, ts);
    if (!found) return fail('thread_not_found');
    const parent = found.thread_ts === undefined ? found : this.findMessage(channel, found.thread_ts);
    if (!parent) return fail('thread_not_found');
    const includeMetadata = bool(args, 'include_all_metadata');
    const thread = [parent, ...this.replies(channel, parent.ts)];
    return { ok: true, messages: thread.map((m) => this.toApi(m, includeMetadata)), has_more: false };
  }

  private storeView(method: ViewMethod, args: Args): ApiResult {
    const view = args.view;
    if (!isRecord(view)) return fail('invalid_arguments');
    const blockError = checkBlocks(view.blocks);
    if (blockError) return blockError;

    if (method === 'views.update') {
      const viewId = str(args, 'view_id');
      const externalId = str(args, 'external_id');
      const existing =
        viewId !== undefined
          ? this.viewMap.get(viewId)
          : this.views().find((v) => externalId !== undefined && v.view.external_id === externalId);
      if (!existing) return fail('not_found');
      existing.view = { ...view };
      existing.updates += 1;
      return { ok: true, view: { id: existing.id, ...existing.view } };
    }

    this.viewCounter += 1;
    const stored: FakeView = {
      id: `V${String(this.viewCounter).padStart(8, '0')}`,
      method,
      view: { ...view },
      trigger_id: str(args, 'trigger_id'),
      updates: 0,
    };
    this.viewMap.set(stored.id, stored);
    return { ok: true, view: { id: stored.id, ...stored.view } };
  }

  private usersInfo(args: Args): ApiResult {
    const id = str(args, 'user');
    if (!id) return fail('user_not_found');
    const name = `user-${id.toLowerCase()}`;
    return {
      ok: true,
      user: { id, team_id: FAKE_TEAM.team_id, name, real_name: `User ${id}`, profile: { display_name: name } },
    };
  }

  private usergroupUsers(args: Args): ApiResult {
    const id = str(args, 'usergroup');
    const users = id === undefined ? undefined : this.usergroups.get(id);
    if (!users) return fail('no_such_subteam');
    return { ok: true, users: [...users] };
  }

  private userConversations(args: Args): ApiResult {
    const user = str(args, 'user');
    const channels = (user === undefined ? [] : (this.userChannels.get(user) ?? [])).map((id) => ({
      id,
      is_member: true,
    }));
    return { ok: true, channels, response_metadata: { next_cursor: '' } };
  }

  private publishHome(args: Args): ApiResult {
    const user = str(args, 'user_id');
    const view = args.view;
    if (user === undefined || !isRecord(view) || view.type !== 'home') return fail('invalid_arguments');
    this.homes.set(user, view);
    return { ok: true, view: { id: `V${user}`, ...view } };
  }
}

/**
 * The sandbox: a local Slack workspace for trying Kanshi without Slack. It is
 * served by the local Slack (app/sandbox/local-slack.ts) next to its Web API:
 * a page at /sandbox shows the channels and renders the Block Kit Kanshi
 * posted, and its small JSON API turns clicks, modal submissions and
 * `/alert` commands into signed requests to Kanshi's /slack/events, the path
 * real Slack uses. It also replays bundled GuardDuty sample findings through
 * /ingest/eventbridge with the API key. A development tool: see main.ts for
 * when it runs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../ports/logger';
import type { LocalSlack } from './local-slack';
import {
  blockActionsPayload,
  interactionBody,
  newTriggerId,
  type SlackActor,
  signedHeaders,
  slashCommandBody,
  viewSubmissionPayload,
} from './slack-requests';

export interface SandboxUser extends SlackActor {
  /** Shown in the page's user switcher. */
  label: string;
}

export interface SandboxOptions {
  slack: LocalSlack;
  /** Where Kanshi listens, e.g. http://127.0.0.1:3000. */
  kanshiUrl: string;
  signingSecret: string;
  ingestApiKey: string;
  channels: Array<{ id: string; name: string }>;
  users: SandboxUser[];
  /** GuardDuty findings (event details) to replay. */
  samples: unknown[];
  publicDir: string;
  logger: Logger;
}

const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const MAX_BODY = 512 * 1024;

type Json = Record<string, unknown>;

export class Sandbox {
  /** response_url paths we handed out → who and where, so replies show up as that user's ephemerals. */
  private readonly hooks = new Map<string, { user: string; channel: string }>();
  /** trigger ids → user, so a modal opened in answer shows up for that user. */
  private readonly triggers = new Map<string, string>();

  constructor(private readonly o: SandboxOptions) {
    o.slack.setFallback((req, res, url) => this.handle(req, res, url));
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/sandbox/')) {
        res.writeHead(302, { location: '/sandbox' }).end();
        return;
      }
      if (req.method === 'GET' && url.pathname === '/sandbox') return await this.file(res, 'index.html');
      const asset = /^\/sandbox\/([a-z]+\.(?:js|css|html))$/.exec(url.pathname)?.[1];
      if (req.method === 'GET' && asset && STATIC[asset]) return await this.file(res, asset);
      if (req.method === 'GET' && url.pathname === '/sandbox/api/state') {
        return send(res, 200, this.state(url.searchParams.get('user') ?? ''));
      }
      if (req.method === 'POST' && url.pathname.startsWith('/sandbox/api/')) {
        const body = await readJson(req);
        if (body === undefined) return send(res, 400, { error: 'body must be a JSON object' });
        return send(res, 200, await this.act(url.pathname.slice('/sandbox/api/'.length), body));
      }
      send(res, 404, { error: 'not found' });
    } catch (err) {
      this.o.logger.warn({ err: { message: (err as Error).message } }, 'sandbox request failed');
      if (!res.headersSent) send(res, 500, { error: (err as Error).message });
    }
  }

  private async act(action: string, body: Json): Promise<unknown> {
    if (['click', 'submit', 'command'].includes(action) && !this.o.users.some((u) => u.id === body.user)) {
      return { ok: false, error: 'unknown user: choose one of the sandbox users' };
    }
    switch (action) {
      case 'click':
        return this.click(body);
      case 'submit':
        return this.submit(body);
      case 'close':
        return { ok: this.o.slack.closeView(String(body.viewId ?? '')) };
      case 'command':
        return this.command(body);
      case 'replay':
        return this.replay();
      case 'ingest':
        return this.ingest(body.event);
      default:
        return { ok: false, error: `unknown action ${action}` };
    }
  }

  /** Everything the page shows, for one user. */
  state(userId: string): unknown {
    const { slack } = this.o;
    const messages: Record<string, unknown[]> = {};
    // Channels named in config, then any other channel Kanshi posted in (e.g. a rule's route).
    const channels = [
      ...this.o.channels,
      ...slack
        .channelIds()
        .filter((id) => !this.o.channels.some((c) => c.id === id))
        .map((id) => ({ id, name: id.toLowerCase() })),
    ];
    for (const c of channels) {
      messages[c.id] = slack.messages(c.id).map((m) => ({
        ts: m.ts,
        text: m.text,
        blocks: m.blocks ?? null,
        edits: m.edits,
        replies: slack.replies(c.id, m.ts).map((r) => ({ ts: r.ts, text: r.text, blocks: r.blocks ?? null })),
      }));
    }
    const ephemerals = [
      ...slack
        .ephemerals()
        .filter((e) => e.user === userId)
        .map((e) => ({ channel: e.channel, text: e.text, blocks: e.blocks ?? null, at: tsMillis(e.message_ts) })),
      ...slack.calls
        .filter((c) => this.hooks.get(c.method)?.user === userId)
        .map((c) => ({
          channel: this.hooks.get(c.method)?.channel,
          text: typeof c.args.text === 'string' ? c.args.text : '',
          blocks: Array.isArray(c.args.blocks) ? c.args.blocks : null,
          at: c.at,
        })),
    ].sort((a, b) => a.at - b.at);
    const views = slack
      .views()
      .filter((v) => v.trigger_id !== undefined && this.triggers.get(v.trigger_id) === userId)
      .map((v) => ({ id: v.id, view: v.view }));
    return {
      version: slack.version,
      users: this.o.users.map((u) => ({ id: u.id, name: u.label })),
      channels,
      messages,
      ephemerals,
      views,
      ingestKeyHint: `${this.o.ingestApiKey.slice(0, 4)}…`,
    };
  }

  private userOf(body: Json): SandboxUser {
    const user = this.o.users.find((u) => u.id === body.user);
    if (!user) throw new Error('unknown user');
    return user;
  }

  private hook(user: string, channel: string): string {
    const path = `response/${randomBytes(6).toString('hex')}`;
    this.hooks.set(path, { user, channel });
    return `${this.o.slack.apiUrl}${path}`;
  }

  private trigger(user: string): string {
    const id = newTriggerId();
    this.triggers.set(id, user);
    return id;
  }

  private async click(body: Json): Promise<unknown> {
    const user = this.userOf(body);
    const viewId = typeof body.viewId === 'string' ? body.viewId : undefined;
    const stored = viewId ? this.o.slack.views().find((v) => v.id === viewId) : undefined;
    if (viewId && !stored) return { ok: false, error: 'that modal is closed' };
    const channel = String(body.channel ?? '');
    const payload = blockActionsPayload({
      user,
      actionId: String(body.actionId ?? ''),
      value: String(body.value ?? ''),
      blockId: typeof body.blockId === 'string' ? body.blockId : undefined,
      triggerId: this.trigger(user.id),
      responseUrl: this.hook(user.id, channel),
      channel,
      messageTs: String(body.messageTs ?? ''),
      view: stored
        ? { id: stored.id, callback_id: stored.view.callback_id, private_metadata: stored.view.private_metadata }
        : undefined,
    });
    const res = await this.toKanshi('/slack/events', interactionBody(payload), 'application/x-www-form-urlencoded');
    return { ok: res.status === 200, status: res.status };
  }

  private async submit(body: Json): Promise<unknown> {
    const user = this.userOf(body);
    const stored = this.o.slack.views().find((v) => v.id === body.viewId);
    if (!stored) return { ok: false, error: 'that modal is closed' };
    const values = (typeof body.values === 'object' && body.values !== null ? body.values : {}) as Record<
      string,
      Record<string, unknown>
    >;
    const payload = viewSubmissionPayload({
      user,
      viewId: stored.id,
      callbackId: String(stored.view.callback_id ?? ''),
      privateMetadata: String(stored.view.private_metadata ?? ''),
      values,
    });
    const res = await this.toKanshi('/slack/events', interactionBody(payload), 'application/x-www-form-urlencoded');
    const text = await res.text();
    if (res.status !== 200) return { ok: false, error: `Kanshi answered ${res.status}` };
    const answer = text ? (JSON.parse(text) as { response_action?: string; errors?: Record<string, string> }) : {};
    if (answer.response_action === 'errors') return { ok: false, errors: answer.errors ?? {} };
    // Accepted: Slack closes the modal.
    this.o.slack.closeView(stored.id);
    return { ok: true };
  }

  private async command(body: Json): Promise<unknown> {
    const user = this.userOf(body);
    const channel = String(body.channel ?? '');
    const text = String(body.text ?? '')
      .replace(/^\s*\/alert\b/, '')
      .trim();
    const form = slashCommandBody({
      user,
      channel,
      text,
      responseUrl: this.hook(user.id, channel),
      triggerId: this.trigger(user.id),
    });
    const res = await this.toKanshi('/slack/events', form, 'application/x-www-form-urlencoded');
    return { ok: res.status === 200, status: res.status };
  }

  /** Each replay gives the samples fresh finding ids, so every replay makes new cards. */
  async replay(): Promise<{ results: Array<{ status: number; body: unknown }> }> {
    const results: Array<{ status: number; body: unknown }> = [];
    for (const sample of this.o.samples) {
      const detail = {
        ...(sample as Json),
        id: randomBytes(16).toString('hex'),
        updatedAt: new Date().toISOString(),
      };
      results.push(await this.ingest(eventOf(detail)));
    }
    return { results };
  }

  private async ingest(event: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.o.kanshiUrl}/ingest/eventbridge`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': this.o.ingestApiKey,
        'user-agent': 'Kanshi-Sandbox',
      },
      body: JSON.stringify(event),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: show it as text.
    }
    return { status: res.status, body };
  }

  private toKanshi(path: string, body: string, contentType: string): Promise<Response> {
    return fetch(`${this.o.kanshiUrl}${path}`, {
      method: 'POST',
      headers: signedHeaders(body, contentType, this.o.signingSecret),
      body,
    });
  }

  private async file(res: ServerResponse, name: string): Promise<void> {
    const content = await readFile(join(this.o.publicDir, name));
    res.writeHead(200, {
      'content-type': STATIC[name] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      // The page loads nothing from elsewhere and runs no inline script.
      'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
    });
    res.end(content);
  }
}

/** An EventBridge envelope around a GuardDuty finding, as the API destination sends it. */
export function eventOf(detail: Json): Json {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: '999988887777',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: typeof detail.region === 'string' ? detail.region : 'us-east-1',
    resources: [],
    detail,
  };
}

function tsMillis(ts: string): number {
  return Math.round(Number(ts) * 1000);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Json | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A tiny stand-in for STS and GuardDuty over real HTTP, for Kanshi running as
 * a child process (aws-sdk-client-mock only reaches clients in this process).
 * The app's adapter leaves endpoint resolution to the SDK, so
 * AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_GUARDDUTY point it here.
 *
 * Only what archiving uses:
 *   STS AssumeRole      AWS Query protocol: form-encoded POST /, XML answer
 *   GuardDuty ListDetectors   REST-JSON: GET /detector
 *   GuardDuty ArchiveFindings REST-JSON: POST /detector/{id}/findings/archive
 *
 * ArchiveFindings can be made to hang: such a call is never applied (as if
 * it never reached GuardDuty), so a finding counts as archived only by calls
 * answered 200.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export const FAKE_DETECTOR = 'fakedetector0001';

export type ArchiveMode =
  | { kind: 'ok' }
  /** Never answer; the client's own timeout gives up. */
  | { kind: 'hang' }
  | { kind: 'error'; status: number; type: string };

export interface ArchiveCall {
  detectorId: string;
  findingIds: string[];
  at: number;
  /** pending: not answered yet; aborted: the client went away before an answer. */
  outcome: 'ok' | 'error' | 'pending' | 'aborted';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function xml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' }).end(body);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export class FakeAws {
  readonly archiveCalls: ArchiveCall[] = [];
  assumeRoleCalls = 0;
  listDetectorsCalls = 0;
  archiveMode: ArchiveMode = { kind: 'ok' };
  private server: Server | undefined;
  private port = 0;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) json(res, 500, { message: 'fake AWS failed' });
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** ArchiveFindings calls that included this finding, by outcome. */
  callsFor(findingId: string): { received: number; ok: number } {
    const calls = this.archiveCalls.filter((c) => c.findingIds.includes(findingId));
    return { received: calls.length, ok: calls.filter((c) => c.outcome === 'ok').length };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);

    if (req.method === 'POST' && url.pathname === '/') {
      const form = new URLSearchParams(body);
      if (form.get('Action') !== 'AssumeRole') {
        xml(res, 400, '<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>');
        return;
      }
      this.assumeRoleCalls += 1;
      const expires = new Date(Date.now() + 3_600_000).toISOString();
      xml(
        res,
        200,
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAFAKEFAULTS00001</AccessKeyId>
      <SecretAccessKey>fake-secret</SecretAccessKey>
      <SessionToken>fake-session-token</SessionToken>
      <Expiration>${expires}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAFAKE:${form.get('RoleSessionName') ?? 'session'}</AssumedRoleId>
      <Arn>arn:aws:sts::111122223333:assumed-role/KanshiGuardDutyAdmin/session</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</AssumeRoleResponse>`,
      );
      return;
    }

    if (req.method === 'GET' && url.pathname === '/detector') {
      this.listDetectorsCalls += 1;
      json(res, 200, { detectorIds: [FAKE_DETECTOR] });
      return;
    }

    const archive = /^\/detector\/([^/]+)\/findings\/archive$/.exec(url.pathname);
    if (req.method === 'POST' && archive) {
      const { findingIds } = JSON.parse(body || '{}') as { findingIds?: string[] };
      const call: ArchiveCall = {
        detectorId: decodeURIComponent(archive[1] ?? ''),
        findingIds: findingIds ?? [],
        at: Date.now(),
        outcome: 'pending',
      };
      this.archiveCalls.push(call);
      const mode = this.archiveMode;
      if (mode.kind === 'hang') {
        res.on('close', () => {
          if (call.outcome === 'pending') call.outcome = 'aborted';
        });
        return;
      }
      if (mode.kind === 'error') {
        call.outcome = 'error';
        json(res, mode.status, { message: `fake ${mode.type}` }, { 'x-amzn-errortype': mode.type });
        return;
      }
      call.outcome = 'ok';
      json(res, 200, {});
      return;
    }

    json(res, 404, { message: `fake AWS has no ${req.method} ${url.pathname}` }, { 'x-amzn-errortype': 'NotFound' });
  }
}

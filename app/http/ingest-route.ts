/**
 * POST /ingest/eventbridge: the EventBridge API destination.
 *
 * Order matters: authenticate before reading the body (an unauthenticated
 * caller gets nothing stored), then size, media type and JSON, then the
 * ingest service. Every refusal after authentication keeps the payload in
 * quarantine. The answer comes only after the commit; a database outage is
 * 503 with Retry-After so EventBridge tries again.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lazyChild } from '../logging';
import { StorageUnavailableError } from '../ports/errors';
import type { Logger } from '../ports/logger';
import type { IngestRequest, IngestResult, IngestService } from '../services/ingest';
import { secretMatcher } from './api-key';
import { readBody } from './body';
import { sendJson } from './respond';

export const INGEST_PATH = '/ingest/eventbridge';
/** EventBridge events are at most 256 KB. */
export const MAX_EVENT_BYTES = 256 * 1024;
/** Of an oversize body we keep this much for review, and stop reading past the second figure. */
const KEEP_OVERSIZE_BYTES = 1024 * 1024;
const ABANDON_AFTER_BYTES = 8 * 1024 * 1024;
export const RETRY_AFTER_SECONDS = 5;

export interface IngestRouteDeps {
  ingest: IngestService;
  apiKey: string;
  logger: Logger;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function ingestHandler(deps: IngestRouteDeps) {
  const apiKeyMatches = secretMatcher(deps.apiKey);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const log = lazyChild(deps.logger, { requestId, route: INGEST_PATH });
    try {
      await handle(req, res, requestId, deps, log, apiKeyMatches);
    } catch (err) {
      if (err instanceof StorageUnavailableError) {
        log.warn(
          { err: { code: (err as { code?: string }).code } },
          'database unavailable; asking EventBridge to retry',
        );
        sendJson(
          res,
          503,
          { error: 'database_unavailable', message: 'storage is unavailable; retry later', requestId },
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
        return;
      }
      log.error({ err: { message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'ingest failed');
      // 5xx: EventBridge retries, so an unexpected failure loses nothing.
      sendJson(res, 500, { error: 'internal_error', message: 'unexpected error; retry later', requestId });
    }
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  deps: IngestRouteDeps,
  log: Logger,
  apiKeyMatches: (presented: string | undefined) => boolean,
): Promise<void> {
  if (!apiKeyMatches(header(req, 'x-api-key'))) {
    log.warn({ userAgent: header(req, 'user-agent') }, 'ingest refused: missing or wrong API key');
    res.setHeader('connection', 'close');
    sendJson(res, 401, { error: 'unauthorized', message: 'missing or wrong x-api-key', requestId });
    return;
  }

  const body = await readBody(req, {
    limitBytes: MAX_EVENT_BYTES,
    keepBytes: KEEP_OVERSIZE_BYTES,
    abandonAfterBytes: ABANDON_AFTER_BYTES,
  });
  if (body.abandoned) res.setHeader('connection', 'close');
  const contentType = header(req, 'content-type');
  const ingestReq: IngestRequest = {
    requestId,
    raw: body.raw,
    size: body.size,
    contentType,
    userAgent: header(req, 'user-agent'),
  };

  let result: IngestResult;
  if (body.oversize) {
    result = await deps.ingest.reject(
      ingestReq,
      413,
      'payload_too_large',
      `body is ${body.abandoned ? 'more than ' : ''}${body.size} bytes; events are at most ${MAX_EVENT_BYTES} bytes`,
    );
  } else if (!isJson(contentType)) {
    result = await deps.ingest.reject(
      ingestReq,
      415,
      'unsupported_media_type',
      `content-type must be application/json, not ${contentType ? JSON.stringify(contentType.slice(0, 100)) : 'missing'}`,
    );
  } else {
    let parsed: unknown;
    const text = body.raw.toString('utf8');
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      result = await deps.ingest.reject(
        ingestReq,
        400,
        'invalid_json',
        `body is not valid JSON: ${(err as Error).message}`,
      );
      respond(res, result, requestId);
      return;
    }
    result = await deps.ingest.ingest({ ...ingestReq, text }, parsed);
  }
  respond(res, result, requestId);
}

function respond(res: ServerResponse, result: IngestResult, requestId: string): void {
  if (result.kind === 'noted') {
    sendJson(res, 202, { status: result.status, accountId: result.accountId, requestId });
    return;
  }
  if (result.kind === 'stored') {
    sendJson(res, 202, { status: result.status, alertId: result.alertId, requestId });
    return;
  }
  const field = result.issues?.[0]?.path;
  sendJson(res, result.httpStatus, {
    error: result.error,
    message: result.message,
    ...(field ? { field } : {}),
    ...(result.issues ? { issues: result.issues.slice(0, 20) } : {}),
    requestId,
  });
}

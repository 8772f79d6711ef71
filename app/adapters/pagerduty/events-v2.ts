/**
 * PagerDutyEventsV2: the Pager port over the PagerDuty Events API v2
 * (https://events.pagerduty.com/v2/enqueue).
 *
 * One HTTP POST per send(), no retries here: the durable job queue retries
 * whatever comes back `retryable: true`. Every HTTP outcome is a value; the
 * routing key (a secret) never reaches a result or a log line.
 */

import type { Logger } from '../../ports/logger';
import type { PageEvent, PageResult, Pager } from '../../ports/pager';

export interface PagerDutyEventsV2Options {
  /** Integration (routing) key of the PagerDuty service. Secret. */
  routingKey: string;
  /** Events API endpoint, e.g. https://events.pagerduty.com/v2/enqueue. */
  url: string;
  /** Whole-request deadline (connect, headers and body). Default 5000. */
  timeoutMs?: number;
  /** Injected fetch (tests); defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Optional; failures are logged at warn (without the routing key). */
  logger?: Logger;
}

/** PagerDuty caps payload.summary at 1024 characters. */
export const SUMMARY_MAX = 1024;
/** Length cap for error text taken from a PagerDuty response. */
const ERROR_MAX = 200;
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_SOURCE = 'kanshi';
const DEFAULT_SEVERITY = 'error';
const CLIENT = 'Kanshi';

/** The JSON body of an Events API v2 request, as sent. */
export type EventsV2Body =
  | { routing_key: string; event_action: 'resolve'; dedup_key: string }
  | {
      routing_key: string;
      event_action: 'trigger';
      dedup_key: string;
      payload: {
        summary: string;
        source: string;
        severity: 'critical' | 'error' | 'warning' | 'info';
        custom_details?: Record<string, string | number | boolean>;
      };
      links?: Array<{ href: string; text: string }>;
      client: string;
    };

/** Cuts `text` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/** Builds the Events API v2 body for `event`. Exported for tests and reuse. */
export function eventsV2Body(routingKey: string, event: PageEvent): EventsV2Body {
  if (event.action === 'resolve') {
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: event.dedupKey };
  }
  const summary =
    event.summary !== undefined && event.summary.trim() !== '' ? event.summary : `Kanshi alert ${event.dedupKey}`;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: event.dedupKey,
    payload: {
      summary: cut(summary, SUMMARY_MAX),
      source: event.source ?? DEFAULT_SOURCE,
      severity: event.severity ?? DEFAULT_SEVERITY,
      ...(event.customDetails !== undefined ? { custom_details: event.customDetails } : {}),
    },
    ...(event.links !== undefined && event.links.length > 0 ? { links: event.links } : {}),
    client: CLIENT,
  };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** PagerDuty's `message` and `errors` from an error body, or the raw text; undefined when empty. */
function describeBody(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const raw = text.trim();
    return raw === '' ? undefined : raw;
  }
  if (!isRecord(parsed)) return undefined;
  const parts: string[] = [];
  if (typeof parsed.message === 'string' && parsed.message !== '') parts.push(parsed.message);
  if (Array.isArray(parsed.errors)) {
    const errors = parsed.errors.filter((e): e is string => typeof e === 'string');
    if (errors.length > 0) parts.push(errors.join('; '));
  }
  return parts.length > 0 ? parts.join(': ') : undefined;
}

export class PagerDutyEventsV2 implements Pager {
  private readonly routingKey: string;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly logger: Logger | undefined;

  constructor(opts: PagerDutyEventsV2Options) {
    this.routingKey = opts.routingKey;
    this.url = opts.url;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Resolve the global lazily so it can be replaced after construction.
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.logger = opts.logger;
  }

  async send(event: PageEvent): Promise<PageResult> {
    const result = await this.post(event);
    if (!result.ok) {
      this.logger?.warn(
        {
          action: event.action,
          dedupKey: event.dedupKey,
          status: result.status,
          retryable: result.retryable,
          error: result.error,
          retryAfterMs: result.retryAfterMs,
        },
        'pagerduty event not accepted',
      );
    }
    return result;
  }

  private async post(event: PageEvent): Promise<PageResult> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await this.fetchFn(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(eventsV2Body(this.routingKey, event)),
        signal,
      });
    } catch (err) {
      return { ok: false, retryable: true, error: this.transportError(err, signal) };
    }

    const status = response.status;
    if (status >= 200 && status < 300) {
      // The body (status/message/dedup_key) adds nothing; release the connection.
      await response.body?.cancel().catch(() => undefined);
      return { ok: true, status };
    }

    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    let text = '';
    try {
      text = await response.text();
    } catch {
      // Headers arrived but the body did not (deadline or dropped socket); the status still decides.
    }
    const error = cut(this.redact(describeBody(text) ?? `http ${status}`), ERROR_MAX);

    if (status === 429 || status >= 500) {
      return { ok: false, retryable: true, status, error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    return { ok: false, retryable: false, status, error };
  }

  /** 'timeout' when our deadline fired, otherwise 'network'. Decided by the signal, not by error text. */
  private transportError(err: unknown, signal: AbortSignal): 'timeout' | 'network' {
    if (signal.aborted) return 'timeout';
    if (err instanceof Error && err.name === 'TimeoutError') return 'timeout';
    return 'network';
  }

  /** Never hand the routing key back, even if a server echoes it. */
  private redact(text: string): string {
    return this.routingKey === '' ? text : text.split(this.routingKey).join('[redacted]');
  }
}

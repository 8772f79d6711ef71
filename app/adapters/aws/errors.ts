/**
 * Reading AWS SDK errors, the same way in every adapter: by error name, the
 * SDK's `$retryable` flag and the HTTP status, never by message.
 */

/** What we read off an SDK error (or a Node socket error). */
export interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/** Throttling as each protocol names it: STS (query) says "Throttling", EC2 RequestLimitExceeded. */
export const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'Throttling',
  'RequestLimitExceeded',
]);

export function shapeOf(err: unknown): AwsErrorShape {
  return typeof err === 'object' && err !== null ? (err as AwsErrorShape) : {};
}

export function errorName(err: unknown): string {
  const e = shapeOf(err);
  const name = typeof e.name === 'string' ? e.name : 'Error';
  // Node socket errors are plain Errors named "Error"; their code says more.
  return name === 'Error' && typeof e.code === 'string' ? e.code : name;
}

export function isThrottled(err: unknown): boolean {
  const e = shapeOf(err);
  return (
    THROTTLING_NAMES.has(errorName(err)) || e.$retryable?.throttling === true || e.$metadata?.httpStatusCode === 429
  );
}

/**
 * Classifies database failures. A failure to reach PostgreSQL (refused,
 * reset, timed out, shutting down, out of connections) is transient: callers
 * answer 503 with Retry-After and EventBridge retries. Anything else is a bug.
 */
import { DatabaseError } from 'pg';
import { StorageUnavailableError } from '../../ports/errors';

/** SQLSTATE classes that mean "the server is not available right now". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/;
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof StorageUnavailableError) return true;
  if (err instanceof DatabaseError) return UNAVAILABLE_SQLSTATE.test(err.code ?? '');
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE_NODE_CODES.has(code)) return true;
  // pg reports a dropped or timed-out connection as a plain Error without a
  // SQLSTATE; any non-server error from the driver is a transport failure.
  return err instanceof Error && !(err instanceof DatabaseError) && typeof code !== 'string';
}

/**
 * Prisma's way of saying the same: its connection error codes (can't reach,
 * timed out, closed, pool exhausted), or a driver-adapter error whose cause
 * is an unreachable or failing connection.
 */
const PRISMA_UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const ADAPTER_UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
]);

export function isPrismaUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } } | null;
  if (typeof e?.code === 'string' && PRISMA_UNAVAILABLE_CODES.has(e.code)) return true;
  const kind = e?.meta?.driverAdapterError?.cause?.kind;
  return typeof kind === 'string' && ADAPTER_UNAVAILABLE_KINDS.has(kind);
}

/** Runs a Prisma call, turning an unreachable database into StorageUnavailableError. */
export async function guardPrisma<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isPrismaUnavailable(err)) throw new StorageUnavailableError(err);
    throw err;
  }
}

/** Runs a database call, turning transport failures into StorageUnavailableError. */
export async function guardDb<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw new StorageUnavailableError(err);
    throw err;
  }
}

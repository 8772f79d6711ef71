/**
 * Structured JSON logs (pino). Secrets are redacted by key wherever they
 * appear, as a second line of defence: code never logs them on purpose.
 */
import type { Logger as BoltLogger, LogLevel } from '@slack/bolt';
import pino from 'pino';
import type { Logger } from './ports/logger';

const REDACT = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
  'signingSecret',
  '*.signingSecret',
  'apiKey',
  '*.apiKey',
  'connectionString',
  '*.connectionString',
  'routingKey',
  '*.routingKey',
  'routing_key',
  '*.routing_key',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
];

export function createLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level,
      base: { service: 'kanshi' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * A child logger made on first use. Most ingest requests log nothing, and a
 * pino child costs on every request (its bindings are serialised and redacted).
 */
export function lazyChild(parent: Logger, bindings: object): Logger {
  let made: Logger | undefined;
  const child = () => {
    made ??= parent.child(bindings);
    return made;
  };
  return {
    debug: (obj, msg) => child().debug(obj, msg),
    info: (obj, msg) => child().info(obj, msg),
    warn: (obj, msg) => child().warn(obj, msg),
    error: (obj, msg) => child().error(obj, msg),
    child: (more) => child().child(more),
  };
}

/** Bolt's logger interface over ours, so Bolt's own logs are structured too. */
export function boltLogger(log: Logger): BoltLogger {
  let level = 'info' as LogLevel;
  const fmt = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  const bolt = log.child({ component: 'bolt' });
  return {
    debug: (...msg) => bolt.debug({}, fmt(msg)),
    info: (...msg) => bolt.info({}, fmt(msg)),
    warn: (...msg) => bolt.warn({}, fmt(msg)),
    error: (...msg) => bolt.error({}, fmt(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

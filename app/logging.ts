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

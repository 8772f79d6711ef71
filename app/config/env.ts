/**
 * The environment, parsed once with zod. This is the only module that reads
 * process.env (main.ts passes it in). A missing or invalid variable stops the
 * process with a message naming each one; secrets are never echoed back.
 */
import { z } from 'zod';
import { parseDuration } from '../domain/nudges';

const channelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123456789');

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === 'invalid') {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a duration such as 15m, 1h, 90s or 2d (at most 30 days), or off',
        });
        return z.NEVER;
      }
      return ms;
    });

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Absent: start an embedded PostgreSQL whose data lives under .data/. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /** Findings written by one ingest statement at most (findings that arrive while statements run share the next). */
  INGEST_BATCH_MAX: z.coerce.number().int().min(1).max(500).default(64),
  /** Ingest statements running at once; each holds a pool connection while it runs. */
  INGEST_STATEMENTS: z.coerce.number().int().min(1).max(32).default(3),
  /** While an ingest statement runs, another starts only once this many findings wait... */
  INGEST_MIN_BATCH: z.coerce.number().int().min(1).max(500).default(8),
  /** ...or the oldest of them has waited this long (milliseconds). */
  INGEST_MAX_WAIT_MS: z.coerce.number().min(0).max(1000).default(2),
  EMBEDDED_PG_DIR: z.string().default('.data/postgres'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  SLACK_BOT_TOKEN: z.string().regex(/^xox[bp]-/, 'must be a bot token starting with xoxb-'),
  SLACK_SIGNING_SECRET: z.string().min(8, 'must be the app signing secret'),
  SLACK_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://slack.com/api/')
    .transform((u) => (u.endsWith('/') ? u : `${u}/`)),
  /** Slack Web API request timeout; the outbox retries, not the client. */
  SLACK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Minimum spacing between Slack writes to one channel (Slack allows ~1 msg/s). */
  SLACK_CHANNEL_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1100),
  INGEST_API_KEY: z.string().min(16, 'must be at least 16 characters (the EventBridge connection API key)'),
  /** Envelope accounts (GuardDuty administrators) allowed to send events; empty: any. */
  INGEST_ALLOWED_ACCOUNTS: csv.pipe(z.array(z.string().regex(/^\d{12}$/, 'must list 12-digit AWS account ids'))),
  ACCOUNTS_FILE: z.string().default('config/accounts.yml'),
  /** OU path → channel, below accounts.yml in routing precedence; a missing file means no OU routes. */
  OU_ROUTES_FILE: z.string().default('config/ou-routes.yml'),
  /** Rules as code (docs/rules.md); reloaded on SIGHUP or when the file changes. A missing file means no rules. */
  RULES_FILE: z.string().default('config/rules.yml'),
  /** Storm control: more new cards than this in a channel within 5 minutes start a digest; 0 turns it off. */
  STORM_THRESHOLD: z.coerce.number().int().min(0).max(10_000).default(20),
  /** How often the AWS Organizations sync runs (with ORGANIZATIONS_ROLE_ARN). */
  ORG_SYNC_INTERVAL: duration('1h'),
  ORGANIZATIONS_EXTERNAL_ID: z.string().min(2).max(1224).optional(),
  /** Runbooks (Markdown with front matter), and where people can read them on the web. */
  RUNBOOKS_DIR: z.string().default('runbooks'),
  RUNBOOK_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  DEFAULT_CHANNEL_ID: channelId,
  SECURITY_CHANNEL_ID: channelId,
  /** Archive first and review afterwards (after), or archive only once approved (before). */
  ARCHIVE_REVIEW: z.enum(['after', 'before']).default('after'),
  /** Slack user ids allowed to approve or reject archives and take escalations. */
  SECURITY_ENGINEER_IDS: csv.pipe(
    z.array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must list Slack user ids such as U0123456789')),
  ),
  /** A Slack user group whose members are security engineers too; mentioned on escalations. */
  SECURITY_USERGROUP_ID: z
    .string()
    .regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id such as S0123456789')
    .optional(),
  /** PagerDuty Events v2: page on escalation when set. */
  PAGERDUTY_ROUTING_KEY: z.string().min(20, 'must be a PagerDuty Events v2 integration key').optional(),
  PAGERDUTY_EVENTS_URL: z.url({ protocol: /^https?$/ }).default('https://events.pagerduty.com/v2/enqueue'),
  /** The GuardDuty administrator account's role Kanshi assumes to archive findings. */
  GUARDDUTY_ADMIN_ROLE_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')
    .optional(),
  GUARDDUTY_ADMIN_EXTERNAL_ID: z.string().min(2).max(1224).optional(),
  /** Auto-investigation: read-only lookups in the finding's account after the card is posted. */
  INVESTIGATION: z.enum(['on', 'off']).default('on'),
  INVESTIGATION_ROLE_NAME: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name')
    .default('KanshiReadOnly'),
  INVESTIGATION_EXTERNAL_ID: z.string().min(2).max(1224).optional(),
  /** A role in the management (or delegated administrator) account for AWS Organizations lookups. */
  ORGANIZATIONS_ROLE_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')
    .optional(),
  /** Nudge unacknowledged alerts after this long, by severity; escalate after twice that. */
  NUDGE_AFTER_CRITICAL: duration('15m'),
  NUDGE_AFTER_HIGH: duration('1h'),
  NUDGE_AFTER_MEDIUM: duration('4h'),
  NUDGE_AFTER_LOW: duration('off'),
  /** Who a nudge mentions in the card's thread: "here", "channel", or a user group id. */
  NUDGE_MENTION: z
    .string()
    .regex(/^(here|channel|S[A-Z0-9]{2,})$/, 'must be here, channel or a user group id')
    .default('here'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  WORKER_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** Give up on a card after this many failed attempts (backoff caps at 5 min). */
  JOB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(40),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  readonly code = 'kanshi_config_invalid';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Treat empty strings as unset, as .env files and shells often leave them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const missing = issue.code === 'invalid_type' && cleaned[name] === undefined;
    return missing ? `${name} is required` : `${name} ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** The process environment, parsed. The only place Kanshi reads process.env. */
export function loadConfigFromProcess(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...overrides });
}

export interface SandboxRequest {
  /** SANDBOX=1 (npm run demo): run against a local Slack workspace with a web page. */
  enabled: boolean;
  /** SANDBOX_PORT: where the local Slack and the sandbox page listen. */
  port: number;
  /** Real Slack credentials are configured: the sandbox refuses to run beside them. */
  realSlackConfigured: boolean;
  /** The environment as set, for the sandbox to keep people's own choices. */
  given: Record<string, string | undefined>;
}

export function loadSandboxRequest(): SandboxRequest {
  const env = process.env;
  const port = Number(env.SANDBOX_PORT ?? '3001');
  if (env.SANDBOX === '1' && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new ConfigError(['SANDBOX_PORT must be a port number']);
  }
  return {
    enabled: env.SANDBOX === '1',
    port,
    realSlackConfigured: Boolean(env.SLACK_BOT_TOKEN || env.SLACK_SIGNING_SECRET),
    given: { ...env },
  };
}

/** Just the database variables, for tools such as `npm run db:migrate`. */
export function loadDatabaseConfig(): Pick<Config, 'DATABASE_URL' | 'EMBEDDED_PG_DIR' | 'EMBEDDED_PG_PORT'> {
  const cleaned = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema
    .pick({ DATABASE_URL: true, EMBEDDED_PG_DIR: true, EMBEDDED_PG_PORT: true })
    .safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`));
  }
  return parsed.data;
}

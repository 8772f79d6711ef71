/**
 * Starting the sandbox: a local Slack workspace (LocalSlack) with made-up
 * credentials that Kanshi is configured against, and the sandbox page on the
 * same port. Used by `npm run demo` (SANDBOX=1); never with real Slack
 * credentials (main.ts refuses that combination).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountRoute } from '../domain/routing';
import type { Logger } from '../ports/logger';
import { LocalSlack } from './local-slack';
import { Sandbox, type SandboxUser } from './sandbox';

export const SANDBOX_USERS: SandboxUser[] = [
  { id: 'U0OWNER001', name: 'olivia', label: 'olivia (account owner)' },
  { id: 'U0SECENG01', name: 'sam', label: 'sam (security engineer)' },
];

const SANDBOX_DEFAULT_CHANNEL = 'C0KANSHIDEF';
const SANDBOX_SECURITY_CHANNEL = 'C0SECURITY1';

export interface LocalWorkspace {
  slack: LocalSlack;
  /** Environment for Kanshi's config: the local workspace's URL and credentials, sandbox channels and users. */
  env: Record<string, string>;
  /** Where people open the sandbox. */
  url: string;
}

/** Starts the local Slack; `given` is the environment as set, whose own choices (channels, API key) are kept. */
export async function startLocalWorkspace(
  port: number,
  given: Record<string, string | undefined>,
): Promise<LocalWorkspace> {
  const token = `xoxb-sandbox-${randomBytes(8).toString('hex')}`;
  const slack = new LocalSlack({ token });
  await slack.start(port);
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: token,
    SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
    SLACK_API_URL: slack.apiUrl,
    INGEST_API_KEY: given.INGEST_API_KEY ?? `sandbox-${randomBytes(12).toString('hex')}`,
    DEFAULT_CHANNEL_ID: given.DEFAULT_CHANNEL_ID ?? SANDBOX_DEFAULT_CHANNEL,
    SECURITY_CHANNEL_ID: given.SECURITY_CHANNEL_ID ?? SANDBOX_SECURITY_CHANNEL,
    SECURITY_ENGINEER_IDS: given.SECURITY_ENGINEER_IDS ?? SANDBOX_USERS[1]?.id ?? '',
    // Nothing reaches AWS from the sandbox.
    INVESTIGATION: 'off',
    // A demo should not keep people waiting for Slack's real pace.
    SLACK_CHANNEL_INTERVAL_MS: given.SLACK_CHANNEL_INTERVAL_MS ?? '200',
    EMBEDDED_PG_DIR: given.EMBEDDED_PG_DIR ?? '.data/sandbox-postgres',
    EMBEDDED_PG_PORT: given.EMBEDDED_PG_PORT ?? '54330',
  };
  return { slack, env, url: `http://localhost:${new URL(slack.apiUrl).port}/sandbox` };
}

/** Serves the sandbox page and API next to the local Slack, aimed at Kanshi on `kanshiPort`. */
export function attachSandbox(o: {
  workspace: LocalWorkspace;
  kanshiPort: number;
  accounts: readonly AccountRoute[];
  defaultChannelId: string;
  securityChannelId: string;
  root: string;
  logger: Logger;
}): Sandbox {
  const channels = [
    ...o.accounts
      .filter((a) => a.enabled)
      .map((a) => ({ id: a.channelId, name: a.channelName ?? `aws-${a.accountId}` })),
    { id: o.defaultChannelId, name: 'kanshi-default' },
    { id: o.securityChannelId, name: 'security' },
  ].filter((c, i, all) => all.findIndex((x) => x.id === c.id) === i);
  const dir = join(o.root, 'app', 'sandbox');
  return new Sandbox({
    slack: o.workspace.slack,
    kanshiUrl: `http://127.0.0.1:${o.kanshiPort}`,
    signingSecret: o.workspace.env.SLACK_SIGNING_SECRET ?? '',
    ingestApiKey: o.workspace.env.INGEST_API_KEY ?? '',
    channels,
    users: SANDBOX_USERS,
    samples: JSON.parse(readFileSync(join(dir, 'samples.json'), 'utf8')) as unknown[],
    publicDir: join(dir, 'public'),
    logger: o.logger,
  });
}

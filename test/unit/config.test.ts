import { resolve } from 'node:path';
import { AccountsFileError, loadAccountsFile, parseAccountsFile } from '../../app/config/accounts-file';
import { ConfigError, loadConfig } from '../../app/config/env';
import { RoutingTable } from '../../app/domain/routing';

const VALID: Record<string, string> = {
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef',
  SLACK_SIGNING_SECRET: 'signing-secret-abcdef',
  INGEST_API_KEY: 'ingest-key-0123456789abcdef',
  DEFAULT_CHANNEL_ID: 'C0DEFAULT01',
  SECURITY_CHANNEL_ID: 'C0SECURITY1',
};

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig', () => {
  it('fills in the documented defaults', () => {
    const config = loadConfig(VALID);
    expect(config.PORT).toBe(3000);
    expect(config.SLACK_API_URL).toBe('https://slack.com/api/');
    expect(config.ACCOUNTS_FILE).toBe('config/accounts.yml');
    expect(config.NODE_ENV).toBe('production');
    expect(config.INGEST_ALLOWED_ACCOUNTS).toEqual([]);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.DEFAULT_CHANNEL_ID).toBe('C0DEFAULT01');
  });

  it('reads numbers from their text', () => {
    expect(loadConfig({ ...VALID, PORT: '8080', WORKER_CONCURRENCY: '8' })).toMatchObject({
      PORT: 8080,
      WORKER_CONCURRENCY: 8,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...VALID, PORT: '', ACCOUNTS_FILE: '' })).toMatchObject({
      PORT: 3000,
      ACCOUNTS_FILE: 'config/accounts.yml',
    });
    expect(configError({ ...VALID, SLACK_BOT_TOKEN: '' }).problems).toEqual(['SLACK_BOT_TOKEN is required']);
  });

  it('gives SLACK_API_URL a trailing slash so relative method names resolve under it', () => {
    expect(loadConfig({ ...VALID, SLACK_API_URL: 'http://localhost:4010/api' }).SLACK_API_URL).toBe(
      'http://localhost:4010/api/',
    );
    expect(loadConfig({ ...VALID, SLACK_API_URL: 'https://slack.example/api/' }).SLACK_API_URL).toBe(
      'https://slack.example/api/',
    );
  });

  it('rejects a SLACK_API_URL that is not http(s)', () => {
    expect(configError({ ...VALID, SLACK_API_URL: 'ftp://slack.example/api' }).problems).toEqual([
      'SLACK_API_URL must be an http(s) URL',
    ]);
  });

  it('names every missing or invalid variable in one error', () => {
    const { SLACK_BOT_TOKEN: _omitted, ...env } = VALID;
    const err = configError({ ...env, DEFAULT_CHANNEL_ID: 'general', PORT: 'eighty' });
    expect(err.code).toMatch(/^kanshi_config_invalid$/i);
    expect(err.problems).toHaveLength(3);
    expect(err.problems).toContain('SLACK_BOT_TOKEN is required');
    expect(err.problems).toContainEqual(expect.stringMatching(/^DEFAULT_CHANNEL_ID must be a Slack channel id/));
    expect(err.problems).toContainEqual(expect.stringMatching(/^PORT /));
    for (const name of ['SLACK_BOT_TOKEN', 'DEFAULT_CHANNEL_ID', 'PORT']) expect(err.message).toContain(name);
  });

  it('lists every required variable when the environment is empty', () => {
    expect(configError({}).problems).toEqual([
      'SLACK_BOT_TOKEN is required',
      'SLACK_SIGNING_SECRET is required',
      'INGEST_API_KEY is required',
      'DEFAULT_CHANNEL_ID is required',
      'SECURITY_CHANNEL_ID is required',
    ]);
  });

  it('never repeats a secret value in the error', () => {
    const secrets = {
      INGEST_API_KEY: 'tooShort-s3cr3t',
      SLACK_BOT_TOKEN: 'xoxq-not-a-bot-token-s3cr3t',
      SLACK_SIGNING_SECRET: 'sh0rt',
      DATABASE_URL: 'mysql://admin:hunter2-s3cr3t@db.internal/kanshi',
    };
    const err = configError({ ...VALID, ...secrets });
    expect(err.problems.map((p) => p.split(' ')[0])).toEqual([
      'DATABASE_URL',
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'INGEST_API_KEY',
    ]);
    const everything = `${err.message}\n${err.problems.join('\n')}\n${String(err.stack)}`;
    for (const value of Object.values(secrets)) expect(everything).not.toContain(value);
    expect(everything).not.toContain('hunter2');
  });

  it('reads INGEST_ALLOWED_ACCOUNTS as a comma list, ignoring spaces and empty items', () => {
    const config = loadConfig({ ...VALID, INGEST_ALLOWED_ACCOUNTS: ' 111122223333, 012345678901 ,,' });
    expect(config.INGEST_ALLOWED_ACCOUNTS).toEqual(['111122223333', '012345678901']);
  });

  it('rejects an INGEST_ALLOWED_ACCOUNTS entry that is not 12 digits, naming the variable', () => {
    const err = configError({ ...VALID, INGEST_ALLOWED_ACCOUNTS: '111122223333,12345' });
    expect(err.problems).toEqual(['INGEST_ALLOWED_ACCOUNTS must list 12-digit AWS account ids']);
  });

  it('rejects a bad enum value, naming the variable', () => {
    expect(configError({ ...VALID, LOG_LEVEL: 'loud' }).problems).toContainEqual(expect.stringMatching(/^LOG_LEVEL /));
  });
});

function accountsError(text: string): AccountsFileError {
  try {
    parseAccountsFile(text, 'accounts.yml');
  } catch (err) {
    if (err instanceof AccountsFileError) return err;
    throw err;
  }
  throw new Error('expected parseAccountsFile to throw an AccountsFileError');
}

const EXAMPLE = `- accountID: "123456789012"
  slackConfig:
    channelID: C0123456789
    channelName: aws-123456789012-prod
    enabled: true
    webhookOverrides: []
- accountID: "210987654321"
  slackConfig:
    channelID: C0210987654
    channelName: aws-210987654321-sandbox
    enabled: false
    webhookOverrides: []
`;

describe('parseAccountsFile', () => {
  it('reads the accounts file format security teams already keep', () => {
    expect(parseAccountsFile(EXAMPLE, 'accounts.yml')).toEqual([
      { accountId: '123456789012', channelId: 'C0123456789', channelName: 'aws-123456789012-prod', enabled: true },
      { accountId: '210987654321', channelId: 'C0210987654', channelName: 'aws-210987654321-sandbox', enabled: false },
    ]);
  });

  it('routes listed accounts to their channel and unlisted or disabled ones to the default', () => {
    const table = new RoutingTable(parseAccountsFile(EXAMPLE, 'accounts.yml'), 'C0DEFAULT01');
    expect(table.route('123456789012')).toEqual({ channelId: 'C0123456789', reason: 'account' });
    expect(table.route('210987654321')).toEqual({ channelId: 'C0DEFAULT01', reason: 'default:disabled' });
    expect(table.route('999999999999')).toEqual({ channelId: 'C0DEFAULT01', reason: 'default:unlisted' });
    expect(table.size).toBe(2);
  });

  it('treats an entry as enabled when enabled, channelName and webhookOverrides are left out', () => {
    const routes = parseAccountsFile('- accountID: "123456789012"\n  slackConfig:\n    channelID: G0PRIVATE1\n', 'a');
    expect(routes).toEqual([
      { accountId: '123456789012', channelId: 'G0PRIVATE1', channelName: undefined, enabled: true },
    ]);
  });

  it('names the line of a bad channel id', () => {
    const err = accountsError(`- accountID: "123456789012"
  slackConfig:
    channelName: prod
    channelID: general
`);
    expect(err.code).toMatch(/^kanshi_accounts_file_invalid$/i);
    expect(err.problems).toEqual([expect.stringMatching(/^line 4: \[0\]\.slackConfig\.channelID must be a Slack/)]);
    expect(err.message).toContain('accounts.yml');
  });

  it('names both lines of an account listed twice', () => {
    const err = accountsError(`${EXAMPLE}- accountID: "123456789012"
  slackConfig:
    channelID: C0ANOTHER01
`);
    expect(err.problems).toEqual(['line 13: account 123456789012 is listed twice (first at line 1)']);
  });

  it('names the line of invalid YAML', () => {
    const err = accountsError(`- accountID: "123456789012"
  slackConfig:
    channelID: C0123456789
   enabled: true
`);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^line 4: /);
  });

  it('accepts an unquoted 12-digit account id as text', () => {
    const routes = parseAccountsFile('- accountID: 123456789012\n  slackConfig:\n    channelID: C0123456789\n', 'a');
    expect(routes[0]?.accountId).toBe('123456789012');
  });

  it('rejects an unquoted account id that lost its leading zero, telling the user to quote it', () => {
    const err = accountsError('- accountID: 012345678901\n  slackConfig:\n    channelID: C0123456789\n');
    expect(err.problems).toEqual([expect.stringMatching(/^line 1: \[0\]\.accountID .*quote it/)]);
  });

  it('reports every bad entry, not only the first', () => {
    const err = accountsError(`- accountID: "1234"
  slackConfig:
    channelID: C0123456789
- accountID: "123456789012"
  slackConfig:
    channelID: nope
`);
    expect(err.problems).toEqual([
      expect.stringMatching(/^line 1: \[0\]\.accountID /),
      expect.stringMatching(/^line 6: \[1\]\.slackConfig\.channelID /),
    ]);
  });

  it('reads an empty file as no accounts', () => {
    expect(parseAccountsFile('# nothing yet\n', 'a')).toEqual([]);
  });

  it('rejects a file that is not a list', () => {
    expect(accountsError('accounts:\n  - accountID: "123456789012"\n').problems).toEqual([
      'line 1: expected a list of accounts',
    ]);
  });

  it('parses the repository config/accounts.yml', () => {
    const routes = loadAccountsFile(resolve(__dirname, '..', '..', 'config', 'accounts.yml'));
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      expect(route.accountId).toMatch(/^\d{12}$/);
      expect(route.channelId).toMatch(/^[CG][A-Z0-9]{2,}$/);
    }
  });

  it('says a missing file cannot be read, naming it', () => {
    const path = resolve(__dirname, 'no-such-accounts.yml');
    expect(() => loadAccountsFile(path)).toThrow(AccountsFileError);
    expect(() => loadAccountsFile(path)).toThrow(/no-such-accounts\.yml[\s\S]*ENOENT/);
  });
});

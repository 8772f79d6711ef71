/**
 * The sandbox in a real browser: Debian's Chromium, driven by playwright-core,
 * against the sandbox page, the local Slack and the real Kanshi app. Replays
 * the GuardDuty samples, archives a card through its modal (category and
 * reason), and checks the card and the security channel's review card. Saves
 * a screenshot to test-artifacts/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { parseAccountsFile } from '../../app/config/accounts-file';
import { createLogger } from '../../app/logging';
import { attachSandbox, SANDBOX_USERS } from '../../app/sandbox/start';
import {
  ACCOUNTS_YAML,
  API_KEY,
  DEFAULT_CHANNEL,
  type Harness,
  PROD_CHANNEL,
  SECURITY_CHANNEL,
  SIGNING_SECRET,
  startHarness,
} from '../support/app-harness';
import { eventually } from '../support/eventually';

const ROOT = resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');

describe('the sandbox in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium); .ci/run does`);
    }
    h = await startHarness({ env: { SECURITY_ENGINEER_IDS: SANDBOX_USERS[1]?.id ?? '' } });
    const port = Number(new URL(h.slack.apiUrl).port);
    attachSandbox({
      workspace: {
        slack: h.slack,
        env: { SLACK_SIGNING_SECRET: SIGNING_SECRET, INGEST_API_KEY: API_KEY },
        url: `http://127.0.0.1:${port}/sandbox`,
      },
      kanshiPort: Number(new URL(h.baseUrl).port),
      accounts: parseAccountsFile(ACCOUNTS_YAML, 'accounts.yml'),
      defaultChannelId: DEFAULT_CHANNEL,
      securityChannelId: SECURITY_CHANNEL,
      root: ROOT,
      logger: createLogger('silent'),
    });
    url = `http://127.0.0.1:${port}/sandbox`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('archives a card with a category and a reason, and shows it archived and the review card in #security', async () => {
    await page.goto(url);
    await page.getByRole('button', { name: /Replay GuardDuty samples/ }).click();
    // The prod account's cards arrive in its channel.
    await page.getByRole('button', { name: '#aws-prod' }).click();
    const card = page.locator('[data-ts]').filter({ hasText: 'Bitcoin-related domain name' }).first();
    await card.waitFor({ timeout: 20_000 });

    await card.getByRole('button', { name: 'Archive…' }).click();
    const modal = page.getByRole('dialog', { name: 'Archive alert' });
    await modal.waitFor();
    await modal.getByLabel('Why archive it?').selectOption('false_positive');
    await modal.getByLabel(/Reason/).fill('Our own scanner in the security VPC (SEC-101)');
    await modal.getByRole('button', { name: 'Archive', exact: true }).click();
    await modal.waitFor({ state: 'detached' });

    // The card is edited in place: archived, by whom, why.
    await card
      .getByText(/Archived/)
      .first()
      .waitFor({ timeout: 20_000 });
    await card.getByText('Our own scanner in the security VPC (SEC-101)').waitFor();

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-archived-card.png') });

    // The security channel got the review card, with its review buttons.
    await page.getByRole('button', { name: '#security' }).click();
    const review = page.locator('[data-ts]').filter({ hasText: 'Bitcoin-related domain name' }).first();
    await review.waitFor({ timeout: 20_000 });
    await review.getByRole('button', { name: /Approve/ }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-review-card.png') });

    // And Kanshi's database agrees.
    const row = await eventually(async () => {
      const r = await h.db.pool.query(
        `SELECT state, state_reason_category, state_reason FROM alert WHERE channel_id = $1 AND state <> 'open'`,
        [PROD_CHANNEL],
      );
      return r.rows[0];
    });
    expect(row).toEqual({
      state: 'archived',
      state_reason_category: 'false_positive',
      state_reason: 'Our own scanner in the security VPC (SEC-101)',
    });
  }, 90_000);
});

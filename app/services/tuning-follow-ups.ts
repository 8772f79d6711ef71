/**
 * Jobs that come with tuning: a first_only rule's reply under the first card,
 * a rule's also_notify notice, the AWS Organizations sync and the in-memory
 * account directory it feeds, notices about new or unrouted accounts, and
 * channel health (tell the security channel once when a channel is unusable).
 */

import type { RoutingTable } from '../domain/routing';
import { SEVERITY_EMOJI } from '../domain/severity';
import { ACCOUNT_NOTICE_JOB, accountNoticeJobKey, CHANNEL_HEALTH_JOB, channelHealthJobKey } from '../jobs/names';
import type { AccountDirectory, AccountInfo } from '../ports/account-directory';
import type { CardStore, Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { JobScheduler } from '../ports/follow-up-stores';
import type { JobOutcome } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { OrgDirectory } from '../ports/org-directory';
import type { OrgStore } from '../ports/org-store';
import type { SlackSurface } from '../ports/slack-surface';
import { accountNoticeMessage } from '../slack/blocks/account-notice';
import { escapeAndFit } from '../slack/blocks/mrkdwn';
import { messageLink } from '../slack/blocks/security-cards';
import { postOnce } from './slack-writes';

interface SlackDeps {
  slack: SlackSurface;
  pacer: Pacer;
  clock: Clock;
  logger: Logger;
}

/** The first alert must have its card before a reply can go under it. */
const WAIT_FOR_PARENT: JobOutcome = { kind: 'retry', error: 'first_card_not_posted_yet', retryAfterMs: 3000 };

export class RuleFollowUps {
  constructor(private readonly d: SlackDeps & { cards: CardStore }) {}

  /** `alert.reply`: "another one" under the first alert's card, for a first_only rule. */
  async reply(alertId: string): Promise<JobOutcome> {
    const alert = await this.d.cards.load(alertId);
    if (!alert?.parentAlertId) return { kind: 'fail', error: 'alert_or_parent_missing' };
    const parent = await this.d.cards.load(alert.parentAlertId);
    if (!parent) return { kind: 'fail', error: 'parent_missing' };
    if (!parent.cardTs || !parent.cardChannelId) return WAIT_FOR_PARENT;
    const f = alert.finding;
    const text = [
      `${SEVERITY_EMOJI[alert.severityLabel]} Again: *${escapeAndFit(f.title, 300)}*`,
      `${escapeAndFit(f.resource.type, 60)} ${escapeAndFit(f.resource.label, 300)} · ${escapeAndFit(f.region, 40)} · seen ${f.count}×`,
      `Alert \`${alert.id}\` (finding ${escapeAndFit(f.id, 130)}) is threaded here by a first_only rule; \`/alert show ${alert.id}\` acts on it.`,
    ].join('\n');
    const channel = parent.cardChannelId;
    const threadTs = parent.cardTs;
    const res = await postOnce(this.d, channel, { text, threadTs });
    return res.ok ? { kind: 'done' } : res.outcome;
  }

  /** `also.notify`: a short notice in another channel, linking to the card once it exists. */
  async alsoNotify(alertId: string, channelId: string): Promise<JobOutcome> {
    const alert = await this.d.cards.load(alertId);
    if (!alert) return { kind: 'fail', error: 'alert_not_found' };
    if (alert.delivery === 'card' && !alert.cardTs) return WAIT_FOR_PARENT;
    const f = alert.finding;
    const where =
      alert.cardTs && alert.cardChannelId
        ? `<${messageLink(alert.cardChannelId, alert.cardTs)}|the card in <#${alert.cardChannelId}>>`
        : `<#${alert.channelId}>`;
    const text = `${SEVERITY_EMOJI[alert.severityLabel]} *${alert.severityLabel}* ${escapeAndFit(f.title, 300)} in account ${escapeAndFit(f.accountId, 20)} (${escapeAndFit(f.region, 40)}): see ${where}. A rule sends a copy here.`;
    const res = await postOnce(this.d, channelId, { text });
    return res.ok ? { kind: 'done' } : res.outcome;
  }
}

/** The synced accounts, in memory: ingest reads it without waiting on the database. */
export class OrgAccountCache implements AccountDirectory {
  private byId = new Map<string, AccountInfo>();
  private loadedAt = 0;

  constructor(
    private readonly store: Pick<OrgStore, 'all'>,
    private readonly maxAgeMs = 60_000,
  ) {}

  get(accountId: string): AccountInfo | undefined {
    return this.byId.get(accountId);
  }

  all(): Iterable<AccountInfo> {
    return this.byId.values();
  }

  async refresh(): Promise<void> {
    const accounts = await this.store.all();
    this.byId = new Map(accounts.map((a) => [a.id, a]));
    this.loadedAt = Date.now();
  }

  /** For a periodic timer: reload when older than maxAgeMs (another replica may have synced). */
  async refreshIfStale(): Promise<void> {
    if (Date.now() - this.loadedAt >= this.maxAgeMs) await this.refresh();
  }

  get size(): number {
    return this.byId.size;
  }
}

export interface OrgSyncDeps {
  directory: OrgDirectory;
  store: OrgStore;
  cache: OrgAccountCache;
  scheduler: JobScheduler;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
}

export class OrgSync {
  constructor(private readonly d: OrgSyncDeps) {}

  /**
   * `org.sync`: list the organization, store it, report new accounts, then run
   * again after the interval. `once`: an extra run (after a CreateAccount
   * event) that does not start a second periodic loop.
   */
  async sync(once = false): Promise<JobOutcome> {
    const listing = await this.d.directory.listAccounts();
    const next = new Date(this.d.clock.now().getTime() + this.d.intervalMs);
    if (listing.kind === 'retry') return { kind: 'retry', error: listing.error };
    if (listing.kind === 'fail') {
      // Permanent until someone fixes the role: say so, and try again next interval.
      this.d.logger.error({ error: listing.error }, 'AWS Organizations sync failed');
      return once ? { kind: 'fail', error: listing.error } : { kind: 'defer', until: next };
    }
    const { added, firstSync } = await this.d.store.saveListing(listing.accounts);
    for (const w of listing.warnings) this.d.logger.warn({ warning: w }, 'AWS Organizations sync warning');
    for (const accountId of added) {
      await this.d.scheduler.enqueue({
        kind: ACCOUNT_NOTICE_JOB,
        key: accountNoticeJobKey(accountId),
        lane: null,
        payload: { accountId, reason: 'new_account', source: 'org_sync' },
        mode: 'once',
      });
    }
    await this.d.cache.refresh();
    this.d.logger.info(
      { accounts: listing.accounts.length, added: added.length, firstSync },
      'AWS Organizations synced',
    );
    return once ? { kind: 'done' } : { kind: 'defer', until: next };
  }
}

export interface AccountNoticeDeps extends SlackDeps {
  store: OrgStore;
  cache: AccountDirectory;
  routing: () => RoutingTable;
  /** The /alert route override for an account, if any. */
  override: (accountId: string) => Promise<string | undefined>;
  securityChannelId: string;
}

export class AccountNotices {
  constructor(private readonly d: AccountNoticeDeps) {}

  /** `account.notice`: tell the security channel once about a new or unrouted account. */
  async notice(accountId: string, reason: 'new_account' | 'unrouted', source: string): Promise<JobOutcome> {
    if (!(await this.d.store.claimNotice(accountId, reason, source))) return { kind: 'done' };
    const info = this.d.cache.get(accountId);
    const override = await this.d.override(accountId);
    const route = override
      ? { channelId: override, reason: 'override' }
      : this.d.routing().route(accountId, info?.ouPath);
    const message = accountNoticeMessage({
      accountId,
      reason,
      name: info?.name,
      ouPath: info?.ouPath,
      channelId: route.channelId,
      routeReason: route.reason,
    });
    const channel = this.d.securityChannelId;
    const res = await postOnce(this.d, channel, message);
    if (!res.ok) return res.outcome;
    await this.d.store.recordNoticeTs(accountId, res.value.ts);
    return { kind: 'done' };
  }
}

export interface ChannelHealthStore {
  /** True when this starts a failure spell for the channel (so the security channel is told once). */
  markUnusable(channelId: string, error: string): Promise<boolean>;
  markUsable(channelId: string): Promise<void>;
}

export class ChannelHealth {
  constructor(
    private readonly d: SlackDeps & {
      store: ChannelHealthStore;
      scheduler: JobScheduler;
      securityChannelId: string;
      defaultChannelId: string;
    },
  ) {}

  /** Called when a card could not be posted in its channel and went to the default channel. */
  async unusable(channelId: string, error: string): Promise<void> {
    if (!(await this.d.store.markUnusable(channelId, error))) return;
    await this.d.scheduler.enqueue({
      kind: CHANNEL_HEALTH_JOB,
      key: `${channelHealthJobKey(channelId)}:${this.d.clock.now().getTime()}`,
      lane: null,
      payload: { channelId, error },
      mode: 'once',
    });
  }

  usable(channelId: string): Promise<void> {
    return this.d.store.markUsable(channelId);
  }

  /** `channel.health`: the one message per failure spell. */
  async notify(channelId: string, error: string): Promise<JobOutcome> {
    const text = `:warning: Kanshi cannot post in <#${channelId}> (\`${escapeAndFit(error, 60)}\`). Its alerts go to <#${this.d.defaultChannelId}> until it can: invite Kanshi to the channel, or change the route with \`/alert route\`. This is said once until the channel works again.`;
    const channel = this.d.securityChannelId;
    const res = await postOnce(this.d, channel, { text });
    return res.ok ? { kind: 'done' } : res.outcome;
  }
}

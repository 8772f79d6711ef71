/**
 * Auto-investigation: after the card is posted, look up what a responder would
 * otherwise open three consoles for, put a summary on the card and the details
 * in its thread. It never delays the card (it runs as its own job, after the
 * post) and never fails it: anything that cannot be looked up says why.
 */
import { type Enrichment, type Facts, summarise, targetsOf } from '../domain/investigation';
import type { CardStore } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { EnrichmentStore } from '../ports/follow-up-stores';
import type { Investigator, Lookup } from '../ports/investigator';
import type { JobOutcome } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import { enrichmentThreadText } from '../slack/blocks/enrichment';
import type { ThreadPoster } from './follow-ups';

const BUDGET_MS = 20_000;
const CACHE_MS = 10 * 60_000;

export interface InvestigationDeps {
  investigator: Investigator;
  store: EnrichmentStore;
  cards: CardStore;
  thread: ThreadPoster;
  clock: Clock;
  logger: Logger;
  budgetMs?: number;
}

export class InvestigationService {
  private readonly cache = new Map<string, { at: number; value: Lookup<unknown> }>();

  constructor(private readonly d: InvestigationDeps) {}

  async investigate(alertId: string): Promise<JobOutcome> {
    const alert = await this.d.cards.load(alertId);
    if (!alert) return { kind: 'fail', error: 'alert_not_found' };
    if (!alert.cardTs) return { kind: 'retry', error: 'card_not_posted_yet', retryAfterMs: 3000 };
    const f = alert.finding;
    const detail = await this.d.store.rawFindingDetail(f.id);
    const targets = targetsOf(detail);
    const facts = await this.lookUp(f.accountId, f.region, targets.instanceId, targets.securityGroupIds);
    const enrichment = summarise(detail, targets, facts, this.d.clock.now());
    await this.d.store.saveEnrichment(alertId, enrichment);
    this.d.logger.info({ alertId, unavailable: enrichment.unavailable.length }, 'alert investigated');
    return this.d.thread.reply(alert, enrichmentThreadText(enrichment));
  }

  private async lookUp(
    account: string,
    region: string,
    instanceId: string | undefined,
    groupIds: string[],
  ): Promise<Facts> {
    const inv = this.d.investigator;
    const facts: Facts = {};
    const work = (async () => {
      const accountLookup = this.cached(`account:${account}`, () => inv.describeAccount(account)).then((r) => {
        facts.account = r;
      });
      if (instanceId) {
        const instance = await this.cached(`instance:${account}:${region}:${instanceId}`, () =>
          inv.describeInstance(account, region, instanceId),
        );
        facts.instance = instance;
        const groups = instance.ok && instance.value.exists ? instance.value.securityGroupIds : [];
        if (groups.length > 0) {
          const described = await this.cached(`groups:${account}:${region}:${groups.join(',')}`, () =>
            inv.describeSecurityGroups(account, region, groups),
          );
          facts.groups = described;
          // For groups open to the world: what else sits behind them.
          const open = described.ok ? described.value.filter((g) => g.worldOpen.length > 0).map((g) => g.groupId) : [];
          if (open.length > 0) {
            facts.attachments = await this.cached(`attached:${account}:${region}:${open.join(',')}`, () =>
              inv.groupAttachments(account, region, open),
            );
          }
        }
      } else if (groupIds.length > 0) {
        facts.groups = await this.cached(`groups:${account}:${region}:${groupIds.join(',')}`, () =>
          inv.describeSecurityGroups(account, region, groupIds),
        );
      }
      await accountLookup;
    })();
    const budget = this.d.budgetMs ?? BUDGET_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), budget);
    });
    const result = await Promise.race([work.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      const reason = {
        ok: false as const,
        reason: `the investigation took longer than ${Math.round(budget / 1000)} s`,
      };
      facts.account ??= reason;
      if (instanceId) facts.instance ??= reason;
    }
    return facts;
  }

  /** Successful lookups are cached per resource for 10 minutes; failures are tried again next time. */
  private async cached<T>(key: string, fn: () => Promise<Lookup<T>>): Promise<Lookup<T>> {
    const now = this.d.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < CACHE_MS) return hit.value as Lookup<T>;
    const value = await fn();
    if (value.ok) this.cache.set(key, { at: now, value });
    return value;
  }
}

export type { Enrichment };

/** Routing: which Slack channel owns an account's alerts. Pure. */
import { type OuRoute, routeByOu } from './ou-routing';

export interface AccountRoute {
  accountId: string;
  channelId: string;
  channelName?: string | undefined;
  enabled: boolean;
}

export interface RouteDecision {
  channelId: string;
  /** Why this channel: stored on the alert and shown in logs. */
  reason: 'account' | `ou:${string}` | 'default:unlisted' | 'default:disabled';
}

export class RoutingTable {
  private readonly byAccount: ReadonlyMap<string, AccountRoute>;

  constructor(
    routes: readonly AccountRoute[],
    readonly defaultChannelId: string,
    private readonly ouRoutes: readonly OuRoute[] = [],
  ) {
    this.byAccount = new Map(routes.map((r) => [r.accountId, r]));
  }

  /**
   * config/accounts.yml, then the OU mapping (the longest matching OU path),
   * then the default channel. Never drops an alert. An account listed with
   * enabled: false goes to the default channel: someone decided so explicitly.
   * (A rule's route and an /alert route override come before all of this.)
   */
  route(accountId: string, ouPath?: string | undefined): RouteDecision {
    const entry = this.byAccount.get(accountId);
    if (entry && !entry.enabled) return { channelId: this.defaultChannelId, reason: 'default:disabled' };
    if (entry) return { channelId: entry.channelId, reason: 'account' };
    const ou = ouPath === undefined ? undefined : routeByOu(this.ouRoutes, ouPath);
    if (ou) return { channelId: ou.channelId, reason: `ou:${ou.ou}` };
    return { channelId: this.defaultChannelId, reason: 'default:unlisted' };
  }

  /**
   * Accounts whose alerts go to this channel, given the /alert route overrides
   * and the synced accounts (whose OU path may route them here).
   */
  accountsForChannel(
    channelId: string,
    overrides: ReadonlyMap<string, string>,
    known: Iterable<{ id: string; ouPath: string }> = [],
  ): string[] {
    const fromFile = [...this.byAccount.values()]
      .filter((r) => r.enabled && r.channelId === channelId && !overrides.has(r.accountId))
      .map((r) => r.accountId);
    const fromOu = [...known]
      .filter((a) => !overrides.has(a.id) && !this.byAccount.has(a.id))
      .filter((a) => this.route(a.id, a.ouPath).channelId === channelId && channelId !== this.defaultChannelId)
      .map((a) => a.id);
    const overridden = [...overrides].filter(([, ch]) => ch === channelId).map(([account]) => account);
    return [...new Set([...fromFile, ...fromOu, ...overridden])].sort();
  }

  get size(): number {
    return this.byAccount.size;
  }
}

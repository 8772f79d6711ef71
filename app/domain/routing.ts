/** Routing: which Slack channel owns an account's alerts. Pure. */

export interface AccountRoute {
  accountId: string;
  channelId: string;
  channelName?: string | undefined;
  enabled: boolean;
}

export interface RouteDecision {
  channelId: string;
  /** Why this channel: shown in logs and, later, on the card. */
  reason: 'account' | 'default:unlisted' | 'default:disabled';
}

export class RoutingTable {
  private readonly byAccount: ReadonlyMap<string, AccountRoute>;

  constructor(
    routes: readonly AccountRoute[],
    private readonly defaultChannelId: string,
  ) {
    this.byAccount = new Map(routes.map((r) => [r.accountId, r]));
  }

  /** Never drops an alert: unknown or disabled accounts go to the default channel. */
  route(accountId: string): RouteDecision {
    const entry = this.byAccount.get(accountId);
    if (!entry) return { channelId: this.defaultChannelId, reason: 'default:unlisted' };
    if (!entry.enabled) return { channelId: this.defaultChannelId, reason: 'default:disabled' };
    return { channelId: entry.channelId, reason: 'account' };
  }

  /** Accounts whose alerts go to this channel, given the /alert route overrides. */
  accountsForChannel(channelId: string, overrides: ReadonlyMap<string, string>): string[] {
    const fromFile = [...this.byAccount.values()]
      .filter((r) => r.enabled && r.channelId === channelId && !overrides.has(r.accountId))
      .map((r) => r.accountId);
    const overridden = [...overrides].filter(([, ch]) => ch === channelId).map(([account]) => account);
    return [...new Set([...fromFile, ...overridden])].sort();
  }

  get size(): number {
    return this.byAccount.size;
  }
}

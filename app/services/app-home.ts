/**
 * App Home: your alerts (acknowledged or taken by you), the open alerts of
 * the accounts routed to your channels, pending archive reviews if you are a
 * security engineer, and the last 7 days' response times for those accounts.
 * Rendered afresh each time the user opens it.
 */

import type { RoutingTable } from '../domain/routing';
import type { AccountDirectory } from '../ports/account-directory';
import type { AlertQueries } from '../ports/alert-queries';
import type { Clock } from '../ports/clock';
import type { SecurityTeam } from '../ports/security-team';
import type { SlackSurface } from '../ports/slack-surface';
import type { StatsStore } from '../ports/stats-store';
import { type HomeView, homeView } from '../slack/blocks/home';

const ACTIVE = ['open', 'acknowledged', 'escalated', 'archive_requested'] as const;

export class AppHome {
  constructor(
    private readonly d: {
      queries: AlertQueries;
      stats: StatsStore;
      security: SecurityTeam;
      slack: SlackSurface;
      routing: RoutingTable;
      accounts: AccountDirectory;
      clock: Clock;
    },
  ) {}

  async render(userId: string): Promise<HomeView> {
    const channels = await this.d.slack.userChannels(userId);
    const overrides = await this.d.queries.routeOverrides();
    const accounts = [
      ...new Set(
        (channels.ok ? channels.value : []).flatMap((c) =>
          this.d.routing.accountsForChannel(c, overrides, this.d.accounts.all()),
        ),
      ),
    ];
    const until = this.d.clock.now();
    const [mine, inChannels, reviews, stats] = await Promise.all([
      this.d.queries.list({ userId, states: [...ACTIVE], limit: 10, offset: 0 }),
      accounts.length > 0
        ? this.d.queries.list({ accountIds: accounts, states: ['open'], limit: 10, offset: 0 })
        : Promise.resolve(undefined),
      this.d.security.isSecurityEngineer(userId).then((yes) => (yes ? this.d.queries.reviewQueue(10) : undefined)),
      accounts.length > 0
        ? this.d.stats.stats({ since: new Date(until.getTime() - 7 * 86_400_000), until, accountIds: accounts })
        : Promise.resolve(undefined),
    ]);
    return homeView({
      mine: mine.items,
      inChannels: inChannels?.items,
      accounts,
      reviews,
      stats,
      channelsUnknown: !channels.ok,
    });
  }
}

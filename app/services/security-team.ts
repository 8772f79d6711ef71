/**
 * Security engineers: the users listed in SECURITY_ENGINEER_IDS and the
 * members of SECURITY_USERGROUP_ID. Group membership is cached for a few
 * minutes; if Slack cannot be asked, only the listed users count (fail closed).
 */
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { SecurityTeam } from '../ports/security-team';
import type { SlackSurface } from '../ports/slack-surface';

const CACHE_MS = 5 * 60_000;

export class SlackSecurityTeam implements SecurityTeam {
  private cached: { members: Set<string>; at: number } | undefined;

  constructor(
    private readonly deps: {
      engineerIds: readonly string[];
      usergroupId?: string | undefined;
      slack: SlackSurface;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  async isSecurityEngineer(userId: string): Promise<boolean> {
    if (this.deps.engineerIds.includes(userId)) return true;
    if (!this.deps.usergroupId) return false;
    return (await this.groupMembers()).has(userId);
  }

  private async groupMembers(): Promise<Set<string>> {
    const now = this.deps.clock.now().getTime();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.members;
    const res = await this.deps.slack.usergroupMembers(this.deps.usergroupId ?? '');
    if (!res.ok) {
      this.deps.logger.warn(
        { error: res.failure.error },
        'could not read the security user group; only listed engineers count',
      );
      return this.cached?.members ?? new Set();
    }
    this.cached = { members: new Set(res.value), at: now };
    return this.cached.members;
  }
}

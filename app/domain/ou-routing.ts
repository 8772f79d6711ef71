/**
 * Routing by OU path: which Slack channel owns the alerts of accounts in an
 * OU. It ranks below per-account routes (config/accounts.yml). Pure.
 */

export interface OuRoute {
  /** An OU path from the root down, e.g. "Root/Workloads/Prod". */
  ou: string;
  channelId: string;
}

export interface OuRouteMatch {
  channelId: string;
  /** The route's OU path that matched: shown in logs as the reason for the channel. */
  ou: string;
}

/**
 * The route with the longest OU path that is the account's path or one of
 * its ancestors. Paths compare segment by segment and case-sensitively, as
 * Organizations names them: "Root/Sandbox" covers "Root/Sandbox" and
 * "Root/Sandbox/Dev" but not "Root/SandboxOld".
 */
export function routeByOu(routes: readonly OuRoute[], ouPath: string): OuRouteMatch | undefined {
  let best: OuRoute | undefined;
  for (const route of routes) {
    if (!coversPath(route.ou, ouPath)) continue;
    // Every match is a prefix of the same path, so the longer one is the more specific.
    if (best === undefined || route.ou.length > best.ou.length) best = route;
  }
  return best === undefined ? undefined : { channelId: best.channelId, ou: best.ou };
}

function coversPath(routeOu: string, ouPath: string): boolean {
  if (routeOu === '') return false;
  return ouPath === routeOu || ouPath.startsWith(`${routeOu}/`);
}

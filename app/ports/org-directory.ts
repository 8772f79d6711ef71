/**
 * The accounts of the AWS organization, as a periodic sync stores them. The
 * adapter walks the OU tree so that each account carries its OU path, which
 * OU routing (config/ou-routes.yml) matches on.
 */

export interface OrgAccount {
  id: string;
  name: string;
  email: string;
  /** ACTIVE, SUSPENDED, PENDING_CLOSURE, …: Organizations' State, or Status where State is absent. */
  status: string;
  /** Names of the OUs from the root down, e.g. "Root/Workloads/Prod"; "Root" for accounts directly under the root. */
  ouPath: string;
  /** The immediate parent: an OU id (ou-…) or the root id (r-…). */
  ouId: string | null;
  tags: Record<string, string>;
  /**
   * Set when the account's tags could not be read: `tags` is then empty
   * because it is unknown, not because the account has none, so a sync
   * should keep the tags it stored before.
   */
  tagsError?: string | undefined;
  joinedAt?: Date | undefined;
}

export type OrgListing =
  /** Every account of the organization; warnings say what was partial (e.g. an account's tags). */
  | { kind: 'ok'; accounts: OrgAccount[]; warnings: string[] }
  /** Throttling, 5xx, timeouts, network: try again later. */
  | { kind: 'retry'; error: string }
  /** AccessDenied, Organizations not in use, a role that cannot be assumed: permanent until config changes. */
  | { kind: 'fail'; error: string };

export interface OrgDirectory {
  /** Lists the whole organization, or says why it could not; never throws for AWS errors. */
  listAccounts(): Promise<OrgListing>;
}

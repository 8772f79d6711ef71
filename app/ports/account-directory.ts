/** What Kanshi knows of an AWS account from the Organizations sync. */
export interface AccountInfo {
  id: string;
  name: string;
  email: string;
  status: string;
  /** "Root/Workloads/Prod": OU names from the root down. */
  ouPath: string;
  tags: Record<string, string>;
}

/** An in-memory view of the synced accounts: ingest must not wait on it. */
export interface AccountDirectory {
  get(accountId: string): AccountInfo | undefined;
  all(): Iterable<AccountInfo>;
}

/**
 * Archiving findings in GuardDuty. Only the GuardDuty administrator account
 * can archive or unarchive member findings, so the adapter assumes a role in
 * that account and calls the API in each finding's region.
 */

export interface FindingRef {
  findingId: string;
  region: string;
}

/** How one finding fared in a batch call. */
export type ArchiveResult =
  | { ok: true }
  /** Throttling, 5xx, network: try again later. */
  | { ok: false; retryable: true; error: string }
  /** AccessDenied, no detector in the region, invalid input: recorded and surfaced, not retried. */
  | { ok: false; retryable: false; error: string };

export interface GuardDutyAdmin {
  /**
   * Archives (or unarchives) findings, batching at most 50 ids per API call
   * per region. Returns one result per finding id; never throws for AWS errors.
   */
  setArchived(findings: FindingRef[], archived: boolean): Promise<Map<string, ArchiveResult>>;
}

import type { AccountInfo } from './account-directory';
import type { OrgAccount } from './org-directory';

export interface OrgStore {
  /**
   * Upserts the listing. Returns the ids that were not known before, except on
   * the very first sync (then every account is new, and none is "news").
   * Accounts whose tags could not be read keep their stored tags.
   */
  saveListing(accounts: OrgAccount[]): Promise<{ added: string[]; firstSync: boolean }>;
  all(): Promise<AccountInfo[]>;
  /** Records that the security channel is being told about the account; false if it already was. */
  claimNotice(accountId: string, reason: string, source: string): Promise<boolean>;
  recordNoticeTs(accountId: string, ts: string): Promise<void>;
}

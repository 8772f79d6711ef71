import type { DigestMember, DigestView } from '../slack/blocks/digest';

export type StoredDigest = Omit<DigestView, 'threshold' | 'windowMinutes'> & {
  revision: number;
  cardTs: string | null;
  cardRevision: number;
  cardPostStartedAt: Date | null;
};

export interface DigestStore {
  load(digestId: string): Promise<StoredDigest | undefined>;
  /** Newest first. */
  members(digestId: string, limit: number): Promise<DigestMember[]>;
  /** Alerts of the digest that are still open, oldest first (for Acknowledge all / Archive all). */
  openAlertIds(digestId: string): Promise<string[]>;
  beginPost(digestId: string): Promise<void>;
  clearPostStarted(digestId: string): Promise<void>;
  recordPosted(digestId: string, ts: string, revision: number): Promise<void>;
  recordUpdated(digestId: string, revision: number): Promise<void>;
  /** Closes the digest if no alert joined it for `quietMs`; otherwise says when it will have been quiet that long. */
  closeIfQuiet(digestId: string, quietMs: number): Promise<{ closed: true } | { closed: false; quietAt: Date }>;
}

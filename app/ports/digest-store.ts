import type { DigestMember, DigestView } from '../slack/blocks/digest';

export type StoredDigest = Omit<DigestView, 'threshold' | 'windowMinutes'> & {
  cardTs: string | null;
  cardPostStartedAt: Date | null;
};

export interface DigestStore {
  load(digestId: string): Promise<StoredDigest | undefined>;
  /** Newest first. */
  members(digestId: string, limit: number): Promise<DigestMember[]>;
  beginPost(digestId: string): Promise<void>;
  clearPostStarted(digestId: string): Promise<void>;
  recordPosted(digestId: string, ts: string): Promise<void>;
  /** Closes the digest if no alert joined it for `quietMs`; otherwise says when it will have been quiet that long. */
  closeIfQuiet(digestId: string, quietMs: number): Promise<{ closed: true } | { closed: false; quietAt: Date }>;
}

/** The digest's bulk archive, as its review card shows it. */
export interface DigestReview {
  digestId: string;
  channelId: string;
  findingType: string;
  /** Alerts by review status: pending, approved, rejected. */
  reviews: Record<string, number>;
  /** The bulk archive's category, reason and who did it (the latest). */
  category: string | null;
  reason: string | null;
  archivedById: string | null;
  reviewCardTs: string | null;
}

export interface DigestReviewStore {
  review(digestId: string): Promise<DigestReview | undefined>;
  recordReviewCard(digestId: string, ts: string): Promise<void>;
  /** Ids of the digest's alerts in a bulk action's scope, oldest first, at most `limit`. */
  alertIdsFor(digestId: string, scope: 'open' | 'review_pending', limit: number): Promise<string[]>;
}

import type { SilenceMatcher, SilenceRecord } from '../domain/silences';
import type { JobSpec } from './triage-store';

export interface StoredSilence extends SilenceRecord {
  createdByName: string;
  channelId: string;
  staleNotifiedAt: Date | null;
}

export interface SilenceChange {
  action: 'create' | 'lift' | 'expire' | 'stale';
  outcome: 'applied' | 'refused';
  actor: { id: string; name: string };
  detail?: Record<string, unknown>;
}

export interface SilenceStore {
  /** The silence, its `create` audit row and its notice jobs, in one transaction. */
  create(
    s: SilenceMatcher & { typeLike: string; reason: string; channelId: string; createdAt: Date; expiresAt: Date },
    actor: { id: string; name: string },
    jobs: (silenceId: string) => JobSpec[],
  ): Promise<StoredSilence>;
  /** By full id, or by the first 8 hex characters when that is unambiguous. */
  find(ref: string): Promise<StoredSilence | undefined | 'ambiguous'>;
  list(opts: { includeEnded: boolean; now: Date; limit: number }): Promise<StoredSilence[]>;
  /** Lifts an active silence (once) and audits it, with its notice job. False: it was not active. */
  lift(id: string, actor: { id: string; name: string }, now: Date, jobs: JobSpec[]): Promise<boolean>;
  /** Appends to the silence's audit trail. */
  audit(silenceId: string, change: SilenceChange): Promise<void>;
  markStaleNotified(id: string, now: Date): Promise<void>;
}

import type { AlertForCard } from './card-store';

export interface AlertReader {
  /** An alert by its id, or by the GuardDuty finding id it tracks. */
  findByRef(ref: string): Promise<AlertForCard | undefined>;
}

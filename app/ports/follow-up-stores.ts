import type { JobSpec } from './triage-store';

/** Arms a job outside a state change (e.g. the next nudge step). */
export interface JobScheduler {
  enqueue(job: JobSpec): Promise<void>;
}

export interface GuardDutyPending {
  alertId: string;
  findingId: string;
  /** The archive state GuardDuty should end up in. */
  wanted: boolean;
  /** Another region's finding folded into the alert (its state is kept per finding). */
  folded: boolean;
}

export interface GuardDutySyncStore {
  /** Alerts in the region whose GuardDuty archive state differs from what is wanted (and has not failed for good). */
  pending(region: string, limit: number): Promise<GuardDutyPending[]>;
  /** Records the new GuardDuty state and re-renders the cards, in one transaction. */
  recordSynced(alertIds: string[], archived: boolean, foldedFindingIds?: string[]): Promise<void>;
  /**
   * Records a permanent failure on the alerts and re-renders their cards. If it starts a
   * failure spell for `spell.region` and the error, `spell.notice` is armed in the same
   * transaction (so the security channel is told once per spell, and a crash cannot lose it).
   */
  recordFailed(alertIds: string[], error: string, spell: { region: string; notice: JobSpec }): Promise<void>;
  /** An archive call in the region worked: its failure spells are over. */
  endFailureSpells(region: string): Promise<void>;
}

export interface PageCallStore {
  record(call: {
    alertId: string;
    action: string;
    ok: boolean;
    httpStatus?: number | undefined;
    error?: string | undefined;
  }): Promise<void>;
}

export interface EnrichmentStore {
  /** The finding as GuardDuty last sent it (the event's detail), for what the normalised finding leaves out. */
  rawFindingDetail(findingId: string): Promise<unknown>;
  /** Stores the investigation's result and re-renders the card, in one transaction. */
  saveEnrichment(alertId: string, enrichment: unknown): Promise<void>;
}

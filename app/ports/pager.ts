/** Paging the on-call security engineer (PagerDuty Events API v2). */

export type PageAction = 'trigger' | 'resolve';

export interface PageEvent {
  action: PageAction;
  /** PagerDuty dedup key: the alert id, so trigger and resolve meet. */
  dedupKey: string;
  /** For trigger: a one-line summary (PagerDuty caps it at 1024 characters). */
  summary?: string;
  severity?: 'critical' | 'error' | 'warning' | 'info';
  source?: string;
  /** Link back to the card or the console. */
  links?: Array<{ href: string; text: string }>;
  customDetails?: Record<string, string | number | boolean>;
}

export type PageResult =
  | { ok: true; status: number }
  | { ok: false; retryable: boolean; status?: number | undefined; error: string; retryAfterMs?: number | undefined };

export interface Pager {
  send(event: PageEvent): Promise<PageResult>;
}

import type { SeverityLabel } from '../domain/severity';
import type { AlertState } from '../domain/triage';
import type { Actor, SlackContext } from './triage-store';

export interface AlertListFilter {
  /** Only these accounts; undefined: all. */
  accountIds?: string[] | undefined;
  states?: AlertState[] | undefined;
  /** Alerts this user acknowledged or took. */
  userId?: string | undefined;
  severity?: SeverityLabel | undefined;
  limit: number;
  offset: number;
}

export interface AlertListItem {
  id: string;
  findingType: string;
  title: string;
  accountId: string;
  severityLabel: string;
  state: AlertState;
  createdAt: Date;
  cardChannelId: string | null;
  cardTs: string | null;
}

export interface AlertQueries {
  list(filter: AlertListFilter): Promise<{ items: AlertListItem[]; total: number }>;
  /** Archives a security engineer still has to review, oldest first. */
  reviewQueue(limit: number): Promise<AlertListItem[]>;
  /** Routing overrides set with /alert route: account id → channel id. */
  routeOverrides(): Promise<Map<string, string>>;
}

export interface RouteStore {
  /** Sets the override and appends its history row, in one transaction; returns the previous channel. */
  setRoute(accountId: string, channelId: string, actor: Actor, ctx: SlackContext): Promise<{ from: string | null }>;
  recordRefusedRoute(accountId: string, channelId: string, actor: Actor, ctx: SlackContext): Promise<void>;
}

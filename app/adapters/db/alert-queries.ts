/** Read models for /alert list and review, and the routing overrides. */
import type { Pool } from 'pg';
import type { AlertState } from '../../domain/triage';
import type { AlertListFilter, AlertListItem, AlertQueries, RouteStore } from '../../ports/alert-queries';
import type { Actor, SlackContext } from '../../ports/triage-store';

interface Row {
  id: string;
  finding_type: string;
  title: string;
  account_id: string;
  severity_label: string;
  state: string;
  created_at: Date;
  card_channel_id: string | null;
  card_ts: string | null;
  total?: string;
}

const COLUMNS = `id::text, finding_type, title, account_id, severity_label, state, created_at, card_channel_id, card_ts`;

const toItem = (r: Row): AlertListItem => ({
  id: r.id,
  findingType: r.finding_type,
  title: r.title,
  accountId: r.account_id,
  severityLabel: r.severity_label,
  state: r.state as AlertState,
  createdAt: r.created_at,
  cardChannelId: r.card_channel_id,
  cardTs: r.card_ts,
});

export class PgAlertQueries implements AlertQueries, RouteStore {
  constructor(private readonly pool: Pool) {}

  async list(f: AlertListFilter): Promise<{ items: AlertListItem[]; total: number }> {
    const res = await this.pool.query<Row>(
      `SELECT ${COLUMNS}, count(*) OVER () AS total FROM alert
       WHERE ($1::text[] IS NULL OR account_id = ANY($1::text[]))
         AND ($2::text[] IS NULL OR state = ANY($2::text[]))
         AND ($3::text IS NULL OR acknowledged_by_id = $3 OR assignee_id = $3)
         AND ($4::text IS NULL OR severity_label = $4)
       ORDER BY created_at DESC, id
       LIMIT $5 OFFSET $6`,
      [f.accountIds ?? null, f.states ?? null, f.userId ?? null, f.severity ?? null, f.limit, f.offset],
    );
    return { items: res.rows.map(toItem), total: Number(res.rows[0]?.total ?? 0) };
  }

  async reviewQueue(limit: number): Promise<AlertListItem[]> {
    const res = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM alert WHERE review_status = 'pending' ORDER BY state_changed_at LIMIT $1`,
      [limit],
    );
    return res.rows.map(toItem);
  }

  async routeOverrides(): Promise<Map<string, string>> {
    const res = await this.pool.query<{ account_id: string; channel_id: string }>(
      'SELECT account_id, channel_id FROM account_route',
    );
    return new Map(res.rows.map((r) => [r.account_id, r.channel_id]));
  }

  async setRoute(
    accountId: string,
    channelId: string,
    actor: Actor,
    ctx: SlackContext,
  ): Promise<{ from: string | null }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const prev = await client.query<{ channel_id: string }>(
        'SELECT channel_id FROM account_route WHERE account_id = $1 FOR UPDATE',
        [accountId],
      );
      const from = prev.rows[0]?.channel_id ?? null;
      await client.query(
        `INSERT INTO account_route (account_id, channel_id, set_by_id) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET channel_id = EXCLUDED.channel_id, set_by_id = EXCLUDED.set_by_id, set_at = now()`,
        [accountId, channelId, actor.id],
      );
      await this.history(client, accountId, from, channelId, actor, ctx, 'applied');
      // A notice about this account in the security channel is now answered.
      await client.query(
        'UPDATE account_notice SET routed_at = now(), routed_by_id = $2 WHERE account_id = $1 AND routed_at IS NULL',
        [accountId, actor.id],
      );
      await client.query('COMMIT');
      return { from };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async recordRefusedRoute(accountId: string, channelId: string, actor: Actor, ctx: SlackContext): Promise<void> {
    await this.history(this.pool, accountId, null, channelId, actor, ctx, 'refused');
  }

  private async history(
    q: Pick<Pool, 'query'>,
    accountId: string,
    from: string | null,
    to: string,
    actor: Actor,
    ctx: SlackContext,
    outcome: 'applied' | 'refused',
  ): Promise<void> {
    await q.query(
      `INSERT INTO route_change (account_id, from_channel_id, to_channel_id, actor_id, actor_name, outcome, slack_team, slack_channel)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [accountId, from, to, actor.id, actor.name, outcome, ctx.team ?? null, ctx.channel ?? null],
    );
  }
}

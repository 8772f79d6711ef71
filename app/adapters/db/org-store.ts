/** The synced AWS Organizations accounts, and the account notices sent to the security channel. */
import type { Pool } from 'pg';
import type { AccountInfo } from '../../ports/account-directory';
import type { OrgAccount } from '../../ports/org-directory';
import type { OrgStore } from '../../ports/org-store';

export class PgOrgStore implements OrgStore {
  constructor(private readonly pool: Pool) {}

  async saveListing(accounts: OrgAccount[]): Promise<{ added: string[]; firstSync: boolean }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const before = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM org_account');
      const firstSync = (before.rows[0]?.n ?? 0) === 0;
      const res = await client.query<{ account_id: string; inserted: boolean }>(
        `INSERT INTO org_account (account_id, name, email, status, ou_path, ou_id, tags, joined_at)
         SELECT a->>'id', a->>'name', a->>'email', a->>'status', a->>'ouPath', a->>'ouId', a->'tags',
                (a->>'joinedAt')::timestamptz
         FROM jsonb_array_elements($1::jsonb) AS a
         ON CONFLICT (account_id) DO UPDATE SET
           name = EXCLUDED.name, email = EXCLUDED.email, status = EXCLUDED.status, ou_path = EXCLUDED.ou_path,
           ou_id = EXCLUDED.ou_id, joined_at = EXCLUDED.joined_at, synced_at = now(),
           tags = CASE WHEN (EXCLUDED.tags ? '__kanshi_tags_unknown') THEN org_account.tags ELSE EXCLUDED.tags END
         RETURNING account_id, (xmax = 0) AS inserted`,
        [
          JSON.stringify(
            accounts.map((a) => ({
              id: a.id,
              name: a.name,
              email: a.email,
              status: a.status,
              ouPath: a.ouPath,
              ouId: a.ouId,
              // A tags read that failed must not wipe the tags we have.
              tags: a.tagsError ? { __kanshi_tags_unknown: '1' } : a.tags,
              joinedAt: a.joinedAt?.toISOString() ?? null,
            })),
          ),
        ],
      );
      // A first sync with failed tag reads must not store the marker.
      await client.query(`UPDATE org_account SET tags = '{}' WHERE tags ? '__kanshi_tags_unknown'`);
      await client.query('COMMIT');
      return { added: firstSync ? [] : res.rows.filter((r) => r.inserted).map((r) => r.account_id), firstSync };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async all(): Promise<AccountInfo[]> {
    const res = await this.pool.query<{
      account_id: string;
      name: string;
      email: string;
      status: string;
      ou_path: string;
      tags: Record<string, string>;
    }>('SELECT account_id, name, email, status, ou_path, tags FROM org_account');
    return res.rows.map((r) => ({
      id: r.account_id,
      name: r.name,
      email: r.email,
      status: r.status,
      ouPath: r.ou_path,
      tags: r.tags,
    }));
  }

  async claimNotice(accountId: string, reason: string, source: string): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO account_notice (account_id, reason, source) VALUES ($1, $2, $3)
       ON CONFLICT (account_id) DO UPDATE SET reason = account_notice.reason
       WHERE account_notice.notice_ts IS NULL
       RETURNING account_id`,
      [accountId, reason, source],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async recordNoticeTs(accountId: string, ts: string): Promise<void> {
    await this.pool.query('UPDATE account_notice SET notice_ts = $2 WHERE account_id = $1', [accountId, ts]);
  }
}

export class PgChannelHealthStore {
  constructor(private readonly pool: Pool) {}

  async markUnusable(channelId: string, error: string): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO channel_health (channel_id, error) VALUES ($1, $2) ON CONFLICT (channel_id) DO NOTHING RETURNING channel_id`,
      [channelId, error],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async markUsable(channelId: string): Promise<void> {
    await this.pool.query('DELETE FROM channel_health WHERE channel_id = $1', [channelId]);
  }
}

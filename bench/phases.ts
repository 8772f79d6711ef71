/**
 * The benchmark's interaction and storm phases (bench/ingest.ts runs them).
 *
 *   D  interactions  while ingest runs at 300 requests/s, signed button clicks
 *                    (Acknowledge on open alerts) and slash commands (`/alert
 *                    list`) from Slack's side: the time Kanshi takes to answer
 *                    (ack) them. Slack allows 3 s; the target is 100 ms at p99.
 *   E  storm         N findings for one channel within a window, with the
 *                    local Slack refusing more than one message per second per
 *                    channel (429, as Slack does): the messages that channel
 *                    got in the window, the time until every card and digest
 *                    job is done, and every alert stored and listable.
 */
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import type { LocalSlack } from '../app/sandbox/local-slack';
import {
  blockActionsPayload,
  interactionBody,
  newTriggerId,
  signedHeaders,
  slashCommandBody,
} from '../app/sandbox/slack-requests';
import { ACTION_IDS } from '../app/slack/ids';
import { type PhaseSummary, type Sample, summarise } from './support';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface InteractionResult {
  clicks: PhaseSummary;
  commands: PhaseSummary;
}

/**
 * Sends `perSecond` interactions for `seconds`, alternating a click and a
 * command, each timed from send to Kanshi's HTTP answer (Bolt answers when the
 * listener acks). Open loop: each is sent on schedule whether or not the last
 * one was answered.
 */
export async function runInteractions(o: {
  port: number;
  slack: LocalSlack;
  signingSecret: string;
  channelId: string;
  alertIds: string[];
  perSecond: number;
  seconds: number;
}): Promise<InteractionResult> {
  const clicks: Sample[] = [];
  const commands: Sample[] = [];
  const url = `http://127.0.0.1:${o.port}/slack/events`;
  const user = { id: 'U0BENCHUSR1', name: 'bench' };
  const send = async (body: string, into: Sample[]) => {
    const t = performance.now();
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: signedHeaders(body, 'application/x-www-form-urlencoded', o.signingSecret),
        body,
      });
      await res.arrayBuffer();
      into.push({ latencyMs: performance.now() - t, status: res.status });
    } catch {
      into.push({ latencyMs: performance.now() - t, status: 0 });
    }
  };
  const start = performance.now();
  const total = Math.round(o.perSecond * o.seconds);
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const responseUrl = `${o.slack.apiUrl}response/bench-${i}`;
    if (i % 2 === 0) {
      const alertId = o.alertIds[(i / 2) % Math.max(1, o.alertIds.length)] ?? '';
      const payload = blockActionsPayload({
        user,
        actionId: ACTION_IDS.acknowledge,
        value: alertId,
        blockId: 'kanshi_card_actions',
        triggerId: newTriggerId(),
        responseUrl,
        channel: o.channelId,
        messageTs: '1.000001',
      });
      inFlight.push(send(interactionBody(payload), clicks));
    } else {
      const body = slashCommandBody({
        user,
        channel: o.channelId,
        text: 'list',
        responseUrl,
        triggerId: newTriggerId(),
      });
      inFlight.push(send(body, commands));
    }
  }
  await Promise.all(inFlight);
  const elapsed = performance.now() - start;
  return { clicks: summarise(clicks, elapsed), commands: summarise(commands, elapsed) };
}

export interface StormResult {
  findings: number;
  windowSeconds: number;
  /** chat.postMessage calls Slack accepted for the channel within the window. */
  messagesInWindow: number;
  /** …and refused with 429 (the local Slack enforcing 1 message/s per channel). */
  refusedInWindow: number;
  /** All chat.postMessage calls accepted for the channel, until drained. */
  messagesTotal: number;
  /** From the first finding sent until no card or digest job for the channel is pending. */
  drainSeconds: number | undefined;
  alertsStored: number;
  byDelivery: Record<string, number>;
}

/** Waits for the storm channel's card and digest jobs to finish; returns when, or undefined after `limitMs`. */
export async function stormOutcome(o: {
  pool: Pool;
  slack: LocalSlack;
  channelId: string;
  accountId: string;
  findings: number;
  windowSeconds: number;
  startedAt: number;
  startedAtEpochMs: number;
  limitMs: number;
}): Promise<StormResult> {
  let drainSeconds: number | undefined;
  const deadline = o.startedAt + o.limitMs;
  while (performance.now() < deadline) {
    const r = await o.pool.query<{ n: number; alerts: number }>(
      `SELECT (SELECT count(*) FROM job WHERE lane = $1 AND kind IN ('card.sync', 'digest.sync')
                 AND status IN ('pending', 'running'))::int AS n,
              (SELECT count(*) FROM alert WHERE account_id = $2)::int AS alerts`,
      [o.channelId, o.accountId],
    );
    if (r.rows[0]?.n === 0 && r.rows[0]?.alerts === o.findings) {
      drainSeconds = (performance.now() - o.startedAt) / 1000;
      break;
    }
    await sleep(250);
  }
  const windowEnd = o.startedAtEpochMs + o.windowSeconds * 1000;
  const posts = o.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === o.channelId);
  const ok = (c: (typeof posts)[number]) => (c.response as { ok?: boolean } | undefined)?.ok === true;
  const byDelivery = await o.pool.query<{ delivery: string; n: number }>(
    'SELECT delivery, count(*)::int AS n FROM alert WHERE account_id = $1 GROUP BY delivery ORDER BY delivery',
    [o.accountId],
  );
  const stored = byDelivery.rows.reduce((a, r) => a + r.n, 0);
  return {
    findings: o.findings,
    windowSeconds: o.windowSeconds,
    messagesInWindow: posts.filter((c) => c.at <= windowEnd && ok(c)).length,
    refusedInWindow: posts.filter((c) => c.at <= windowEnd && c.status === 429).length,
    messagesTotal: posts.filter(ok).length,
    drainSeconds,
    alertsStored: stored,
    byDelivery: Object.fromEntries(byDelivery.rows.map((r) => [r.delivery, r.n])),
  };
}

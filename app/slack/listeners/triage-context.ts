/** Parsing what Slack sends with a click or a submission: ids only, checked with zod. */
import { z } from 'zod';
import type { Actor, SlackContext } from '../../ports/triage-store';

const alertIdValue = z.uuid();

export function parseAlertId(value: unknown): string | undefined {
  const r = alertIdValue.safeParse(value);
  return r.success ? r.data : undefined;
}

interface InteractionBody {
  user?: { id?: string; name?: string; username?: string };
  team?: { id?: string } | null;
  channel?: { id?: string };
  container?: { channel_id?: string; message_ts?: string };
  message?: { ts?: string };
}

export function actorOf(body: unknown): Actor {
  const b = body as InteractionBody;
  const id = b.user?.id ?? 'unknown';
  return { id, name: b.user?.username ?? b.user?.name ?? id };
}

export function contextOf(body: unknown): SlackContext {
  const b = body as InteractionBody;
  return {
    team: b.team?.id,
    channel: b.channel?.id ?? b.container?.channel_id,
    messageTs: b.message?.ts ?? b.container?.message_ts,
  };
}

/**
 * Bolt's authorize for our single workspace. Bolt's own single-token
 * authorize either calls auth.test at start-up (Slack on the start-up path)
 * or, with verification off, on every request (Slack on the ack path).
 * We learn the bot's ids once, in the background, and never wait for it:
 * the token is all a listener needs.
 */
import type { Authorize } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';

export function backgroundAuthorize(client: WebClient, botToken: string): Authorize<boolean> {
  let ids: { botId?: string; botUserId?: string } | undefined;
  let inFlight = false;
  const learn = () => {
    if (ids || inFlight) return;
    inFlight = true;
    client.auth
      .test({ token: botToken })
      .then((r) => {
        ids = { botId: r.bot_id, botUserId: r.user_id };
      })
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
      });
  };
  learn();
  return async () => {
    learn();
    return { botToken, ...(ids ?? {}) };
  };
}

/**
 * The bot token scopes Kanshi asks for. manifest.yml must declare exactly
 * these (test/unit/manifest.test.ts checks it); add a scope here, with the
 * code that needs it, before calling a Web API method that requires it.
 */
export const BOT_SCOPES = [
  // chat.postMessage and chat.update: posting alert cards and updating them
  // (app/adapters/slack/slack-surface.ts postCard, updateCard).
  'chat:write',
  // conversations.history in public channels: finding a card whose post
  // outcome was unknown by its message metadata (slack-surface.ts findCard).
  'channels:history',
  // The same for private channels (slack-surface.ts findCard).
  'groups:history',
  // The /alert slash command (SLASH_COMMAND in app/slack/ids.ts, handled in
  // app/slack/listeners/commands).
  'commands',
  // usergroups.users.list: members of SECURITY_USERGROUP_ID count as security
  // engineers (app/services/security-team.ts).
  'usergroups:read',
  // users.conversations: which channels a user is in, for their App Home
  // (app/services/app-home.ts), public and private.
  'channels:read',
  'groups:read',
] as const;

export type BotScope = (typeof BOT_SCOPES)[number];

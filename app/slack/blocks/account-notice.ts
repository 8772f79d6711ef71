/** The security channel's notice about a new or unrouted AWS account, and the "Route to channel…" modal. Pure. */
import { z } from 'zod';
import { ROUTE_ACTION_IDS, ROUTE_CALLBACK_IDS, ROUTE_INPUT_IDS } from '../ids';
import { modal, type View } from './modals';
import { escapeAndFit } from './mrkdwn';

export interface AccountNoticeInput {
  accountId: string;
  reason: 'new_account' | 'unrouted';
  name?: string | undefined;
  ouPath?: string | undefined;
  /** Where its alerts go now, and why. */
  channelId: string;
  routeReason: string;
}

export const routeModalMetadata = z.object({
  accountId: z.string().regex(/^\d{12}$/),
  channel: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/)
    .optional(),
  messageTs: z
    .string()
    .regex(/^\d+\.\d+$/)
    .optional(),
});

export function accountNoticeMessage(n: AccountNoticeInput): { text: string; blocks: Array<Record<string, unknown>> } {
  const who = [
    n.name ? escapeAndFit(n.name, 200) : undefined,
    n.ouPath ? `OU ${escapeAndFit(n.ouPath, 300)}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const headline =
    n.reason === 'new_account'
      ? `:new: New AWS account *${n.accountId}*${who ? ` (${who})` : ''}.`
      : `:compass: Alerts arrived for AWS account *${n.accountId}*${who ? ` (${who})` : ''}, which has no route.`;
  const where = `Its alerts go to <#${n.channelId}> (${escapeAndFit(n.routeReason, 100)}). Security engineers can route it to the owners' channel.`;
  return {
    text: `${n.reason === 'new_account' ? 'New AWS account' : 'Unrouted AWS account'} ${n.accountId}`,
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `${headline}\n${where}` },
        accessory: {
          type: 'button',
          action_id: ROUTE_ACTION_IDS.routeAccount,
          text: { type: 'plain_text', text: 'Route to channel…' },
          value: n.accountId,
        },
      },
    ],
  };
}

export function routeAccountModal(meta: z.infer<typeof routeModalMetadata>): View {
  return modal(ROUTE_CALLBACK_IDS.routeAccount, 'Route account', 'Route', meta, [
    {
      type: 'context',
      elements: [{ type: 'plain_text', emoji: false, text: `Send the alerts of AWS account ${meta.accountId} to:` }],
    },
    {
      type: 'input',
      block_id: ROUTE_INPUT_IDS.channel.block,
      label: { type: 'plain_text', text: 'Channel' },
      element: {
        type: 'conversations_select',
        action_id: ROUTE_INPUT_IDS.channel.action,
        filter: { include: ['public', 'private'], exclude_bot_users: true },
      },
    },
  ]);
}

/** The chosen channel from the modal's state, or an error for `response_action: 'errors'`. */
export function parseRouteSubmission(
  values: unknown,
): { ok: true; channelId: string } | { ok: false; errors: Record<string, string> } {
  const v = (values as Record<string, Record<string, { selected_conversation?: unknown }>> | undefined)?.[
    ROUTE_INPUT_IDS.channel.block
  ]?.[ROUTE_INPUT_IDS.channel.action]?.selected_conversation;
  if (typeof v === 'string' && /^[CG][A-Z0-9]{2,}$/.test(v)) return { ok: true, channelId: v };
  return { ok: false, errors: { [ROUTE_INPUT_IDS.channel.block]: 'Choose a channel.' } };
}

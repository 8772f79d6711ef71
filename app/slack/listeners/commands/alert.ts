/**
 * /alert: thin. Ack, parse, one call into AlertCommands, and map its answer
 * to an ephemeral reply or a modal. Usage help for anything it cannot parse,
 * never a stack trace.
 */
import type { App, BlockAction, ButtonAction, types } from '@slack/bolt';
import { storable } from '../../../domain/text';
import type { AlertCommands, CommandReply } from '../../../services/alert-commands';
import { listPage, USAGE } from '../../../services/alert-commands';
import { archiveModal, escalateModal, type ModalMetadata, resolveModal } from '../../blocks/modals';
import { escapeMrkdwn } from '../../blocks/mrkdwn';
import { parseAlertCommand } from '../../commands/parse';
import { ACTION_IDS, SLASH_COMMAND } from '../../ids';

const MODALS = { archive: archiveModal, escalate: escalateModal, resolve: resolveModal };

export function registerAlertCommand(app: App, commands: AlertCommands): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    await ack();
    const parsed = parseAlertCommand(storable(command.text ?? ''));
    if (!parsed.ok) {
      await respond({ response_type: 'ephemeral', text: `${escapeMrkdwn(parsed.error)}\n\n${USAGE}` });
      return;
    }
    const reply = await commands.run(parsed.command, {
      actor: { id: command.user_id, name: command.user_name },
      channelId: command.channel_id,
      teamId: command.team_id,
    });
    if (reply.kind === 'modal') {
      const meta: ModalMetadata = { alertId: reply.alertId, channel: command.channel_id };
      const view = MODALS[reply.action](meta, reply.title) as unknown as types.ModalView;
      await client.views.open({ trigger_id: command.trigger_id, view });
      return;
    }
    await respond(asMessage(reply));
  });

  // Pages of /alert list: the button carries the list's filter, nothing else.
  for (const actionId of [ACTION_IDS.listPrevious, ACTION_IDS.listNext]) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, action, body, respond }) => {
      await ack();
      let page: ReturnType<typeof listPage.safeParse>;
      try {
        page = listPage.safeParse(JSON.parse(action.value ?? ''));
      } catch {
        page = listPage.safeParse(undefined);
      }
      if (!page.success) {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: 'That page is not available any more.',
        });
        return;
      }
      const reply = await commands.list(page.data, body.user.id);
      if (reply.kind === 'message') await respond({ ...asMessage(reply), replace_original: true });
    });
  }
}

function asMessage(reply: Extract<CommandReply, { kind: 'message' }>) {
  return {
    response_type: 'ephemeral' as const,
    text: reply.text,
    ...(reply.blocks ? { blocks: reply.blocks as unknown as types.KnownBlock[] } : {}),
  };
}

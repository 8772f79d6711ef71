/**
 * Card buttons. Thin: ack, parse the alert id from the button's value, one
 * service call, and an ephemeral reply when the service refuses.
 */
import type { App, BlockAction, ButtonAction, RespondFn, types } from '@slack/bolt';
import type { TriageAction } from '../../../domain/triage';
import type { TriageOutcome, TriageService } from '../../../services/triage';
import { archiveModal, escalateModal, type ModalMetadata, rejectModal, resolveModal } from '../../blocks/modals';
import { ACTION_IDS } from '../../ids';
import { actorOf, contextOf, parseAlertId } from '../triage-context';

async function refuse(respond: RespondFn, message: string): Promise<void> {
  await respond({ response_type: 'ephemeral', replace_original: false, text: message });
}

async function reply(respond: RespondFn, outcome: TriageOutcome): Promise<void> {
  if (outcome.kind === 'refused') await refuse(respond, outcome.message);
}

const MODALS: Array<{ actionId: string; action: TriageAction; view: (meta: ModalMetadata, title: string) => object }> =
  [
    { actionId: ACTION_IDS.archive, action: 'archive', view: archiveModal },
    { actionId: ACTION_IDS.escalate, action: 'escalate', view: escalateModal },
    { actionId: ACTION_IDS.resolve, action: 'resolve', view: resolveModal },
    { actionId: ACTION_IDS.rejectArchive, action: 'reject_archive', view: rejectModal },
  ];

export function registerTriageButtons(app: App, triage: TriageService): void {
  const direct: Array<[string, (cmd: Parameters<TriageService['acknowledge']>[0]) => Promise<TriageOutcome>]> = [
    [ACTION_IDS.acknowledge, (cmd) => triage.acknowledge(cmd)],
    [ACTION_IDS.approveArchive, (cmd) => triage.approveArchive(cmd)],
    [ACTION_IDS.take, (cmd) => triage.take(cmd)],
    [ACTION_IDS.rerunInvestigation, (cmd) => triage.rerunInvestigation(cmd)],
    [ACTION_IDS.resolveGone, (cmd) => triage.resolveGone(cmd)],
  ];
  for (const [actionId, run] of direct) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const alertId = parseAlertId(action.value);
      if (!alertId) return refuse(respond, 'That button is not valid any more.');
      await reply(respond, await run({ alertId, actor: actorOf(body), ctx: contextOf(body) }));
    });
  }

  // Buttons that ask for a reason first: open the modal at once (the
  // trigger_id expires after 3 s), unless the action is not possible now.
  for (const m of MODALS) {
    app.action<BlockAction<ButtonAction>>(m.actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const alertId = parseAlertId(action.value);
      if (!alertId) return refuse(respond, 'That button is not valid any more.');
      const ctx = contextOf(body);
      const ready = await triage.prepare(alertId, m.action, actorOf(body), ctx);
      if (!ready.ok) return refuse(respond, ready.message);
      const meta: ModalMetadata = { alertId, channel: ctx.channel, messageTs: ctx.messageTs };
      await client.views.open({
        trigger_id: body.trigger_id,
        view: m.view(meta, ready.title) as unknown as types.ModalView,
      });
    });
  }
}

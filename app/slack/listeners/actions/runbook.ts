/** The card's Runbook button: opens the guidance for the alert's finding type. Read-only. */
import type { App, BlockAction, ButtonAction, types } from '@slack/bolt';
import type { RunbookLibrary } from '../../../domain/runbooks';
import type { AlertReader } from '../../../ports/alert-reader';
import { runbookModal } from '../../blocks/runbook-modal';
import { ACTION_IDS } from '../../ids';
import { parseAlertId } from '../triage-context';

export function registerRunbookButton(
  app: App,
  deps: { alerts: AlertReader; runbooks: RunbookLibrary; runbookBaseUrl?: string | undefined },
): void {
  app.action<BlockAction<ButtonAction>>(ACTION_IDS.runbook, async ({ ack, body, action, client, respond }) => {
    await ack();
    const alertId = parseAlertId(action.value);
    const alert = alertId ? await deps.alerts.findByRef(alertId) : undefined;
    const guidance = alert ? deps.runbooks.lookup(alert.finding.type) : undefined;
    if (!alert || !guidance) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'No runbook for this alert.' });
      return;
    }
    await client.views.open({
      trigger_id: body.trigger_id,
      // The pure builders use plain objects; their shape and limits are unit-tested.
      view: runbookModal(alert.finding.type, guidance, deps.runbookBaseUrl) as unknown as types.ModalView,
    });
  });
}

/**
 * /alert: `help` and `show <alert id | finding id>`. Thin: ack, parse, one
 * lookup, reply ephemerally. Usage help for anything else, never a stack trace.
 */
import type { App, types } from '@slack/bolt';
import type { RunbookLibrary } from '../../../domain/runbooks';
import type { AlertReader } from '../../../ports/alert-reader';
import type { AlertForCard } from '../../../ports/card-store';
import type { Logger } from '../../../ports/logger';
import type { CardMessage } from '../../blocks/finding-card';
import { escapeMrkdwn } from '../../blocks/mrkdwn';
import { runbookModal } from '../../blocks/runbook-modal';
import { SLASH_COMMAND } from '../../ids';

export interface AlertCommandDeps {
  alerts: AlertReader;
  render: (alert: AlertForCard) => CardMessage;
  logger: Logger;
  runbooks: RunbookLibrary;
}

export type AlertCommand =
  | { kind: 'help' }
  | { kind: 'show'; ref: string }
  | { kind: 'runbook'; type: string }
  | { kind: 'unknown'; text: string };

const FINDING_TYPE = /^[A-Za-z0-9]+:[A-Za-z0-9]+\/[A-Za-z0-9.!&_-]+$/;

const REF = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function parseAlertCommand(text: string): AlertCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb, ...rest] = words;
  if (!verb || verb === 'help') return { kind: 'help' };
  if (verb === 'show' && rest.length === 1 && rest[0] && REF.test(rest[0])) return { kind: 'show', ref: rest[0] };
  if (verb === 'runbook' && rest.length === 1 && rest[0] && FINDING_TYPE.test(rest[0])) {
    return { kind: 'runbook', type: rest[0] };
  }
  return { kind: 'unknown', text };
}

export const USAGE = [
  '*Kanshi* — `/alert` commands:',
  '• `/alert help` — this help',
  '• `/alert show &lt;alert id | finding id&gt;` — show an alert’s card',
  '• `/alert runbook &lt;finding type&gt;` — the runbook, e.g. `/alert runbook Recon:EC2/Portscan`',
].join('\n');

export function registerAlertCommand(app: App, deps: AlertCommandDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond }) => {
    await ack();
    const parsed = parseAlertCommand(command.text ?? '');
    if (parsed.kind === 'help') {
      await respond({ response_type: 'ephemeral', text: USAGE });
      return;
    }
    if (parsed.kind === 'unknown') {
      const said = escapeMrkdwn(parsed.text.slice(0, 200));
      await respond({ response_type: 'ephemeral', text: `I don't know \`${said}\`.\n${USAGE}` });
      return;
    }
    if (parsed.kind === 'runbook') {
      const guidance = deps.runbooks.lookup(parsed.type);
      if (!guidance) {
        await respond({ response_type: 'ephemeral', text: `No runbook for \`${parsed.type}\`.` });
        return;
      }
      const view = runbookModal(parsed.type, guidance) as { blocks: types.KnownBlock[] };
      // A message holds 50 blocks; the modal's are header, context and sections, all valid in messages.
      await respond({
        response_type: 'ephemeral',
        text: `Runbook for ${parsed.type}`,
        blocks: view.blocks.slice(0, 50),
      });
      return;
    }
    const alert = await deps.alerts.findByRef(parsed.ref);
    if (!alert) {
      await respond({ response_type: 'ephemeral', text: `No alert or finding with id \`${parsed.ref}\`.` });
      return;
    }
    const card = deps.render(alert);
    await respond({ response_type: 'ephemeral', text: card.text, blocks: card.blocks });
  });
}

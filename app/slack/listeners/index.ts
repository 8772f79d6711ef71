/**
 * Registers every Slack listener, by type. Listeners are thin: ack, parse,
 * one service call, map the outcome to a reply.
 */
import type { App } from '@slack/bolt';
import type { RunbookLibrary } from '../../domain/runbooks';
import type { Logger } from '../../ports/logger';
import type { TriageService } from '../../services/triage';
import { registerRunbookButton } from './actions/runbook';
import { registerTriageButtons } from './actions/triage-buttons';
import { type AlertCommandDeps, registerAlertCommand } from './commands/alert';
import { registerTriageModals } from './views/triage-modals';

export interface ListenerDeps extends AlertCommandDeps {
  logger: Logger;
  triage: TriageService;
  runbooks: RunbookLibrary;
  runbookBaseUrl?: string | undefined;
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  registerAlertCommand(app, deps);
  registerTriageButtons(app, deps.triage);
  registerRunbookButton(app, deps);
  registerTriageModals(app, deps.triage);
  app.error(async (error) => {
    deps.logger.error(
      { err: { code: (error as { code?: string }).code, message: error.message } },
      'Slack listener failed',
    );
  });
}

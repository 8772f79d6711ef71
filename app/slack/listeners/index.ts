/**
 * Registers every Slack listener, by type. Listeners are thin: ack, parse,
 * one service call, map the outcome to a reply.
 */
import type { App } from '@slack/bolt';
import type { RunbookLibrary } from '../../domain/runbooks';
import type { AlertReader } from '../../ports/alert-reader';
import type { Logger } from '../../ports/logger';
import type { AlertCommands } from '../../services/alert-commands';
import type { AppHome } from '../../services/app-home';
import type { TriageService } from '../../services/triage';
import { registerRunbookButton } from './actions/runbook';
import { registerTriageButtons } from './actions/triage-buttons';
import { registerAlertCommand } from './commands/alert';
import { registerAppHome } from './events/app-home';
import { registerTriageModals } from './views/triage-modals';

export interface ListenerDeps {
  logger: Logger;
  commands: AlertCommands;
  home: AppHome;
  alerts: AlertReader;
  triage: TriageService;
  runbooks: RunbookLibrary;
  runbookBaseUrl?: string | undefined;
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  registerAlertCommand(app, deps.commands);
  registerAppHome(app, deps.home);
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

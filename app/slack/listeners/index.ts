/**
 * Registers every Slack listener, by type. Listeners are thin: ack, parse,
 * one service call, map the outcome to a reply.
 */
import type { App } from '@slack/bolt';
import type { Logger } from '../../ports/logger';

export interface ListenerDeps {
  logger: Logger;
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  app.error(async (error) => {
    deps.logger.error(
      { err: { code: (error as { code?: string }).code, message: error.message } },
      'Slack listener failed',
    );
  });
}

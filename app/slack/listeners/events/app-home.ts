/**
 * app_home_opened: publish a fresh Home tab. Publishing is idempotent, so an
 * Events API retry (X-Slack-Retry-Num) just publishes it again.
 */
import type { App, types } from '@slack/bolt';
import type { AppHome } from '../../../services/app-home';

export function registerAppHome(app: App, home: AppHome): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    const view = await home.render(event.user);
    await client.views.publish({ user_id: event.user, view: view as unknown as types.HomeView });
  });
}

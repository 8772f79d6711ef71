/**
 * Buttons and modals that come with tuning: "Silence similar…" on cards, Lift
 * in `/alert silences`, a storm digest's List / Acknowledge all / Archive all,
 * and "Route to channel…" on account notices. Thin: ack, parse ids, one
 * service call, a reply.
 */
import type { App, BlockAction, ButtonAction, RespondFn, types } from '@slack/bolt';
import { z } from 'zod';
import { resourceIdOf } from '../../../domain/finding';
import { silenceMatcherFor } from '../../../domain/silences';
import { ARCHIVE_CATEGORIES, type ArchiveCategory, validateReason } from '../../../domain/triage';
import { DIGEST_BULK_JOB } from '../../../jobs/names';
import type { AlertReader } from '../../../ports/alert-reader';
import type { JobScheduler } from '../../../ports/follow-up-stores';
import type { AlertCommands } from '../../../services/alert-commands';
import type { SilenceService } from '../../../services/silences';
import type { StormDigests } from '../../../services/storm-digests';
import { parseRouteSubmission, routeAccountModal, routeModalMetadata } from '../../blocks/account-notice';
import { digestMetadata } from '../../blocks/digest';
import { modalMetadata } from '../../blocks/modals';
import { parseSilenceSubmission, silenceCreatedText, silenceModal } from '../../blocks/silences';
import {
  ACTION_IDS,
  CALLBACK_IDS,
  DIGEST_ACTION_IDS,
  DIGEST_CALLBACK_IDS,
  INPUT_IDS,
  ROUTE_ACTION_IDS,
  ROUTE_CALLBACK_IDS,
} from '../../ids';
import { actorOf, contextOf, parseAlertId } from '../triage-context';

export interface TuningListenerDeps {
  alerts: AlertReader;
  silences: SilenceService;
  digests: StormDigests;
  commands: AlertCommands;
  scheduler: JobScheduler;
}

async function ephemeral(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', replace_original: false, text });
}

const digestIdValue = z.string().regex(/^\d{1,19}$/);
const silenceIdValue = z.uuid();
const accountIdValue = z.string().regex(/^\d{12}$/);

export function registerTuningListeners(app: App, d: TuningListenerDeps): void {
  app.action<BlockAction<ButtonAction>>(ACTION_IDS.silenceSimilar, async ({ ack, body, action, respond, client }) => {
    await ack();
    const alertId = parseAlertId(action.value);
    const alert = alertId ? await d.alerts.findByRef(alertId) : undefined;
    if (!alert) return ephemeral(respond, 'That alert no longer exists.');
    const ctx = contextOf(body);
    await client.views.open({
      trigger_id: body.trigger_id,
      view: silenceModal({
        alertId: alert.id,
        findingType: alert.finding.type,
        accountId: alert.finding.accountId,
        resourceId: resourceIdOf(alert.finding),
        resourceLabel: `${alert.finding.resource.type} ${alert.finding.resource.label}`,
        channel: ctx.channel,
        messageTs: ctx.messageTs,
      }) as unknown as types.ModalView,
    });
  });

  app.view(CALLBACK_IDS.silence, async ({ ack, body, view, client }) => {
    const parsed = parseSilenceSubmission(view.state.values);
    if (!parsed.ok) return ack({ response_action: 'errors', errors: parsed.errors });
    const meta = modalMetadata.safeParse(safeJson(view.private_metadata));
    if (!meta.success)
      return ack({ response_action: 'errors', errors: { [INPUT_IDS.reason.block]: 'That alert no longer exists.' } });
    // Ack first (only synchronous validation before it); the database comes after.
    await ack();
    const actor = actorOf(body);
    const alert = await d.alerts.findByRef(meta.data.alertId);
    if (!alert) {
      if (meta.data.channel)
        await client.chat.postEphemeral({
          channel: meta.data.channel,
          user: actor.id,
          text: 'That alert no longer exists.',
        });
      return;
    }
    const matcher = silenceMatcherFor(
      { type: alert.finding.type, accountId: alert.finding.accountId, resourceId: resourceIdOf(alert.finding) },
      parsed.scope,
    );
    const channel = meta.data.channel ?? alert.cardChannelId ?? alert.channelId;
    const made = await d.silences.create({
      matcher,
      durationMs: parsed.durationMs,
      reason: parsed.reason,
      actor,
      channelId: channel,
    });
    await client.chat.postEphemeral({
      channel,
      user: actor.id,
      text: made.ok ? silenceCreatedText(made.value) : `:no_entry: ${made.message}`,
    });
  });

  app.action<BlockAction<ButtonAction>>(ACTION_IDS.liftSilence, async ({ ack, body, action, respond }) => {
    await ack();
    const id = silenceIdValue.safeParse(action.value);
    if (!id.success) return ephemeral(respond, 'That button is not valid any more.');
    const reply = await d.commands.unsilence(id.data, actorOf(body));
    await ephemeral(respond, reply.kind === 'message' ? reply.text : 'Done.');
  });

  // Digest buttons that open a modal: parse the digest id, build the view, open it.
  const digestModals: Array<[string, (id: string) => Promise<object | undefined>, string]> = [
    [DIGEST_ACTION_IDS.list, (id) => d.digests.listModal(id), 'That digest no longer exists.'],
    [DIGEST_ACTION_IDS.archiveAll, (id) => d.digests.archiveModal(id), 'That digest no longer exists.'],
    [DIGEST_ACTION_IDS.rejectAll, (id) => d.digests.rejectModal(id), 'Nothing of this digest is waiting for review.'],
  ];
  for (const [actionId, build, gone] of digestModals) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const id = digestIdValue.safeParse(action.value);
      const view = id.success ? await build(id.data) : undefined;
      if (!view) return ephemeral(respond, gone);
      await client.views.open({ trigger_id: body.trigger_id, view: view as unknown as types.ModalView });
    });
  }

  app.action<BlockAction<ButtonAction>>(DIGEST_ACTION_IDS.acknowledgeAll, async ({ ack, body, action, respond }) => {
    await ack();
    const id = digestIdValue.safeParse(action.value);
    if (!id.success) return ephemeral(respond, 'That button is not valid any more.');
    await enqueueBulk(d, id.data, body, { action: 'acknowledge' });
    await ephemeral(respond, 'Acknowledging every open alert of this digest; the digest updates when done.');
  });

  app.view(DIGEST_CALLBACK_IDS.archiveAll, async ({ ack, body, view }) => {
    const values = view.state.values as Record<
      string,
      Record<string, { selected_option?: { value?: string }; value?: string }>
    >;
    const category = values[INPUT_IDS.category.block]?.[INPUT_IDS.category.action]?.selected_option?.value;
    const reason = (values[INPUT_IDS.reason.block]?.[INPUT_IDS.reason.action]?.value ?? '').trim();
    const problem = validateReason(reason);
    if (!category || !Object.hasOwn(ARCHIVE_CATEGORIES, category))
      return ack({ response_action: 'errors', errors: { [INPUT_IDS.category.block]: 'Choose why.' } });
    if (problem) return ack({ response_action: 'errors', errors: { [INPUT_IDS.reason.block]: problem } });
    const meta = digestMetadata.safeParse(safeJson(view.private_metadata));
    if (!meta.success)
      return ack({ response_action: 'errors', errors: { [INPUT_IDS.reason.block]: 'That digest is gone.' } });
    await ack();
    await enqueueBulk(d, meta.data.digestId, body, {
      action: 'archive',
      category: category as ArchiveCategory,
      reason,
    });
  });

  app.action<BlockAction<ButtonAction>>(DIGEST_ACTION_IDS.approveAll, async ({ ack, body, action, respond }) => {
    await ack();
    const id = digestIdValue.safeParse(action.value);
    if (!id.success) return ephemeral(respond, 'That button is not valid any more.');
    // Rights are checked per alert by triage (security engineers only), and a refusal is audited.
    await enqueueBulk(d, id.data, body, { action: 'approve' });
    await ephemeral(respond, 'Approving every archive of this digest waiting for review; the card updates when done.');
  });

  app.view(DIGEST_CALLBACK_IDS.rejectAll, async ({ ack, body, view }) => {
    const values = view.state.values as Record<string, Record<string, { value?: string }>>;
    const comment = (values[INPUT_IDS.comment.block]?.[INPUT_IDS.comment.action]?.value ?? '').trim();
    const problem = validateReason(comment);
    if (problem) return ack({ response_action: 'errors', errors: { [INPUT_IDS.comment.block]: problem } });
    const meta = digestMetadata.safeParse(safeJson(view.private_metadata));
    if (!meta.success)
      return ack({ response_action: 'errors', errors: { [INPUT_IDS.comment.block]: 'That digest is gone.' } });
    await ack();
    await enqueueBulk(d, meta.data.digestId, body, { action: 'reject', reason: comment });
  });

  app.action<BlockAction<ButtonAction>>(
    ROUTE_ACTION_IDS.routeAccount,
    async ({ ack, body, action, respond, client }) => {
      await ack();
      const accountId = accountIdValue.safeParse(action.value);
      if (!accountId.success) return ephemeral(respond, 'That button is not valid any more.');
      const ctx = contextOf(body);
      await client.views.open({
        trigger_id: body.trigger_id,
        view: routeAccountModal({
          accountId: accountId.data,
          channel: ctx.channel,
          messageTs: ctx.messageTs,
        }) as unknown as types.ModalView,
      });
    },
  );

  app.view(ROUTE_CALLBACK_IDS.routeAccount, async ({ ack, body, view, client }) => {
    const parsed = parseRouteSubmission(view.state.values);
    if (!parsed.ok) return ack({ response_action: 'errors', errors: parsed.errors });
    const meta = routeModalMetadata.safeParse(safeJson(view.private_metadata));
    if (!meta.success) return ack();
    await ack();
    const actor = actorOf(body);
    // The same path as /alert route: security engineers only, audited either way.
    const reply = await d.commands.route(meta.data.accountId, parsed.channelId, actor, {
      team: body.team?.id,
      channel: meta.data.channel,
      messageTs: meta.data.messageTs,
    });
    if (meta.data.channel) {
      await client.chat.postEphemeral({
        channel: meta.data.channel,
        user: actor.id,
        text: reply.kind === 'message' ? reply.text : 'Done.',
      });
    }
  });
}

async function enqueueBulk(
  d: TuningListenerDeps,
  digestId: string,
  body: unknown,
  what:
    | { action: 'acknowledge' | 'approve' }
    | { action: 'archive'; category: ArchiveCategory; reason: string }
    | { action: 'reject'; reason: string },
): Promise<void> {
  const actor = actorOf(body);
  const ctx = contextOf(body);
  // A bulk action over thousands of alerts is slow work: a job, keyed by this click.
  await d.scheduler.enqueue({
    kind: DIGEST_BULK_JOB,
    key: `digest-bulk:${digestId}:${what.action}:${actor.id}:${Date.now()}`,
    lane: null,
    payload: { digestId, actorId: actor.id, actorName: actor.name, team: ctx.team, channel: ctx.channel, ...what },
    mode: 'once',
  });
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

/**
 * Modal submissions: validate synchronously (answering response_action:
 * errors, the only work allowed before ack), ack, then one service call.
 */
import type { AllMiddlewareArgs, App, SlackViewAction, ViewOutput } from '@slack/bolt';
import { z } from 'zod';
import { ARCHIVE_CATEGORIES, type ArchiveCategory, REASON_MAX, validateReason } from '../../../domain/triage';
import type { TriageOutcome, TriageService } from '../../../services/triage';
import { type ModalMetadata, modalMetadata } from '../../blocks/modals';
import { CALLBACK_IDS, INPUT_IDS } from '../../ids';
import { actorOf } from '../triage-context';

type Values = ViewOutput['state']['values'];

function textOf(values: Values, ids: { block: string; action: string }): string {
  return values[ids.block]?.[ids.action]?.value?.trim() ?? '';
}

function metadataOf(view: ViewOutput): ModalMetadata | undefined {
  try {
    const r = modalMetadata.safeParse(JSON.parse(view.private_metadata));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

const category = z.enum(Object.keys(ARCHIVE_CATEGORIES) as [ArchiveCategory, ...ArchiveCategory[]]);

async function tell(
  client: AllMiddlewareArgs['client'],
  meta: ModalMetadata,
  userId: string,
  outcome: TriageOutcome,
): Promise<void> {
  if (outcome.kind !== 'refused' || !meta.channel) return;
  await client.chat.postEphemeral({ channel: meta.channel, user: userId, text: outcome.message });
}

export function registerTriageModals(app: App, triage: TriageService): void {
  app.view<SlackViewAction>(CALLBACK_IDS.archive, async ({ ack, view, body, client }) => {
    const meta = metadataOf(view);
    const values = view.state.values;
    const picked = category.safeParse(
      values[INPUT_IDS.category.block]?.[INPUT_IDS.category.action]?.selected_option?.value,
    );
    const reason = textOf(values, INPUT_IDS.reason);
    const errors: Record<string, string> = {};
    if (!picked.success) errors[INPUT_IDS.category.block] = 'Please choose why.';
    const bad = validateReason(reason);
    if (bad) errors[INPUT_IDS.reason.block] = bad;
    if (Object.keys(errors).length > 0 || !meta || !picked.success) {
      await ack({
        response_action: 'errors',
        errors: Object.keys(errors).length
          ? errors
          : { [INPUT_IDS.reason.block]: 'This form has expired; please try again.' },
      });
      return;
    }
    await ack();
    const outcome = await triage.archive({
      alertId: meta.alertId,
      actor: actorOf(body),
      ctx: ctxOf(body, meta),
      category: picked.data,
      reason,
    });
    await tell(client, meta, body.user.id, outcome);
  });

  app.view<SlackViewAction>(CALLBACK_IDS.resolve, async ({ ack, view, body, client }) => {
    const meta = metadataOf(view);
    const note = textOf(view.state.values, INPUT_IDS.note);
    const bad = validateReason(note) ?? (meta ? undefined : 'This form has expired; please try again.');
    if (bad || !meta) {
      await ack({ response_action: 'errors', errors: { [INPUT_IDS.note.block]: bad ?? '' } });
      return;
    }
    await ack();
    await tell(
      client,
      meta,
      body.user.id,
      await triage.resolve({ alertId: meta.alertId, actor: actorOf(body), ctx: ctxOf(body, meta), note }),
    );
  });

  app.view<SlackViewAction>(CALLBACK_IDS.reject, async ({ ack, view, body, client }) => {
    const meta = metadataOf(view);
    const comment = textOf(view.state.values, INPUT_IDS.comment);
    const bad = validateReason(comment) ?? (meta ? undefined : 'This form has expired; please try again.');
    if (bad || !meta) {
      await ack({ response_action: 'errors', errors: { [INPUT_IDS.comment.block]: bad ?? '' } });
      return;
    }
    await ack();
    await tell(
      client,
      meta,
      body.user.id,
      await triage.rejectArchive({ alertId: meta.alertId, actor: actorOf(body), ctx: ctxOf(body, meta), comment }),
    );
  });

  app.view<SlackViewAction>(CALLBACK_IDS.escalate, async ({ ack, view, body, client }) => {
    const meta = metadataOf(view);
    const note = textOf(view.state.values, INPUT_IDS.note);
    if (!meta || note.length > REASON_MAX) {
      await ack({
        response_action: 'errors',
        errors: {
          [INPUT_IDS.note.block]: meta
            ? `Please keep the note under ${REASON_MAX} characters.`
            : 'This form has expired; please try again.',
        },
      });
      return;
    }
    await ack();
    await tell(
      client,
      meta,
      body.user.id,
      await triage.escalate({
        alertId: meta.alertId,
        actor: actorOf(body),
        ctx: ctxOf(body, meta),
        note: note || undefined,
      }),
    );
  });
}

function ctxOf(body: SlackViewAction, meta: ModalMetadata) {
  return { team: body.team?.id, channel: meta.channel, messageTs: meta.messageTs };
}

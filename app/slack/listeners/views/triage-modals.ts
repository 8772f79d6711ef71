/**
 * Modal submissions: validate synchronously (answering response_action:
 * errors, the only work allowed before ack), ack, then one service call.
 */
import type { AllMiddlewareArgs, App, SlackViewAction, ViewOutput } from '@slack/bolt';
import { z } from 'zod';
import { storable } from '../../../domain/text';
import { ARCHIVE_CATEGORIES, type ArchiveCategory, REASON_MAX, validateReason } from '../../../domain/triage';
import type { Command, TriageOutcome, TriageService } from '../../../services/triage';
import { type ModalMetadata, modalMetadata } from '../../blocks/modals';
import { CALLBACK_IDS, INPUT_IDS } from '../../ids';
import { actorOf } from '../triage-context';

type Values = ViewOutput['state']['values'];
type InputIds = { block: string; action: string };

const EXPIRED = 'This form has expired; please try again.';
const category = z.enum(Object.keys(ARCHIVE_CATEGORIES) as [ArchiveCategory, ...ArchiveCategory[]]);

function textOf(values: Values, ids: InputIds): string {
  return storable(values[ids.block]?.[ids.action]?.value?.trim() ?? '');
}

function metadataOf(view: ViewOutput): ModalMetadata | undefined {
  try {
    const r = modalMetadata.safeParse(JSON.parse(view.private_metadata));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

function optionalNote(text: string): string | undefined {
  return text.length > REASON_MAX ? `Please keep the note under ${REASON_MAX} characters.` : undefined;
}

/**
 * One modal: read and check the inputs (errors keyed by block id), then call
 * the service with the command and the checked values. A refusal reaches the
 * user as an ephemeral message in the alert's channel.
 */
function onSubmit<T>(
  app: App,
  callbackId: string,
  check: (values: Values) => Checked<T>,
  run: (cmd: Command, value: T) => Promise<TriageOutcome>,
): void {
  app.view<SlackViewAction>(callbackId, async ({ ack, view, body, client }) => {
    const meta = metadataOf(view);
    const { errors, value } = check(view.state.values);
    const firstBlock = Object.keys(view.state.values)[0] ?? INPUT_IDS.note.block;
    if (!meta) return void (await ack({ response_action: 'errors', errors: { [firstBlock]: EXPIRED } }));
    if (Object.keys(errors).length > 0 || value === undefined) {
      return void (await ack({ response_action: 'errors', errors }));
    }
    await ack();
    const ctx = { team: body.team?.id, channel: meta.channel, messageTs: meta.messageTs };
    const outcome = await run({ alertId: meta.alertId, actor: actorOf(body), ctx }, value);
    await tell(client, meta, body.user.id, outcome);
  });
}

async function tell(client: AllMiddlewareArgs['client'], meta: ModalMetadata, userId: string, o: TriageOutcome) {
  if (o.kind !== 'refused' || !meta.channel) return;
  await client.chat.postEphemeral({ channel: meta.channel, user: userId, text: o.message });
}

/** A modal whose one input must be a 10–3000 character text. */
type Checked<T> = { errors: Record<string, string>; value?: T };

function requiredText(ids: InputIds) {
  return (values: Values): Checked<string> => {
    const text = textOf(values, ids);
    const bad = validateReason(text);
    return bad ? { errors: { [ids.block]: bad } } : { errors: {}, value: text };
  };
}

export function registerTriageModals(app: App, triage: TriageService): void {
  onSubmit(
    app,
    CALLBACK_IDS.archive,
    (values) => {
      const picked = category.safeParse(
        values[INPUT_IDS.category.block]?.[INPUT_IDS.category.action]?.selected_option?.value,
      );
      const reason = textOf(values, INPUT_IDS.reason);
      const errors: Record<string, string> = {};
      if (!picked.success) errors[INPUT_IDS.category.block] = 'Please choose why.';
      const bad = validateReason(reason);
      if (bad) errors[INPUT_IDS.reason.block] = bad;
      return picked.success && !bad ? { errors, value: { category: picked.data, reason } } : { errors };
    },
    (cmd, v) => triage.archive({ ...cmd, ...v }),
  );
  onSubmit(app, CALLBACK_IDS.resolve, requiredText(INPUT_IDS.note), (cmd, note) => triage.resolve({ ...cmd, note }));
  onSubmit(app, CALLBACK_IDS.reject, requiredText(INPUT_IDS.comment), (cmd, comment) =>
    triage.rejectArchive({ ...cmd, comment }),
  );
  onSubmit(
    app,
    CALLBACK_IDS.escalate,
    (values): Checked<string> => {
      const note = textOf(values, INPUT_IDS.note);
      const bad = optionalNote(note);
      return bad ? { errors: { [INPUT_IDS.note.block]: bad } } : { errors: {}, value: note };
    },
    (cmd, note) => triage.escalate({ ...cmd, note: note || undefined }),
  );
}

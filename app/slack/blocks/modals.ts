/** The triage modals: archive (category + reason), escalate (optional note), resolve and reject (required text). Pure. */
import { z } from 'zod';
import { ARCHIVE_CATEGORIES, REASON_MAX, REASON_MIN } from '../../domain/triage';
import { CALLBACK_IDS, INPUT_IDS } from '../ids';
import { fitPlain } from './mrkdwn';

/** What a modal remembers: ids only (Slack caps private_metadata at 3000 characters). */
export const modalMetadata = z.object({
  alertId: z.uuid(),
  channel: z
    .string()
    .regex(/^[CGD][A-Z0-9]+$/)
    .optional(),
  messageTs: z
    .string()
    .regex(/^\d+\.\d+$/)
    .optional(),
});
export type ModalMetadata = z.infer<typeof modalMetadata>;

export interface View {
  type: 'modal';
  callback_id: string;
  private_metadata: string;
  title: { type: 'plain_text'; text: string };
  submit?: { type: 'plain_text'; text: string };
  close: { type: 'plain_text'; text: string };
  blocks: Array<Record<string, unknown>>;
}

export function modal(
  callbackId: string,
  title: string,
  submit: string,
  meta: Record<string, unknown>,
  blocks: View['blocks'],
): View {
  return {
    type: 'modal',
    callback_id: callbackId,
    private_metadata: JSON.stringify(meta),
    // Modal titles are at most 24 characters.
    title: { type: 'plain_text', text: fitPlain(title, 24) },
    submit: { type: 'plain_text', text: submit },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

function summary(text: string): Record<string, unknown> {
  return { type: 'context', elements: [{ type: 'plain_text', text: fitPlain(text, 2000), emoji: false }] };
}

function textInput(
  ids: { block: string; action: string },
  label: string,
  opts: { optional?: boolean; min?: number; max: number; placeholder?: string },
): Record<string, unknown> {
  return {
    type: 'input',
    block_id: ids.block,
    optional: opts.optional ?? false,
    label: { type: 'plain_text', text: label },
    element: {
      type: 'plain_text_input',
      action_id: ids.action,
      multiline: true,
      max_length: opts.max,
      ...(opts.min ? { min_length: opts.min } : {}),
      ...(opts.placeholder ? { placeholder: { type: 'plain_text', text: opts.placeholder } } : {}),
    },
  };
}

/** The archive category and reason inputs, shared by the card's and the storm digest's Archive modals. */
export function archiveInputs(reasonLabel = 'Reason (security engineers review it)'): View['blocks'] {
  return [
    {
      type: 'input',
      block_id: INPUT_IDS.category.block,
      label: { type: 'plain_text', text: 'Why archive it?' },
      element: {
        type: 'static_select',
        action_id: INPUT_IDS.category.action,
        options: Object.entries(ARCHIVE_CATEGORIES).map(([value, text]) => ({
          text: { type: 'plain_text', text: text[0]?.toUpperCase() + text.slice(1) },
          value,
        })),
      },
    },
    textInput(INPUT_IDS.reason, reasonLabel, {
      min: REASON_MIN,
      max: REASON_MAX,
      placeholder: 'e.g. scanner from our own VPC',
    }),
  ];
}

/** `title` is the alert's title, shown as plain text (never parsed as markup). */
export function archiveModal(meta: ModalMetadata, title: string): View {
  return modal(CALLBACK_IDS.archive, 'Archive alert', 'Archive', meta, [summary(title), ...archiveInputs()]);
}

export function escalateModal(meta: ModalMetadata, title: string): View {
  return modal(CALLBACK_IDS.escalate, 'Escalate to security', 'Escalate', meta, [
    summary(title),
    textInput(INPUT_IDS.note, 'Note for the security team', { optional: true, max: REASON_MAX }),
  ]);
}

export function resolveModal(meta: ModalMetadata, title: string): View {
  return modal(CALLBACK_IDS.resolve, 'Resolve alert', 'Resolve', meta, [
    summary(title),
    textInput(INPUT_IDS.note, 'Resolution', { min: REASON_MIN, max: REASON_MAX, placeholder: 'What was done?' }),
  ]);
}

export function rejectModal(meta: ModalMetadata, title: string): View {
  return modal(CALLBACK_IDS.reject, 'Reject archive', 'Reject', meta, [
    summary(title),
    textInput(INPUT_IDS.comment, 'Comment for the account owners', { min: REASON_MIN, max: REASON_MAX }),
  ]);
}

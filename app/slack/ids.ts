/**
 * Every identifier Kanshi puts into Slack and reads back, in one place.
 * Values and metadata carry ids only — never secrets or free text.
 */

/** Message metadata on every card, so a post whose outcome was unknown can be found again. */
export const CARD_METADATA_EVENT_TYPE = 'kanshi_alert';

/** Message metadata on every other post a job makes (its job key), so a retried job can find it. */
export const POST_METADATA_EVENT_TYPE = 'kanshi_post';

// A type alias (not an interface) so it satisfies Slack's index-signature type.
export type CardMetadataPayload = {
  alert_id: string;
};

export const BLOCK_IDS = {
  cardHeader: 'kanshi_card_header',
  cardFacts: 'kanshi_card_facts',
  cardResource: 'kanshi_card_resource',
  cardDescription: 'kanshi_card_description',
  cardLinks: 'kanshi_card_links',
  cardNotes: 'kanshi_card_notes',
} as const;

/** The slash command Kanshi registers (see manifest.yml). */
export const SLASH_COMMAND = '/alert';

/** Buttons. Their `value` is the alert id and nothing else. */
export const ACTION_IDS = {
  acknowledge: 'kanshi_ack',
  archive: 'kanshi_archive',
  escalate: 'kanshi_escalate',
  resolve: 'kanshi_resolve',
  approveArchive: 'kanshi_review_approve',
  rejectArchive: 'kanshi_review_reject',
  take: 'kanshi_escalation_take',
  runbook: 'kanshi_runbook',
  rerunInvestigation: 'kanshi_investigate',
  resolveGone: 'kanshi_resolve_gone',
  /** /alert list pages; the value is the list's filter (ids and enums only), parsed with zod. */
  listPrevious: 'kanshi_list_previous',
  listNext: 'kanshi_list_next',
  consoleLink: 'kanshi_console_link',
  /** On a card: opens the silence modal. The value is the alert id. */
  silenceSimilar: 'kanshi_silence_similar',
  /** In /alert silences: lifts a silence. The value is the silence id. */
  liftSilence: 'kanshi_silence_lift',
} as const;

/** Modals. Their private_metadata is {"alertId","channel","messageTs"} (ids only), parsed with zod. */
export const CALLBACK_IDS = {
  archive: 'kanshi_archive_modal',
  escalate: 'kanshi_escalate_modal',
  resolve: 'kanshi_resolve_modal',
  reject: 'kanshi_reject_modal',
  silence: 'kanshi_silence_modal',
} as const;

/** Inputs inside the modals: block id → action id. */
export const INPUT_IDS = {
  category: { block: 'kanshi_category', action: 'kanshi_category_select' },
  reason: { block: 'kanshi_reason', action: 'kanshi_reason_text' },
  note: { block: 'kanshi_note', action: 'kanshi_note_text' },
  comment: { block: 'kanshi_comment', action: 'kanshi_comment_text' },
  /** Checkboxes: what a silence matches (values `type`, `account`, `resource`). */
  silenceScope: { block: 'kanshi_silence_scope', action: 'kanshi_silence_scope_select' },
  /** Static select of how long a silence lasts (values such as `1d`). The silence modal reuses `reason`. */
  silenceDuration: { block: 'kanshi_silence_duration', action: 'kanshi_silence_duration_select' },
} as const;

export const CARD_BLOCK_IDS = {
  status: 'kanshi_card_status',
  actions: 'kanshi_card_actions',
} as const;

/** Storm digests: buttons carry the digest id (digits) and nothing else. */
export const DIGEST_METADATA_PREFIX = 'digest:';
export const DIGEST_ACTION_IDS = {
  list: 'kanshi_digest_list',
  acknowledgeAll: 'kanshi_digest_ack_all',
  archiveAll: 'kanshi_digest_archive_all',
  /** On the digest's review card in the security channel (security engineers). */
  approveAll: 'kanshi_digest_approve_all',
  rejectAll: 'kanshi_digest_reject_all',
} as const;
export const DIGEST_CALLBACK_IDS = {
  archiveAll: 'kanshi_digest_archive_modal',
  list: 'kanshi_digest_list_modal',
  rejectAll: 'kanshi_digest_reject_modal',
} as const;

/** Account notices in the security channel: the button's value is the account id. */
export const ROUTE_ACTION_IDS = {
  routeAccount: 'kanshi_route_account',
} as const;
export const ROUTE_CALLBACK_IDS = {
  routeAccount: 'kanshi_route_account_modal',
} as const;
export const ROUTE_INPUT_IDS = {
  channel: { block: 'kanshi_route_channel', action: 'kanshi_route_channel_select' },
} as const;

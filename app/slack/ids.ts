/**
 * Every identifier Kanshi puts into Slack and reads back, in one place.
 * Values and metadata carry ids only — never secrets or free text.
 */

/** Message metadata on every card, so a post whose outcome was unknown can be found again. */
export const CARD_METADATA_EVENT_TYPE = 'kanshi_alert';

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

/** Job names and keys, shared by the code that enqueues and the catalog that runs them. */
export const CARD_SYNC_JOB = 'card.sync';
/** One card job per finding (and so per alert): re-arming it can never double-post. */
export const cardJobKey = (findingId: string): string => `card:${findingId}`;

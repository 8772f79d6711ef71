/** Coded errors that cross layers. Branch on the class or `code`, never on the message. */

/** Storage cannot be reached right now (a transient condition: retry later). */
export class StorageUnavailableError extends Error {
  readonly code = 'kanshi_storage_unavailable';
  constructor(override readonly cause: unknown) {
    super('storage unavailable');
    this.name = 'StorageUnavailableError';
  }
}

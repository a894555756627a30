/**
 * The record store could not be reached, or did not answer in time, or is full of running
 * batches: the engine answers `503` with `Retry-After`. A store rejects with it fast (never
 * holds a request while its connection is down); the operation may or may not have been
 * applied when the store timed out after sending it.
 */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
  /** Stable, for checks across copies of the package: `'store_unavailable'`. */
  readonly code = 'store_unavailable';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

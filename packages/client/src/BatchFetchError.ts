/** Why a call made through a batching fetch failed as a whole batch. */
export type BatchFetchErrorReason = 'network' | 'status' | 'unparseable' | 'mismatch';

/**
 * Every call of a batch rejects with this when the batch request itself failed: the
 * network, a non-2xx answer, or an answer that is not a batch of the right size.
 * `cause` holds the underlying error (or the HTTP status and body text).
 */
export class BatchFetchError extends Error {
  override readonly name = 'BatchFetchError';
  readonly reason: BatchFetchErrorReason;
  /** The batch response's status, when there was one. */
  readonly status: number | undefined;

  constructor(
    reason: BatchFetchErrorReason,
    message: string,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.status = options.status;
  }
}

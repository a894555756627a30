/** What went wrong with a batch request as a whole. */
export type BatchErrorCode =
  | 'invalid_batch'
  | 'too_many_requests_in_batch'
  | 'body_too_large'
  | 'item_body_too_large'
  | 'merged_batch_too_large'
  | 'part_headers_too_large'
  | 'unsupported_media_type'
  | 'batch_in_progress'
  | 'idempotency_key_reused'
  | 'record_store_unavailable'
  | 'method_not_allowed'
  | 'batch_not_found';

const STATUS: Record<BatchErrorCode, number> = {
  invalid_batch: 400,
  too_many_requests_in_batch: 400,
  body_too_large: 413,
  item_body_too_large: 413,
  merged_batch_too_large: 413,
  part_headers_too_large: 431,
  unsupported_media_type: 415,
  batch_in_progress: 409,
  idempotency_key_reused: 422,
  record_store_unavailable: 503,
  method_not_allowed: 405,
  batch_not_found: 404,
};

const TITLE: Record<BatchErrorCode, string> = {
  invalid_batch: 'Invalid batch request',
  too_many_requests_in_batch: 'Too many requests in batch',
  body_too_large: 'Batch request body too large',
  item_body_too_large: 'Sub-request body too large',
  merged_batch_too_large: 'Merged batch too large',
  part_headers_too_large: 'Sub-request headers too large',
  unsupported_media_type: 'Unsupported batch media type',
  batch_in_progress: 'Batch still running',
  idempotency_key_reused: 'Idempotency-Key used for another batch',
  record_store_unavailable: 'Batch records unavailable',
  method_not_allowed: 'Method not allowed',
  batch_not_found: 'No such batch',
};

/** Where in the batch a problem is: a JSON pointer (JSON format) or a 1-based part number. */
export type BatchErrorDetail =
  | { pointer: string; detail: string }
  | { part: number; detail: string };

/** RFC 9457 problem details for an error of the batch endpoint. */
export interface BatchProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors: BatchErrorDetail[];
}

/**
 * The one error type of the batch layer. Every rejection of a batch request is a
 * `BatchError`; its `status` comes from its `code`, and `toProblem()` gives the
 * `application/problem+json` body (no stack trace, ever).
 */
export class BatchError extends Error {
  override readonly name = 'BatchError';
  readonly code: BatchErrorCode;
  readonly status: number;
  readonly errors: BatchErrorDetail[];
  /** Seconds the client should wait before trying again (`Retry-After`), when it should. */
  retryAfterSeconds: number | undefined;

  constructor(code: BatchErrorCode, detail: string, errors: BatchErrorDetail[] = []) {
    super(detail);
    this.code = code;
    this.status = STATUS[code];
    this.errors = errors;
    this.retryAfterSeconds = undefined;
  }

  /** This error, answered with `Retry-After: seconds`. */
  retryAfter(seconds: number): this {
    this.retryAfterSeconds = Math.max(1, Math.ceil(seconds));
    return this;
  }

  /** An error about one multipart part (1-based), named in the message and in `errors`. */
  static part(code: BatchErrorCode, part: number, detail: string): BatchError {
    return new BatchError(code, `part ${part}: ${detail}`, [{ part, detail }]);
  }

  /** An error about one JSON member, named by its JSON pointer. */
  static pointer(code: BatchErrorCode, pointer: string, detail: string): BatchError {
    return new BatchError(code, `${pointer}: ${detail}`, [{ pointer, detail }]);
  }

  /** The status code a `BatchErrorCode` answers with. */
  static statusOf(code: BatchErrorCode): number {
    return STATUS[code];
  }

  /** RFC 9457 problem details, ready to serialise as `application/problem+json`. */
  toProblem(): BatchProblem {
    return {
      type: `urn:batch:problem:${this.code.replaceAll('_', '-')}`,
      title: TITLE[this.code],
      status: this.status,
      detail: this.message,
      errors: this.errors.map((error) => ({ ...error })),
    };
  }
}

/** The media type of a `BatchError` body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

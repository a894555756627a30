/** The two wire formats a batch endpoint speaks (SPEC §1). */
export type BatchFormat = 'multipart' | 'json';

/**
 * Header fields in wire order, one `[name, value]` pair per field line. A repeated header
 * (`Set-Cookie`) is several pairs. Names keep the case they were sent with.
 */
export type HeaderList = Array<[name: string, value: string]>;

/** One decoded sub-request of a batch, in plain values. */
export interface SubRequest {
  /** Upper-case HTTP method token. */
  method: string;
  /**
   * The request target as the client sent it: origin form (`/a?b=1`) or relative form
   * (`People?$top=2`). An absolute-form target naming the batch's own host is reduced to
   * its origin form by the decoder. Resolving it against the batch route's base is the
   * engine's job (SPEC §4 "Targets").
   */
  target: string;
  /** The item's own headers, after `defaults.headers` (JSON) were merged in. */
  headers: HeaderList;
  /** Body bytes; empty when the request has no body. */
  body: Uint8Array;
  /** JSON format: the item's `id`, echoed in its response. */
  id?: string;
  /** Multipart format: the part's `Content-ID` exactly as sent (`<item1>`, `item1`, …). */
  contentId?: string;
  /** JSON format: ids of earlier items (or names of earlier atomicity groups) that must finish (successfully) first. */
  dependsOn?: string[];
  /**
   * The atomicity group the item belongs to (SPEC §4 "Atomicity groups"): JSON
   * `atomicityGroup`, or a multipart change set (named by the decoder, e.g. `changeset-1`).
   * The items of one group are adjacent.
   */
  atomicityGroup?: string;
}

/** A decoded batch request. */
export interface DecodedBatch {
  format: BatchFormat;
  items: SubRequest[];
}

/** A sub-response body: bytes, or a stream of byte chunks, or nothing. */
export type SubResponseBody = Uint8Array | AsyncIterable<Uint8Array> | null;

/** One sub-response, in plain values. */
export interface SubResponse {
  status: number;
  /** Reason phrase; the standard one for `status` is used when absent or invalid. */
  statusText?: string;
  headers: HeaderList;
  body: SubResponseBody;
  /** JSON format: echoed `id` of the request. */
  id?: string;
  /** Multipart format: the request's `Content-ID` as sent; the response mirrors its form. */
  contentId?: string;
  /** JSON format: the path the item was dispatched to, without its query string. */
  path?: string;
  /** JSON Lines (answers in completion order): the item's 0-based position in the batch. */
  index?: number;
  /**
   * The method of the request this answers (set by the engine). The JSON format writes no
   * `body` member for a `HEAD` answer, nor for `204` and `304` (SPEC §3).
   */
  requestMethod?: string;
  /**
   * The atomicity group of the request this answers: echoed in JSON answers; in multipart
   * answers, adjacent answers of one group are written as one nested change-set part.
   */
  atomicityGroup?: string;
  /**
   * Multipart change sets: the whole group failed and this is the answer of the request
   * that failed — written alone, as one `application/http` part in place of the change
   * set (SPEC §2). The engine yields no other answer for that group.
   */
  failedGroup?: boolean;
}

/** A decoded sub-response on the client side: the body is always bytes. */
export interface DecodedSubResponse extends SubResponse {
  statusText: string;
  body: Uint8Array;
}

/** Size and count limits enforced while a batch request is read. */
export interface BatchLimits {
  /**
   * Most sub-requests in one batch; one more is a `400`.
   * @default 100
   */
  maxRequests?: number;
  /**
   * Most bytes in the whole batch request body; one more is a `413`.
   * @default 10485760 (10 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Most bytes in one part's head: its part headers plus the inner request line and
   * headers (multipart), or one item's headers (JSON). One more is a `431`.
   * @default 16384 (16 KiB)
   */
  maxPartHeaderBytes?: number;
  /**
   * Most bytes in one sub-request body; one more is a `413`.
   * @default the value of `maxBodyBytes`
   */
  maxItemBodyBytes?: number;
  /**
   * Most bytes all the items of a batch carry in all once `defaults` are merged in: their
   * bodies and headers, a `defaults.body` counted once for every item that takes it (the
   * bytes are shared, but each sub-request hands them to the app). One more is a `413`
   * naming the first item past it.
   * @default twice the value of `maxBodyBytes`
   */
  maxMergedBytes?: number;
  /**
   * JSON format: most levels of nesting of a JSON value inside an item (its `body` above
   * all) or `defaults`; one more is a `400` naming the item. Bounds the stack every step
   * that walks a body (merging, re-encoding) may use.
   * @default 256
   */
  maxJsonDepth?: number;
}

/** Limits with every field resolved. */
export type ResolvedBatchLimits = Required<BatchLimits>;

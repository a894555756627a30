import { BatchError } from '../model/BatchError.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OBJECT = 1;
const ARRAY = 2;
const REQUESTS = [...'requests'].map((char) => char.charCodeAt(0));
const BODY = [...'body'].map((char) => char.charCodeAt(0));
const MAY_BE_REQUESTS = 1;
const MAY_BE_BODY = 2;

/** Limits a JSON batch is watched for while it is read. */
export interface JsonBatchWatcherLimits {
  maxRequests: number;
  maxItemBodyBytes: number;
  /** Most levels of nesting inside an item's body (or any member); one more is a `400`. */
  maxJsonDepth: number;
}

/** Levels above an item's members: the document, `requests`, the item. */
const ENVELOPE_DEPTH = 3;

/**
 * Follows the structure of a JSON batch as its bytes arrive, without parsing values, so
 * that the request-count and item-body limits hold while reading (SPEC §4): it counts the
 * elements of the top-level `requests` array, and for each request's `body` member a
 * lower bound of the bytes that body will have (every escape sequence counted as one
 * byte, white space, numbers and literals as none, and a base64 string as three quarters). It throws the same
 * `BatchError` the full validation would; anything else (syntax errors included) is left
 * to `JSON.parse` and the validator, which see the whole document.
 */
export class JsonBatchWatcher {
  readonly #limits: JsonBatchWatcherLimits;
  readonly #stack: number[] = [];
  #inString = false;
  #escaped = false;
  #expectKey = false;
  /**
   * The key being read, when it is one whose name matters (depth 1 or 3): its length so
   * far (-1 when none is), and which of `requests` (bit 1) and `body` (bit 2) it still
   * may be, matched byte by byte (no string is made).
   */
  #keyLength = -1;
  #keyMatch = 0;
  /** Whether the last complete key at depth 1 was `requests`, and at depth 3 `body`. */
  #topKeyIsRequests = false;
  #requestKeyIsBody = false;
  /** True while the array at depth 2 is the top-level `requests` array. */
  #inRequests = false;
  #requests = 0;
  /** True while inside a request's `body` value. */
  #inBody = false;
  /**
   * Lower bound of the current body's bytes. It may dip below zero in the middle of an
   * escape cut by a chunk boundary (the backslash is counted with the escape's deficit,
   * the escaped character in the next chunk): the total is the same however the bytes
   * are chunked.
   */
  #bodyBytes = 0;
  #pendingValue = false;

  constructor(limits: JsonBatchWatcherLimits) {
    this.#limits = limits;
  }

  push(chunk: Uint8Array): void {
    const stack = this.#stack;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#inString) {
        // String content: the bulk of the bytes, so the loop is kept tight.
        let j = i;
        let escapes = 0;
        let escaped = this.#escaped;
        for (; j < chunk.length; j++) {
          const d = chunk[j]!;
          if (escaped) escaped = false;
          else if (d === BACKSLASH) {
            escaped = true;
            escapes++;
          } else if (d === QUOTE) break;
        }
        this.#escaped = escaped;
        if (this.#keyLength >= 0) this.#matchKey(chunk, i, j);
        // An escape is at least 2 chars for 1 byte; \uXXXX 6 chars for at least 1.
        if (this.#inBody) this.#addBody(j - i - escapes * 5);
        if (j === chunk.length) return;
        i = j;
        this.#inString = false;
        this.#endString();
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (c === QUOTE) {
        this.#startValue();
        if (this.#inBody) this.#addBody(1);
        this.#inString = true;
        const depth = stack.length;
        const named = this.#expectKey && (depth === 1 || depth === 3);
        this.#keyLength = named ? 0 : -1;
        this.#keyMatch = named ? MAY_BE_REQUESTS | MAY_BE_BODY : 0;
      } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        this.#startValue();
        if (this.#inBody) this.#addBody(1);
        stack.push(c === 0x7b ? OBJECT : ARRAY);
        if (stack.length > this.#limits.maxJsonDepth + ENVELOPE_DEPTH) this.#tooDeep();
        this.#expectKey = c === 0x7b;
        this.#pendingValue = c === 0x5b;
        if (stack.length === 2 && c === 0x5b && this.#topKeyIsRequests) this.#inRequests = true;
      } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        if (this.#inBody) this.#addBody(1);
        stack.pop();
        this.#pendingValue = false;
        this.#expectKey = false;
        if (stack.length < 2) this.#inRequests = false;
        if (stack.length === 2) this.#inBody = false; // a request object closed
      } else if (c === 0x2c /* , */) {
        if (this.#inBody) this.#addBody(1);
        const top = stack[stack.length - 1];
        this.#expectKey = top === OBJECT;
        this.#pendingValue = top === ARRAY;
        if (stack.length === 3) this.#inBody = false; // the next member of a request
      } else if (c === 0x3a /* : */) {
        if (this.#inBody) this.#addBody(1);
        this.#expectKey = false;
        this.#pendingValue = true;
      } else {
        // A number or a literal: counted as nothing (`null` is no body; `1.0` may shrink).
        this.#startValue();
      }
    }
  }

  /** A value starts: count it when it is an element of `requests`, open a body's count. */
  #startValue(): void {
    if (!this.#pendingValue) return;
    this.#pendingValue = false;
    const depth = this.#stack.length;
    if (depth === 2 && this.#inRequests && ++this.#requests > this.#limits.maxRequests) {
      throw new BatchError(
        'too_many_requests_in_batch',
        `/requests: batch holds more than ${this.#limits.maxRequests} requests`,
        [
          {
            pointer: '/requests',
            detail: `at most ${this.#limits.maxRequests} requests are allowed`,
          },
        ],
      );
    }
    if (depth === 3 && this.#inRequests && this.#requestKeyIsBody) {
      this.#inBody = true;
      this.#bodyBytes = 0;
    }
  }

  /** Matches the key bytes `chunk[from..to)` against `requests` and `body`. */
  #matchKey(chunk: Uint8Array, from: number, to: number): void {
    let match = this.#keyMatch;
    let at = this.#keyLength;
    for (let k = from; k < to && match !== 0; k++, at++) {
      const byte = chunk[k];
      if (at >= REQUESTS.length || REQUESTS[at] !== byte) match &= ~MAY_BE_REQUESTS;
      if (at >= BODY.length || BODY[at] !== byte) match &= ~MAY_BE_BODY;
    }
    this.#keyMatch = match;
    this.#keyLength += to - from;
  }

  #endString(): void {
    const length = this.#keyLength;
    if (length < 0) return;
    this.#keyLength = -1;
    const match = this.#keyMatch;
    if (this.#stack.length === 1)
      this.#topKeyIsRequests = (match & MAY_BE_REQUESTS) !== 0 && length === REQUESTS.length;
    else this.#requestKeyIsBody = (match & MAY_BE_BODY) !== 0 && length === BODY.length;
  }

  /**
   * SPEC §4 "Limits": nothing recurses on a depth the client chooses, so a value nested
   * deeper than the bound is refused here, before `JSON.parse`, merging or re-encoding.
   */
  #tooDeep(): never {
    const limit = this.#limits.maxJsonDepth;
    const pointer =
      this.#inRequests && this.#stack.length > 2
        ? `/requests/${this.#requests - 1}${this.#inBody ? '/body' : ''}`
        : '';
    const detail = `is nested more than ${limit} levels deep`;
    throw new BatchError('invalid_batch', `${pointer || 'the batch'}: ${detail}`, [
      { pointer, detail },
    ]);
  }

  #addBody(bytes: number): void {
    this.#bodyBytes += bytes;
    if (bytes <= 0) return;
    // A base64 string decodes to three quarters of its length.
    if (Math.floor(((this.#bodyBytes - 2) * 3) / 4) > this.#limits.maxItemBodyBytes) {
      const pointer = `/requests/${this.#requests - 1}/body`;
      throw new BatchError(
        'item_body_too_large',
        `${pointer}: body is larger than ${this.#limits.maxItemBodyBytes} bytes`,
        [{ pointer, detail: `body is larger than ${this.#limits.maxItemBodyBytes} bytes` }],
      );
    }
  }
}

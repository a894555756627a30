import { EMPTY_BYTES, fromLatin1 } from '../http/bytes.js';
import { parseMediaType } from '../http/contentType.js';
import { equalsLower, isToken, upperAscii } from '../http/headerNames.js';
import { resolveAbsoluteTarget, validateTarget } from '../http/target.js';
import type { DecodedSubResponse, HeaderList, SubRequest } from '../model/types.js';
import {
  checkBodySize,
  headTooLarge,
  type MultipartPart,
  type MultipartScannerOptions,
} from './MultipartScanner.js';
import { type PartLocation, partError } from './partError.js';
import { checkTransferEncoding, parseHeaderLine, printable } from './partHeaders.js';

const LF = 0x0a;
const CR = 0x0d;

/** The pieces of an `application/http` body part. */
interface HttpPart {
  partHeaders: HeaderList;
  startLine: string;
  headers: HeaderList;
  /**
   * Offset just past the blank line that ends the head; the part's length when the head
   * runs to its end (then no bytes follow it).
   */
  headEnd: number;
}

/**
 * Parses the head of a part from `text`, the part's first bytes as Latin-1: part headers,
 * a blank line, any further blank lines (ignored, RFC 9112 §2.2), the start line, headers
 * and the blank line that ends the head. `complete` says `text` is the whole part; when
 * it is not and the head has not ended within it, returns `undefined` (more is needed).
 */
function parseHead(
  text: string,
  bytes: Uint8Array,
  part: PartLocation,
  what: 'request' | 'response',
): HttpPart | undefined {
  const complete = text.length === bytes.length;
  const partHeaders: HeaderList = [];
  const headers: HeaderList = [];
  let startLine: string | undefined;
  let phase = 0; // 0 part headers, 1 blank lines before the start line, 2 headers
  let at = 0;
  while (at < text.length) {
    let lf = text.indexOf('\n', at);
    if (lf === -1) {
      if (!complete) return undefined;
      lf = text.length;
    }
    const end = lf > at && text.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
    if (end === at) {
      if (phase === 2) {
        return { partHeaders, startLine: startLine!, headers, headEnd: lf + 1 };
      }
      phase = 1;
    } else if (phase === 0) {
      partHeaders.push(parseHeaderLine(text, at, end, part));
    } else if (phase === 1) {
      startLine = text.slice(at, end);
      phase = 2;
    } else {
      headers.push(parseHeaderLine(text, at, end, part));
    }
    at = lf + 1;
  }
  if (!complete) return undefined;
  if (startLine === undefined) {
    throw partError('invalid_batch', part, `part has no ${what} line`);
  }
  return { partHeaders, startLine, headers, headEnd: bytes.length };
}

/** Bytes of a part decoded first to read its head. */
const FIRST_HEAD_WINDOW = 512;

/** Splits a part into part headers, start line, message headers and the rest. */
function splitHttpPart(
  part: MultipartPart,
  what: 'request' | 'response',
  limits: PartLimits,
): HttpPart {
  const { bytes } = part;
  const most = Math.min(bytes.length, limits.maxHeadBytes);
  // Decode a little first (most heads are a few hundred bytes), more only while the head
  // has not ended.
  let window = Math.min(most, FIRST_HEAD_WINDOW);
  for (;;) {
    const head = parseHead(fromLatin1(bytes, 0, window), bytes, part, what);
    if (head !== undefined) {
      if (head.headEnd !== bytes.length) checkBodySize(part, bytes.length - head.headEnd, limits);
      return head;
    }
    if (window === most) throw headTooLarge(part, limits.maxHeadBytes);
    window = Math.min(most, window * 4);
  }
}

/** The first value of a header among `headers` (`name` lower case). */
function findHeader(headers: HeaderList, name: string): string | undefined {
  for (const [key, value] of headers) if (equalsLower(key, name)) return value;
  return undefined;
}

/**
 * `text` equals `lower` ignoring ASCII case; `usual` (the same word as it is most often
 * written) is tried first, as one native comparison.
 */
function sameWord(text: string, usual: string, lower: string): boolean {
  return text === usual || equalsLower(text, lower);
}

function checkPartHeaders(partHeaders: HeaderList, part: PartLocation): string | undefined {
  let contentId: string | undefined;
  for (const [name, value] of partHeaders) {
    if (sameWord(name, 'Content-Type', 'content-type')) {
      if (sameWord(value, 'application/http', 'application/http')) continue;
      const media = parseMediaType(value);
      if (media?.type !== 'application/http' && media?.type !== 'message/http') {
        throw partError(
          'invalid_batch',
          part,
          `Content-Type must be application/http, got "${printable(value)}"`,
        );
      }
    } else if (equalsLower(name, 'content-transfer-encoding')) {
      checkTransferEncoding(value, part);
    } else if (contentId === undefined && sameWord(name, 'Content-ID', 'content-id')) {
      contentId = value;
    }
  }
  return contentId;
}

/**
 * The body of an inner message: `Content-Length` bytes, or the rest of the part; a view of
 * `bytes` (the part) from `headEnd`.
 */
function messageBody(
  headers: HeaderList,
  bytes: Uint8Array,
  headEnd: number,
  part: PartLocation,
  strict: boolean,
): Uint8Array {
  const restLength = bytes.length - headEnd;
  let contentLength: number | undefined;
  for (const [name, value] of headers) {
    if (strict && equalsLower(name, 'transfer-encoding')) {
      throw partError('invalid_batch', part, 'Transfer-Encoding is not allowed in a part');
    }
    if (sameWord(name, 'Content-Length', 'content-length')) {
      const length = parseDecimal(value);
      if (length === -1 || (contentLength !== undefined && contentLength !== length)) {
        throw partError('invalid_batch', part, `invalid Content-Length "${printable(value)}"`);
      }
      contentLength = length;
    }
  }
  // A request part whose rest is only line breaks has no body (clients add blank lines).
  if (contentLength === undefined)
    return strict && onlyLineBreaks(bytes, headEnd) ? EMPTY_BYTES : restOf(bytes, headEnd);
  if (contentLength > restLength) {
    // Lenient: a Content-Length that also counted the line break before the next
    // delimiter (which belongs to the delimiter, RFC 2046) is corrected to the bytes held.
    if (!strict || contentLength - restLength <= 2) {
      if (strict) setContentLength(headers, restLength);
      return restOf(bytes, headEnd);
    }
    throw partError(
      'invalid_batch',
      part,
      `Content-Length ${contentLength} is larger than the ${restLength} bytes the part holds`,
    );
  }
  if (strict && !onlyLineBreaks(bytes, headEnd + contentLength)) {
    throw partError('invalid_batch', part, 'bytes follow the body past its Content-Length');
  }
  return contentLength === restLength
    ? restOf(bytes, headEnd)
    : bytes.subarray(headEnd, headEnd + contentLength);
}

/** The bytes of a part after its head. */
function restOf(bytes: Uint8Array, headEnd: number): Uint8Array {
  return headEnd === bytes.length ? EMPTY_BYTES : bytes.subarray(headEnd);
}

/** A decimal of 1 to 15 digits, or -1. */
function parseDecimal(text: string): number {
  if (text.length === 0 || text.length > 15) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function setContentLength(headers: HeaderList, length: number): void {
  for (const header of headers)
    if (equalsLower(header[0], 'content-length')) header[1] = String(length);
}

function onlyLineBreaks(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== LF && bytes[i] !== CR) return false;
  return true;
}

/** True when `text` from `at` to its end is `HTTP/d.d` (d a decimal digit). */
function isHttpVersionAt(text: string, at: number): boolean {
  return (
    text.length - at === 8 &&
    text.startsWith('HTTP/', at) &&
    isDigit(text.charCodeAt(at + 5)) &&
    text.charCodeAt(at + 6) === 0x2e &&
    isDigit(text.charCodeAt(at + 7))
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Size limits of one part; the same numbers the `MultipartScanner` enforces while reading. */
export type PartLimits = Pick<MultipartScannerOptions, 'maxHeadBytes' | 'maxBodyBytes'>;

/** Options for reading request parts. */
export interface RequestPartContext extends PartLimits {
  /** The batch request's `Host`, for absolute-form targets. */
  host: string | undefined;
}

/**
 * The `atomicityGroup` of the requests (or answers) of a multipart change set: `changeset-1`
 * for the body's first change set, `changeset-2` for the second, in order of appearance.
 */
export function changeSetGroup(ordinal: number): string {
  return `changeset-${ordinal}`;
}

/** Reads one `application/http` request part (SPEC §2 request). */
export function parseRequestPart(part: MultipartPart, context: RequestPartContext): SubRequest {
  const { partHeaders, startLine, headers, headEnd } = splitHttpPart(part, 'request', context);
  const contentId = checkPartHeaders(partHeaders, part);

  // METHOD SP target [SP HTTP-version]: split by hand (String#split is slow on slices).
  const space = startLine.indexOf(' ');
  const space2 = space === -1 ? -1 : startLine.indexOf(' ', space + 1);
  const rawMethod = space === -1 ? startLine : startLine.slice(0, space);
  let target =
    space === -1 ? '' : startLine.slice(space + 1, space2 === -1 ? startLine.length : space2);
  if (space === -1 || (space2 !== -1 && !isHttpVersionAt(startLine, space2 + 1))) {
    throw partError('invalid_batch', part, `malformed request line "${printable(startLine)}"`);
  }
  const method = upperAscii(rawMethod);
  if (!isToken(method)) {
    throw partError('invalid_batch', part, `method "${printable(rawMethod)}" is not an HTTP token`);
  }
  if (method === 'CONNECT') {
    throw partError('invalid_batch', part, 'CONNECT cannot be batched');
  }
  const targetProblem = validateTarget(target);
  if (targetProblem !== undefined) throw partError('invalid_batch', part, targetProblem);
  if (target.charCodeAt(0) !== 0x2f && ABSOLUTE_URL.test(target)) {
    const resolved = resolveAbsoluteTarget(target, context.host);
    if (typeof resolved !== 'string') throw partError('invalid_batch', part, resolved.problem);
    target = resolved;
  }

  const body = messageBody(headers, part.bytes, headEnd, part, true);
  if (body.length > context.maxBodyBytes) {
    throw partError(
      'item_body_too_large',
      part,
      `body is larger than ${context.maxBodyBytes} bytes`,
    );
  }
  const request: SubRequest = { method, target, headers, body };
  if (contentId !== undefined) request.contentId = contentId;
  if (part.changeSet !== undefined) request.atomicityGroup = changeSetGroup(part.changeSet.ordinal);
  return request;
}

/** Reads one `application/http` response part (client side; lenient about lengths). */
export function parseResponsePart(part: MultipartPart, limits: PartLimits): DecodedSubResponse {
  const { partHeaders, startLine, headers, headEnd } = splitHttpPart(part, 'response', limits);
  const contentId = findHeader(partHeaders, 'content-id');
  const match = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(startLine);
  if (match === null) {
    throw partError('invalid_batch', part, `malformed status line "${printable(startLine)}"`);
  }
  const response: DecodedSubResponse = {
    status: Number(match[1]),
    statusText: match[2] ?? '',
    headers,
    body: messageBody(headers, part.bytes, headEnd, part, false),
  };
  if (contentId !== undefined) response.contentId = contentId;
  if (part.changeSet !== undefined)
    response.atomicityGroup = changeSetGroup(part.changeSet.ordinal);
  return response;
}

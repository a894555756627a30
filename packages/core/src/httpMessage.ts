import { BatchError } from './BatchError.js';
import { EMPTY_BYTES, fromLatin1 } from './bytes.js';
import { parseMediaType } from './contentType.js';
import { equalsLower, isToken, isTokenChar, upperAscii } from './headerNames.js';
import {
  checkBodySize,
  headTooLarge,
  type MultipartPart,
  type MultipartScannerOptions,
} from './MultipartScanner.js';
import { resolveAbsoluteTarget, validateTarget } from './target.js';
import type { DecodedSubResponse, HeaderList, SubRequest } from './types.js';

const LF = 0x0a;
const CR = 0x0d;

/** The pieces of an `application/http` body part. */
interface HttpPart {
  partHeaders: HeaderList;
  startLine: string;
  headers: HeaderList;
  /** Bytes after the inner head; empty when the head ran to the end of the part. */
  rest: Uint8Array;
}

/** Index just past the line that starts at `start` in `text`, and that line's end (before CR LF / LF). */
function lineEnd(text: string, start: number, limit: number): number {
  const lf = text.indexOf('\n', start);
  return lf === -1 || lf > limit ? limit : lf;
}

function contentEnd(text: string, start: number, lf: number): number {
  return lf > start && text.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
}

/**
 * Parses the header line `text[start, end)` as `name: value` in one pass; throws on a
 * malformed line, obs-fold, or a value holding NUL or a bare CR.
 */
function parseHeaderLine(text: string, start: number, end: number, part: number): [string, string] {
  const first = text.charCodeAt(start);
  if (first === 0x20 || first === 0x09) {
    throw BatchError.part('invalid_batch', part, 'obsolete line folding in headers is not allowed');
  }
  let colon = start;
  while (colon < end && isTokenChar(text.charCodeAt(colon))) colon++;
  if (colon === start || colon === end || text.charCodeAt(colon) !== 0x3a) {
    throw BatchError.part(
      'invalid_batch',
      part,
      `malformed header line "${printable(text.slice(start, end))}"`,
    );
  }
  let valueStart = colon + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && isOws(text.charCodeAt(valueStart))) valueStart++;
  while (valueEnd > valueStart && isOws(text.charCodeAt(valueEnd - 1))) valueEnd--;
  for (let i = valueStart; i < valueEnd; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || c === 0x0d) {
      throw BatchError.part(
        'invalid_batch',
        part,
        `header ${text.slice(start, colon)} has a forbidden character`,
      );
    }
  }
  return [text.slice(start, colon), text.slice(valueStart, valueEnd)];
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function printable(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return shown.replace(/[^\x20-\x7e]/g, '?');
}

/** Reads header lines from `start` until a blank line or the end; returns where it stopped. */
function readHeaderLines(
  text: string,
  start: number,
  limit: number,
  into: HeaderList,
  part: number,
): number {
  let at = start;
  while (at < limit) {
    const lf = lineEnd(text, at, limit);
    const end = contentEnd(text, at, lf);
    if (end === at) return lf + 1; // the blank line
    into.push(parseHeaderLine(text, at, end, part));
    at = lf + 1;
  }
  return at;
}

/** Offset just past the second blank line (empty, or a lone CR) in `text`, or -1. */
function headEndOf(text: string): number {
  let blankLines = 0;
  let at = 0;
  for (;;) {
    const lf = text.indexOf('\n', at);
    if (lf === -1) return -1;
    if ((lf === at || (lf === at + 1 && text.charCodeAt(at) === 0x0d)) && ++blankLines === 2) {
      return lf + 1;
    }
    at = lf + 1;
  }
}

/**
 * The head of a part as text (perhaps with some body bytes after it: the text is not
 * sliced, as reading a flat string is faster), and where the head ends (-1: at the part's end).
 */
function readHead(part: MultipartPart, limits: PartLimits): { text: string; headEnd: number } {
  const { bytes, number } = part;
  const most = Math.min(bytes.length, limits.maxHeadBytes);
  // Decode a few KiB first, more only while the head has not ended.
  let window = Math.min(most, 4096);
  let text = fromLatin1(bytes, 0, window);
  let headEnd = headEndOf(text);
  while (headEnd === -1 && window < most) {
    window = Math.min(most, window * 4);
    text = fromLatin1(bytes, 0, window);
    headEnd = headEndOf(text);
  }
  if (headEnd === -1) {
    if (bytes.length > limits.maxHeadBytes) throw headTooLarge(number, limits.maxHeadBytes);
    return { text, headEnd };
  }
  checkBodySize(number, bytes.length - headEnd, limits);
  return { text, headEnd };
}

/** Splits a part into part headers, start line, message headers and the rest. */
function splitHttpPart(
  part: MultipartPart,
  what: 'request' | 'response',
  limits: PartLimits,
): HttpPart {
  const { bytes, number } = part;
  const { text, headEnd } = readHead(part, limits);
  const partHeaders: HeaderList = [];
  const limit = headEnd === -1 ? text.length : headEnd;
  let at = readHeaderLines(text, 0, limit, partHeaders, number);
  // Tolerate extra blank lines before the start line (RFC 9112 §2.2).
  let lf = lineEnd(text, at, limit);
  let end = contentEnd(text, at, lf);
  while (end === at && at < limit) {
    at = lf + 1;
    lf = lineEnd(text, at, limit);
    end = contentEnd(text, at, lf);
  }
  if (at >= limit) {
    throw BatchError.part('invalid_batch', number, `part has no ${what} line`);
  }
  const startLine = text.slice(at, end);
  const headers: HeaderList = [];
  readHeaderLines(text, lf + 1, limit, headers, number);
  const rest = headEnd === -1 ? EMPTY_BYTES : bytes.subarray(headEnd);
  return { partHeaders, startLine, headers, rest };
}

/** The first value of a header among `headers` (`name` lower case). */
function findHeader(headers: HeaderList, name: string): string | undefined {
  for (const [key, value] of headers) if (equalsLower(key, name)) return value;
  return undefined;
}

function checkPartHeaders(partHeaders: HeaderList, number: number): string | undefined {
  let contentId: string | undefined;
  for (const [name, value] of partHeaders) {
    if (equalsLower(name, 'content-type')) {
      if (equalsLower(value, 'application/http')) continue;
      const media = parseMediaType(value);
      if (media?.type !== 'application/http' && media?.type !== 'message/http') {
        throw BatchError.part(
          'invalid_batch',
          number,
          `Content-Type must be application/http, got "${printable(value)}"`,
        );
      }
    } else if (equalsLower(name, 'content-transfer-encoding')) {
      if (
        !equalsLower(value, 'binary') &&
        !equalsLower(value, '8bit') &&
        !equalsLower(value, '7bit')
      ) {
        throw BatchError.part(
          'invalid_batch',
          number,
          `Content-Transfer-Encoding "${printable(value)}" is not supported (use binary)`,
        );
      }
    } else if (contentId === undefined && equalsLower(name, 'content-id')) {
      contentId = value;
    }
  }
  return contentId;
}

/** The body of an inner message: `Content-Length` bytes, or the rest of the part. */
function messageBody(
  headers: HeaderList,
  rest: Uint8Array,
  number: number,
  strict: boolean,
): Uint8Array {
  let contentLength: number | undefined;
  for (const [name, value] of headers) {
    if (strict && equalsLower(name, 'transfer-encoding')) {
      throw BatchError.part('invalid_batch', number, 'Transfer-Encoding is not allowed in a part');
    }
    if (equalsLower(name, 'content-length')) {
      const length = parseDecimal(value);
      if (length === -1 || (contentLength !== undefined && contentLength !== length)) {
        throw BatchError.part(
          'invalid_batch',
          number,
          `invalid Content-Length "${printable(value)}"`,
        );
      }
      contentLength = length;
    }
  }
  if (contentLength === undefined) return onlyLineBreaks(rest, 0) ? EMPTY_BYTES : rest;
  if (contentLength > rest.length) {
    // Lenient: a Content-Length that also counted the line break before the next
    // delimiter (which belongs to the delimiter, RFC 2046) is corrected to the bytes held.
    if (!strict || contentLength - rest.length <= 2) {
      if (strict) setContentLength(headers, rest.length);
      return rest;
    }
    throw BatchError.part(
      'invalid_batch',
      number,
      `Content-Length ${contentLength} is larger than the ${rest.length} bytes the part holds`,
    );
  }
  if (strict && !onlyLineBreaks(rest, contentLength)) {
    throw BatchError.part('invalid_batch', number, 'bytes follow the body past its Content-Length');
  }
  return rest.subarray(0, contentLength);
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

const HTTP_VERSION = /^HTTP\/\d\.\d$/;
const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Size limits of one part; the same numbers the `MultipartScanner` enforces while reading. */
export type PartLimits = Pick<MultipartScannerOptions, 'maxHeadBytes' | 'maxBodyBytes'>;

/** Options for reading request parts. */
export interface RequestPartContext extends PartLimits {
  /** The batch request's `Host`, for absolute-form targets. */
  host: string | undefined;
}

/** Reads one `application/http` request part (SPEC §2 request). */
export function parseRequestPart(part: MultipartPart, context: RequestPartContext): SubRequest {
  const { number } = part;
  const { partHeaders, startLine, headers, rest } = splitHttpPart(part, 'request', context);
  const contentId = checkPartHeaders(partHeaders, number);

  // METHOD SP target [SP HTTP-version]: split by hand (String#split is slow on slices).
  const space = startLine.indexOf(' ');
  const space2 = space === -1 ? -1 : startLine.indexOf(' ', space + 1);
  const rawMethod = space === -1 ? startLine : startLine.slice(0, space);
  let target =
    space === -1 ? '' : startLine.slice(space + 1, space2 === -1 ? startLine.length : space2);
  if (space === -1 || (space2 !== -1 && !HTTP_VERSION.test(startLine.slice(space2 + 1)))) {
    throw BatchError.part(
      'invalid_batch',
      number,
      `malformed request line "${printable(startLine)}"`,
    );
  }
  const method = upperAscii(rawMethod);
  if (!isToken(method)) {
    throw BatchError.part(
      'invalid_batch',
      number,
      `method "${printable(rawMethod)}" is not an HTTP token`,
    );
  }
  if (method === 'CONNECT') {
    throw BatchError.part('invalid_batch', number, 'CONNECT cannot be batched');
  }
  const targetProblem = validateTarget(target);
  if (targetProblem !== undefined) throw BatchError.part('invalid_batch', number, targetProblem);
  if (target.charCodeAt(0) !== 0x2f && ABSOLUTE_URL.test(target)) {
    const resolved = resolveAbsoluteTarget(target, context.host);
    if (typeof resolved !== 'string')
      throw BatchError.part('invalid_batch', number, resolved.problem);
    target = resolved;
  }

  const body = messageBody(headers, rest, number, true);
  if (body.length > context.maxBodyBytes) {
    throw BatchError.part(
      'item_body_too_large',
      number,
      `body is larger than ${context.maxBodyBytes} bytes`,
    );
  }
  const request: SubRequest = { method, target, headers, body };
  if (contentId !== undefined) request.contentId = contentId;
  return request;
}

/** Reads one `application/http` response part (client side; lenient about lengths). */
export function parseResponsePart(part: MultipartPart, limits: PartLimits): DecodedSubResponse {
  const { number } = part;
  const { partHeaders, startLine, headers, rest } = splitHttpPart(part, 'response', limits);
  const contentId = findHeader(partHeaders, 'content-id');
  const match = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(startLine);
  if (match === null) {
    throw BatchError.part(
      'invalid_batch',
      number,
      `malformed status line "${printable(startLine)}"`,
    );
  }
  const response: DecodedSubResponse = {
    status: Number(match[1]),
    statusText: match[2] ?? '',
    headers,
    body: messageBody(headers, rest, number, false),
  };
  if (contentId !== undefined) response.contentId = contentId;
  return response;
}

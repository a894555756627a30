import { BatchError } from './BatchError.js';
import { EMPTY_BYTES, fromLatin1, trimOws } from './bytes.js';
import { parseMediaType } from './contentType.js';
import { isToken } from './headerNames.js';
import type { MultipartPart } from './MultipartScanner.js';
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

/** Splits `bytes[start, end)` into lines on LF, dropping a CR before each LF. */
function splitLines(bytes: Uint8Array, start: number, end: number): string[] {
  const lines: string[] = [];
  let lineStart = start;
  while (lineStart < end) {
    let lf = bytes.indexOf(LF, lineStart);
    if (lf === -1 || lf >= end) lf = end;
    const lineEnd = lf > lineStart && bytes[lf - 1] === CR ? lf - 1 : lf;
    lines.push(fromLatin1(bytes, lineStart, lineEnd));
    lineStart = lf + 1;
  }
  return lines;
}

/** Parses `name: value`; throws on a malformed line or obs-fold. */
function parseHeaderLine(line: string, part: number): [string, string] {
  const first = line.charCodeAt(0);
  if (first === 0x20 || first === 0x09) {
    throw BatchError.part('invalid_batch', part, 'obsolete line folding in headers is not allowed');
  }
  const colon = line.indexOf(':');
  const name = colon === -1 ? '' : line.slice(0, colon);
  if (!isToken(name)) {
    throw BatchError.part('invalid_batch', part, `malformed header line "${printable(line)}"`);
  }
  const value = trimOws(line.slice(colon + 1));
  if (value.includes('\0') || value.includes('\r')) {
    throw BatchError.part('invalid_batch', part, `header ${name} has a forbidden character`);
  }
  return [name, value];
}

function printable(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return shown.replace(/[^\x20-\x7e]/g, '?');
}

/** Splits a part into part headers, start line, message headers and the rest. */
function splitHttpPart(part: MultipartPart, what: 'request' | 'response'): HttpPart {
  const { bytes, headEnd, number } = part;
  const lines = splitLines(bytes, 0, headEnd === -1 ? bytes.length : headEnd);
  const partHeaders: HeaderList = [];
  let i = 0;
  for (; i < lines.length && lines[i] !== ''; i++)
    partHeaders.push(parseHeaderLine(lines[i]!, number));
  i++; // the blank line after the part headers
  // Tolerate extra blank lines before the start line (RFC 9112 §2.2).
  while (i < lines.length && lines[i] === '') i++;
  const startLine = lines[i];
  if (startLine === undefined) {
    throw BatchError.part('invalid_batch', number, `part has no ${what} line`);
  }
  const headers: HeaderList = [];
  for (i++; i < lines.length && lines[i] !== ''; i++)
    headers.push(parseHeaderLine(lines[i]!, number));
  const rest = headEnd === -1 ? EMPTY_BYTES : bytes.subarray(headEnd);
  return { partHeaders, startLine, headers, rest };
}

/** The first value of a header among `headers` (`name` lower case). */
function findHeader(headers: HeaderList, name: string): string | undefined {
  for (const [key, value] of headers) if (key.toLowerCase() === name) return value;
  return undefined;
}

function checkPartHeaders(partHeaders: HeaderList, number: number): string | undefined {
  let contentId: string | undefined;
  for (const [name, value] of partHeaders) {
    const lower = name.toLowerCase();
    if (lower === 'content-type') {
      const media = parseMediaType(value);
      if (media?.type !== 'application/http' && media?.type !== 'message/http') {
        throw BatchError.part(
          'invalid_batch',
          number,
          `Content-Type must be application/http, got "${printable(value)}"`,
        );
      }
    } else if (lower === 'content-transfer-encoding') {
      const encoding = value.toLowerCase();
      if (encoding !== 'binary' && encoding !== '8bit' && encoding !== '7bit') {
        throw BatchError.part(
          'invalid_batch',
          number,
          `Content-Transfer-Encoding "${printable(value)}" is not supported (use binary)`,
        );
      }
    } else if (lower === 'content-id' && contentId === undefined) {
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
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding' && strict) {
      throw BatchError.part('invalid_batch', number, 'Transfer-Encoding is not allowed in a part');
    }
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== +value)) {
        throw BatchError.part(
          'invalid_batch',
          number,
          `invalid Content-Length "${printable(value)}"`,
        );
      }
      contentLength = +value;
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

function setContentLength(headers: HeaderList, length: number): void {
  for (const header of headers)
    if (header[0].toLowerCase() === 'content-length') header[1] = String(length);
}

function onlyLineBreaks(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== LF && bytes[i] !== CR) return false;
  return true;
}

const HTTP_VERSION = /^HTTP\/\d\.\d$/;

/** Options for reading request parts. */
export interface RequestPartContext {
  /** The batch request's `Host`, for absolute-form targets. */
  host: string | undefined;
  /** Most bytes in the sub-request body. */
  maxItemBodyBytes: number;
}

/** Reads one `application/http` request part (SPEC §2 request). */
export function parseRequestPart(part: MultipartPart, context: RequestPartContext): SubRequest {
  const { number } = part;
  const { partHeaders, startLine, headers, rest } = splitHttpPart(part, 'request');
  const contentId = checkPartHeaders(partHeaders, number);

  const fields = startLine.split(' ');
  if (
    fields.length > 3 ||
    fields.length < 2 ||
    (fields.length === 3 && !HTTP_VERSION.test(fields[2]!))
  ) {
    throw BatchError.part(
      'invalid_batch',
      number,
      `malformed request line "${printable(startLine)}"`,
    );
  }
  const method = fields[0]!.toUpperCase();
  if (!isToken(method)) {
    throw BatchError.part(
      'invalid_batch',
      number,
      `method "${printable(fields[0]!)}" is not an HTTP token`,
    );
  }
  if (method === 'CONNECT') {
    throw BatchError.part('invalid_batch', number, 'CONNECT cannot be batched');
  }
  let target = fields[1]!;
  const targetProblem = validateTarget(target);
  if (targetProblem !== undefined) throw BatchError.part('invalid_batch', number, targetProblem);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    const resolved = resolveAbsoluteTarget(target, context.host);
    if (typeof resolved !== 'string')
      throw BatchError.part('invalid_batch', number, resolved.problem);
    target = resolved;
  }

  const body = messageBody(headers, rest, number, true);
  if (body.length > context.maxItemBodyBytes) {
    throw BatchError.part(
      'item_body_too_large',
      number,
      `body is larger than ${context.maxItemBodyBytes} bytes`,
    );
  }
  const request: SubRequest = { method, target, headers, body };
  if (contentId !== undefined) request.contentId = contentId;
  return request;
}

/** Reads one `application/http` response part (client side; lenient about lengths). */
export function parseResponsePart(part: MultipartPart): DecodedSubResponse {
  const { number } = part;
  const { partHeaders, startLine, headers, rest } = splitHttpPart(part, 'response');
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

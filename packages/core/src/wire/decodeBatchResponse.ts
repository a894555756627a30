import { concatBytes, EMPTY_BYTES, fromBase64, fromUtf8Strict, utf8 } from '../http/bytes.js';
import { formatOfContentType, isJsonLinesMediaType, isJsonMediaType } from '../http/contentType.js';
import { getHeader } from '../http/headerNames.js';
import { type BodyInput, readAll } from '../http/readBody.js';
import { reasonPhrase } from '../http/reasonPhrases.js';
import { isPlainObject } from '../json/mergeDefaults.js';
import { BatchError } from '../model/BatchError.js';
import type { DecodedSubResponse, HeaderList } from '../model/types.js';
import { parseResponsePart } from '../multipart/httpMessage.js';
import { MultipartScanner } from '../multipart/MultipartScanner.js';
import { multipartBoundary } from '../multipart/multipartBoundary.js';

/** A batch response as received by a client. */
export interface BatchResponseInput {
  contentType: string | null | undefined;
  body: BodyInput;
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * Decodes a batch response (client side) into its sub-responses, in request order: a
 * multipart, JSON or JSON Lines (`application/jsonl`) body. Throws a `BatchError` when the
 * body is not a batch response.
 *
 * A multipart change-set part (SPEC §2) gives its answers in place, one per inner part, each
 * with `atomicityGroup` `changeset-N` (the N-th change set of the body); a change set that
 * failed is answered by one plain part, which has none. JSON answers carry the
 * `atomicityGroup` member the server echoed.
 */
export async function decodeBatchResponse(
  input: BatchResponseInput,
): Promise<DecodedSubResponse[]> {
  const format = formatOfContentType(input.contentType);
  if (format === 'multipart') return decodeMultipartResponse(input);
  if (isJsonLinesMediaType(input.contentType)) {
    const responses: DecodedSubResponse[] = [];
    for await (const response of decodeJsonLines(input.body)) responses.push(response);
    // The lines come in completion order; the array is in request order.
    return responses.sort((a, b) => a.index! - b.index!);
  }
  if (format === 'json') return decodeJsonResponse(await readAll(input.body, UNLIMITED));
  throw new BatchError(
    'unsupported_media_type',
    `Content-Type "${input.contentType ?? ''}" is not a batch response`,
  );
}

async function decodeMultipartResponse(input: BatchResponseInput): Promise<DecodedSubResponse[]> {
  const limits = { maxHeadBytes: UNLIMITED, maxBodyBytes: UNLIMITED };
  const boundary = multipartBoundary(input.contentType ?? '');
  const scanner = new MultipartScanner({
    boundary,
    maxParts: UNLIMITED,
    ...limits,
    changeSets: true,
  });
  const out: DecodedSubResponse[] = [];
  const body = input.body instanceof Uint8Array ? [input.body] : input.body;
  for await (const chunk of body) {
    // A change set's answers come one by one, each with its `atomicityGroup`.
    for (const part of scanner.push(chunk)) out.push(parseResponsePart(part, limits));
    scanner.throwIfFailed();
  }
  scanner.end();
  return out;
}

function fail(pointer: string, detail: string): never {
  throw BatchError.pointer('invalid_batch', pointer, detail);
}

function readHeaders(value: unknown, at: string): HeaderList {
  if (value === undefined) return [];
  if (!isPlainObject(value)) fail(at, 'must be an object');
  const headers: HeaderList = [];
  for (const [name, raw] of Object.entries(value)) {
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      if (typeof item !== 'string')
        fail(`${at}/${name}`, 'must be a string or an array of strings');
      headers.push([name, item]);
    }
  }
  return headers;
}

function readBody(item: Record<string, unknown>, headers: HeaderList, at: string): Uint8Array {
  const { body, bodyEncoding } = item;
  if (bodyEncoding === 'base64') {
    const bytes = typeof body === 'string' ? fromBase64(body) : undefined;
    return bytes ?? fail(`${at}/body`, 'must be a base64 string');
  }
  if (body === undefined || body === '') return EMPTY_BYTES;
  if (isJsonMediaType(getHeader(headers, 'content-type'))) return utf8(JSON.stringify(body));
  if (typeof body === 'string') return utf8(body);
  return body === null ? EMPTY_BYTES : utf8(JSON.stringify(body));
}

function decodeJsonResponse(bytes: Uint8Array): DecodedSubResponse[] {
  const document = parseJson(bytes);
  if (!isPlainObject(document) || !Array.isArray(document.responses)) {
    fail('/responses', 'a JSON batch response is an object with a "responses" array');
  }
  return document.responses.map((item: unknown, index: number) =>
    readResponseItem(item, `/responses/${index}`),
  );
}

function parseJson(bytes: Uint8Array): unknown {
  const text = fromUtf8Strict(bytes);
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One sub-response object of a JSON or JSON Lines batch response. */
function readResponseItem(item: unknown, at: string): DecodedSubResponse {
  if (!isPlainObject(item)) fail(at, 'must be an object');
  const { status } = item;
  if (typeof status !== 'number' || !Number.isInteger(status))
    fail(`${at}/status`, 'must be an integer');
  const headers = readHeaders(item.headers, `${at}/headers`);
  const response: DecodedSubResponse = {
    status,
    statusText: reasonPhrase(status),
    headers,
    body: readBody(item, headers, at),
  };
  if (typeof item.id === 'string') response.id = item.id;
  if (typeof item.atomicityGroup === 'string') response.atomicityGroup = item.atomicityGroup;
  if (typeof item.path === 'string') response.path = item.path;
  if (item.index !== undefined) {
    if (typeof item.index !== 'number' || !Number.isInteger(item.index) || item.index < 0)
      fail(`${at}/index`, 'must be a non-negative integer');
    response.index = item.index;
  }
  return response;
}

/**
 * Decodes a JSON Lines batch response (SPEC §3) as it arrives: yields each sub-response,
 * with its `index`, the moment its line is complete — in completion order. Blank lines are
 * skipped; a line that is not a sub-response object is a `BatchError`.
 */
export async function* decodeJsonLines(body: BodyInput): AsyncGenerator<DecodedSubResponse> {
  let pending: Uint8Array[] = [];
  let line = 0;
  const chunks = body instanceof Uint8Array ? [body] : body;
  const take = (bytes: Uint8Array): DecodedSubResponse | undefined => {
    line++;
    let blank = true;
    for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) blank = false;
    if (blank) return undefined;
    const item = readResponseItem(parseJson(bytes), `/lines/${line - 1}`);
    if (item.index === undefined) fail(`/lines/${line - 1}/index`, 'is required in JSON Lines');
    return item;
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      pending.push(chunk.subarray(start, end));
      const item = take(pending.length === 1 ? pending[0]! : concatBytes(pending));
      pending = [];
      start = end + 1;
      if (item !== undefined) yield item;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) {
    const item = take(concatBytes(pending));
    if (item !== undefined) yield item;
  }
}

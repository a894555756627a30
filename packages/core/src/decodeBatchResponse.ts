import { BatchError } from './BatchError.js';
import { EMPTY_BYTES, fromBase64, fromUtf8Strict, utf8 } from './bytes.js';
import { formatOfContentType, isJsonMediaType } from './contentType.js';
import { getHeader } from './headerNames.js';
import { parseResponsePart } from './httpMessage.js';
import { MultipartScanner } from './MultipartScanner.js';
import { isPlainObject } from './mergeDefaults.js';
import { multipartBoundary } from './multipartBoundary.js';
import { type BodyInput, readAll } from './readBody.js';
import { reasonPhrase } from './reasonPhrases.js';
import type { DecodedSubResponse, HeaderList } from './types.js';

/** A batch response as received by a client. */
export interface BatchResponseInput {
  contentType: string | null | undefined;
  body: BodyInput;
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * Decodes a batch response (client side) into its sub-responses, in order. Throws a
 * `BatchError` when the body is not a batch response.
 */
export async function decodeBatchResponse(
  input: BatchResponseInput,
): Promise<DecodedSubResponse[]> {
  const format = formatOfContentType(input.contentType);
  if (format === 'multipart') return decodeMultipartResponse(input);
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
  });
  const out: DecodedSubResponse[] = [];
  const body = input.body instanceof Uint8Array ? [input.body] : input.body;
  for await (const chunk of body)
    for (const part of scanner.push(chunk)) out.push(parseResponsePart(part, limits));
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
  const text = fromUtf8Strict(bytes);
  let document: unknown;
  try {
    document = text === undefined ? undefined : JSON.parse(text);
  } catch {
    // Reported below.
  }
  if (!isPlainObject(document) || !Array.isArray(document.responses)) {
    fail('/responses', 'a JSON batch response is an object with a "responses" array');
  }
  return document.responses.map((item: unknown, index: number) => {
    const at = `/responses/${index}`;
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
    if (typeof item.path === 'string') response.path = item.path;
    return response;
  });
}

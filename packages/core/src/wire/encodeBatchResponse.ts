import { concatBytes, EMPTY_BYTES, fromUtf8Strict, toBase64 } from '../http/bytes.js';
import { ChunkWriter } from '../http/chunkWriter.js';
import { isJsonMediaType, isTextMediaType, JSON_LINES_CONTENT_TYPE } from '../http/contentType.js';
import { canonicalHeaderName, getHeader } from '../http/headerNames.js';
import { cancelBody, isMinimalAnswer, minimalHeaders } from '../http/minimalAnswer.js';
import { isJsonText } from '../json/isJsonText.js';
import type { BatchFormat, HeaderList, SubResponse, SubResponseBody } from '../model/types.js';
import { changeSetBoundaryFor, createBoundary } from '../multipart/multipartBoundary.js';
import {
  checkStatus,
  responseContentId,
  statusText,
  writableHeaders,
} from '../multipart/responseParts.js';

export interface EncodeBatchResponseOptions {
  /** Multipart boundary to use. @default `batch_` and a random token */
  boundary?: string;
  /**
   * Multipart: the boundary of every change-set part (SPEC §2). It must not begin with
   * `boundary`, nor `boundary` with it (a `TypeError` otherwise).
   * @default `changeset_` and a random token, fresh for each change set
   */
  changeSetBoundary?: string;
  /**
   * Multipart: write each answer's `Content-ID` exactly as its request sent it, instead of
   * mirroring it (`<X>` → `<response-X>`). SPEC §2: an OData batch echoes it, because
   * OData clients match on that; `isODataBatch(path, headers)` tells one.
   * @default false
   */
  echoContentId?: boolean;
  /**
   * JSON format: write JSON Lines (`application/jsonl`, SPEC §3) — one line per
   * sub-response, in the order the iterable yields them, each with its `index`.
   * @default false
   */
  jsonLines?: boolean;
  /**
   * `Prefer: return=minimal` (SPEC §7): every answer with a status < 400 is written with
   * its status and headers only — no body (JSON: no `body` member; multipart:
   * `Content-Length: 0`), without the headers that described it (`Content-Type`,
   * `Content-Length`, `Content-Encoding`, `Content-Range`, `Transfer-Encoding`); a streamed
   * body is cancelled, not read. Answers ≥ 400 are written whole. The batch answer should
   * say so: `Preference-Applied: return=minimal`.
   * @default false
   */
  minimal?: boolean;
}

/** A batch response ready to send: its content type and its body as a stream. */
export interface EncodedBatchResponse {
  contentType: string;
  body: AsyncIterable<Uint8Array>;
}

/** Bodies up to this size are written in the same chunk as their part head. */
const COALESCE_BYTES = 16 * 1024;

/**
 * Encodes sub-responses as a batch response body (SPEC §2 and §3 response), writing
 * each one as soon as the iterable yields it: the caller yields them in request order.
 */
export function encodeBatchResponse(
  format: BatchFormat,
  responses: AsyncIterable<SubResponse> | Iterable<SubResponse>,
  options: EncodeBatchResponseOptions = {},
): EncodedBatchResponse {
  return encodeResponseRuns(format, runsOf(responses), options);
}

/**
 * `encodeBatchResponse` for answers that come in runs (each run: the answers ready
 * together, as the engine yields them): each run is written as one chunk when its bodies
 * are small, so a batch of small answers costs one allocation and one socket write per run
 * instead of per answer.
 */
export function encodeResponseRuns(
  format: BatchFormat,
  runs: AsyncIterable<readonly SubResponse[]>,
  options: EncodeBatchResponseOptions = {},
): EncodedBatchResponse {
  if (format === 'json') {
    const minimal = options.minimal === true;
    return options.jsonLines === true
      ? { contentType: JSON_LINES_CONTENT_TYPE, body: encodeJson(runs, true, minimal) }
      : { contentType: 'application/json', body: encodeJson(runs, false, minimal) };
  }
  const boundary = options.boundary ?? createBoundary();
  // Checked now, not when the body is read: a bad option is the caller's error.
  if (options.changeSetBoundary !== undefined)
    changeSetBoundaryFor(boundary, options.changeSetBoundary);
  return {
    contentType: `multipart/mixed; boundary=${boundary}`,
    body: encodeMultipartResponses(runs, boundary, options),
  };
}

/** Runs of answers: one each from an async iterable (as they come), up to 64 from an array. */
async function* runsOf(
  responses: AsyncIterable<SubResponse> | Iterable<SubResponse>,
): AsyncGenerator<SubResponse[]> {
  if (Symbol.asyncIterator in responses) {
    for await (const response of responses) yield [response];
    return;
  }
  let run: SubResponse[] = [];
  for (const response of responses) {
    run.push(response);
    if (run.length === 64) {
      yield run;
      run = [];
    }
  }
  if (run.length > 0) yield run;
}

/**
 * The multipart answers, each written as soon as it is yielded. Adjacent answers of one
 * `atomicityGroup` are one change-set part (SPEC §2): its head is written with the group's
 * first answer, its close delimiter when an answer of another group (or none) comes next,
 * or the end. An answer with `failedGroup` is a plain part in place of its change set.
 */
async function* encodeMultipartResponses(
  runs: AsyncIterable<readonly SubResponse[]>,
  boundary: string,
  options: EncodeBatchResponseOptions,
): AsyncGenerator<Uint8Array> {
  const echo = options.echoContentId === true;
  const minimal = options.minimal === true;
  const out = new ChunkWriter(COALESCE_BYTES);
  /** True until the first part of the body is written. */
  let first = true;
  /** The group of the open change set, its boundary, and whether it holds a part yet. */
  let group: string | undefined;
  let inner = '';
  let innerFirst = true;
  for await (const run of runs) {
    for (const response of run) {
      const bodyless = minimal && isMinimalAnswer(response.status);
      if (bodyless) cancelBody(response.body);
      const body = bodyless ? EMPTY_BYTES : (response.body ?? EMPTY_BYTES);
      const itemGroup = response.failedGroup === true ? undefined : response.atomicityGroup;
      let head = '';
      if (group !== undefined && itemGroup !== group) {
        head += `\r\n--${inner}--`;
        group = undefined;
      }
      if (itemGroup !== undefined && itemGroup !== group) {
        inner = changeSetBoundaryFor(boundary, options.changeSetBoundary);
        head += `${first ? '' : '\r\n'}--${boundary}\r\nContent-Type: multipart/mixed; boundary=${inner}\r\n\r\n`;
        group = itemGroup;
        innerFirst = true;
        first = false;
      }
      if (group === undefined) {
        head += `${first ? '' : '\r\n'}--${boundary}\r\nContent-Type: application/http\r\n`;
      } else {
        head += `${innerFirst ? '' : '\r\n'}--${inner}\r\nContent-Type: application/http\r\n`;
        innerFirst = false;
      }
      if (response.contentId !== undefined)
        head += `Content-ID: ${responseContentId(response.contentId, echo)}\r\n`;
      head += `\r\nHTTP/1.1 ${checkStatus(response.status)} ${statusText(response)}\r\n`;
      const written = writableHeaders(response.headers);
      const headers = bodyless ? minimalHeaders(written) : written;
      for (const [name, value] of headers) head += `${canonicalHeaderName(name)}: ${value}\r\n`;
      // SPEC §7: a minimal answer says it has no body.
      if (bodyless) head += 'Content-Length: 0\r\n';
      else if (
        body instanceof Uint8Array &&
        getHeader(headers, 'content-length') === undefined &&
        body.length > 0
      ) {
        head += `Content-Length: ${body.length}\r\n`;
      }
      head += '\r\n';
      first = false;
      out.latin1(head);
      if (body instanceof Uint8Array) {
        out.bytes(body);
      } else {
        // A streamed body goes out as it comes: what is written so far goes first.
        for (const chunk of out.take()) yield chunk;
        for await (const chunk of body) if (chunk.length > 0) yield chunk;
      }
    }
    for (const chunk of out.take()) yield chunk;
  }
  const close = group === undefined ? '' : `\r\n--${inner}--`;
  out.latin1(`${close}${first ? '' : '\r\n'}--${boundary}--\r\n`);
  for (const chunk of out.take()) yield chunk;
}

/**
 * `{"Content-Type":"…","Set-Cookie":["a","b"]}` with canonical names, repeated headers as
 * arrays. Names are tokens (`writableHeaders` dropped the others), so they need no escaping.
 */
function headersJson(headers: HeaderList): string {
  let out = '{';
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    const canonical = canonicalHeaderName(name);
    // A name seen before: its values become one array (rare; the check is on few names).
    for (let j = 0; j < i; j++)
      if (canonicalHeaderName(headers[j]![0]) === canonical) return groupedHeadersJson(headers);
    if (i > 0) out += ',';
    out += `"${canonical}":${jsonString(value)}`;
  }
  return `${out}}`;
}

/** Printable ASCII without `"` and `\`: a JSON string as it is. */
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `JSON.stringify(text)`, without it for the plain text headers and paths nearly always are. */
function jsonString(text: string): string {
  return PLAIN_JSON_STRING.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** `headersJson` when a name repeats: its values become one array, in order. */
function groupedHeadersJson(headers: HeaderList): string {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const canonical = canonicalHeaderName(name);
    const values = grouped.get(canonical);
    if (values === undefined) grouped.set(canonical, [value]);
    else values.push(value);
  }
  let out = '{';
  for (const [name, values] of grouped) {
    if (out.length > 1) out += ',';
    out += `"${name}":${JSON.stringify(values.length === 1 ? values[0] : values)}`;
  }
  return `${out}}`;
}

async function bodyBytes(body: SubResponseBody): Promise<Uint8Array> {
  if (body === null) return EMPTY_BYTES;
  if (body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return concatBytes(chunks);
}

const JSON_EMPTY_STRING = /^[\s]*""[\s]*$/;

/**
 * The `"body"` member (SPEC §3): JSON spliced as it is when it is valid JSON, text as a
 * string, anything else base64 with `"bodyEncoding":"base64"`; `""` when empty.
 */
function bodyJson(bytes: Uint8Array, contentType: string | undefined): Uint8Array | string {
  if (bytes.length === 0) return '"body":""';
  if (isJsonMediaType(contentType)) {
    // `""` as a JSON value would read back as an empty body: send it as base64 instead.
    if (
      isJsonText(bytes) &&
      !(bytes.length < 16 && JSON_EMPTY_STRING.test(String.fromCharCode(...bytes)))
    ) {
      return bytes;
    }
  } else if (isTextMediaType(contentType)) {
    const text = fromUtf8Strict(bytes);
    if (text !== undefined) return `"body":${JSON.stringify(text)}`;
  }
  return `"body":"${toBase64(bytes)}","bodyEncoding":"base64"`;
}

/**
 * One sub-response as a JSON object, in chunks (one when small): `prefix` is written before
 * it (`,`, or nothing), `suffix` after its closing brace. With `oneLine`, a spliced JSON body
 * has its line breaks turned into spaces (outside strings JSON has no line break that
 * matters, and inside strings it has none at all), so that the object is one line of JSON
 * Lines.
 */
function writeJsonItem(
  out: ChunkWriter,
  response: SubResponse,
  bodyBytes: Uint8Array,
  prefix: string,
  suffix: string,
  oneLine: boolean,
  bodyless: boolean,
): void {
  const written = writableHeaders(response.headers);
  const headers = bodyless ? minimalHeaders(written) : written;
  let head = `${prefix}{`;
  if (response.index !== undefined) head += `"index":${response.index},`;
  head += `"status":${checkStatus(response.status)}`;
  if (response.id !== undefined) head += `,"id":${JSON.stringify(response.id)}`;
  if (response.atomicityGroup !== undefined)
    head += `,"atomicityGroup":${JSON.stringify(response.atomicityGroup)}`;
  if (response.path !== undefined) head += `,"path":${jsonString(response.path)}`;
  head += `,"headers":${headersJson(headers)}`;
  // SPEC §3: no `body` member at all for HEAD, 204 and 304 (clients build a `Response`
  // from it, and a null-body status with a body throws); SPEC §7: nor in a minimal answer.
  if (bodyless || hasNoBody(response)) {
    out.text(`${head}}${suffix}`);
    return;
  }
  head += ',';
  const body = bodyJson(bodyBytes, getHeader(headers, 'content-type'));
  if (typeof body === 'string') {
    out.text(`${head}${body}}${suffix}`);
    return;
  }
  out.text(`${head}"body":`);
  out.bytes(oneLine ? withoutLineBreaks(body) : body);
  out.latin1(`}${suffix}`);
}

/** HEAD answers, `204 No Content` and `304 Not Modified` have no body. */
function hasNoBody(response: SubResponse): boolean {
  return response.status === 204 || response.status === 304 || response.requestMethod === 'HEAD';
}

/** `bytes` (JSON text) with CR and LF turned into spaces; the same array when it has none. */
function withoutLineBreaks(bytes: Uint8Array): Uint8Array {
  if (bytes.indexOf(0x0a) === -1 && bytes.indexOf(0x0d) === -1) return bytes;
  const copy = bytes.slice();
  for (let i = 0; i < copy.length; i++) if (copy[i] === 0x0a || copy[i] === 0x0d) copy[i] = 0x20;
  return copy;
}

/**
 * The JSON answer (`{"responses":[…],"failed":[…]}`), or with `lines` JSON Lines (one
 * object a line, each with its `index`); each run of answers as one chunk when its bodies
 * are small. `failed` (SPEC §3 "Failures at a glance") lists the positions of the answers
 * with a status ≥ 400, gathered as they are written: nothing is held back for it.
 */
async function* encodeJson(
  runs: AsyncIterable<readonly SubResponse[]>,
  lines: boolean,
  minimal: boolean,
): AsyncGenerator<Uint8Array> {
  const out = new ChunkWriter(COALESCE_BYTES);
  let separator = lines ? '' : '{"responses":[';
  const suffix = lines ? '\n' : '';
  let position = 0;
  let failed = '';
  for await (const run of runs) {
    for (const response of run) {
      if (response.status >= 400) failed += failed === '' ? position : `,${position}`;
      position++;
      const body = response.body;
      const bodyless = minimal && isMinimalAnswer(response.status);
      let bytes: Uint8Array;
      if (bodyless) {
        cancelBody(body);
        bytes = EMPTY_BYTES;
      } else if (body === null) bytes = EMPTY_BYTES;
      else if (body instanceof Uint8Array) bytes = body;
      else {
        // What is written so far goes out while this body streams in.
        for (const chunk of out.take()) yield chunk;
        bytes = await bodyBytes(body);
      }
      writeJsonItem(out, response, bytes, separator, suffix, lines, bodyless);
      if (!lines) separator = ',';
    }
    for (const chunk of out.take()) yield chunk;
  }
  if (!lines) out.latin1(`${separator === ',' ? ']' : '{"responses":[]'},"failed":[${failed}]}`);
  for (const chunk of out.take()) yield chunk;
}

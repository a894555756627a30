import { concatBytes, EMPTY_BYTES, fromUtf8Strict, latin1, toBase64, utf8 } from '../http/bytes.js';
import { isJsonMediaType, isTextMediaType } from '../http/contentType.js';
import { getHeader, isToken, isValidHeaderValue } from '../http/headerNames.js';
import { validateTarget } from '../http/target.js';
import type { BatchFormat, HeaderList } from '../model/types.js';
import { changeSetBoundaryFor, createBoundary } from '../multipart/multipartBoundary.js';

/** One request to put in a batch (client side). */
export interface SubRequestInit {
  /** @default 'GET' */
  method?: string;
  /** Origin-form (`/a?b=1`) or relative target. */
  target: string;
  headers?: HeaderList;
  /** Body bytes, or a string sent as UTF-8. */
  body?: Uint8Array | string | null;
  /** JSON format: the request's `id`. Multipart: used as `Content-ID: <id>` when `contentId` is absent. */
  id?: string;
  /** Multipart format: the part's `Content-ID`, written as given. */
  contentId?: string;
  /** JSON format: ids of earlier requests (or names of earlier atomicity groups) this one waits for. */
  dependsOn?: string[];
  /**
   * The atomicity group (SPEC §4) the request belongs to; the requests of a group must be
   * adjacent (a `TypeError` otherwise). JSON: the `atomicityGroup` member. Multipart: a
   * group is one change set (a nested `multipart/mixed` part; the name itself is not sent,
   * and the server names it by position) — give each request a `contentId` (or `id`) to
   * reference it with `$<id>` in a later request's target.
   */
  atomicityGroup?: string;
}

export interface EncodeBatchRequestOptions {
  /** Multipart boundary to use. @default `batch_` and a random token */
  boundary?: string;
  /**
   * Multipart: the boundary of every change-set part. It must not begin with `boundary`,
   * nor `boundary` with it (a `TypeError` otherwise).
   * @default `changeset_` and a random token, fresh for each change set
   */
  changeSetBoundary?: string;
}

/** An encoded batch request body and the `Content-Type` to send it with. */
export interface EncodedBatchRequest {
  contentType: string;
  body: Uint8Array;
}

/** Throws unless the requests of each atomicity group are adjacent, and names are non-empty. */
function checkGroups(requests: readonly SubRequestInit[]): void {
  const closed = new Set<string>();
  let open: string | undefined;
  requests.forEach((request, index) => {
    const group = request.atomicityGroup;
    if (group !== undefined && (typeof group !== 'string' || group === '')) {
      throw new TypeError(`request ${index}: atomicityGroup must be a non-empty string`);
    }
    if (group === open) return;
    if (open !== undefined) closed.add(open);
    if (group !== undefined && closed.has(group)) {
      throw new TypeError(
        `request ${index}: the requests of atomicity group "${group}" must be adjacent`,
      );
    }
    open = group;
  });
}

function checkRequest(
  request: SubRequestInit,
  index: number,
): { method: string; body: Uint8Array } {
  const method = (request.method ?? 'GET').toUpperCase();
  if (!isToken(method))
    throw new TypeError(`request ${index}: method "${method}" is not an HTTP token`);
  const problem = validateTarget(request.target);
  if (problem !== undefined) throw new TypeError(`request ${index}: ${problem}`);
  for (const [name, value] of request.headers ?? []) {
    if (!isToken(name) || !isValidHeaderValue(value)) {
      throw new TypeError(`request ${index}: invalid header ${JSON.stringify(name)}`);
    }
  }
  const { body } = request;
  return { method, body: typeof body === 'string' ? utf8(body) : (body ?? EMPTY_BYTES) };
}

/**
 * Encodes requests as one batch request body (the client side of SPEC §2 and §3).
 * Throws a `TypeError` for a request that could not be sent (bad method, target or header).
 */
export function encodeBatchRequest(
  format: BatchFormat,
  requests: readonly SubRequestInit[],
  options: EncodeBatchRequestOptions = {},
): EncodedBatchRequest {
  checkGroups(requests);
  return format === 'json'
    ? encodeJsonRequest(requests)
    : encodeMultipartRequest(requests, options);
}

function encodeMultipartRequest(
  requests: readonly SubRequestInit[],
  options: EncodeBatchRequestOptions,
): EncodedBatchRequest {
  const boundary = options.boundary ?? createBoundary();
  const chunks: Uint8Array[] = [];
  /** The open change set: its group and boundary. */
  let group: string | undefined;
  let inner = '';
  requests.forEach((request, index) => {
    const { method, body } = checkRequest(request, index);
    const headers = request.headers ?? [];
    let head = '';
    if (group !== undefined && request.atomicityGroup !== group) {
      head += `--${inner}--\r\n`;
      group = undefined;
    }
    if (request.atomicityGroup !== undefined && request.atomicityGroup !== group) {
      group = request.atomicityGroup;
      inner = changeSetBoundaryFor(boundary, options.changeSetBoundary);
      head += `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${inner}\r\n\r\n`;
    }
    head += `--${group === undefined ? boundary : inner}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n`;
    const contentId =
      request.contentId ?? (request.id === undefined ? undefined : `<${request.id}>`);
    if (contentId !== undefined) {
      if (!isValidHeaderValue(contentId))
        throw new TypeError(`request ${index}: invalid Content-ID`);
      head += `Content-ID: ${contentId}\r\n`;
    }
    head += `\r\n${method} ${request.target} HTTP/1.1\r\n`;
    for (const [name, value] of headers) {
      if (name.toLowerCase() !== 'content-length') head += `${name}: ${value}\r\n`;
    }
    if (body.length > 0) head += `Content-Length: ${body.length}\r\n`;
    chunks.push(latin1(`${head}\r\n`), body, CRLF);
  });
  chunks.push(latin1(`${group === undefined ? '' : `--${inner}--\r\n`}--${boundary}--\r\n`));
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: concatBytes(chunks) };
}

const CRLF = latin1('\r\n');

function jsonBody(body: Uint8Array, contentType: string | undefined): Record<string, unknown> {
  if (body.length === 0) return {};
  if (contentType !== undefined && isTextMediaType(contentType)) {
    const text = fromUtf8Strict(body);
    if (text !== undefined) {
      if (!isJsonMediaType(contentType)) return { body: text };
      try {
        const value: unknown = JSON.parse(text);
        // Only when it serialises back to the same bytes: the body must arrive unchanged.
        // (`null` would read as "no body", so it goes as base64 too.)
        if (value !== null && JSON.stringify(value) === text) return { body: value };
      } catch {
        // Not JSON after all: sent as base64 below.
      }
    }
  }
  return { body: toBase64(body), bodyEncoding: 'base64' };
}

function encodeJsonRequest(requests: readonly SubRequestInit[]): EncodedBatchRequest {
  const items = requests.map((request, index) => {
    const { method, body } = checkRequest(request, index);
    const item: Record<string, unknown> = { method, path: request.target };
    const headers = request.headers ?? [];
    if (headers.length > 0) {
      const grouped: Record<string, string | string[]> = Object.create(null);
      const names = new Map<string, string>();
      for (const [name, value] of headers) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') continue;
        const key = names.get(lower) ?? name;
        names.set(lower, key);
        const existing = grouped[key];
        grouped[key] =
          existing === undefined
            ? value
            : [...(Array.isArray(existing) ? existing : [existing]), value];
      }
      item.headers = { ...grouped };
    }
    Object.assign(item, jsonBody(body, getHeader(headers, 'content-type')));
    if (request.id !== undefined) item.id = request.id;
    if (request.dependsOn !== undefined) item.dependsOn = request.dependsOn;
    if (request.atomicityGroup !== undefined) item.atomicityGroup = request.atomicityGroup;
    return item;
  });
  return { contentType: 'application/json', body: utf8(JSON.stringify({ requests: items })) };
}

import type { HeaderList, SubResponse } from '@batch/core';

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * Reads a sub-response as plain values: status, every header (each `Set-Cookie` on its
 * own) and the body bytes.
 *
 * @hono/node-server's light-weight `Response` (the global `Response` under `serve()`) keeps
 * the string or bytes it was given in `[status, body, headers]` under an own symbol-keyed
 * property (described `cache`) until anything makes it build a real `Response`; its own
 * server writes such a body straight to the socket. The body is read from there the same
 * way — copied, so the app keeps no handle on what is sent — and no stream is made. Any other
 * `Response` (undici's, a stream or Blob body, an already materialised one) is read with
 * `arrayBuffer()` — or, with `returnMinimal` and a status below 400 (SPEC §7: the answer
 * drops the body), cancelled unread.
 */
export async function readSubResponse(
  response: Response,
  returnMinimal = false,
): Promise<SubResponse> {
  const kept = keptOf(response);
  if (kept !== undefined) {
    // No reason phrase: a kept body's statusText cannot be read without building the real
    // Response, and @hono/node-server never sends one (the standard one is written instead).
    return { status: kept[0], headers: keptHeaders(kept) ?? headerListOf(response), body: kept[1] };
  }
  const status = response.status;
  const headers = headerListOf(response);
  const answer: SubResponse = { status, headers, body: EMPTY };
  if (response.body !== null) {
    // `Prefer: return=minimal` drops the body of an answer below 400: cancelled, not read.
    if (returnMinimal && status < 400) response.body.cancel().catch(() => {});
    else answer.body = await bodyOf(response, headers);
  }
  if (response.statusText !== '') answer.statusText = response.statusText;
  return answer;
}

/**
 * The body bytes. A response without a `Content-Type` is read as a `Blob`, whose `type` is
 * the body's own: Bun leaves the header out of `new Response(string)`'s `headers` (it adds
 * `text/plain;charset=utf-8` when it writes the response), so the item gets it from there.
 * Elsewhere a `Blob`'s type comes from that same header, hence is empty then.
 */
async function bodyOf(response: Response, headers: HeaderList): Promise<Uint8Array> {
  if (response.body === null) return EMPTY;
  if (headers.some(([name]) => name === 'content-type')) {
    return new Uint8Array(await response.arrayBuffer());
  }
  const blob = await response.blob();
  if (blob.type !== '') {
    const cookies = headers.findIndex(([name]) => name === 'set-cookie');
    headers.splice(cookies === -1 ? headers.length : cookies, 0, ['content-type', blob.type]);
  }
  return new Uint8Array(await blob.arrayBuffer());
}

/** Every header, as `response.headers` iterates them; each `Set-Cookie` on its own, last. */
function headerListOf(response: Response): HeaderList {
  const headers: HeaderList = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
  return headers;
}

/** Statuses a Response may not have a body with (the Response constructor throws). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** What a light-weight Response keeps, its body as bytes: `[status, body, headers init]`. */
type Kept = [status: number, body: Uint8Array, headers: unknown, bodyless: boolean];

/**
 * The status, body bytes and headers init a light-weight Response keeps, or `undefined`
 * when it keeps no body that `arrayBuffer()` would give unchanged (then the standard path
 * runs, with the Response constructor's own checks).
 */
function keptOf(response: Response): Kept | undefined {
  const key = keptBodyKeyOf(response);
  if (key === undefined) return undefined;
  const kept = (response as unknown as Record<symbol, unknown>)[key];
  if (!Array.isArray(kept) || kept.length !== 3) return undefined;
  const [status, body, headers] = kept as [unknown, unknown, unknown];
  if (typeof status !== 'number' || status < 200 || status > 599) return undefined;
  if (body === null) return [status, EMPTY, headers, true];
  if (NULL_BODY_STATUSES.has(status)) return undefined;
  if (typeof body === 'string') return [status, encoder.encode(body), headers, false];
  // A copy: the app keeps no handle on what is sent (Buffer#slice would not copy).
  if (body instanceof Uint8Array) return [status, new Uint8Array(body), headers, false];
  return undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** HTTP whitespace, which `Headers` trims off a value's edges: tab, LF, CR, space. */
function isHttpWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** `value` without leading and trailing HTTP whitespace, in linear time (a regex with `$` is quadratic on a long inner run). */
export function trimHttpWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}
/** A value `Headers` refuses (after trimming): NUL, CR, LF, or beyond Latin-1. */
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;

/**
 * The header list `new Headers(init)` would iterate (names lower-cased and sorted, values
 * trimmed), for the plain-object inits Hono passes (`{ 'Content-Type': … }`) — without making
 * a `Headers`. `undefined` for anything else or anything `Headers` would refuse, combine or
 * convert: the `headers` getter then does it.
 */
function keptHeaders([, , init, bodyless]: Kept): HeaderList | undefined {
  if (init === undefined || init === null) {
    return bodyless ? [] : [['content-type', 'text/plain; charset=UTF-8']];
  }
  if (typeof init !== 'object') return undefined;
  const prototype = Object.getPrototypeOf(init);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const names = Object.keys(init);
  const list: HeaderList = [];
  for (const name of names) {
    const value = (init as Record<string, unknown>)[name];
    if (typeof value !== 'string' || !TOKEN.test(name)) return undefined;
    const trimmed = trimHttpWhitespace(value);
    if (BAD_VALUE.test(trimmed)) return undefined;
    list.push([name.toLowerCase(), trimmed]);
  }
  // Symbol keys make Headers throw; names equal but for case are combined: leave both to it.
  if (Object.getOwnPropertySymbols(init).length > 0) return undefined;
  if (list.length > 1) {
    list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 1; i < list.length; i++) if (list[i]![0] === list[i - 1]![0]) return undefined;
    const cookie = list.findIndex(([name]) => name === 'set-cookie');
    if (cookie !== -1) list.push(...list.splice(cookie, 1));
  }
  return list;
}

/** The key, learnt per global `Response` constructor (`undefined`: it keeps no body). */
let learnt: { for: typeof Response; key: symbol | undefined } | undefined;

/**
 * The own symbol under which responses of the global `Response` keep `[status, body,
 * headers]`, found by making one (`new Response('probe', { status: 299 })`) and looking
 * for that array; `undefined` for a Response that is not the global one's own instance.
 */
export function keptBodyKeyOf(response: Response): symbol | undefined {
  const Global = globalThis.Response;
  if (Object.getPrototypeOf(response) !== Global.prototype) return undefined;
  if (learnt?.for !== Global) learnt = { for: Global, key: probe(Global) };
  return learnt.key;
}

function probe(Global: typeof Response): symbol | undefined {
  try {
    const made = new Global('probe', { status: 299 }) as unknown as Record<symbol, unknown>;
    return Object.getOwnPropertySymbols(made).find((key) => {
      const kept = made[key];
      return (
        key.description === 'cache' &&
        Array.isArray(kept) &&
        kept.length === 3 &&
        kept[0] === 299 &&
        kept[1] === 'probe'
      );
    });
  } catch {
    return undefined;
  }
}

import { isToken, isValidHeaderValue } from '../http/headerNames.js';
import { reasonPhrase } from '../http/reasonPhrases.js';
import type { HeaderList, SubResponse } from '../model/types.js';

/** Headers that describe one connection, never a message inside a batch. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
]);

/** Lengths of the names in HOP_BY_HOP: other names need no lower-casing to be told apart. */
const HOP_BY_HOP_LENGTHS = new Set([...HOP_BY_HOP].map((name) => name.length));

function isHopByHop(name: string): boolean {
  return HOP_BY_HOP_LENGTHS.has(name.length) && HOP_BY_HOP.has(name.toLowerCase());
}

/**
 * The headers of a sub-response as they may be written into a batch: hop-by-hop
 * headers dropped, and any line that could inject another (a name that is not a token,
 * a value with CR, LF or NUL) dropped too.
 */
export function writableHeaders(headers: HeaderList): HeaderList {
  // Copied only from the first header dropped: most answers have none to drop.
  let out: HeaderList | undefined;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    const [name, value] = header;
    if (!isToken(name) || !isValidHeaderValue(value) || isHopByHop(name))
      out ??= headers.slice(0, i);
    else out?.push(header);
  }
  return out ?? headers;
}

/** The reason phrase to write: the sub-response's own when it is safe, else the standard one. */
export function statusText(response: Pick<SubResponse, 'status' | 'statusText'>): string {
  const text = response.statusText;
  if (text !== undefined && text !== '' && /^[\t\x20-\x7e\x80-\xff]*$/.test(text)) return text;
  return reasonPhrase(response.status);
}

/**
 * The Content-ID of an answer (SPEC §2): the request's mirrored, `<X>` → `<response-X>` and
 * `X` → `response-X` — or, with `echo` (an OData batch), the request's unchanged.
 */
export function responseContentId(contentId: string, echo = false): string {
  const id = contentId.trim();
  if (echo) return id;
  if (id.startsWith('<') && id.endsWith('>')) return `<response-${id.slice(1, -1)}>`;
  return `response-${id}`;
}

/** Checks a status code is a three-digit HTTP status. */
export function checkStatus(status: number): number {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new TypeError(`sub-response status must be a three-digit integer, got ${String(status)}`);
  }
  return status;
}

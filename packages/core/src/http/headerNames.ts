/** Header-name and token rules (RFC 9110 §5.1, §5.6.2) and canonical name case. */

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** True when the char code `c` may appear in an HTTP token. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** True when `text` is a non-empty HTTP token (method names, header names). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** True when `value` can be written as a header field value without injecting lines. */
export function isValidHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0 || c > 0xff) return false;
  }
  return true;
}

const SPECIAL_CASE = new Map<string, string>(
  Object.entries({
    etag: 'ETag',
    te: 'TE',
    dnt: 'DNT',
    'www-authenticate': 'WWW-Authenticate',
    'content-md5': 'Content-MD5',
    'content-id': 'Content-ID',
    'x-xss-protection': 'X-XSS-Protection',
    'x-ua-compatible': 'X-UA-Compatible',
    'x-dns-prefetch-control': 'X-DNS-Prefetch-Control',
    'x-request-id': 'X-Request-ID',
    'x-correlation-id': 'X-Correlation-ID',
    'x-csrf-token': 'X-CSRF-Token',
    'x-xsrf-token': 'X-XSRF-Token',
    'sec-websocket-key': 'Sec-WebSocket-Key',
    'sec-websocket-accept': 'Sec-WebSocket-Accept',
    'sec-websocket-version': 'Sec-WebSocket-Version',
    'sec-websocket-protocol': 'Sec-WebSocket-Protocol',
    'sec-websocket-extensions': 'Sec-WebSocket-Extensions',
  }),
);

const canonicalCache = new Map<string, string>();

/** `content-type` → `Content-Type`, `etag` → `ETag`, `set-cookie` → `Set-Cookie`. */
export function canonicalHeaderName(name: string): string {
  const cached = canonicalCache.get(name);
  if (cached !== undefined) return cached;
  const lower = name.toLowerCase();
  let canonical = SPECIAL_CASE.get(lower);
  if (canonical === undefined) {
    canonical = lower.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => {
      return dash + letter.toUpperCase();
    });
  }
  if (canonicalCache.size < 1000) canonicalCache.set(name, canonical);
  return canonical;
}

/** True when `text` equals `lower` (an all-lower-case ASCII literal) ignoring ASCII case; allocates nothing. */
export function equalsLower(text: string, lower: string): boolean {
  if (text.length !== lower.length) return false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** `text` in upper case; the same string when it has no lower-case ASCII letter. */
export function upperAscii(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return text.toUpperCase();
  }
  return text;
}

/** The first value of header `name` (case-insensitive), or `undefined`. */
export function getHeader(
  headers: readonly (readonly [string, string])[],
  name: string,
): string | undefined {
  for (const [key, value] of headers) {
    if (equalsLower(key, name)) return value;
  }
  return undefined;
}

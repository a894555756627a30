import type { DecodedBatch, HeaderList } from '../../model/types.js';

const encoder = new TextEncoder();

interface NodeHash {
  update(data: Uint8Array): NodeHash;
  digest(encoding: 'hex'): string;
}

/**
 * Node's own hashing when the runtime has it (`process.getBuiltinModule`, Node ≥ 20.16: no
 * `node:` import, so the core still loads anywhere): 1–3 µs a digest where Web Crypto's
 * job machinery takes 20–50 µs.
 */
const nodeCreateHash = (() => {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (typeof get !== 'function') return undefined;
  const crypto = get('node:crypto') as { createHash?: (algorithm: string) => NodeHash } | undefined;
  return crypto?.createHash;
})();

/** SHA-256 of `bytes`, in hex: Node's hashing where there is one, else Web Crypto (browsers, workers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  if (nodeCreateHash !== undefined) return nodeCreateHash('sha256').update(bytes).digest('hex');
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/**
 * The fingerprint of a batch as decoded (SPEC §8): each item's method, target, own headers
 * (after `defaults`, before inheritance), body bytes, `id`, `dependsOn` and group — not the
 * raw bytes, so that a client that re-encodes the same batch (a new multipart boundary, other
 * white space) sends the same batch, and may ask for its answer in another format.
 */
export function fingerprintOf(decoded: DecodedBatch): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const item of decoded.items) {
    const head = JSON.stringify([
      item.method,
      item.target,
      ownHeaders(item.headers),
      item.id ?? null,
      item.dependsOn ?? null,
      item.atomicityGroup ?? null,
      item.contentId ?? null,
      item.body.length,
    ]);
    parts.push(encoder.encode(head), item.body);
  }
  let length = 0;
  for (const part of parts) length += part.length + 1;
  const all = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length + 1;
  }
  return sha256Hex(all);
}

/** Header names lower-cased, `Content-Length` left out (the body's length is in the head). */
function ownHeaders(headers: HeaderList): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower !== 'content-length') out.push(lower, value);
  }
  return out;
}

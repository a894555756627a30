import { parseMediaType } from '../http/contentType.js';
import { BatchError } from '../model/BatchError.js';

/** The boundary of a `multipart/mixed` content type; throws when missing or too long. */
export function multipartBoundary(contentType: string): string {
  const boundary = parseMediaType(contentType)?.params.get('boundary');
  if (boundary === undefined || boundary === '') {
    throw new BatchError('invalid_batch', 'multipart/mixed Content-Type has no boundary parameter');
  }
  if (boundary.length > 70) {
    throw new BatchError('invalid_batch', 'multipart boundary is longer than 70 characters');
  }
  for (let i = 0; i < boundary.length; i++) {
    const c = boundary.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new BatchError(
        'invalid_batch',
        'multipart boundary has a control or non-ASCII character',
      );
    }
  }
  return boundary;
}

/**
 * A fresh boundary: `prefix`, `_` and a random token, never quoted (SPEC §2) —
 * `batch_…` for a batch, `changeset_…` for a change set.
 */
export function createBoundary(prefix = 'batch'): string {
  const at = takeRandom(TOKEN_BYTES);
  let token = '';
  for (let i = at; i < at + TOKEN_BYTES; i++) token += BYTE_TEXT[randomPool[i]!];
  return `${prefix}_${token}`;
}

const TOKEN_BYTES = 16;
/** Each byte as two base-36 digits, as the token writes it. */
const BYTE_TEXT = Array.from({ length: 256 }, (_, byte) => byte.toString(36).padStart(2, '0'));

/**
 * Random bytes fetched 1 KiB at a time and each given out once: a call to the system's
 * random source per batch was a quarter of a multipart batch of one's CPU (the bytes are
 * as random; only the calls are fewer, as `crypto.randomUUID` does).
 */
let randomPool = new Uint8Array(0);
let randomAt = 0;

/** Where `count` fresh random bytes start in `randomPool`. */
function takeRandom(count: number): number {
  if (randomAt + count > randomPool.length) {
    randomPool = new Uint8Array(1024);
    globalThis.crypto.getRandomValues(randomPool);
    randomAt = 0;
  }
  const at = randomAt;
  randomAt += count;
  return at;
}

/**
 * True when neither boundary begins with the other. A change set's boundary must not: a
 * reader that looks for `--boundary` without checking what follows it would take the one
 * for the other.
 */
export function boundariesApart(outer: string, inner: string): boolean {
  return !outer.startsWith(inner) && !inner.startsWith(outer);
}

/**
 * A fresh change-set boundary apart from `outer` (see `boundariesApart`): `changeset_…`,
 * or `set_…` when `outer` is a prefix of that (they cannot both be).
 */
export function createChangeSetBoundary(outer: string): string {
  const boundary = createBoundary('changeset');
  return boundariesApart(outer, boundary) ? boundary : createBoundary('set');
}

/**
 * The change-set boundary to write: `given` (checked to be a valid boundary apart from
 * `outer`; a `TypeError` otherwise), or a fresh one.
 */
export function changeSetBoundaryFor(outer: string, given: string | undefined): string {
  if (given === undefined) return createChangeSetBoundary(outer);
  if (!/^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/.test(given) || !boundariesApart(outer, given)) {
    throw new TypeError(
      `change-set boundary "${given.slice(0, 80)}" must be 1 to 70 boundary characters (no space), and neither it nor the batch boundary may begin with the other`,
    );
  }
  return given;
}

/** Byte helpers shared by the codecs. No `node:` imports: these run in browsers too. */
import { native, nativeAllocUnsafe, nativeUtf8Length } from './nativeBytes.js';

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * `prefix` (UTF-8), then `bytes`, then `suffix` (ASCII), in one new array: one allocation
 * where encoding each part and joining them would take three.
 */
export function joinText(prefix: string, bytes: Uint8Array, suffix: string): Uint8Array {
  if (native === undefined || nativeUtf8Length === undefined) {
    return concatBytes([utf8(prefix), bytes, utf8(suffix)]);
  }
  const head = nativeUtf8Length(prefix);
  const out = new Uint8Array(head + bytes.length + suffix.length);
  native.utf8Write.call(out, prefix, 0, head);
  out.set(bytes, head);
  native.latin1Write.call(out, suffix, head + bytes.length, suffix.length);
  return out;
}

/** Decodes UTF-8, replacing invalid sequences with U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** Decodes UTF-8, or returns `undefined` when the bytes are not valid UTF-8. */
export function fromUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** One byte per char (ISO-8859-1), as HTTP field text is carried on the wire. */
export function fromLatin1(bytes: Uint8Array, start: number, end: number): string {
  if (native !== undefined) return native.latin1Slice.call(bytes, start, end);
  let text = '';
  // Chunked so that String.fromCharCode never receives too many arguments.
  for (let i = start; i < end; i += 4096) {
    const stop = Math.min(end, i + 4096);
    text += String.fromCharCode.apply(null, bytes.subarray(i, stop) as unknown as number[]);
  }
  return text;
}

/** Writes `text` one byte per char; callers only pass chars <= 0xff. */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  if (native !== undefined) {
    native.latin1Write.call(out, text, 0, text.length);
    return out;
  }
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Index of the first `byte` at or after `from`, or -1. */
export function indexOfByte(bytes: Uint8Array, byte: number, from: number): number {
  return native === undefined ? bytes.indexOf(byte, from) : native.indexOf.call(bytes, byte, from);
}

/** Index of the first occurrence of `needle` (non-empty) at or after `from`, or -1. */
export function indexOfBytes(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  if (native !== undefined)
    return from > bytes.length ? -1 : native.indexOf.call(bytes, needle, from);
  const first = needle[0]!;
  const last = bytes.length - needle.length;
  for (let i = bytes.indexOf(first, from); i !== -1 && i <= last; i = bytes.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** A plain `Uint8Array` view of `bytes` (a Node `Buffer` becomes one, without copying). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Arrays at least this long are allocated without zeroing when the platform can. */
const UNZEROED_MIN = 4096;

/**
 * `chunks` joined in one array (the chunk itself when there is one). `total`, when given,
 * is their summed length.
 */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  if (chunks.length === 0) return EMPTY_BYTES;
  let length = total ?? 0;
  if (total === undefined) for (const chunk of chunks) length += chunk.length;
  // Every byte is written below, so the array need not be zeroed first.
  const out =
    nativeAllocUnsafe !== undefined && length >= UNZEROED_MIN
      ? nativeAllocUnsafe(length)
      : new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  // A `total` larger than the chunks: no stale memory may show.
  if (offset < length) out.fill(0, offset);
  return out;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i;
// The URL-safe alphabet decodes too.
BASE64_VALUE[0x2d] = 62;
BASE64_VALUE[0x5f] = 63;

export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let out = '';
  const full = bytes.length - (bytes.length % 3);
  for (let i = 0; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64[n >>> 18]! + BASE64[(n >>> 12) & 63]! + BASE64[(n >>> 6) & 63]! + BASE64[n & 63]!;
    if (out.length >= 8192) {
      parts.push(out);
      out = '';
    }
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = bytes[full]! << 16;
    out += `${BASE64[n >>> 18]!}${BASE64[(n >>> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[full]! << 16) | (bytes[full + 1]! << 8);
    out += `${BASE64[n >>> 18]!}${BASE64[(n >>> 12) & 63]!}${BASE64[(n >>> 6) & 63]!}=`;
  }
  parts.push(out);
  return parts.join('');
}

/** Decodes standard or URL-safe base64, padded or not; `undefined` when malformed. */
export function fromBase64(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  if (text.length - end > 2 || end % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? BASE64_VALUE[code]! : -1;
    if (value < 0) return undefined;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >>> bits) & 0xff;
    }
  }
  return out;
}

/** Strips HTTP optional white space (SP and HTAB only, RFC 9110 §5.6.3) from both ends. */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09))
    start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09))
    end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

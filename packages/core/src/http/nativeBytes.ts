/**
 * Native byte routines when the platform has them. Node's `Buffer.prototype` methods run
 * on any `Uint8Array` and are many times faster than their JavaScript equivalents
 * (`indexOf` is a memchr / Boyer-Moore search; `latin1Slice` a native decode). This is
 * feature detection, not an import: in browsers and workers the fallbacks are used.
 */
interface NativeBufferMethods {
  indexOf(this: Uint8Array, value: number | Uint8Array, byteOffset: number): number;
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  latin1Write(this: Uint8Array, text: string, offset: number, length: number): number;
  utf8Write(this: Uint8Array, text: string, offset: number, length: number): number;
}

function detect(): NativeBufferMethods | undefined {
  const proto = (globalThis as { Buffer?: { prototype?: Partial<NativeBufferMethods> } }).Buffer
    ?.prototype;
  if (
    typeof proto?.indexOf !== 'function' ||
    typeof proto.latin1Slice !== 'function' ||
    typeof proto.latin1Write !== 'function' ||
    typeof proto.utf8Write !== 'function'
  ) {
    return undefined;
  }
  try {
    const sample = Uint8Array.of(0x61, 0x0a, 0x62, 0xe9);
    const out = new Uint8Array(2);
    const wide = new Uint8Array(2);
    const methods = proto as NativeBufferMethods;
    if (
      methods.indexOf.call(sample, 0x0a, 0) === 1 &&
      methods.indexOf.call(sample, Uint8Array.of(0x62, 0xe9), 0) === 2 &&
      methods.latin1Slice.call(sample, 1, 4) === '\nb\u00e9' &&
      methods.latin1Write.call(out, '\u00e9a', 0, 2) === 2 &&
      out[0] === 0xe9 &&
      methods.utf8Write.call(wide, '\u00e9', 0, 2) === 2 &&
      wide[0] === 0xc3 &&
      wide[1] === 0xa9
    ) {
      return methods;
    }
  } catch {
    // A Buffer look-alike (a browser polyfill): use the portable code.
  }
  return undefined;
}

export const native: NativeBufferMethods | undefined = detect();

/** Node's `Buffer.byteLength(text, 'utf8')` when present. */
export const nativeUtf8Length: ((text: string) => number) | undefined = (() => {
  const byteLength = (globalThis as { Buffer?: { byteLength?: unknown } }).Buffer?.byteLength;
  if (native === undefined || typeof byteLength !== 'function') return undefined;
  const bound = (text: string) =>
    (byteLength as (text: string, encoding: string) => number)(text, 'utf8');
  try {
    return bound('\u00e9\u{1f600}') === 6 ? bound : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Node's `Buffer.allocUnsafeSlow` when present: a new array of its own memory, not zeroed,
 * for callers that overwrite every byte (zeroing 100 KB costs as much as copying it).
 */
export const nativeAllocUnsafe: ((length: number) => Uint8Array) | undefined = (() => {
  const alloc = (globalThis as { Buffer?: { allocUnsafeSlow?: unknown } }).Buffer?.allocUnsafeSlow;
  if (native === undefined || typeof alloc !== 'function') return undefined;
  try {
    const sample = (alloc as (length: number) => Uint8Array)(3);
    if (!(sample instanceof Uint8Array) || sample.length !== 3 || sample.byteOffset !== 0) {
      return undefined;
    }
  } catch {
    return undefined;
  }
  return (length: number) => {
    const bytes = (alloc as (length: number) => Uint8Array)(length);
    // A plain `Uint8Array` over the Buffer's own memory, as the codecs give out.
    return new Uint8Array(bytes.buffer, 0, length);
  };
})();

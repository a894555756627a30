import { native } from './nativeBytes.js';

/**
 * Sizes of the buffers the small pieces are copied into: the first is small (a batch of one
 * small answer should not allocate and zero 16 KiB), each next one twice the last, up to
 * the largest.
 */
const FIRST_SLAB_BYTES = 1024;
const SLAB_BYTES = 16 * 1024;

const utf8Encoder = new TextEncoder();

/**
 * Collects an encoded body into few chunks: text and small byte arrays are copied one
 * after another into a shared buffer, byte arrays over `passThroughBytes` go out as chunks
 * of their own (never copied). `take()` hands out what was written since the last call.
 * A chunk handed out is never written to again, so it may be held (queued on a socket).
 * One allocation per 16 KiB written (fewer at first), instead of one per piece: a batch of small answers
 * becomes one chunk per run of ready answers, and one socket write.
 */
export class ChunkWriter {
  #buffer = new Uint8Array(0);
  /** Start of what is written and not yet taken, and the end of what is written. */
  #start = 0;
  #end = 0;
  #chunks: Uint8Array[] = [];
  readonly #passThroughBytes: number;

  constructor(passThroughBytes: number) {
    this.#passThroughBytes = passThroughBytes;
  }

  /** Writes `text` as UTF-8. */
  text(text: string): void {
    this.#reserve(text.length * 3);
    if (native !== undefined) {
      this.#end += native.utf8Write.call(
        this.#buffer,
        text,
        this.#end,
        this.#buffer.length - this.#end,
      );
    } else {
      this.#end += utf8Encoder.encodeInto(text, this.#buffer.subarray(this.#end)).written;
    }
  }

  /** Writes `text` one byte per char; callers only pass chars <= 0xff. */
  latin1(text: string): void {
    this.#reserve(text.length);
    if (native !== undefined) {
      this.#end += native.latin1Write.call(this.#buffer, text, this.#end, text.length);
    } else {
      const buffer = this.#buffer;
      let at = this.#end;
      for (let i = 0; i < text.length; i++) buffer[at++] = text.charCodeAt(i);
      this.#end = at;
    }
  }

  /** Writes `bytes`: copied when small, else passed on as a chunk of its own. */
  bytes(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (bytes.length > this.#passThroughBytes) {
      this.#flush();
      this.#chunks.push(bytes);
      return;
    }
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** The chunks written since the last call, in order (none when nothing was). */
  take(): Uint8Array[] {
    this.#flush();
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks;
  }

  #flush(): void {
    if (this.#end === this.#start) return;
    this.#chunks.push(this.#buffer.subarray(this.#start, this.#end));
    this.#start = this.#end;
  }

  /** Makes room for `bytes` more bytes, in a new buffer when this one is too full. */
  #reserve(bytes: number): void {
    if (this.#end + bytes <= this.#buffer.length) return;
    this.#flush();
    const next = Math.min(SLAB_BYTES, Math.max(FIRST_SLAB_BYTES, 2 * this.#buffer.length));
    this.#buffer = new Uint8Array(Math.max(next, bytes));
    this.#start = 0;
    this.#end = 0;
  }
}

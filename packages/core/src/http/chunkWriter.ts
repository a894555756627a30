import { native, nativeAllocUnsafe } from './nativeBytes.js';

/** The size of the slab the writers copy their small pieces into, one after another. */
const SLAB_BYTES = 16 * 1024;

const utf8Encoder = new TextEncoder();

/**
 * The slab every writer shares, and where its written part ends. A writer copies into it
 * from `sharedEnd` on, and what was written is never written again: a batch of one small
 * answer allocates nothing of its own (an array of its own memory per batch, zeroed, was
 * 6 % of such a batch's CPU, and its collection more).
 */
let shared: Uint8Array = new Uint8Array(0);
let sharedEnd = 0;

function newSlab(bytes: number): Uint8Array {
  return nativeAllocUnsafe === undefined ? new Uint8Array(bytes) : nativeAllocUnsafe(bytes);
}

/**
 * Collects an encoded body into few chunks: text and small byte arrays are copied one
 * after another into a slab shared by all writers, byte arrays over `passThroughBytes` go
 * out as chunks of their own (never copied). `take()` hands out what was written since the
 * last call. A chunk handed out is never written to again, so it may be held (queued on a
 * socket). One allocation per 16 KiB written by all writers together, instead of one per
 * piece: a batch of small answers becomes one chunk per run of ready answers, and one
 * socket write.
 */
export class ChunkWriter {
  #buffer: Uint8Array = shared;
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
    this.#wrote();
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
    this.#wrote();
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
    this.#wrote();
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

  /**
   * Makes room for `bytes` more bytes right after what this writer wrote last: in the shared
   * slab when nobody wrote there since (else at its next free byte, or in a new slab), or in
   * a buffer of its own for a piece larger than a slab.
   */
  #reserve(bytes: number): void {
    if (this.#buffer === shared && this.#end === sharedEnd && sharedEnd + bytes <= shared.length)
      return;
    this.#flush();
    if (bytes > SLAB_BYTES) {
      this.#buffer = newSlab(bytes);
      this.#start = 0;
      this.#end = 0;
      return;
    }
    if (sharedEnd + bytes > shared.length) {
      shared = newSlab(SLAB_BYTES);
      sharedEnd = 0;
    }
    this.#buffer = shared;
    this.#start = sharedEnd;
    this.#end = sharedEnd;
  }

  /** What was just written is taken from the shared slab. */
  #wrote(): void {
    if (this.#buffer === shared) sharedEnd = this.#end;
  }
}

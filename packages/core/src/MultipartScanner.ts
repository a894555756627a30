import { BatchError } from './BatchError.js';
import { concatBytes, EMPTY_BYTES, latin1 } from './bytes.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const DASH = 0x2d;
/** Linear white space allowed after a delimiter before its line break. */
const MAX_DELIMITER_PADDING = 256;

/** One body part of a multipart stream. */
export interface MultipartPart {
  /** 1-based part number. */
  number: number;
  /** The part's bytes: everything between its delimiter line and the next delimiter. */
  bytes: Uint8Array;
  /**
   * Offset just past the blank line that ends the part's head (its `headSections`-th
   * blank line), or -1 when the part has fewer blank lines than that.
   */
  headEnd: number;
}

export interface MultipartScannerOptions {
  /** The boundary, without the leading `--`. */
  boundary: string;
  /** Blank lines that end a part's head: 2 for `application/http` parts (part headers, then the inner message head). */
  headSections: number;
  /** Most parts; the next one is rejected. */
  maxParts: number;
  /** Most bytes in a part's head. */
  maxHeadBytes: number;
  /** Most bytes after a part's head (the inner message body, plus trailing line breaks). */
  maxPartBodyBytes: number;
}

enum State {
  Preamble = 0,
  Part = 1,
  Done = 2,
}

/**
 * A push parser for `multipart/*` bodies (RFC 2046), liberal in what it accepts: bare LF
 * or CRLF line breaks, a preamble and an epilogue, white space after a delimiter, a
 * close delimiter with no line break after it. Feed it chunks split anywhere; it gives
 * the same parts for every split. Memory held between chunks is the current part only.
 *
 * Delimiters are found with the engine's native `indexOf` on line feeds: a delimiter
 * always starts right after one (or at the very start of the body).
 */
export class MultipartScanner {
  readonly #delimiter: Uint8Array;
  readonly #options: MultipartScannerOptions;
  #state: State = State.Preamble;
  /** True where a delimiter may start without a line break before it: the body's start, and a part's. */
  #atLineStart = true;
  #carry: Uint8Array = EMPTY_BYTES;
  #parts = 0;
  // The part being read.
  #slices: Uint8Array[] = [];
  #partLength = 0;
  #headEnd = -1;
  #blankLines = 0;
  #lineLength = 0;

  constructor(options: MultipartScannerOptions) {
    this.#options = options;
    this.#delimiter = latin1(`--${options.boundary}`);
  }

  /** True once the close delimiter was read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Feeds one chunk; returns the parts it completed, in order. */
  push(chunk: Uint8Array): MultipartPart[] {
    const out: MultipartPart[] = [];
    if (this.#state === State.Done || chunk.length === 0) return out;
    const buf = this.#carry.length === 0 ? chunk : concatBytes([this.#carry, chunk]);
    this.#carry = EMPTY_BYTES;
    let pos = 0;
    const delimiter = this.#delimiter;
    const length = buf.length;

    while (pos < length) {
      // A delimiter right where content starts: at the start of the body, or an empty part.
      let candidate = -1; // index of the delimiter's first "-"
      let contentEnd = -1;
      if (this.#atLineStart) {
        const match = matchAt(buf, pos, delimiter);
        if (match === Match.Partial) {
          this.#carry = buf.subarray(pos);
          return out;
        }
        if (match === Match.Full) {
          candidate = pos;
          contentEnd = pos;
        }
      }
      this.#atLineStart = false;

      let from = pos;
      while (candidate === -1) {
        const lf = buf.indexOf(LF, from);
        if (lf === -1) break;
        const match = matchAt(buf, lf + 1, delimiter);
        if (match === Match.Mismatch) {
          from = lf + 1;
          continue;
        }
        const cut = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
        if (match === Match.Partial) {
          this.#keep(buf, pos, cut);
          this.#carry = buf.subarray(cut);
          return out;
        }
        candidate = lf + 1;
        contentEnd = cut;
      }

      if (candidate === -1) {
        // No delimiter in sight: keep all but a trailing CR, which may start one.
        const cut = buf[length - 1] === CR ? length - 1 : length;
        this.#keep(buf, pos, cut);
        this.#carry = buf.subarray(cut);
        return out;
      }

      const line = delimiterLine(buf, candidate + delimiter.length);
      if (line === LineEnd.NeedMore) {
        // Wait for the rest of the line; a delimiter found at a line start stays one.
        this.#atLineStart = candidate === contentEnd;
        this.#keep(buf, pos, contentEnd);
        this.#carry = buf.subarray(contentEnd);
        return out;
      }
      if (line === LineEnd.NotDelimiter) {
        // The boundary text is only a prefix of a longer line: it is content.
        const next = candidate + delimiter.length;
        this.#keep(buf, pos, next);
        pos = next;
        continue;
      }
      this.#keep(buf, pos, contentEnd);
      if (this.#state === State.Part) out.push(this.#finishPart());
      if (line === LineEnd.Close) {
        this.#state = State.Done;
        return out;
      }
      this.#startPart();
      this.#atLineStart = true;
      pos = line;
    }
    return out;
  }

  /** Ends the input; throws when the close delimiter never came. */
  end(): void {
    if (this.#state !== State.Done) {
      throw new BatchError(
        'invalid_batch',
        this.#parts === 0
          ? 'multipart body has no delimiter line for its boundary'
          : 'multipart body ends without its closing delimiter',
      );
    }
  }

  #startPart(): void {
    if (this.#parts >= this.#options.maxParts) {
      throw new BatchError(
        'too_many_requests_in_batch',
        `batch holds more than ${this.#options.maxParts} requests`,
      );
    }
    this.#parts++;
    this.#state = State.Part;
    this.#slices = [];
    this.#partLength = 0;
    this.#headEnd = -1;
    this.#blankLines = 0;
    this.#lineLength = 0;
  }

  #finishPart(): MultipartPart {
    const bytes = concatBytes(this.#slices, this.#partLength);
    this.#slices = [];
    return { number: this.#parts, bytes, headEnd: this.#headEnd };
  }

  /** Adds `buf[start, end)` to the current part (preamble bytes are dropped). */
  #keep(buf: Uint8Array, start: number, end: number): void {
    if (end <= start || this.#state !== State.Part) return;
    const slice = buf.subarray(start, end);
    const before = this.#partLength;
    this.#slices.push(slice);
    this.#partLength += slice.length;
    if (this.#headEnd === -1) this.#scanHead(slice, before);
    if (this.#headEnd !== -1 && this.#partLength - this.#headEnd > this.#options.maxPartBodyBytes) {
      throw BatchError.part(
        'item_body_too_large',
        this.#parts,
        `body is larger than ${this.#options.maxPartBodyBytes} bytes`,
      );
    }
  }

  /** Counts blank lines until the head ends; enforces the head size limit. */
  #scanHead(slice: Uint8Array, offset: number): void {
    const { headSections, maxHeadBytes } = this.#options;
    const limit = Math.min(slice.length, maxHeadBytes - offset + 1);
    for (let i = 0; i < limit; i++) {
      const c = slice[i]!;
      if (c === LF) {
        if (this.#lineLength === 0 && ++this.#blankLines === headSections) {
          this.#headEnd = offset + i + 1;
          return;
        }
        this.#lineLength = 0;
      } else if (c !== CR) {
        this.#lineLength++;
      }
    }
    if (offset + slice.length > maxHeadBytes) {
      throw BatchError.part(
        'part_headers_too_large',
        this.#parts,
        `headers are larger than ${maxHeadBytes} bytes`,
      );
    }
  }
}

enum Match {
  Mismatch = 0,
  Full = 1,
  Partial = 2,
}

function matchAt(buf: Uint8Array, at: number, pattern: Uint8Array): Match {
  const available = buf.length - at;
  const n = Math.min(available, pattern.length);
  for (let i = 0; i < n; i++) if (buf[at + i] !== pattern[i]) return Match.Mismatch;
  return n === pattern.length ? Match.Full : Match.Partial;
}

enum LineEnd {
  NeedMore = -1,
  NotDelimiter = -2,
  Close = -3,
}

/**
 * Reads the rest of a delimiter line starting at `at` (just past `--boundary`). Returns
 * the offset of the next part's first byte, or a `LineEnd` code.
 */
function delimiterLine(buf: Uint8Array, at: number): number {
  const length = buf.length;
  if (at >= length) return LineEnd.NeedMore;
  if (buf[at] === DASH) {
    if (at + 1 >= length) return LineEnd.NeedMore;
    return buf[at + 1] === DASH ? LineEnd.Close : LineEnd.NotDelimiter;
  }
  let i = at;
  while (i < length && (buf[i] === SP || buf[i] === HT)) {
    if (i - at >= MAX_DELIMITER_PADDING) {
      throw new BatchError('invalid_batch', 'delimiter line has too much trailing white space');
    }
    i++;
  }
  if (i >= length) return LineEnd.NeedMore;
  if (buf[i] === LF) return i + 1;
  if (buf[i] === CR) {
    if (i + 1 >= length) return LineEnd.NeedMore;
    return buf[i + 1] === LF ? i + 2 : LineEnd.NotDelimiter;
  }
  return LineEnd.NotDelimiter;
}

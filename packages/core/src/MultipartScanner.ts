import { BatchError } from './BatchError.js';
import {
  concatBytes,
  EMPTY_BYTES,
  indexOfByte,
  indexOfBytes,
  latin1,
  plainBytes,
} from './bytes.js';

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
}

export interface MultipartScannerOptions {
  /** The boundary, without the leading `--`. */
  boundary: string;
  /** Most parts; the next one is rejected. */
  maxParts: number;
  /** Most bytes in a part's head. */
  maxHeadBytes: number;
  /**
   * Most bytes in a part's body: the bytes after its head, less up to
   * `BODY_LINE_BREAK_SLACK` bytes of line breaks that may follow a `Content-Length` body.
   */
  maxBodyBytes: number;
}

/** Line breaks allowed after a body whose `Content-Length` is exactly the limit. */
export const BODY_LINE_BREAK_SLACK = 4;

/** The error for a part whose head passes `maxHeadBytes` (the same wherever it is found). */
export function headTooLarge(part: number, maxHeadBytes: number): BatchError {
  return BatchError.part(
    'part_headers_too_large',
    part,
    `headers are larger than ${maxHeadBytes} bytes`,
  );
}

/** Throws when `bodyBytes` (everything after the head) passes the body limit. */
export function checkBodySize(
  part: number,
  bodyBytes: number,
  limits: Pick<MultipartScannerOptions, 'maxBodyBytes'>,
): void {
  if (bodyBytes > limits.maxBodyBytes + BODY_LINE_BREAK_SLACK) {
    throw BatchError.part(
      'item_body_too_large',
      part,
      `body is larger than ${limits.maxBodyBytes} bytes`,
    );
  }
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
  /** The delimiter with the line feed that always comes before it. */
  readonly #lfDelimiter: Uint8Array;
  /**
   * Offset in `#lfDelimiter` of its byte that is rarest in the body (sampled from the
   * first chunk): the search looks for the delimiter from there, so the native search's
   * first-byte scan stops rarely (a line feed is frequent in pretty-printed JSON).
   */
  #searchFrom = -1;
  readonly #options: MultipartScannerOptions;
  #state: State = State.Preamble;
  /** True where a delimiter may start without a line break before it: the body's start, and a part's. */
  #atLineStart = true;
  #carry: Uint8Array = EMPTY_BYTES;
  #parts = 0;
  // The part being read.
  #slices: Uint8Array[] = [];
  /** Slices of the open part already scanned for the end of its head. */
  #scannedSlices = 0;
  #partLength = 0;
  #headEnd = -1;
  #headPhase = 0;
  #lineLength = 0;
  #lineFirst = 0;

  constructor(options: MultipartScannerOptions) {
    this.#options = options;
    this.#delimiter = latin1(`--${options.boundary}`);
    this.#lfDelimiter = latin1(`\n--${options.boundary}`);
  }

  /** True once the close delimiter was read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Feeds one chunk; returns the parts it completed, in order. A part still open at the
   * end of the chunk has its head and body sizes checked now, so that limits hold while
   * reading; a completed part is checked by its reader (`headEnd` does the same count).
   */
  push(chunk: Uint8Array): MultipartPart[] {
    const out: MultipartPart[] = [];
    if (this.#state === State.Done || chunk.length === 0) return out;
    const bytes = plainBytes(chunk);
    const buf = this.#carry.length === 0 ? bytes : concatBytes([this.#carry, bytes]);
    this.#carry = EMPTY_BYTES;
    this.#scan(buf, out);
    if (this.#state === State.Part) this.#checkOpenPart();
    return out;
  }

  #scan(buf: Uint8Array, out: MultipartPart[]): void {
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
          return;
        }
        if (match === Match.Full) {
          candidate = pos;
          contentEnd = pos;
        }
      }
      this.#atLineStart = false;

      if (candidate === -1) {
        const lf = this.#findDelimiter(buf, pos);
        if (lf === -1) {
          // No delimiter in sight: keep all but a tail that may begin one.
          const cut = this.#tailCut(buf, pos);
          this.#keep(buf, pos, cut);
          this.#carry = buf.subarray(cut);
          return;
        }
        candidate = lf + 1;
        contentEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      }

      const line = delimiterLine(buf, candidate + delimiter.length);
      if (line === LineEnd.NeedMore) {
        // Wait for the rest of the line; a delimiter found at a line start stays one.
        this.#atLineStart = candidate === contentEnd;
        this.#keep(buf, pos, contentEnd);
        this.#carry = buf.subarray(contentEnd);
        return;
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
        return;
      }
      this.#startPart();
      this.#atLineStart = true;
      pos = line;
    }
    return;
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

  /** Index of the first `\n--boundary` at or after `pos`, or -1. */
  #findDelimiter(buf: Uint8Array, pos: number): number {
    const needle = this.#lfDelimiter;
    if (this.#searchFrom === -1) this.#searchFrom = rarestByteOffset(needle, buf);
    const k = this.#searchFrom;
    if (k === 0) return indexOfBytes(buf, needle, pos);
    const suffix = needle.subarray(k);
    for (
      let at = indexOfBytes(buf, suffix, pos + k);
      at !== -1;
      at = indexOfBytes(buf, suffix, at + 1)
    ) {
      const start = at - k;
      let j = 0;
      while (j < k && buf[start + j] === needle[j]) j++;
      if (j === k) return start;
    }
    return -1;
  }

  /**
   * Where the bytes that may still begin a delimiter start, at the end of `buf`: a line
   * feed followed by a prefix of the delimiter, or a final CR; `buf.length` when none.
   */
  #tailCut(buf: Uint8Array, pos: number): number {
    const length = buf.length;
    let lf = indexOfByte(buf, LF, Math.max(pos, length - this.#lfDelimiter.length + 1));
    while (lf !== -1) {
      if (matchAt(buf, lf + 1, this.#delimiter) === Match.Partial) {
        return lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      }
      lf = indexOfByte(buf, LF, lf + 1);
    }
    return length > pos && buf[length - 1] === CR ? length - 1 : length;
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
    this.#scannedSlices = 0;
    this.#headEnd = -1;
    this.#headPhase = 0;
    this.#lineLength = 0;
    this.#lineFirst = 0;
  }

  #finishPart(): MultipartPart {
    const bytes = concatBytes(this.#slices, this.#partLength);
    this.#slices = [];
    return { number: this.#parts, bytes };
  }

  /** Adds `buf[start, end)` to the current part (preamble bytes are dropped). */
  #keep(buf: Uint8Array, start: number, end: number): void {
    if (end <= start || this.#state !== State.Part) return;
    this.#slices.push(buf.subarray(start, end));
    this.#partLength += end - start;
  }

  /** Scans the open part's new slices for the end of its head, and checks both limits. */
  #checkOpenPart(): void {
    const slices = this.#slices;
    let offset = this.#partLength;
    for (let i = slices.length - 1; i >= this.#scannedSlices; i--) offset -= slices[i]!.length;
    for (; this.#scannedSlices < slices.length && this.#headEnd === -1; this.#scannedSlices++) {
      const slice = slices[this.#scannedSlices]!;
      this.#scanHead(slice, offset);
      offset += slice.length;
    }
    this.#scannedSlices = slices.length;
    if (this.#headEnd !== -1)
      checkBodySize(this.#parts, this.#partLength - this.#headEnd, this.#options);
  }

  /**
   * Follows the head of an `application/http` part until it ends: part headers, a blank
   * line, any further blank lines, the start line, headers, and the blank line that ends
   * it (blank: empty, or a lone CR). Enforces the head size limit. State carries over
   * from one slice to the next; `parseHead` reads heads by the same rule.
   */
  #scanHead(slice: Uint8Array, offset: number): void {
    const { maxHeadBytes } = this.#options;
    let lineLength = this.#lineLength;
    let lineFirst = this.#lineFirst;
    let phase = this.#headPhase;
    const stop = Math.min(slice.length, maxHeadBytes - offset);
    for (let i = 0; i < stop; i++) {
      const c = slice[i]!;
      if (c === LF) {
        if (lineLength === 0 || (lineLength === 1 && lineFirst === CR)) {
          if (phase === 2) {
            this.#headEnd = offset + i + 1;
            return;
          }
          phase = 1;
        } else if (phase === 1) {
          phase = 2;
        }
        lineLength = 0;
      } else {
        if (lineLength === 0) lineFirst = c;
        lineLength++;
      }
    }
    if (offset + slice.length > maxHeadBytes) throw headTooLarge(this.#parts, maxHeadBytes);
    this.#lineLength = lineLength;
    this.#lineFirst = lineFirst;
    this.#headPhase = phase;
  }
}

/** Bytes of the body sampled to pick the delimiter byte to search for. */
const SAMPLE_BYTES = 4096;

/** The offset in `needle` of the byte that occurs least often in (a sample of) `data`. */
function rarestByteOffset(needle: Uint8Array, data: Uint8Array): number {
  const counts = new Uint32Array(256);
  const end = Math.min(data.length, SAMPLE_BYTES);
  for (let i = 0; i < end; i++) counts[data[i]!]!++;
  let best = 0;
  for (let k = 1; k < needle.length; k++)
    if (counts[needle[k]!]! < counts[needle[best]!]!) best = k;
  return best;
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

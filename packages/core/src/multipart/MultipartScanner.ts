import {
  concatBytes,
  EMPTY_BYTES,
  fromLatin1,
  indexOfByte,
  indexOfBytes,
  latin1,
  plainBytes,
} from '../http/bytes.js';
import { BatchError } from '../model/BatchError.js';
import { type PartLocation, partError } from './partError.js';
import { changeSetBoundary } from './partHeaders.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const DASH = 0x2d;
/** Linear white space allowed after a delimiter before its line break. */
const MAX_DELIMITER_PADDING = 256;

/** One body part of a multipart stream. */
export interface MultipartPart {
  /** 1-based part number (for a part inside a change set: the change set's part number). */
  number: number;
  /** The part's bytes: everything between its delimiter line and the next delimiter. */
  bytes: Uint8Array;
  /**
   * Set for a part inside a change set (option `changeSets`): `ordinal` is the change set's
   * 1-based rank among the body's change sets, `part` the part's 1-based position in it.
   */
  changeSet?: { ordinal: number; part: number };
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
  /**
   * Read a part whose `Content-Type` is `multipart/mixed; boundary=…` as a change set (SPEC
   * §2): its inner parts are given one by one, as they complete, in place of the part, each
   * with `changeSet` set. Every limit holds for them as for any part (`maxParts` counts them,
   * not the change set). A change set inside a change set, a change set with no part, and
   * one without its closing delimiter are `400`s naming the part.
   * @default false
   */
  changeSets?: boolean | undefined;
}

/** Line breaks allowed after a body whose `Content-Length` is exactly the limit. */
export const BODY_LINE_BREAK_SLACK = 4;

/** The error for a part whose head passes `maxHeadBytes` (the same wherever it is found). */
export function headTooLarge(part: PartLocation, maxHeadBytes: number): BatchError {
  return partError('part_headers_too_large', part, `headers are larger than ${maxHeadBytes} bytes`);
}

/** Throws when `bodyBytes` (everything after the head) passes the body limit. */
export function checkBodySize(
  part: PartLocation,
  bodyBytes: number,
  limits: Pick<MultipartScannerOptions, 'maxBodyBytes'>,
): void {
  if (bodyBytes > limits.maxBodyBytes + BODY_LINE_BREAK_SLACK) {
    throw partError(
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
  Failed = 3,
}

/** What the open part is. */
enum Kind {
  /** Its part headers have not ended yet (only while change sets are looked for). */
  Unknown = 0,
  /** A message part: its bytes are kept until it ends. */
  Message = 1,
  /** A change set: its bytes go to a nested scanner as they arrive, and are not kept. */
  ChangeSet = 2,
}

/** Counts shared by a scanner and the scanners of its change sets. */
interface Budget {
  /** Parts started that are not change sets: what `maxParts` limits. */
  parts: number;
  changeSets: number;
}

/**
 * A push parser for `multipart/*` bodies (RFC 2046), liberal in what it accepts: bare LF
 * or CRLF line breaks, a preamble and an epilogue, white space after a delimiter, a
 * close delimiter with no line break after it. Feed it chunks split anywhere; it gives
 * the same parts for every split. Memory held between chunks is the current part only
 * (for a change set: the current part of the change set).
 *
 * Delimiters are found with the engine's native `indexOf` on line feeds: a delimiter
 * always starts right after one (or at the very start of the body).
 *
 * Errors are given in part order: when a chunk completes some parts and then runs into an
 * error, `push` returns those parts and the error is thrown by `throwIfFailed()`, and by
 * every later `push` or `end`. A reader that checks each part it gets, then calls
 * `throwIfFailed()`, so reports the first problem of the body whatever its chunking.
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
  #error: BatchError | undefined;
  /** True where a delimiter may start without a line break before it: the body's start, and a part's. */
  #atLineStart = true;
  #carry: Uint8Array = EMPTY_BYTES;
  /** Parts started, this one included (the part number). */
  #parts = 0;
  #budget: Budget = { parts: 0, changeSets: 0 };
  /** For the scanner of a change set: the change set's part number and ordinal. */
  #within: { number: number; ordinal: number } | undefined;
  /** The parts completed by the current `push`. */
  #out: MultipartPart[] = [];
  // The part being read.
  #kind: Kind = Kind.Message;
  #slices: Uint8Array[] = [];
  /** Slices of the open part already scanned for the end of its head. */
  #scannedSlices = 0;
  #partLength = 0;
  #headEnd = -1;
  #headPhase = 0;
  #lineLength = 0;
  #lineFirst = 0;
  /** The line being read while the part headers have not ended (`Kind.Unknown`). */
  #detectLength = 0;
  #detectFirst = 0;
  /** A part header line seen so far is (or may be) `Content-Type: multipart/…`. */
  #maybeChangeSet = false;
  /** The scanner of the open change set (`Kind.ChangeSet`). */
  #changeSet: MultipartScanner | undefined;

  constructor(options: MultipartScannerOptions) {
    this.#options = options;
    this.#delimiter = latin1(`--${options.boundary}`);
    this.#lfDelimiter = latin1(`\n--${options.boundary}`);
  }

  /** The scanner of a change set: it shares its parent's budget and names its parts `N.k`. */
  static #forChangeSet(
    parent: MultipartScanner,
    boundary: string,
    within: { number: number; ordinal: number },
  ): MultipartScanner {
    const scanner = new MultipartScanner({ ...parent.#options, boundary, changeSets: false });
    scanner.#budget = parent.#budget;
    scanner.#within = within;
    return scanner;
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
    this.throwIfFailed();
    const out: MultipartPart[] = [];
    if (this.#state === State.Done || chunk.length === 0) return out;
    const bytes = plainBytes(chunk);
    const buf = this.#carry.length === 0 ? bytes : concatBytes([this.#carry, bytes]);
    this.#carry = EMPTY_BYTES;
    this.#out = out;
    try {
      this.#scan(buf, out);
      if (this.#state === State.Part) this.#checkOpenPart();
    } catch (error) {
      if (!(error instanceof BatchError)) throw error;
      this.#error = error;
      this.#state = State.Failed;
      this.#slices = [];
      this.#changeSet = undefined;
    }
    this.#out = [];
    return out;
  }

  /** Throws the error that stopped the scan, if one did (see the class comment). */
  throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error;
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
      if (this.#state === State.Part) {
        const part = this.#finishPart();
        if (part !== undefined) out.push(part);
      }
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
    this.throwIfFailed();
    if (this.#state === State.Done) return;
    const what = this.#within === undefined ? 'multipart body' : 'change set';
    const detail =
      this.#parts === 0
        ? `${what} has no delimiter line for its boundary`
        : `${what} ends without its closing delimiter`;
    throw this.#within === undefined
      ? new BatchError('invalid_batch', detail)
      : partError('invalid_batch', this.#within.number, detail);
  }

  /** Where the open part is, for errors. */
  #location(): PartLocation {
    const within = this.#within;
    return within === undefined
      ? this.#parts
      : { number: within.number, changeSet: { ordinal: within.ordinal, part: this.#parts } };
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
    if (this.#budget.parts >= this.#options.maxParts) {
      throw new BatchError(
        'too_many_requests_in_batch',
        `batch holds more than ${this.#options.maxParts} requests`,
      );
    }
    this.#budget.parts++;
    this.#parts++;
    this.#state = State.Part;
    this.#kind =
      this.#options.changeSets === true || this.#within !== undefined ? Kind.Unknown : Kind.Message;
    this.#slices = [];
    this.#partLength = 0;
    this.#scannedSlices = 0;
    this.#headEnd = -1;
    this.#headPhase = 0;
    this.#lineLength = 0;
    this.#lineFirst = 0;
    this.#detectLength = 0;
    this.#detectFirst = 0;
    this.#maybeChangeSet = false;
  }

  /** The part just ended; `undefined` for a change set (its parts were given already). */
  #finishPart(): MultipartPart | undefined {
    if (this.#kind === Kind.ChangeSet) {
      const changeSet = this.#changeSet!;
      this.#changeSet = undefined;
      changeSet.end();
      if (changeSet.#parts === 0) {
        throw partError('invalid_batch', this.#parts, 'change set holds no request');
      }
      return undefined;
    }
    const bytes = concatBytes(this.#slices, this.#partLength);
    this.#slices = [];
    const within = this.#within;
    return within === undefined
      ? { number: this.#parts, bytes }
      : { number: within.number, bytes, changeSet: { ordinal: within.ordinal, part: this.#parts } };
  }

  /** Adds `buf[start, end)` to the current part (preamble bytes are dropped). */
  #keep(buf: Uint8Array, start: number, end: number): void {
    if (end <= start || this.#state !== State.Part) return;
    if (this.#kind === Kind.ChangeSet) {
      this.#feedChangeSet(buf.subarray(start, end));
      return;
    }
    this.#slices.push(buf.subarray(start, end));
    const offset = this.#partLength;
    this.#partLength += end - start;
    if (this.#kind === Kind.Unknown) this.#findPartHeadersEnd(buf, start, end, offset);
  }

  /**
   * Looks in `buf[start, end)` (at `offset` in the part) for the blank line that ends the
   * part headers (blank: empty, or a lone CR); once found, decides what the part is.
   */
  #findPartHeadersEnd(buf: Uint8Array, start: number, end: number, offset: number): void {
    let lineLength = this.#detectLength;
    let first = this.#detectFirst;
    let i = start;
    while (i < end) {
      // A line `Content-Type: multipart/…` (or one that may be, cut by the range's end).
      if (lineLength === 0 && (buf[i]! | 0x20) === 0x63 && namesMultipart(buf, i, end))
        this.#maybeChangeSet = true;
      // Part header lines are short: a plain loop beats a native search here.
      let lf = i;
      while (lf < end && buf[lf] !== LF) lf++;
      if (lf === end) {
        if (lineLength === 0) first = buf[i]!;
        lineLength += end - i;
        break;
      }
      if (lineLength === 0 && lf > i) first = buf[i]!;
      const length = lineLength + (lf - i);
      if (length === 0 || (length === 1 && first === CR)) {
        this.#decide(offset + (lf - start) + 1);
        return;
      }
      lineLength = 0;
      i = lf + 1;
    }
    this.#detectLength = lineLength;
    this.#detectFirst = first;
  }

  /** The part headers end at `headersEnd`: the part is a change set or a message part. */
  #decide(headersEnd: number): void {
    const slices = this.#slices;
    const first = slices[0]!;
    const head = first.length >= headersEnd ? first : concatBytes(slices, this.#partLength);
    const boundary = this.#maybeChangeSet
      ? changeSetBoundary(fromLatin1(head, 0, headersEnd), this.#location())
      : undefined;
    if (boundary === undefined) {
      this.#kind = Kind.Message;
      return;
    }
    // A change set's own part headers are its head: they are held to the same limit.
    if (headersEnd > this.#options.maxHeadBytes)
      throw headTooLarge(this.#location(), this.#options.maxHeadBytes);
    if (this.#within !== undefined) {
      throw partError(
        'invalid_batch',
        this.#location(),
        'a change set cannot contain another change set (change sets are one level deep)',
      );
    }
    this.#kind = Kind.ChangeSet;
    // The change set's part is not a request: its parts are, and each counts on its own.
    this.#budget.parts--;
    this.#budget.changeSets++;
    this.#changeSet = MultipartScanner.#forChangeSet(this, boundary, {
      number: this.#parts,
      ordinal: this.#budget.changeSets,
    });
    this.#slices = [];
    this.#partLength = 0;
    let skip = headersEnd;
    for (const slice of slices) {
      if (skip >= slice.length) {
        skip -= slice.length;
        continue;
      }
      this.#feedChangeSet(skip === 0 ? slice : slice.subarray(skip));
      skip = 0;
    }
  }

  /** Gives bytes of the open change set to its scanner, and its completed parts to `push`. */
  #feedChangeSet(bytes: Uint8Array): void {
    const changeSet = this.#changeSet!;
    for (const part of changeSet.push(bytes)) this.#out.push(part);
    try {
      changeSet.throwIfFailed();
    } catch (error) {
      // An error of the change set's framing that names no part is about the change set.
      if (
        error instanceof BatchError &&
        error.code === 'invalid_batch' &&
        error.errors.length === 0
      )
        throw partError('invalid_batch', this.#parts, `change set: ${error.message}`);
      throw error;
    }
  }

  /** Scans the open part's new slices for the end of its head, and checks both limits. */
  #checkOpenPart(): void {
    if (this.#kind === Kind.ChangeSet) return; // its scanner checked its own open part
    if (this.#kind === Kind.Unknown) {
      // The part headers alone are already more than a head may hold.
      if (this.#partLength > this.#options.maxHeadBytes)
        throw headTooLarge(this.#location(), this.#options.maxHeadBytes);
      return;
    }
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
      checkBodySize(this.#location(), this.#partLength - this.#headEnd, this.#options);
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
    if (offset + slice.length > maxHeadBytes) throw headTooLarge(this.#location(), maxHeadBytes);
    this.#lineLength = lineLength;
    this.#lineFirst = lineFirst;
    this.#headPhase = phase;
  }
}

const CONTENT_TYPE = latin1('content-type:');
const MULTIPART = latin1('multipart/');

/**
 * A quick look, without making a string, at whether the line at `at` is
 * `Content-Type: multipart/…` (any case) — or may be, when `end` cuts it short: only then
 * are the part headers read as a change set's.
 */
function namesMultipart(buf: Uint8Array, at: number, end: number): boolean {
  const typeAt = at + CONTENT_TYPE.length;
  if (typeAt > end) return equalsLowerAt(buf, at, end, CONTENT_TYPE);
  if (!equalsLowerAt(buf, at, typeAt, CONTENT_TYPE)) return false;
  let i = typeAt;
  while (i < end && (buf[i] === SP || buf[i] === HT)) i++;
  return equalsLowerAt(buf, i, Math.min(end, i + MULTIPART.length), MULTIPART);
}

/**
 * True when `bytes[at, end)` is a prefix of `lower` in any ASCII case (`lower`: lower-case
 * letters and symbols).
 */
function equalsLowerAt(bytes: Uint8Array, at: number, end: number, lower: Uint8Array): boolean {
  for (let i = 0; at + i < end && i < lower.length; i++) {
    const c = bytes[at + i]!;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower[i]) return false;
  }
  return true;
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

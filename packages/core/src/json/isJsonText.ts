/**
 * True when `bytes` are one complete JSON text (RFC 8259) in valid UTF-8, with no byte
 * order mark. Iterative and allocation-free, so a JSON sub-response can be spliced into
 * a JSON batch response as the bytes it already is, after this check.
 */
export function isJsonText(bytes: Uint8Array): boolean {
  const n = bytes.length;
  // Open containers, innermost last: 1 = object, 2 = array.
  const stack: number[] = [];
  let i = skipSpace(bytes, 0);
  for (;;) {
    // Expect a value at i.
    if (i >= n) return false;
    const c = bytes[i]!;
    if (c === 0x7b /* { */) {
      i = skipSpace(bytes, i + 1);
      if (bytes[i] === 0x7d /* } */) {
        i++;
      } else {
        stack.push(1);
        i = member(bytes, i);
        if (i < 0) return false;
        continue;
      }
    } else if (c === 0x5b /* [ */) {
      i = skipSpace(bytes, i + 1);
      if (bytes[i] === 0x5d /* ] */) {
        i++;
      } else {
        stack.push(2);
        continue;
      }
    } else if (c === 0x22 /* " */) {
      i = string(bytes, i);
    } else if (c === 0x74 /* t */) {
      i = literal(bytes, i, TRUE);
    } else if (c === 0x66 /* f */) {
      i = literal(bytes, i, FALSE);
    } else if (c === 0x6e /* n */) {
      i = literal(bytes, i, NULL);
    } else {
      i = number(bytes, i);
    }
    if (i < 0) return false;
    // After a value: close containers or move to the next element.
    for (;;) {
      i = skipSpace(bytes, i);
      const top = stack[stack.length - 1];
      if (top === undefined) return i === n;
      const d = bytes[i];
      if (d === 0x2c /* , */) {
        i = skipSpace(bytes, i + 1);
        if (top === 1) {
          i = member(bytes, i);
          if (i < 0) return false;
        }
        break;
      }
      if ((top === 1 && d === 0x7d) || (top === 2 && d === 0x5d)) {
        stack.pop();
        i++;
        continue;
      }
      return false;
    }
  }
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function skipSpace(bytes: Uint8Array, i: number): number {
  const n = bytes.length;
  while (i < n) {
    const c = bytes[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
  return i;
}

/** A member name and its colon; returns the index of the value, or -1. */
function member(bytes: Uint8Array, i: number): number {
  if (bytes[i] !== 0x22) return -1;
  i = string(bytes, i);
  if (i < 0) return -1;
  i = skipSpace(bytes, i);
  if (bytes[i] !== 0x3a /* : */) return -1;
  return skipSpace(bytes, i + 1);
}

function literal(bytes: Uint8Array, i: number, word: number[]): number {
  for (let k = 0; k < word.length; k++) if (bytes[i + k] !== word[k]) return -1;
  return i + word.length;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function number(bytes: Uint8Array, i: number): number {
  if (bytes[i] === 0x2d /* - */) i++;
  if (bytes[i] === 0x30) i++;
  else if (isDigit(bytes[i])) while (isDigit(bytes[i])) i++;
  else return -1;
  if (bytes[i] === 0x2e /* . */) {
    i++;
    if (!isDigit(bytes[i])) return -1;
    while (isDigit(bytes[i])) i++;
  }
  if (bytes[i] === 0x65 || bytes[i] === 0x45) {
    i++;
    if (bytes[i] === 0x2b || bytes[i] === 0x2d) i++;
    if (!isDigit(bytes[i])) return -1;
    while (isDigit(bytes[i])) i++;
  }
  return i;
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined &&
    ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

function isContinuation(c: number | undefined): boolean {
  return c !== undefined && (c & 0xc0) === 0x80;
}

/** What a byte is inside a string: plain, `"`, `\\`, a control char (invalid), non-ASCII. */
const PLAIN = 0;
const QUOTE = 1;
const BACKSLASH = 2;
const CONTROL = 3;
const NON_ASCII = 4;
const STRING_BYTE = new Uint8Array(256);
STRING_BYTE.fill(CONTROL, 0, 0x20);
STRING_BYTE.fill(NON_ASCII, 0x80);
STRING_BYTE[0x22] = QUOTE;
STRING_BYTE[0x5c] = BACKSLASH;

/** A string starting at the quote at `i`; returns the index after its closing quote, or -1. */
function string(bytes: Uint8Array, i: number): number {
  const n = bytes.length;
  i++;
  while (i < n) {
    const kind = STRING_BYTE[bytes[i]!];
    // Plain ASCII, the bulk of most strings: the loop is kept tight.
    if (kind === PLAIN) {
      i++;
      continue;
    }
    if (kind === QUOTE) return i + 1;
    if (kind === BACKSLASH) {
      const e = bytes[i + 1];
      if (e === 0x75 /* u */) {
        if (
          !isHex(bytes[i + 2]) ||
          !isHex(bytes[i + 3]) ||
          !isHex(bytes[i + 4]) ||
          !isHex(bytes[i + 5])
        ) {
          return -1;
        }
        i += 6;
      } else if (
        e === 0x22 ||
        e === 0x5c ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
      } else {
        return -1;
      }
    } else if (kind === CONTROL) {
      return -1;
    } else {
      const next = utf8Sequence(bytes, i, bytes[i]!);
      if (next < 0) return -1;
      i = next;
    }
  }
  return -1;
}

/** Validates one multi-byte UTF-8 sequence at `i` (lead byte `c`); returns the next index or -1. */
function utf8Sequence(bytes: Uint8Array, i: number, c: number): number {
  const b1 = bytes[i + 1];
  if (c >= 0xc2 && c <= 0xdf) return isContinuation(b1) ? i + 2 : -1;
  if (b1 === undefined) return -1;
  if (c >= 0xe0 && c <= 0xef) {
    const low = c === 0xe0 ? 0xa0 : 0x80;
    const high = c === 0xed ? 0x9f : 0xbf;
    return b1 >= low && b1 <= high && isContinuation(bytes[i + 2]) ? i + 3 : -1;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const low = c === 0xf0 ? 0x90 : 0x80;
    const high = c === 0xf4 ? 0x8f : 0xbf;
    return b1 >= low && b1 <= high && isContinuation(bytes[i + 2]) && isContinuation(bytes[i + 3])
      ? i + 4
      : -1;
  }
  return -1;
}

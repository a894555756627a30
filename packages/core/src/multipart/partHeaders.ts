import { parseMediaType } from '../http/contentType.js';
import { equalsLower, isTokenChar } from '../http/headerNames.js';
import { BatchError } from '../model/BatchError.js';
import { multipartBoundary } from './multipartBoundary.js';
import { type PartLocation, partError } from './partError.js';

/**
 * Parses the header line `text[start, end)` as `name: value` in one pass; throws on a
 * malformed line, obs-fold, or a value holding a control byte (HTAB aside) or DEL — the
 * same rule as a JSON item's header values.
 */
export function parseHeaderLine(
  text: string,
  start: number,
  end: number,
  part: PartLocation,
): [string, string] {
  const first = text.charCodeAt(start);
  if (first === 0x20 || first === 0x09) {
    throw partError('invalid_batch', part, 'obsolete line folding in headers is not allowed');
  }
  let colon = start;
  while (colon < end && isTokenChar(text.charCodeAt(colon))) colon++;
  if (colon === start || colon === end || text.charCodeAt(colon) !== 0x3a) {
    throw partError(
      'invalid_batch',
      part,
      `malformed header line "${printable(text.slice(start, end))}"`,
    );
  }
  let valueStart = colon + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && isOws(text.charCodeAt(valueStart))) valueStart++;
  while (valueEnd > valueStart && isOws(text.charCodeAt(valueEnd - 1))) valueEnd--;
  for (let i = valueStart; i < valueEnd; i++) {
    const c = text.charCodeAt(i);
    // RFC 9110 §5.5 field-value: HTAB, SP, VCHAR and obs-text; no other control byte.
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      throw partError(
        'invalid_batch',
        part,
        `header ${text.slice(start, colon)} has a forbidden character`,
      );
    }
  }
  return [text.slice(start, colon), text.slice(valueStart, valueEnd)];
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Text safe to quote in an error message: at most 60 characters, printable ASCII. */
export function printable(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return shown.replace(/[^\x20-\x7e]/g, '?');
}

/** Throws unless a `Content-Transfer-Encoding` is one that leaves the bytes as they are. */
export function checkTransferEncoding(value: string, part: PartLocation): void {
  if (!equalsLower(value, 'binary') && !equalsLower(value, '8bit') && !equalsLower(value, '7bit')) {
    throw partError(
      'invalid_batch',
      part,
      `Content-Transfer-Encoding "${printable(value)}" is not supported (use binary)`,
    );
  }
}

const CONTENT_TYPE_LINE = /^content-type:[ \t]*multipart\/mixed[ \t]*(;|$)/i;

/**
 * Reads the part headers `text` (a part's first bytes up to and including the blank line
 * that ends them) and tells whether the part is a change set (SPEC §2): its
 * `Content-Type` is `multipart/mixed`. Returns the change set's boundary, or `undefined` for
 * any other part (left to the part's reader). The part headers of a change set are checked
 * here, as strictly as a request part's are: no reader sees them after this.
 */
export function changeSetBoundary(text: string, part: PartLocation): string | undefined {
  let found = false;
  for (let at = 0; at < text.length; ) {
    const lf = text.indexOf('\n', at);
    const line = text.slice(at, lf === -1 ? text.length : lf);
    if ((line.charCodeAt(0) | 0x20) === 0x63 && CONTENT_TYPE_LINE.test(line)) {
      found = true;
      break;
    }
    if (lf === -1) break;
    at = lf + 1;
  }
  if (!found) return undefined;
  let contentType: string | undefined;
  for (let at = 0; at < text.length; ) {
    let lf = text.indexOf('\n', at);
    if (lf === -1) lf = text.length;
    const end = lf > at && text.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
    if (end === at) break; // the blank line that ends the part headers
    const [name, value] = parseHeaderLine(text, at, end, part);
    if (equalsLower(name, 'content-type')) {
      if (contentType !== undefined) {
        throw partError('invalid_batch', part, 'change set has more than one Content-Type');
      }
      contentType = value;
    } else if (equalsLower(name, 'content-transfer-encoding')) {
      checkTransferEncoding(value, part);
    }
    at = lf + 1;
  }
  if (contentType === undefined || parseMediaType(contentType)?.type !== 'multipart/mixed') {
    return undefined;
  }
  try {
    return multipartBoundary(contentType);
  } catch (error) {
    if (!(error instanceof BatchError)) throw error;
    throw partError(error.code, part, `change set: ${error.message}`);
  }
}

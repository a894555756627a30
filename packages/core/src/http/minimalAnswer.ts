import type { HeaderList, SubResponse } from '../model/types.js';

/**
 * The headers that described a body, dropped with it from a minimal answer (SPEC §7).
 * `Location`, `ETag`, `Last-Modified`, `Content-Location` and every other header stay.
 */
const BODY_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-range',
  'transfer-encoding',
]);

/** True when `Prefer: return=minimal` drops this answer's body: its status is < 400 (SPEC §7). */
export function isMinimalAnswer(status: number): boolean {
  return status < 400;
}

/** `headers` without those that described the dropped body; the same list when it has none. */
export function minimalHeaders(headers: HeaderList): HeaderList {
  let kept: HeaderList | undefined;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    if (BODY_HEADERS.has(header[0].toLowerCase())) kept ??= headers.slice(0, i);
    else kept?.push(header);
  }
  return kept ?? headers;
}

/**
 * Cancels a streamed body that will not be written (its producer stops and frees what it
 * holds, instead of being read to the end). Bytes need nothing.
 */
export function cancelBody(body: SubResponse['body']): void {
  if (body === null || body instanceof Uint8Array) return;
  try {
    const done = body[Symbol.asyncIterator]().return?.();
    if (done !== undefined) done.catch(() => {});
  } catch {
    // A body that cannot be cancelled is left to the garbage collector.
  }
}

/**
 * A sub-response as `Prefer: return=minimal` answers it (SPEC §7): below 400 its body is
 * dropped (a stream cancelled, not read); 400 and above it stays whole. The headers are
 * trimmed where the answer is written.
 */
export function dropBodyIfMinimal(response: SubResponse): SubResponse {
  if (!isMinimalAnswer(response.status) || response.body === null) return response;
  cancelBody(response.body);
  return { ...response, body: null };
}

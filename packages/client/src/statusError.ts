import { BatchFetchError } from './BatchFetchError.js';

/** A `BatchFetchError('status')` for an answer that is not a batch: its status and the start of its body. */
export async function statusError(
  response: Response,
  what = 'batch request',
): Promise<BatchFetchError> {
  let text = '';
  try {
    text = new TextDecoder().decode(new Uint8Array(await response.arrayBuffer()).subarray(0, 2048));
  } catch {
    // The body was lost too: the status says enough.
  }
  return new BatchFetchError('status', `${what} answered ${response.status}: ${text}`, {
    status: response.status,
    cause: text,
  });
}

import { ClientAbort } from '@batch/core';

/** What `clientGone` needs of a Node response (`ServerResponse`, `Http2ServerResponse`). */
export interface ClosingResponse {
  once(event: 'close', listener: () => void): unknown;
  readonly writableFinished: boolean;
  readonly destroyed?: boolean;
  readonly closed?: boolean;
}

/**
 * Aborted when the batch request's own response closes before it finished: the client went
 * away. A `ClientAbort`, not an `AbortController` (on a busy server one per batch cost more
 * than decoding and encoding a batch of one). Once: past its end `writableFinished` is true.
 */
export function clientGone(res: ClosingResponse): ClientAbort {
  const gone = new ClientAbort();
  const onClose = () => {
    if (!res.writableFinished) gone.abort();
  };
  if (res.closed === true || res.destroyed === true) onClose();
  else res.once('close', onClose);
  return gone;
}

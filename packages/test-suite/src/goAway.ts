import { encodeBatchRequest } from '@batch/core';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client that goes away mid-batch: posts a JSON batch of GETs to `targets` at `url`,
 * aborts the request once `started()` (polled: not after a fixed time, a busy machine), then
 * waits until `done()` or 10 s have passed, for what the server did about it.
 */
export async function postThenGoAway(
  url: string,
  targets: string[],
  started: () => boolean,
  done: () => boolean,
): Promise<void> {
  const encoded = encodeBatchRequest(
    'json',
    targets.map((target) => ({ target })),
  );
  const controller = new AbortController();
  const pending = fetch(url, {
    method: 'POST',
    headers: { 'content-type': encoded.contentType },
    body: encoded.body as Uint8Array<ArrayBuffer>,
    signal: controller.signal,
  }).catch(() => undefined);
  while (!started()) await pause(10);
  controller.abort();
  await pending;
  for (let waited = 0; !done() && waited < 10_000; waited += 20) await pause(20);
}

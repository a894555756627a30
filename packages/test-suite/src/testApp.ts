/**
 * The contract of the app each adapter's conformance test builds, idiomatically for its
 * framework. Every route below must behave exactly so; the suite checks batches against it.
 *
 * - every request except the batch route itself is recorded: `log.push(`${METHOD} ${url}`)`
 *   (url with its query) before it is answered;
 * - `ANY /echo…` (any path under `/echo`) → 200 `application/json`: `{ method, url, body,
 *   headers: { authorization, cookie, accept-language, host, x-custom, content-type }, ip }`
 *   where `body` is the parsed JSON body, or the text body, or `null`, each header is
 *   its value or `null`, and `ip` is the client address the framework reports (or `null`);
 * - `GET /cookies` → 200 `text/plain` `ok` with two `Set-Cookie` headers, `a=1; Path=/` and `b=2; Path=/`;
 * - `GET /binary` → 200 `application/octet-stream`, the 256 bytes 0..255;
 * - `GET /header?name=N&spaces=K` → 200 `application/json` `{ value }`: the request header
 *   `N` as the framework reports it (or `null`), with a response header `X-Echo: a<K spaces>b`
 *   when `spaces` is given (a value an app builds from request data);
 * - `GET /text` → 200 `text/plain; charset=utf-8`, `héllo wörld`;
 * - `GET /empty` → 204; `GET /not-modified` → 304; `GET /redirect` → 302 with `Location: /echo`;
 * - `GET /slow/:ms` → waits `ms` milliseconds, then 200 `{ "slept": ms }`;
 * - `GET /big/:kb` → 200 `application/octet-stream` of `kb` KiB of `x`;
 * - `GET /fail` → the handler throws `new Error('boom')`; the app's error handler answers
 *   500 `application/json` `{ "error": "boom" }`;
 * - `GET /private` → 401 `application/json` `{ "error": "unauthorized" }` without an
 *   `Authorization` header (an empty one counts as none), else 200 `{ "ok": true }`;
 * - `GET /stream` → 200 `text/plain`, written as three chunks `a`, `b`, `c` with pauses;
 * - the batch route, mounted with the adapter at the `batchPath` given, with the options given.
 */
export interface RunningApp {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Requests the app answered (not the batch route), as `METHOD url`. */
  log: string[];
  close(): Promise<void>;
}

/** What the conformance suite needs from an adapter's test. */
export interface ConformanceTarget {
  /** Starts the test app on 127.0.0.1, port 0, with the batch route at `batchPath`. */
  start(options: {
    batchPath: string;
    batch: import('@batch/core').BatchOptions;
  }): Promise<RunningApp>;
}

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type PlaygroundAsset, playgroundAssets } from './playgroundAssets.js';
import { SIMULATED_RTT_HEADER, simulatedRoundTrip } from './simulatedRoundTrip.js';

/**
 * The page's policy: its own scripts and styles only (no inline script, nothing from
 * elsewhere); `connect-src` is open so that the page can show a call to another origin
 * bypassing the batch.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src *; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface PlaygroundOptions {
  /** The page's files. @default `playgroundAssets()` (the built page) */
  assets?: Map<string, PlaygroundAsset>;
}

/**
 * Wraps an app's node:http request listener (Express's `app`, Koa's `app.callback()`,
 * `@hono/node-server`'s listener) to serve the playground — `GET /playground` and its
 * files — and to simulate a round trip: a request carrying `X-Playground-RTT: <ms>` is
 * handled that long after it arrived (a bad value is answered `400`).
 *
 * It sits in front of the app, on real HTTP requests only: the sub-requests of a batch run
 * in-process through the app and never come here, so a batch waits once, however many
 * calls it carries — although each of them inherits the header.
 */
export function withPlayground(
  listener: RequestListener,
  options: PlaygroundOptions = {},
): RequestListener {
  const assets = options.assets ?? playgroundAssets();
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const asset = assets.get(path === '/playground/' ? '/playground' : path);
    if (asset !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      sendAsset(res, asset, req.method === 'HEAD');
      return;
    }
    const rtt = simulatedRoundTrip(req.headers[SIMULATED_RTT_HEADER]);
    if ('error' in rtt) {
      const body = JSON.stringify({
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: rtt.error,
      });
      res.writeHead(400, {
        'content-type': 'application/problem+json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    if (rtt.delayMs === 0) {
      listener(req, res);
      return;
    }
    const timer = setTimeout(() => listener(req, res), rtt.delayMs);
    // The client gave up while it waited: nothing to answer.
    res.once('close', () => clearTimeout(timer));
  };
}

function sendAsset(res: ServerResponse, asset: PlaygroundAsset, head: boolean): void {
  res.writeHead(200, {
    'content-type': asset.contentType,
    'content-length': asset.body.length,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
    ...(asset.contentType.startsWith('text/html')
      ? { 'content-security-policy': CONTENT_SECURITY_POLICY, 'referrer-policy': 'no-referrer' }
      : {}),
  });
  res.end(head ? undefined : asset.body);
}

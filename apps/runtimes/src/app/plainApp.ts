import { batch } from '@batch/fetch';
import { copies, describeRequest } from './describeRequest.js';

/**
 * A fetch handler with no framework, under `/plain/`: the app `@batch/fetch` dispatches
 * into, and its batch route `POST /plain/batch` in front of it.
 */
function routes(request: Request, env?: unknown, ctx?: unknown): Response | Promise<Response> {
  const url = new URL(request.url);
  switch (url.pathname) {
    case '/plain/hello':
      return new Response(`hello ${url.searchParams.get('name')}`);
    case '/plain/echo':
      return request.text().then((body) =>
        Response.json({
          method: request.method,
          body,
          auth: request.headers.get('authorization'),
          type: request.headers.get('content-type'),
        }),
      );
    case '/plain/cookies': {
      const headers = new Headers([
        ['set-cookie', 'a=1; Path=/'],
        ['set-cookie', 'b=2; Path=/'],
      ]);
      return new Response(null, { status: 204, headers });
    }
    case '/plain/request':
      return Response.json(describeRequest(request, env, ctx));
    case '/plain/copy':
      return copies(request).then((seen) => Response.json(seen));
    case '/plain/fail':
      throw new Error('boom');
    default:
      return new Response('not found', { status: 404 });
  }
}

const handleBatch = batch(routes, { concurrency: 4 });

/** The plain app: `/plain/batch` answers batches, anything else goes to the routes. */
export function plainApp(request: Request, env?: unknown, ctx?: unknown): Promise<Response> {
  if (new URL(request.url).pathname === '/plain/batch') {
    return handleBatch(request, { env, executionCtx: ctx });
  }
  return Promise.resolve(routes(request, env, ctx));
}

import { honoApp } from './honoApp.js';
import { plainApp } from './plainApp.js';

/**
 * The module every runtime serves: `/hono/*` is the Hono app (`@batch/hono`), anything else
 * the plain fetch handler (`@batch/fetch`). `env` and `ctx` are what the runtime passes
 * (Workers: bindings and the execution context; Bun: the server; Deno: the connection info).
 */
export const handler = {
  fetch(request: Request, env?: unknown, ctx?: unknown): Response | Promise<Response> {
    if (new URL(request.url).pathname.startsWith('/hono/')) {
      return honoApp.fetch(request, env, ctx as never);
    }
    return plainApp(request, env, ctx);
  },
};

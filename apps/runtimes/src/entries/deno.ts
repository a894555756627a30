import { handler } from '../app/handler.js';

/** What this entry uses of Deno's API (no Deno types needed for one call). */
declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen(address: { port: number }): void },
    fetch: (request: Request, info: unknown) => Response | Promise<Response>,
  ): unknown;
};

// `deno run --allow-net=127.0.0.1 dist/deno.js`: Deno's own server on a free port; the port
// is the first line out.
Deno.serve(
  {
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ listening: port })),
  },
  (request, info) => handler.fetch(request, info),
);

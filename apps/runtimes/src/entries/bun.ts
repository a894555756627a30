import { handler } from '../app/handler.js';

/** What this entry uses of Bun's API (no @types/bun needed for two calls). */
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request, server: unknown): Response | Promise<Response>;
  }): { port: number };
};

// `bun dist/bun.js`: Bun's own server on a free port; the port is the first line out.
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: (request, bunServer) => handler.fetch(request, bunServer),
});
console.log(JSON.stringify({ listening: server.port }));

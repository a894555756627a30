/** What a route saw of its request and of the runtime: the tests compare direct and batched. */
export interface RequestDescription {
  /** `bun`, `deno`, `workerd` or `node`. */
  runtime: string;
  /** `request instanceof Request`. */
  isRequest: boolean;
  /** The request is not a plain `Request` but @batch/fetch's lazy one (a subclass). */
  lazy: boolean;
  /** A Workers binding passed through (`env.GREETING`), else `null`. */
  greeting: string | null;
  /** The execution context has `waitUntil()` (Workers). */
  waitUntil: boolean;
  authorization: string | null;
}

export function describeRequest(request: Request, env: unknown, ctx: unknown): RequestDescription {
  const greeting = (env as { GREETING?: unknown } | null | undefined)?.GREETING;
  const waitUntil = (ctx as { waitUntil?: unknown } | null | undefined)?.waitUntil;
  return {
    runtime: runtimeName(),
    isRequest: request instanceof Request,
    lazy: Object.getPrototypeOf(request) !== Request.prototype,
    greeting: typeof greeting === 'string' ? greeting : null,
    waitUntil: typeof waitUntil === 'function',
    authorization: request.headers.get('authorization'),
  };
}

function runtimeName(): string {
  const global = globalThis as {
    Bun?: unknown;
    Deno?: unknown;
    navigator?: { userAgent?: string };
  };
  if (global.Bun !== undefined) return 'bun';
  if (global.Deno !== undefined) return 'deno';
  if (global.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  return 'node';
}

/**
 * What a `clone()` and a `new Request(request)` of the request carry: the runtime's own
 * constructor reading the request (for @batch/fetch's lazy one, through its internal slots).
 */
export async function copies(request: Request) {
  const clone = request.clone();
  const copy = new Request(request);
  return {
    clone: await clone.text(),
    copy: await copy.text(),
    method: copy.method,
    url: copy.url,
    authorization: copy.headers.get('authorization'),
  };
}

import type { HeaderList, SubRequest } from '@batch/core';

/**
 * What `app.fetch` gets for one sub-request: a lazy `Request`. Hono's hot path reads only
 * `url`, `method` and `headers` of `c.req.raw`; everything else a `Request` has (`body`,
 * `clone()`, `formData()`, `cache`, …) materialises a real `Request` on first touch and is
 * delegated to it from then on — as @hono/node-server's own light-weight request does.
 * `text()`, `json()`, `arrayBuffer()` and `bytes()` of a body not yet touched otherwise are
 * served from the item's bytes (no stream); `headers` and `signal` are made when first read.
 *
 * The object's prototype chain goes through the runtime's `Request.prototype`, so
 * `instanceof Request` holds. The runtime's `Request` constructor (and `fetch`) reads a
 * `Request` argument through its internal slots; on Node's undici those are own
 * symbol-keyed properties, which the lazy request forwards to its real one. A self-test
 * run once per global `Request` (`new Request(lazy)` must copy method, URL, headers, body
 * and follow the signal) decides; where it fails (another runtime, a future undici with
 * private fields) every sub-request is a real `Request`, as before.
 */
export function createSubRequest(
  origin: string,
  request: SubRequest,
  signal: AbortSignal | (() => AbortSignal),
): Request {
  const url = urlOf(origin, request.target);
  const bodyless = request.method === 'GET' || request.method === 'HEAD';
  const body = bodyless || request.body.length === 0 ? null : request.body;
  if (lazyRequestsWork()) {
    if (FORBIDDEN_METHODS.has(request.method.toUpperCase())) {
      // What the Request constructor throws (the item then answers 500, as before).
      throw new TypeError(`'${request.method}' HTTP method is unsupported.`);
    }
    return new LazyRequest(
      url,
      request.method,
      request.headers,
      body,
      typeof signal === 'function' ? signal : () => signal,
    ) as unknown as Request;
  }
  return new Request(url, {
    method: request.method,
    headers: request.headers,
    body: body as Uint8Array<ArrayBuffer> | null,
    signal: typeof signal === 'function' ? signal() : signal,
  });
}

/** Methods the Request constructor refuses (fetch standard: forbidden methods). */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * Targets made only of characters the URL parser leaves as they are (no `%`, `'`, `#`,
 * `\`, spaces or controls) and without dot segments are appended as they are; anything
 * else is parsed, so `url` is always what `new Request(origin + target).url` would be.
 */
const PLAIN_TARGET = /^\/[!$&(-;=?-[\]_a-z~]*$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/;

/** `new URL(origin + target).href`, without parsing when it cannot change anything. */
export function urlOf(origin: string, target: string): string {
  return PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)
    ? origin + target
    : new URL(origin + target).href;
}

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const INSPECT = Symbol.for('nodejs.util.inspect.custom');
/** Members the lazy request serves itself; every other one of `Request.prototype` is delegated. */
const OWN = new Set<PropertyKey>([
  'constructor',
  'url',
  'method',
  'headers',
  'signal',
  'body',
  'bodyUsed',
  'text',
  'json',
  'arrayBuffer',
  'bytes',
  Symbol.toStringTag,
  INSPECT,
]);

class LazyRequest {
  readonly #url: string;
  readonly #method: string;
  readonly #headerList: HeaderList;
  /** The body bytes (the engine's; never handed out, only copies), or `null`. */
  readonly #body: Uint8Array | null;
  /**
   * The item's signal (DispatchContext.signal, made when first read): aborted on timeout,
   * deadline, disconnect. Asked for only when the app reads `signal` or needs a real Request.
   */
  readonly #parentSignal: () => AbortSignal;
  #headers: Headers | undefined;
  #signal: AbortSignal | undefined;
  /** The real Request, once anything but the fast members was touched. */
  #real: Request | undefined;
  /** The body was read by a fast member (before any real Request existed). */
  #used = false;

  constructor(
    url: string,
    method: string,
    headers: HeaderList,
    body: Uint8Array | null,
    signal: () => AbortSignal,
  ) {
    this.#url = url;
    this.#method = method;
    this.#headerList = headers;
    this.#body = body;
    this.#parentSignal = signal;
  }

  get url(): string {
    return this.#url;
  }

  get method(): string {
    return this.#method;
  }

  /** Made on first read; the same object from then on (the real Request is built from it). */
  get headers(): Headers {
    if (this.#headers === undefined) this.#headers = new Headers(this.#headerList);
    return this.#headers;
  }

  /** Follows the item's signal (as a real Request's does), made on first read. */
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      this.#signal =
        this.#real?.signal ??
        (typeof AbortSignal.any === 'function'
          ? AbortSignal.any([this.#parentSignal()])
          : this.#materialise().signal);
    }
    return this.#signal;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === null && this.#real === undefined) return null;
    return this.#materialise().body;
  }

  get bodyUsed(): boolean {
    return this.#real === undefined ? this.#used : this.#real.bodyUsed;
  }

  text(): Promise<string> {
    if (!this.#fast()) return this.#materialise().text();
    return Promise.resolve(decoder.decode(this.#take()));
  }

  json(): Promise<unknown> {
    if (!this.#fast()) return this.#materialise().json();
    try {
      return Promise.resolve(JSON.parse(decoder.decode(this.#take())));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (!this.#fast()) return this.#materialise().arrayBuffer();
    return Promise.resolve(new Uint8Array(this.#take()).buffer); // a copy, exactly sized
  }

  bytes(): Promise<Uint8Array> {
    if (!this.#fast())
      return (this.#materialise() as unknown as { bytes(): Promise<Uint8Array> }).bytes();
    return Promise.resolve(new Uint8Array(this.#take()));
  }

  /** A body read can be served from the bytes: nothing real exists and nothing read it. */
  #fast(): boolean {
    return this.#real === undefined && !this.#used;
  }

  /** The body bytes for one fast read, marking the body used (a null body never is). */
  #take(): Uint8Array {
    if (this.#body === null) return EMPTY;
    this.#used = true;
    return this.#body;
  }

  /** The real Request: made once, from the current headers; its body disturbed when a fast read used ours. */
  #materialise(): Request {
    if (this.#real === undefined) {
      const real = new RealRequest!(this.#url, {
        method: this.#method,
        headers: this.headers,
        body: this.#body as Uint8Array<ArrayBuffer> | null,
        signal: this.#parentSignal(),
      });
      if (this.#used) real.arrayBuffer().catch(() => {});
      this.#real = real;
    }
    return this.#real;
  }

  /**
   * Chains the class to `Root.prototype` and delegates to the real Request every member of
   * `Root.prototype` it does not serve itself, plus the `internal` keys (the runtime's own
   * slots, read by its constructor and methods).
   */
  static install(Root: typeof Request, internal: readonly symbol[]): void {
    const prototype = LazyRequest.prototype;
    Object.setPrototypeOf(prototype, Root.prototype);
    Object.defineProperty(prototype, 'constructor', {
      value: Root,
      configurable: true,
      writable: true,
    });
    // A member this runtime's Request lacks (`bytes()` before Node 20.16) is not added either.
    for (const key of Reflect.ownKeys(prototype)) {
      if (typeof key === 'string' && !(key in Root.prototype))
        Reflect.deleteProperty(prototype, key);
    }
    const real = (self: unknown) => {
      if (!(#real in (self as object))) throw new TypeError('Illegal invocation');
      return (self as LazyRequest).#materialise() as unknown as Record<PropertyKey, unknown>;
    };
    for (const key of Reflect.ownKeys(Root.prototype)) {
      if (OWN.has(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(Root.prototype, key)!;
      if (descriptor.get !== undefined) {
        Object.defineProperty(prototype, key, {
          configurable: true,
          enumerable: descriptor.enumerable ?? false,
          get(this: unknown) {
            return real(this)[key];
          },
        });
      } else if (typeof descriptor.value === 'function') {
        Object.defineProperty(prototype, key, {
          configurable: true,
          enumerable: descriptor.enumerable ?? false,
          writable: true,
          value(this: unknown, ...args: unknown[]) {
            const target = real(this);
            return (target[key] as (...a: unknown[]) => unknown).apply(target, args);
          },
        });
      }
    }
    for (const key of internal) {
      Object.defineProperty(prototype, key, {
        configurable: true,
        get(this: unknown) {
          return real(this)[key];
        },
        set(this: unknown, value: unknown) {
          real(this)[key] = value;
        },
      });
    }
    Object.defineProperty(prototype, INSPECT, {
      configurable: true,
      value(
        this: LazyRequest,
        depth: number,
        options: object,
        inspect: (v: unknown, o: object) => string,
      ) {
        const shown = {
          method: this.#method,
          url: this.#url,
          headers: this.headers,
          real: this.#real,
        };
        return `Request (lazy) ${inspect(shown, { ...options, depth: depth === null ? null : depth - 1 })}`;
      },
    });
  }
}

/** The runtime's base `Request` class (under the subclasses @hono/node-server installs). */
let RealRequest: typeof Request | undefined;
/** The self-test's verdict, per global `Request` constructor (globals may be swapped). */
let verdict: { for: typeof Request; works: boolean } | undefined;

/** True when lazy requests behave as real ones with this runtime's `Request` (tested once). */
export function lazyRequestsWork(): boolean {
  const Global = globalThis.Request;
  if (verdict?.for !== Global) verdict = { for: Global, works: selfTest(Global) };
  return verdict.works;
}

function rootOf(Global: typeof Request): typeof Request {
  let Root = Global;
  for (
    let parent = Object.getPrototypeOf(Root);
    typeof parent === 'function' && parent.prototype;
  ) {
    Root = parent;
    parent = Object.getPrototypeOf(Root);
  }
  return Root;
}

function selfTest(Global: typeof Request): boolean {
  try {
    const Root = rootOf(Global);
    if (RealRequest === undefined) {
      const internal = Object.getOwnPropertySymbols(new Root('http://localhost/'));
      LazyRequest.install(Root, internal);
      RealRequest = Root;
    } else if (RealRequest !== Root) return false;
    const controller = new AbortController();
    const lazy = new LazyRequest(
      'http://localhost/probe?q=1',
      'PATCH',
      [['x-probe', 'a']],
      Uint8Array.of(104, 105),
      () => controller.signal,
    ) as unknown as Request;
    if (!(lazy instanceof Global) || !(lazy instanceof Root)) return false;
    const copy = new Global(lazy);
    controller.abort();
    return (
      copy.url === lazy.url &&
      copy.method === 'PATCH' &&
      copy.headers.get('x-probe') === 'a' &&
      copy.body !== null &&
      lazy.bodyUsed &&
      copy.signal.aborted &&
      lazy.signal.aborted
    );
  } catch {
    return false;
  }
}

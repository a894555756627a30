import { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type { SubRequest } from '@batch/core';
import { describe, expect, it } from 'vitest';
import { connectionOf } from './BatchSocket.js';
import { dispatchToNode } from './dispatchToNode.js';
import type { NodeHandler } from './MessageFactory.js';

// V8's own view of two objects: do they share a hidden class (map)? Compiled after the flag.
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b);') as (
  a: object,
  b: object,
) => boolean;

const connection = connectionOf(undefined);
const get = (target: string): SubRequest => ({
  method: 'GET',
  target,
  headers: [['Host', 'localhost']],
  body: new Uint8Array(0),
});
const run = (handler: NodeHandler, target = '/items/1') =>
  dispatchToNode(handler, get(target), connection, new AbortController().signal);

interface Seen {
  req: IncomingMessage;
  res: ServerResponse;
  /** The prototypes `req` and `res` had when the handler got them. */
  requestPrototype: object;
  responsePrototype: object;
  ownKeys: PropertyKey[];
}

/**
 * What Express does to a request (`app.handle`, `router.handle`): swaps in its own
 * prototypes first thing, then adds properties to both objects, then answers.
 */
function expressLike(
  prototypes = () => ({ request: requestPrototype(), response: responsePrototype() }),
) {
  const seen: Seen[] = [];
  const handler: NodeHandler = (req, res) => {
    seen.push({
      req,
      res,
      requestPrototype: Object.getPrototypeOf(req) as object,
      responsePrototype: Object.getPrototypeOf(res) as object,
      ownKeys: Reflect.ownKeys(req),
    });
    const { request, response } = prototypes();
    res.setHeader('X-Powered-By', 'test');
    Object.setPrototypeOf(req, request);
    Object.setPrototypeOf(res, response);
    const app = req as IncomingMessage & Record<string, unknown>;
    app.res = res;
    app.next = () => {};
    app.baseUrl = '';
    app.originalUrl = req.url;
    app.params = { id: req.url?.split('/').pop() };
    app.route = { path: '/items/:id' };
    (res as ServerResponse & { locals: object }).locals = Object.create(null);
    (res as ServerResponse & { json(value: unknown): void }).json({
      params: app.params,
      app: app.app,
      protocol: app.protocol,
    });
  };
  return { handler, seen };
}

function requestPrototype(): object {
  const request = Object.create(IncomingMessage.prototype, {
    app: { value: 'the app', enumerable: true, configurable: true, writable: true },
  }) as Record<string, unknown>;
  Object.defineProperty(request, 'protocol', {
    get() {
      return 'http';
    },
    configurable: true,
    enumerable: true,
  });
  return request;
}

function responsePrototype(): object {
  const response = Object.create(ServerResponse.prototype) as Record<string, unknown>;
  response.json = function json(this: ServerResponse, value: unknown) {
    this.setHeader('Content-Type', 'application/json');
    this.end(JSON.stringify(value));
  };
  return response;
}

const text = (body: unknown) => Buffer.from(body as Uint8Array).toString();

describe('MessageFactory: sub-request messages born with the prototypes the handler gives them', () => {
  it('the first two sub-requests get plain messages, the next ones are born with the prototypes the handler swapped in', async () => {
    const request = requestPrototype();
    const response = responsePrototype();
    const { handler, seen } = expressLike(() => ({ request, response }));
    const answers = [
      await run(handler),
      await run(handler),
      await run(handler),
      await run(handler),
    ];
    for (const first of seen.slice(0, 2)) {
      expect(first.requestPrototype).toBe(IncomingMessage.prototype);
      expect(first.responsePrototype).toBe(ServerResponse.prototype);
    }
    for (const later of seen.slice(2)) {
      expect(later.requestPrototype).toBe(request);
      expect(later.responsePrototype).toBe(response);
    }
    // The app cannot tell: same answers, same own fields, same constructor chain.
    expect(answers.map((answer) => text(answer.body))).toEqual(
      Array(4).fill('{"params":{"id":"1"},"app":"the app","protocol":"http"}'),
    );
    expect(answers[3]?.headers).toEqual(answers[0]?.headers);
    expect(seen[3]?.ownKeys).toEqual(seen[0]?.ownKeys);
    for (const { req, res } of seen) {
      expect(req).toBeInstanceOf(IncomingMessage);
      expect(res).toBeInstanceOf(ServerResponse);
      expect(req.constructor).toBe(IncomingMessage);
      expect(res.constructor).toBe(ServerResponse);
      expect(res.req).toBe(req);
    }
  });

  it('born that way, messages keep one V8 map through the swap and the properties added after it', async () => {
    // On Node 20 and 22, a swap (Object.setPrototypeOf) followed by new properties gives every
    // object a map of its own: ~13 KB and megamorphic access per Express request. If this
    // fails, the objects no longer share maps: see MessageFactory (constructor, ROOM).
    const request = requestPrototype();
    const response = responsePrototype();
    const { handler, seen } = expressLike(() => ({ request, response }));
    for (let i = 0; i < 12; i++) await run(handler, `/items/${i}`);
    for (let i = 4; i < 11; i++) {
      expect(haveSameMap(seen[i]!.req, seen[i + 1]!.req), `req ${i} and ${i + 1}`).toBe(true);
      expect(haveSameMap(seen[i]!.res, seen[i + 1]!.res), `res ${i} and ${i + 1}`).toBe(true);
    }
  });

  it('a handler that swaps nothing (Koa, node:http) gets plain messages', async () => {
    const prototypes: object[] = [];
    const handler: NodeHandler = (req, res) => {
      prototypes.push(Object.getPrototypeOf(req) as object, Object.getPrototypeOf(res) as object);
      res.end('ok');
    };
    for (let i = 0; i < 3; i++) await run(handler);
    expect(new Set(prototypes)).toEqual(
      new Set([IncomingMessage.prototype, ServerResponse.prototype]),
    );
  });

  it('a prototype that shadows a message field, or anything Node defines, is never given at birth', async () => {
    const shadowsField = requestPrototype();
    Object.defineProperty(shadowsField, 'url', {
      get() {
        return '/shadowed';
      },
      set() {},
      configurable: true,
    });
    const overridesNode = responsePrototype() as Record<string, unknown>;
    overridesNode.setHeader = function setHeader(
      this: ServerResponse,
      name: string,
      value: string,
    ) {
      return ServerResponse.prototype.setHeader.call(this, name, `${value}!`);
    };
    const { handler, seen } = expressLike(() => ({
      request: shadowsField,
      response: overridesNode,
    }));
    for (let i = 0; i < 4; i++) await run(handler);
    for (const { requestPrototype, responsePrototype } of seen) {
      expect(requestPrototype).toBe(IncomingMessage.prototype);
      expect(responsePrototype).toBe(ServerResponse.prototype);
    }
  });

  it('a handler whose prototypes are new on every request gets plain messages', async () => {
    const { handler, seen } = expressLike();
    for (let i = 0; i < 6; i++) await run(handler);
    expect(seen.every((entry) => entry.requestPrototype === IncomingMessage.prototype)).toBe(true);
  });

  it('a handler whose prototypes keep changing gets plain messages after a few', async () => {
    const made = Array.from({ length: 8 }, () => ({
      request: requestPrototype(),
      response: responsePrototype(),
    }));
    let count = 0;
    // Each pair of prototypes for three requests in a row: learned each time, until no more.
    const { handler, seen } = expressLike(() => made[Math.floor(count++ / 3)]!);
    for (let i = 0; i < 24; i++) await run(handler);
    expect(seen[2]?.requestPrototype).toBe(made[0]?.request);
    expect(seen[5]?.requestPrototype).toBe(made[1]?.request);
    expect(seen[8]?.requestPrototype).toBe(made[2]?.request);
    expect(
      seen.slice(12).every((entry) => entry.requestPrototype === IncomingMessage.prototype),
    ).toBe(true);
  });

  it("one handler's prototypes never reach another handler's messages", async () => {
    const first = expressLike();
    await run(first.handler);
    const prototypes: object[] = [];
    const other: NodeHandler = (req, res) => {
      prototypes.push(Object.getPrototypeOf(req) as object);
      res.end();
    };
    await run(other);
    await run(other);
    expect(prototypes).toEqual([IncomingMessage.prototype, IncomingMessage.prototype]);
  });

  it('still works where code generation from strings is disallowed', async () => {
    const request = requestPrototype();
    const response = responsePrototype();
    const { handler, seen } = expressLike(() => ({ request, response }));
    const RealFunction = globalThis.Function;
    let refused = 0;
    globalThis.Function = function disallowed() {
      refused++;
      throw new EvalError('Code generation from strings disallowed for this context');
    } as unknown as FunctionConstructor;
    await run(handler);
    let second: Promise<unknown>;
    try {
      second = run(handler); // learns the prototypes synchronously, after the handler ran
    } finally {
      globalThis.Function = RealFunction;
    }
    await second;
    expect(refused).toBe(2);
    const answer = await run(handler);
    expect(seen[2]?.requestPrototype).toBe(request);
    expect(text(answer.body)).toBe('{"params":{"id":"1"},"app":"the app","protocol":"http"}');
  });

  // Express is @batch/express's dependency, not this package's: taken from there (tests only).
  const fromExpressPackage = createRequire(new URL('../../express/package.json', import.meta.url));
  for (const name of ['express', 'express4']) {
    it(`${name === 'express' ? 'Express 5' : 'Express 4'}: sub-requests are born with app.request / app.response and share one map`, async () => {
      const express = fromExpressPackage(name) as () => NodeHandler & {
        request: object;
        response: object;
        get(path: string, handler: NodeHandler): void;
      };
      const app = express();
      const seen: Seen[] = [];
      app.get('/items/:id', (req, res) => {
        seen.push({
          req,
          res,
          requestPrototype: Object.getPrototypeOf(req) as object,
          responsePrototype: Object.getPrototypeOf(res) as object,
          ownKeys: [],
        });
        (res as ServerResponse & { json(value: unknown): void }).json({ ok: true });
      });
      const prototypes: object[] = [];
      const handler: NodeHandler = (req, res) => {
        prototypes.push(Object.getPrototypeOf(req) as object);
        return app(req, res);
      };
      for (let i = 0; i < 8; i++) await run(handler, `/items/${i}`);
      // If this fails, Express changed how it gives req/res its prototypes: see MessageFactory.
      expect(prototypes.slice(2)).toEqual(Array(6).fill(app.request));
      for (let i = 3; i < 7; i++) {
        expect(haveSameMap(seen[i]!.req, seen[i + 1]!.req)).toBe(true);
        expect(haveSameMap(seen[i]!.res, seen[i + 1]!.res)).toBe(true);
      }
    });
  }
});

import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Any `(req, res)` handler: an Express app, `koaApp.callback()`, a plain `node:http` listener. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

type Constructor<T> = new (arg: never) => T;

/**
 * In-object room for the fields a message gets: V8 sizes the objects a plain constructor
 * makes by the `this.x =` assignments in its source, so a one-line `Base.call(this, arg)`
 * constructor would make objects whose fields (about 50 on a `ServerResponse`) live in an
 * out-of-object array, copied each time it grows. These assignments are never run; they
 * only size the objects (V8's in-object slack tracking then trims what is not used).
 */
const ROOM = Array.from({ length: 64 }, (_, i) => `this.f${i} = undefined;`).join(' ');

/**
 * A constructor that runs `Base` (an ES5-style constructor, as `IncomingMessage` and
 * `ServerResponse` are: Node itself builds `ServerResponse` with `OutgoingMessage.call`) on
 * an object born with `prototype`.
 */
function bornWith<T>(Base: Constructor<T>, prototype: object): Constructor<T> {
  let Born: Constructor<T>;
  try {
    Born = new Function(
      'Base',
      `'use strict'; return function Born(arg) { if (false) { ${ROOM} } Base.call(this, arg); };`,
    )(Base) as Constructor<T>;
  } catch {
    // Code generation from strings is disallowed: the same, with out-of-object fields.
    Born = function Born(this: unknown, arg: never) {
      (Base as unknown as (this: unknown, arg: never) => void).call(this, arg);
    } as unknown as Constructor<T>;
  }
  Born.prototype = prototype;
  return Born;
}

/** Every key along `prototype`'s chain, up to (and without) `end`. */
function keysAlong(prototype: object | null, end: object | null): Set<PropertyKey> {
  const keys = new Set<PropertyKey>();
  for (let link = prototype; link !== null && link !== end; link = Object.getPrototypeOf(link)) {
    for (const key of Reflect.ownKeys(link)) keys.add(key);
  }
  return keys;
}

/**
 * Whether `Base` objects may be born with `prototype` (a handler swapped it in on `instance`)
 * instead of getting it swapped in later. Only when that cannot change what any code does:
 * `prototype` inherits from `Base.prototype` and adds to it without shadowing anything —
 * no own field of a message (born with it, the constructor's writes would meet an accessor
 * there) and nothing Node's message prototypes define (the bridge's setup calls them before
 * the handler runs, as Node's own constructor does).
 */
function canBeBornWith(Base: Constructor<object>, prototype: object, instance: object): boolean {
  if (
    prototype === Base.prototype ||
    !Object.prototype.isPrototypeOf.call(Base.prototype, prototype)
  )
    return false;
  const added = keysAlong(prototype, Base.prototype);
  for (const key of Reflect.ownKeys(instance)) if (added.has(key)) return false;
  for (const key of keysAlong(Base.prototype, null)) if (added.has(key)) return false;
  return true;
}

/** Most prototypes learned for one handler before it is no longer followed. */
const MAX_LEARNED = 3;

const PlainRequest = IncomingMessage as Constructor<IncomingMessage>;
const PlainResponse = ServerResponse as Constructor<ServerResponse>;

/**
 * Makes the `IncomingMessage` / `ServerResponse` pair of a handler's sub-requests.
 *
 * A framework may swap the prototypes of `req` and `res` for its own (Express does
 * `Object.setPrototypeOf(req, app.request)` first thing). On V8 before 12.x (Node 20 and 22)
 * every property added to an object after such a swap gives that object a map (hidden
 * class) of its own, copying its descriptors — about 13 KB and tens of µs per Express
 * request, and megamorphic property access in everything that touches `req`/`res` after it.
 * So the factory learns the prototypes a handler gives its messages — once it gave the
 * same ones twice in a row — and makes the next pairs born with them: the framework's swap
 * is then a no-op, and the objects share their maps. Nothing else changes: the object is
 * built by the same Node constructor, and the framework sets the same prototype anyway.
 * A handler that swaps nothing (Koa, plain `node:http`) gets plain `new IncomingMessage`;
 * one whose prototypes are new on every request (or keep changing) gets them too.
 */
export class MessageFactory {
  static readonly #byHandler = new WeakMap<NodeHandler, MessageFactory>();

  /** The factory of `handler`'s sub-requests (one per handler). */
  static of(handler: NodeHandler): MessageFactory {
    let factory = MessageFactory.#byHandler.get(handler);
    if (factory === undefined) {
      factory = new MessageFactory();
      MessageFactory.#byHandler.set(handler, factory);
    }
    return factory;
  }

  #Request = PlainRequest;
  #Response = PlainResponse;
  /** The prototypes the handler is expected to give: those the messages are born with. */
  #requestPrototype: object = IncomingMessage.prototype;
  #responsePrototype: object = ServerResponse.prototype;
  /** Other prototypes the handler gave, once: learned if it gives them again. */
  #seenRequest: object | undefined;
  #seenResponse: object | undefined;
  #learned = 0;

  /** A sub-request's `req` on `socket`. */
  request(socket: Socket): IncomingMessage {
    return new this.#Request(socket as never);
  }

  /** The `res` answering `req`. */
  response(req: IncomingMessage): ServerResponse {
    return new this.#Response(req as never);
  }

  /** Learns the prototypes the handler gave `req` and `res` (call it after the handler ran). */
  observe(req: IncomingMessage, res: ServerResponse): void {
    const requestPrototype = Object.getPrototypeOf(req) as object;
    const responsePrototype = Object.getPrototypeOf(res) as object;
    if (
      (requestPrototype === this.#requestPrototype &&
        responsePrototype === this.#responsePrototype) ||
      this.#learned > MAX_LEARNED
    )
      return;
    if (requestPrototype !== this.#seenRequest || responsePrototype !== this.#seenResponse) {
      this.#seenRequest = requestPrototype;
      this.#seenResponse = responsePrototype;
      return;
    }
    this.#seenRequest = undefined;
    this.#seenResponse = undefined;
    if (++this.#learned > MAX_LEARNED) {
      // A handler whose prototypes keep changing: plain messages for good.
      this.#Request = PlainRequest;
      this.#Response = PlainResponse;
      this.#requestPrototype = IncomingMessage.prototype;
      this.#responsePrototype = ServerResponse.prototype;
      return;
    }
    if (requestPrototype !== this.#requestPrototype) {
      this.#requestPrototype = requestPrototype;
      this.#Request = canBeBornWith(IncomingMessage, requestPrototype, req)
        ? bornWith(PlainRequest, requestPrototype)
        : PlainRequest;
    }
    if (responsePrototype !== this.#responsePrototype) {
      this.#responsePrototype = responsePrototype;
      this.#Response = canBeBornWith(ServerResponse, responsePrototype, res)
        ? bornWith(PlainResponse, responsePrototype)
        : PlainResponse;
    }
  }
}

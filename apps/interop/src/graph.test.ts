// The Microsoft Graph JavaScript SDK (@microsoft/microsoft-graph-client 3.0.7, unmodified)
// against the four example apps: a `BatchRequestContent` of `BatchRequestStep`s sent with
// the SDK's own `Client` to `POST /v1.0/$batch`, every answer read through
// `BatchResponseContent`.
//
// How the apps are reached (createApp's existing options, nothing changed in the apps):
// - `batchPath: '/v1.0/$batch'`, where the SDK posts (`baseUrl` + `defaultVersion` + `/$batch`);
// - `batch: { basePath: '/' }`: the SDK sends each step's URL relative to the version
//   (`/articles`), and the apps serve their routes at the root, not under `/v1.0` (SPEC §4
//   would otherwise prefix the batch route's base: `/v1.0/articles`);
// - `conformance: true` for `/binary` (256 bytes) and `/empty` (204);
// - the bearer token through a custom middleware chain (`Client.initWithMiddleware`): the
//   SDK's own `authProvider` is only used for `https://` URLs of Graph or `customHosts`
//   (see the test "authProvider over plain http").

import type { Article } from '@batch/reading-list';
import {
  BatchRequestContent,
  type BatchResponseBody,
  BatchResponseContent,
  Client,
  type Context,
  HTTPMessageHandler,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { APPS, article, articles, scratch } from './apps.js';

/** Sets `Authorization: Bearer <token>` on every request the client sends. */
class BearerToken implements Middleware {
  #next: Middleware | undefined;
  constructor(readonly token: string) {}
  async execute(context: Context): Promise<void> {
    const headers = (context.options?.headers ?? {}) as Record<string, string>;
    context.options = {
      ...context.options,
      headers: { ...headers, Authorization: `Bearer ${this.token}` },
    };
    await this.#next?.execute(context);
  }
  setNext(next: Middleware): void {
    this.#next = next;
  }
}

/** Records what the client puts on the wire: the URL, headers and body of each request. */
class Recorder implements Middleware {
  readonly sent: { url: string; headers: Record<string, string>; body: string }[] = [];
  #next: Middleware | undefined;
  async execute(context: Context): Promise<void> {
    const { request, options } = context;
    this.sent.push({
      url: typeof request === 'string' ? request : request.url,
      headers: { ...(options?.headers as Record<string, string>) },
      body: String(options?.body ?? ''),
    });
    await this.#next?.execute(context);
  }
  setNext(next: Middleware): void {
    this.#next = next;
  }
}

/** A Graph client for the app at `url`, as `owner`, that records what it sends. */
function graphClient(url: string, owner = 'alice') {
  const recorder = new Recorder();
  const client = Client.initWithMiddleware({
    baseUrl: url,
    defaultVersion: 'v1.0',
    middleware: [new BearerToken(owner), recorder, new HTTPMessageHandler()],
  });
  return { client, sent: recorder.sent };
}

/** The Graph batch's app options: the batch where the SDK posts, targets not prefixed. */
const GRAPH_APP = {
  batchPath: '/v1.0/$batch',
  // Graph's convention for binary request bodies: base64 without a `bodyEncoding` marker.
  batch: { basePath: '/', base64StringBodies: true },
  conformance: true,
} as const;

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** The 256 bytes `GET /binary` answers: 0, 1, …, 255. */
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

describe.each(APPS)('Microsoft Graph SDK 3.0.7 against the $name app', (app) => {
  const apps = scratch('interop-graph');
  afterEach(apps.stopAll);
  afterAll(apps.remove);

  it('a serial dependsOn chain — POST creates, GET, PATCH, DELETE, a 204, a binary answer, a 404 — read through BatchResponseContent', async () => {
    const api = await apps.start(app, { ...GRAPH_APP, database: apps.freshFile() });
    const at = (path: string) => new URL(path, api.url);
    const content = new BatchRequestContent([
      {
        id: 'create',
        request: new Request(at('/articles'), {
          method: 'POST',
          headers: JSON_HEADERS,
          body: JSON.stringify(article('Graph')),
        }),
      },
      { id: 'read', dependsOn: ['create'], request: new Request(at('/articles/1')) },
      {
        id: 'patch',
        dependsOn: ['read'],
        request: new Request(at('/articles/1'), {
          method: 'PATCH',
          headers: JSON_HEADERS,
          body: JSON.stringify({ read_position: 42 }),
        }),
      },
      {
        id: 'delete',
        dependsOn: ['patch'],
        request: new Request(at('/articles/1'), { method: 'DELETE' }),
      },
      { id: 'empty', dependsOn: ['delete'], request: new Request(at('/empty')) },
      { id: 'binary', dependsOn: ['empty'], request: new Request(at('/binary')) },
      { id: 'gone', dependsOn: ['binary'], request: new Request(at('/articles/1')) },
    ]);
    const body = await content.getContent();
    // What the SDK builds: origin stripped from each URL, ids, the dependsOn chain.
    expect(body.requests.map((request) => [request.id, request.method, request.url])).toEqual([
      ['create', 'POST', '/articles'],
      ['read', 'GET', '/articles/1'],
      ['patch', 'PATCH', '/articles/1'],
      ['delete', 'DELETE', '/articles/1'],
      ['empty', 'GET', '/empty'],
      ['binary', 'GET', '/binary'],
      ['gone', 'GET', '/articles/1'],
    ]);
    expect(body.requests.map((request) => request.dependsOn)).toEqual([
      undefined,
      ['create'],
      ['read'],
      ['patch'],
      ['delete'],
      ['empty'],
      ['binary'],
    ]);

    const { client, sent } = graphClient(api.url);
    const answer: BatchResponseBody = await client.api('/$batch').post(body);
    expect(sent.map((request) => request.url)).toEqual([`${api.url}/v1.0/$batch`]);
    expect(sent[0]!.headers.Authorization).toBe('Bearer alice');
    // The raw answer: ids echoed in request order, no `body` member for the 204 (SPEC §3).
    expect(answer.responses.map((response) => [response.id, response.status])).toEqual([
      ['create', 201],
      ['read', 200],
      ['patch', 200],
      ['delete', 200], // the reading list's DELETE answers the removed article
      ['empty', 204],
      ['binary', 200],
      ['gone', 404],
    ]);
    expect('body' in answer.responses[4]!).toBe(false);
    expect(answer.responses[5]).toMatchObject({ bodyEncoding: 'base64' });
    // SPEC §3: the answer ends with `failed`, which the SDK does not know and leaves alone.
    expect((answer as BatchResponseBody & { failed?: number[] }).failed).toEqual([6]);

    // Every answer as the SDK gives it: a fetch `Response` built from the JSON item.
    const responses = new BatchResponseContent(answer);
    expect([...responses.getResponses().keys()]).toEqual(body.requests.map((r) => r.id));

    const created = responses.getResponseById('create');
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/articles/1');
    const createdArticle = (await created.json()) as Article;
    expect(createdArticle).toMatchObject({ id: 1, ...article('Graph'), read_position: 0 });

    const read = responses.getResponseById('read');
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe(`"${createdArticle.last_modified}"`);
    expect(await read.json()).toEqual(createdArticle);

    const patched = responses.getResponseById('patch');
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id: 1, read_position: 42 });

    const deleted = responses.getResponseById('delete');
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ id: 1, read_position: 42 });

    // The 204: `new Response(undefined, { status: 204 })` — it must not throw, and is empty.
    const empty = responses.getResponseById('empty');
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');

    // Binary: Graph's convention, a base64 string in `body` (the SDK ignores `bodyEncoding`
    // and hands the base64 text over as the Response's body): decoded, byte for byte.
    const binary = responses.getResponseById('binary');
    expect(binary.status).toBe(200);
    expect(binary.headers.get('content-type')).toBe('application/octet-stream');
    expect(new Uint8Array(Buffer.from(await binary.text(), 'base64'))).toEqual(ALL_BYTES);

    const gone = responses.getResponseById('gone');
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    // And the database agrees: the article was created, then deleted.
    expect(await articles(api)).toEqual([]);
  });

  it('a step whose dependency failed answers 424 and does not run; the SDK reads the statuses', async () => {
    const api = await apps.start(app, GRAPH_APP);
    const at = (path: string) => new URL(path, api.url);
    const content = new BatchRequestContent([
      { id: 'missing', request: new Request(at('/articles/999')) },
      {
        id: 'create',
        dependsOn: ['missing'],
        request: new Request(at('/articles'), {
          method: 'POST',
          headers: JSON_HEADERS,
          body: JSON.stringify(article('NeverCreated')),
        }),
      },
    ]);
    const { client } = graphClient(api.url);
    const answer: BatchResponseBody = await client.api('/$batch').post(await content.getContent());
    expect((answer as BatchResponseBody & { failed?: number[] }).failed).toEqual([0, 1]);
    const responses = new BatchResponseContent(answer);
    expect(responses.getResponseById('missing').status).toBe(404);
    const create = responses.getResponseById('create');
    expect(create.status).toBe(424);
    expect(answer.responses[1]!.body).toMatchObject({ status: 424, title: 'Failed Dependency' });
    expect(await articles(api)).toEqual([]);
  });

  it('KNOWN GAP (SDK): an error answer in application/problem+json reads as "[object Object]" through BatchResponseContent', async () => {
    // BatchResponseContent.createResponseObject JSON.stringify()s `body` only when
    // `headers["Content-Type"].split(";")[0] === "application/json"`; any other JSON type
    // (`application/problem+json`, RFC 9457, which the apps and the engine's 424s use) is
    // passed to `new Response(object)`, which stringifies it to "[object Object]". The wire
    // is right (SPEC §3: a JSON sub-response's body is the parsed value); Graph itself
    // answers errors as `application/json`. The raw item is still readable (above, 424).
    const api = await apps.start(app, GRAPH_APP);
    const content = new BatchRequestContent([
      { id: 'missing', request: new Request(new URL('/articles/999', api.url)) },
    ]);
    const { client } = graphClient(api.url);
    const answer: BatchResponseBody = await client.api('/$batch').post(await content.getContent());
    expect(answer.responses[0]).toMatchObject({
      status: 404,
      headers: { 'Content-Type': expect.stringMatching(/^application\/problem\+json/) },
      body: { status: 404, detail: 'article 999 not found' },
    });
    const missing = new BatchResponseContent(answer).getResponseById('missing');
    expect(await missing.text()).toBe('[object Object]');
  });

  it('KNOWN GAP (SDK on Node): a binary request body (application/octet-stream) is dropped from the batch', async () => {
    // BatchRequestContent.getRequestBody: `clone().json()` fails for bytes; then, because
    // Node 18+ has a global `Blob`, it takes the browser branch and calls `new FileReader()`,
    // which Node does not have: the ReferenceError is swallowed by an empty catch and the
    // step goes out with its `content-type` header and no `body` at all. Nothing our server
    // can do: the bytes never leave the client.
    expect(typeof (globalThis as { FileReader?: unknown }).FileReader).toBe('undefined');
    const api = await apps.start(app, GRAPH_APP);
    const content = new BatchRequestContent([
      {
        id: 'upload',
        request: new Request(new URL('/echo/upload', api.url), {
          method: 'PUT',
          headers: { 'Content-Type': 'application/octet-stream' },
          body: Uint8Array.of(0, 1, 2, 255),
        }),
      },
    ]);
    const body = await content.getContent();
    expect(body.requests).toEqual([
      {
        id: 'upload',
        method: 'PUT',
        url: '/echo/upload',
        headers: { 'content-type': 'application/octet-stream' },
      },
    ]);
    const { client } = graphClient(api.url);
    const answer: BatchResponseBody = await client.api('/$batch').post(body);
    expect(answer.responses[0]).toMatchObject({
      status: 200,
      body: { method: 'PUT', body: null }, // the echo route received no body
    });
  });

  it('a binary request body as the SDK encodes it (base64, no marker) reaches the route as its bytes (base64StringBodies)', async () => {
    // With a FileReader (a browser; emulated here for this test only), the SDK sends the
    // bytes 00 01 02 FF as the data URL's payload, `"body": "AAEC/w=="`, with
    // `"content-type": "application/octet-stream"` and no `bodyEncoding` member — Graph's
    // own convention for non-JSON bodies. SPEC §3 alone would send that string as its UTF-8
    // bytes; the Graph route is mounted with `base64StringBodies: true`, which reads it as
    // base64, so the route receives the 4 bytes.
    const restore = emulateFileReader();
    try {
      const api = await apps.start(app, GRAPH_APP);
      const content = new BatchRequestContent([
        {
          id: 'upload',
          request: new Request(new URL('/echo/upload', api.url), {
            method: 'PUT',
            headers: { 'Content-Type': 'application/octet-stream' },
            body: Uint8Array.of(0, 1, 2, 255),
          }),
        },
      ]);
      const body = await content.getContent();
      expect(body.requests[0]).toEqual({
        id: 'upload',
        method: 'PUT',
        url: '/echo/upload',
        headers: { 'content-type': 'application/octet-stream' },
        body: 'AAEC/w==',
      });
      const { client } = graphClient(api.url);
      const answer: BatchResponseBody = await client.api('/$batch').post(body);
      // The echo route answers the bytes it got as UTF-8 text: 00 01 02, and FF → U+FFFD.
      expect(answer.responses[0]).toMatchObject({
        status: 200,
        body: { method: 'PUT', body: '\u0000\u0001\u0002\uFFFD' },
      });
    } finally {
      restore();
    }
  });

  it("authProvider over plain http: the SDK's default chain sends no token (only https:// Graph or customHosts URLs get one)", async () => {
    // AuthenticationHandler.execute calls the provider only when `isGraphURL(url)` or
    // `isCustomHost(url, customHosts)`, and both require the URL to contain "https://";
    // otherwise it deletes `Authorization` from the request. A deliberate client rule, not
    // a wire problem: the tests above send the token with a custom middleware chain.
    const api = await apps.start(app, GRAPH_APP);
    let asked = 0;
    const client = Client.init({
      baseUrl: api.url,
      defaultVersion: 'v1.0',
      customHosts: new Set(['127.0.0.1']),
      authProvider: (done) => {
        asked++;
        done(null, 'alice');
      },
    });
    const content = new BatchRequestContent([
      { id: 'list', request: new Request(new URL('/articles', api.url)) },
    ]);
    const answer: BatchResponseBody = await client.api('/$batch').post(await content.getContent());
    expect(asked).toBe(0);
    expect(answer.responses[0]!.status).toBe(401);
  });
});

/**
 * Installs a minimal browser `FileReader` (readAsDataURL and the `load` event, all the
 * Graph SDK uses) on `globalThis`; answers the function that removes it.
 */
function emulateFileReader(): () => void {
  class FileReader extends EventTarget {
    result: string | null = null;
    readAsDataURL(blob: Blob): void {
      void blob.arrayBuffer().then((buffer) => {
        const type = blob.type || 'application/octet-stream';
        this.result = `data:${type};base64,${Buffer.from(buffer).toString('base64')}`;
        this.dispatchEvent(new Event('load'));
      });
    }
  }
  const scope = globalThis as { FileReader?: unknown };
  scope.FileReader = FileReader;
  return () => {
    delete scope.FileReader;
  };
}

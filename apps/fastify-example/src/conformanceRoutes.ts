import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

/**
 * The routes of @batch/test-suite's conformance contract (`testApp.ts`): a generic app the
 * suite batches against. They need no bearer token (`/private` has its own 401 rule), and
 * answer their errors as `{ "error": … }`, as the contract says. Their single home: the
 * adapter's own tests (packages/fastify) register them too.
 */

const ECHOED = ['authorization', 'cookie', 'accept-language', 'host', 'x-custom', 'content-type'];

/**
 * Records every request but the batch route's own (as `METHOD url`) in `log`: a root
 * `onRequest` hook, so that requests no route answers (404) are recorded too.
 */
export function requestLog(app: FastifyInstance, log: string[], batchPath: string): void {
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url !== batchPath) log.push(`${request.method} ${request.url}`);
  });
}

/** The conformance routes, in a scope of their own (their error handler, their body parser). */
export const conformanceRoutes: FastifyPluginAsync = async (app) => {
  app.setErrorHandler(async (error, _request, reply) => {
    return reply.code(500).send({ error: (error as Error).message });
  });
  // JSON bodies parsed, any other reach `/echo` as text, an empty one as `null` (whatever
  // parsers the app has).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) =>
    done(null, body === '' ? null : body),
  );

  const echo = async (request: import('fastify').FastifyRequest) => ({
    method: request.method,
    url: request.url,
    body: request.body ?? null,
    headers: Object.fromEntries(ECHOED.map((name) => [name, request.headers[name] || null])),
    ip: request.ip || null,
  });
  app.all('/echo', echo);
  app.all('/echo/*', echo);
  app.get('/cookies', async (_request, reply) => {
    reply.header('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    return reply.type('text/plain').send('ok');
  });
  app.get('/binary', async (_request, reply) =>
    reply
      .type('application/octet-stream')
      .send(Buffer.from(Array.from({ length: 256 }, (_, i) => i))),
  );
  app.get('/header', async (request, reply) => {
    const query = request.query as { name?: string; spaces?: string };
    const spaces = Number(query.spaces);
    if (Number.isSafeInteger(spaces)) reply.header('X-Echo', `a${' '.repeat(spaces)}b`);
    const name = (query.name ?? '').toLowerCase();
    return { value: name === '' ? null : (request.headers[name] ?? null) };
  });
  app.get('/text', async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('héllo wörld'),
  );
  app.get('/empty', async (_request, reply) => reply.code(204).send());
  app.get('/not-modified', async (_request, reply) => reply.code(304).send());
  app.get('/redirect', async (_request, reply) => reply.redirect('/echo'));
  app.get<{ Params: { ms: string } }>('/slow/:ms', async (request) => {
    const ms = Number(request.params.ms);
    await sleep(ms);
    return { slept: ms };
  });
  app.get<{ Params: { kb: string } }>('/big/:kb', async (request, reply) =>
    reply
      .type('application/octet-stream')
      .send(Buffer.alloc(Number(request.params.kb) * 1024, 'x')),
  );
  app.get('/fail', async () => {
    throw new Error('boom');
  });
  app.get('/private', async (request, reply) => {
    if (request.headers.authorization) return { ok: true };
    return reply.code(401).send({ error: 'unauthorized' });
  });
  app.get('/stream', async (_request, reply) =>
    reply.type('text/plain').send(
      Readable.from(
        (async function* () {
          for (const chunk of ['a', 'b', 'c']) {
            yield chunk;
            await sleep(5);
          }
        })(),
      ),
    ),
  );
};

import type { Readable } from 'node:stream';
import {
  type BatchOptions,
  batchPathItem,
  DEFAULT_MAX_BODY_BYTES,
  jsonBatchResponseSchema,
} from '@batch/core';
import { chunksOf, createNodeBatchRunner, settleNodeOutput } from '@batch/node';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import fastifyPlugin from 'fastify-plugin';

/** Options of the `batch` plugin: the shared `BatchOptions` of `@batch/core`, plus its route. */
export type FastifyBatchOptions = BatchOptions & {
  /**
   * The batch route, under the plugin's `prefix` when it has one.
   * @default '/batch'
   */
  path?: string;
};

/** What `register` passes to a plugin besides its own options (Fastify's register options). */
interface RegisterOptions {
  prefix?: unknown;
  logLevel?: unknown;
  logSerializers?: unknown;
}

/**
 * The route's schema, for `@fastify/swagger` and the like: the summary and description of
 * `batchPathItem`, and the JSON answer's schema (without `$schema`: Fastify's serializer
 * compiler has its own dialect). No `body` schema: the body reaches the route as a raw
 * stream, read and checked by the engine itself.
 */
function routeSchema(path: string, options: BatchOptions): FastifySchema {
  const post = batchPathItem(path, options).post as { summary: string; description: string };
  const { $schema: _dialect, ...response } = structuredClone(jsonBatchResponseSchema);
  const schema: FastifySchema & { summary: string; description: string; tags: string[] } = {
    summary: post.summary,
    description: post.description,
    tags: ['batch'],
    response: { 200: { content: { 'application/json': { schema: response } } } },
  };
  return schema;
}

const plugin: FastifyPluginAsync<FastifyBatchOptions> = async (fastify, options) => {
  const {
    path = '/batch',
    prefix: _prefix,
    logLevel: _logLevel,
    logSerializers: _logSerializers,
    ...batchOptions
  } = options as FastifyBatchOptions & RegisterOptions;
  // Every sub-request enters the whole app from the top, as a direct request would: its
  // router, hooks, schema validation, error handler. `routing` is the root's, whatever scope.
  const run = createNodeBatchRunner((req, res) => fastify.routing(req, res), batchOptions);

  // In this plugin's scope only: the batch body reaches the route as the raw stream (or what
  // the app's preParsing hooks made of it), read by the engine under its own limits.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  const answer = async (request: FastifyRequest, reply: FastifyReply) => {
    const payload = request.body as Readable | undefined;
    const output = await run(
      request.raw,
      reply.raw,
      payload === undefined ? undefined : chunksOf(payload),
    );
    // Through the reply, so that the app's onSend hooks (compression among them) apply.
    const settled = await settleNodeOutput(output);
    return reply.code(settled.status).headers(settled.headers).send(settled.body);
  };
  fastify.all(
    path,
    {
      bodyLimit: batchOptions.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      schema: routeSchema(path, batchOptions),
    },
    answer,
  );
  // The monitors of asynchronous batches (SPEC §9), under the batch route.
  fastify.route({
    method: ['GET', 'DELETE'],
    url: `${path.replace(/\/+$/, '')}/jobs/:id`,
    handler: answer,
  });
  // A graceful `app.close()` waits for the asynchronous batches still running.
  fastify.addHook('onClose', async () => {
    await run.idle();
  });
};

/**
 * The batch route as a Fastify plugin (Fastify 5):
 *
 * ```ts
 * await app.register(batch, { path: '/batch', concurrency: 8 });
 * ```
 *
 * Every sub-request runs in-process through the same app — its hooks, schema validation,
 * decorators and error handler — and the answers go out through `reply.send()`, so the
 * app's `onSend` hooks apply to the batch answer. The plugin is encapsulated: its
 * content-type parsers (the batch body as a stream) serve its route only.
 */
export const batch: FastifyPluginAsync<FastifyBatchOptions> = fastifyPlugin(
  // fastify-plugin's types name the `fastify` its own resolution finds, which need not be the
  // app's (two copies in one install): the plugin is typed against the app's, above.
  plugin as never,
  { name: '@batch/fastify', fastify: '5.x', encapsulate: true },
);

export type { BatchOptions } from '@batch/core';

import {
  type ArticleStore,
  etagOf,
  ownerOf,
  PROBLEM_TYPE,
  type Preconditions,
  parseArticleId,
  UNAUTHORIZED,
  type WriteResult,
} from '@batch/reading-list';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './problems.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The owner of the reading list: the bearer token (set by the `/articles` hook). */
    owner: string;
  }
}

type WithId = FastifyRequest<{ Params: { id: string } }>;

const preconditionsOf = (request: FastifyRequest): Preconditions => ({
  ifMatch: request.headers['if-match'],
  ifNoneMatch: request.headers['if-none-match'],
});

/** The `:id` of the route when it is an article id (a positive integer); else `undefined`. */
function idOf(request: WithId): number | undefined {
  const { id } = request.params;
  return parseArticleId(id);
}

/** Answers a store write: the article (201 + `Location` when created), or its problem. */
function sendWrite(request: FastifyRequest, reply: FastifyReply, result: WriteResult) {
  if (!result.ok) return sendProblem(reply, result.status, result.detail, result.errors);
  const { article, created } = result;
  if (created) reply.code(201).header('Location', `/articles/${article.id}`);
  if (request.method !== 'DELETE') reply.header('ETag', etagOf(article));
  return reply.send(article);
}

/** `/articles` (register it with that prefix): one reading list per bearer token. */
export function articlesPlugin(store: ArticleStore): FastifyPluginAsync {
  return async (app) => {
    app.decorateRequest('owner', '');

    // Every route here needs `Authorization: Bearer <token>`; the token names the owner.
    app.addHook('onRequest', async (request, reply) => {
      const owner = ownerOf(request.headers.authorization);
      if (owner === undefined) {
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Bearer')
          .type(PROBLEM_TYPE)
          .send(UNAUTHORIZED);
      }
      request.owner = owner;
    });
    // Ids are positive integers; any other `:id` names no article.
    app.addHook('preHandler', async (request, reply) => {
      const { id } = request.params as { id?: string };
      if (id !== undefined && idOf(request as WithId) === undefined)
        return sendProblem(reply, 404, `article ${id} not found`);
    });

    app.get('/', async (request) => ({ data: await store.list(request.owner) }));
    app.post('/', async (request, reply) =>
      sendWrite(request, reply, await store.create(request.owner, request.body)),
    );
    app.get('/:id', async (request: WithId, reply) => {
      const article = await store.get(request.owner, idOf(request)!);
      if (article === undefined)
        return sendProblem(reply, 404, `article ${request.params.id} not found`);
      return reply.header('ETag', etagOf(article)).send(article);
    });
    app.put('/:id', async (request: WithId, reply) => {
      const { owner } = request;
      const result = await store.replace(
        owner,
        idOf(request)!,
        request.body,
        preconditionsOf(request),
      );
      return sendWrite(request, reply, result);
    });
    app.patch('/:id', async (request: WithId, reply) => {
      const { owner } = request;
      const result = await store.patch(
        owner,
        idOf(request)!,
        request.body,
        preconditionsOf(request),
      );
      return sendWrite(request, reply, result);
    });
    app.delete('/:id', async (request: WithId, reply) => {
      const result = await store.remove(request.owner, idOf(request)!, preconditionsOf(request));
      return sendWrite(request, reply, result);
    });
  };
}

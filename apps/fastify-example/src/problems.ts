import { reasonPhrase } from '@batch/core';
import { type FieldProblem, PROBLEM_TYPE, problem } from '@batch/reading-list';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Answers `application/problem+json` (RFC 9457) titled with the status's reason phrase. */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  detail: string,
  errors?: FieldProblem[],
): FastifyReply {
  return reply
    .code(status)
    .type(PROBLEM_TYPE)
    .send(problem(status, reasonPhrase(status), detail, errors));
}

/** The not-found handler: no route answered. */
export async function notFound(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?', 1)[0];
  return sendProblem(reply, 404, `no route for ${request.method} ${path}`);
}

/**
 * The error handler: a client error Fastify raised (malformed JSON → 400, schema
 * validation → 400, too large → 413) keeps its status and says what was wrong; anything
 * else is a 500 that tells nothing of the cause (no message, no stack).
 */
export async function errorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  const status = error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendProblem(reply, status, error.message);
  }
  console.error(error);
  return sendProblem(reply, 500, 'the server could not answer this request');
}

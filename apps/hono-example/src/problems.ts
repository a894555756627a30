import { reasonPhrase } from '@batch/core';
import { type FieldProblem, PROBLEM_TYPE, problem } from '@batch/reading-list';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Answers `application/problem+json` (RFC 9457) titled with the status's reason phrase. */
export function problemResponse(
  c: Context,
  status: ContentfulStatusCode,
  detail: string,
  errors?: FieldProblem[],
): Response {
  return c.json(problem(status, reasonPhrase(status), detail, errors), status, {
    'Content-Type': PROBLEM_TYPE,
  });
}

/** `app.notFound`: no route answered. */
export const notFound: NotFoundHandler = (c) =>
  problemResponse(c, 404, `no route for ${c.req.method} ${c.req.path}`);

/**
 * `app.onError`: a client error Hono raised (the JSON validator's malformed body → 400) keeps
 * its status and message; anything else is a 500 that tells nothing of the cause.
 */
export const onError: ErrorHandler = (error, c) => {
  if (error instanceof HTTPException && error.status < 500) {
    return problemResponse(c, error.status, error.message || reasonPhrase(error.status));
  }
  console.error(error);
  return problemResponse(c, 500, 'the server could not answer this request');
};

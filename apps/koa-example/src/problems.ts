import { reasonPhrase } from '@batch/core';
import { type FieldProblem, PROBLEM_TYPE, problem } from '@batch/reading-list';
import type { Middleware, ParameterizedContext } from 'koa';

/**
 * Answers with an `application/problem+json` document (RFC 9457), titled with the same
 * reason phrases as the batch endpoint's own problems.
 */
export function sendProblem(
  ctx: ParameterizedContext,
  status: number,
  detail: string,
  errors?: FieldProblem[],
): void {
  ctx.status = status;
  ctx.body = problem(status, reasonPhrase(status), detail, errors);
  ctx.type = PROBLEM_TYPE; // after the body: an object body sets the type to JSON
}

/**
 * The app's error handling: whatever a route or middleware throws becomes a problem
 * document — `4xx` errors (the body parser's malformed JSON, too-large bodies) say what was
 * wrong, anything else is a `500` that gives nothing away (no message, no stack).
 */
export const problemErrors: Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    const { status, message } = error as { status?: unknown; message?: unknown };
    const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
    if (code >= 500) ctx.app.emit('error', error, ctx); // Koa's logging of server errors
    const detail =
      code < 500 && typeof message === 'string' && message !== ''
        ? message
        : 'the server could not answer this request';
    sendProblem(ctx, code, detail);
  }
};

/** The last middleware: whatever no route answered is a `404`. */
export const notFound: Middleware = (ctx) => {
  sendProblem(ctx, 404, `no route for ${ctx.method} ${ctx.path}`);
};

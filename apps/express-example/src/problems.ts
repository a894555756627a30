import { reasonPhrase } from '@batch/core';
import { type FieldProblem, PROBLEM_TYPE, problem } from '@batch/reading-list';
import type { NextFunction, Request, Response } from 'express';

/** Answers `application/problem+json` (RFC 9457) titled with the status's reason phrase. */
export function sendProblem(
  res: Response,
  status: number,
  detail: string,
  errors?: FieldProblem[],
): void {
  res
    .status(status)
    .type(PROBLEM_TYPE)
    .json(problem(status, reasonPhrase(status), detail, errors));
}

/** The last handler: no route answered. */
export function notFound(req: Request, res: Response): void {
  sendProblem(res, 404, `no route for ${req.method} ${req.path}`);
}

/**
 * The error handler: a client error a body parser raised (malformed JSON → 400, too large
 * → 413) keeps its status; anything else is a 500 that tells nothing of the cause.
 */
export function errorHandler(error: unknown, _req: Request, res: Response, next: NextFunction) {
  if (res.headersSent) return next(error);
  const { status, expose, message } = error as {
    status?: unknown;
    expose?: unknown;
    message?: unknown;
  };
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) {
    sendProblem(res, status, String(message));
  } else {
    console.error(error);
    sendProblem(res, 500, 'the server could not answer this request');
  }
}

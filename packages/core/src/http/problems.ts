import { PROBLEM_CONTENT_TYPE } from '../model/BatchError.js';
import type { SubResponse } from '../model/types.js';
import { utf8 } from './bytes.js';
import { reasonPhrase } from './reasonPhrases.js';

/**
 * A sub-response the batch layer answers by itself (a failed dependency, a timeout, a
 * dispatcher that threw): `application/problem+json`, never a stack trace.
 */
export function problemResponse(status: number, slug: string, detail: string): SubResponse {
  const body = utf8(
    JSON.stringify({
      type: `urn:batch:problem:${slug}`,
      title: reasonPhrase(status),
      status,
      detail,
    }),
  );
  return {
    status,
    headers: [
      ['content-type', PROBLEM_CONTENT_TYPE],
      ['content-length', String(body.length)],
    ],
    body,
  };
}

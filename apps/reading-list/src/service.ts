import { type BatchFormat, DEFAULT_MAX_REQUESTS } from '@batch/core';
import { IN_MEMORY } from './database.js';
import { curlCommand, EXAMPLE_BATCHES, MINIMAL_IMPORT_BATCH } from './exampleBatches.js';

/** The batch route an app mounted: its path and the options it gave the adapter. */
export interface MountedBatch {
  /** @default '/batch' */
  path?: string | undefined;
  /** The adapter's `maxRequests`. @default DEFAULT_MAX_REQUESTS (100) */
  maxRequests?: number | undefined;
  /** The adapter's `formats`. @default ['multipart', 'json'] (both) */
  formats?: readonly BatchFormat[] | undefined;
}

/**
 * `GET /`: what the service is and the batch route it mounted — its path, its item limit
 * (`@batch/client` reads `maxRequests` from here) and the formats it accepts.
 */
export function serviceInfo(framework: string, mounted: MountedBatch = {}) {
  const path = mounted.path ?? '/batch';
  return {
    name: 'reading-list',
    description: `A reading list API on ${framework}, with a ${path} endpoint (@batch)`,
    batch: {
      path,
      maxRequests: mounted.maxRequests ?? DEFAULT_MAX_REQUESTS,
      formats: [...(mounted.formats ?? ['multipart', 'json'])],
    },
  };
}

/** The owner a request acts for: the bearer token of its `Authorization`, or `undefined`. */
export function ownerOf(authorization: string | undefined | null): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** An `application/problem+json` body (RFC 9457). */
export function problem(
  status: number,
  title: string,
  detail: string,
  errors?: { pointer: string; detail: string }[],
) {
  return {
    type: 'about:blank',
    title,
    status,
    detail,
    ...(errors === undefined ? {} : { errors }),
  };
}

export const PROBLEM_TYPE = 'application/problem+json';

/** The 401 every protected route answers without a bearer token. */
export const UNAUTHORIZED = problem(
  401,
  'Unauthorized',
  'send Authorization: Bearer <token>; the token names the owner of the reading list',
);

/**
 * The lines `pnpm start` prints: where the API is and two batches to paste — the Kinto
 * documentation's JSON batch, and a multipart batch of a PATCH and a GET (`exampleBatches`)
 * — the playground's address and, when it is given, the SQLite file the articles are kept in.
 */
export function startBanner(
  framework: string,
  url: string,
  database?: string,
  records?: string,
): string {
  return [
    `reading-list (${framework}) listening on ${url}`,
    '',
    ...[...EXAMPLE_BATCHES, MINIMAL_IMPORT_BATCH].flatMap((batch) => [
      `${batch.title}:`,
      `  ${curlCommand(url, batch)}`,
      '',
    ]),
    'Safe retries: the JSON batch with an Idempotency-Key — send it twice, the second answer is replayed (Idempotent-Replayed: true), nothing is written twice:',
    `  ${curlCommand(url, EXAMPLE_BATCHES[0]!, 'alice', [`Idempotency-Key: ${KEY_EXAMPLE}`])}`,
    '',
    'An asynchronous batch (up to 10,000 items): 202 at once, then GET the monitor in its Location header until it answers 200:',
    `  ${curlCommand(url, EXAMPLE_BATCHES[0]!, 'alice', ['Prefer: respond-async'])}`,
    '',
    `Playground (build a batch, race 20 calls one by one vs batched, in your browser): ${url}/playground`,
    '',
    ...(database === undefined ? [] : [storedIn(database), '']),
    ...(records === undefined
      ? []
      : [
          `Batch records (safe retries) are kept in ${records === IN_MEMORY ? 'memory' : records}.`,
          '',
        ]),
    `Service info: curl -s ${url}/   (Ctrl+C stops the server)`,
  ].join('\n');
}

/** A key for the banner's retry example (a client makes a fresh one per batch). */
const KEY_EXAMPLE = '5f1c2a8e-4d0b-4d7e-9f3e-0a6b7c8d9e01';

function storedIn(database: string): string {
  if (database === ':memory:')
    return 'Articles are kept in memory (DATABASE=:memory:): gone when it stops.';
  return `Articles are kept in ${database} (SQLite; DATABASE=<file> picks another, deleting it starts afresh).`;
}

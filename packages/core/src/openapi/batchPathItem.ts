import { PROBLEM_CONTENT_TYPE } from '../model/BatchError.js';
import { DEFAULT_MAX_REQUESTS } from '../model/limits.js';
import type { BatchFormat } from '../model/types.js';
import {
  batchJobStatusSchema,
  batchProblemSchema,
  cloneJson,
  type JsonSchema,
  jsonBatchRequestSchema,
  jsonBatchResponseSchema,
  jsonLinesLineSchema,
} from './schemas.js';

/** An OpenAPI 3.1 object: plain JSON values only. */
export type OpenApiObject = Record<string, unknown>;

/**
 * What `batchPathItem` describes: the limits and formats the batch route was mounted with
 * (a `BatchOptions` object fits as it is) and how to name its operation.
 */
export interface BatchPathItemOptions {
  /** The route's `maxRequests`: `maxItems` of `requests`. @default 100 */
  maxRequests?: number | undefined;
  /** The route's `maxBodyBytes`, named in the `413`'s description. @default 10 MiB */
  maxBodyBytes?: number | undefined;
  /** The formats the route accepts (`formats` option). @default ['multipart', 'json'] */
  formats?: readonly BatchFormat[] | undefined;
  /** @default 'batch' (the monitor's operations: `<id>JobStatus`, `<id>JobCancel`) */
  operationId?: string | undefined;
  /** Tags of the operations. @default ['batch'] */
  tags?: readonly string[] | undefined;
  /** @default 'Send many requests in one' */
  summary?: string | undefined;
  /**
   * The operation's security requirements. The batch route itself needs none by default:
   * each sub-request meets the app's own authentication (it inherits the batch's
   * `Authorization` and `Cookie`).
   * @default undefined (the document's own)
   */
  security?: ReadonlyArray<Record<string, readonly string[]>> | undefined;
  /**
   * Describe `Prefer: respond-async`, the `202` and the status monitor (SPEC §9).
   * @default true
   */
  asyncBatches?: boolean | undefined;
  /**
   * Describe `Idempotency-Key` and its `409`/`422` answers (SPEC §8).
   * @default true
   */
  idempotencyKeys?: boolean | undefined;
}

const JSON_LINES = 'application/jsonl';
const MULTIPART = 'multipart/mixed';
const JSON_TYPE = 'application/json';

function multipartBody(description: string): OpenApiObject {
  return { schema: { type: 'string', format: 'binary', description } };
}

const MULTIPART_REQUEST =
  'A `multipart/mixed; boundary=…` body (SPEC §2; Google APIs batch, OData `$batch`): one ' +
  '`application/http` part per sub-request, holding an HTTP/1.1 request message; a nested ' +
  '`multipart/mixed` part is an OData change set (an atomicity group). Content-IDs are ' +
  'echoed in the answer.';

const MULTIPART_RESPONSE =
  '`multipart/mixed; boundary=batch_<token>`: one `application/http` part per sub-request, ' +
  'in request order, holding its HTTP/1.1 response; Content-IDs mirror the request.';

function problemResponse(description: string, headers?: OpenApiObject): OpenApiObject {
  return {
    description,
    ...(headers === undefined ? {} : { headers }),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: cloneJson(batchProblemSchema) } },
  };
}

const retryAfter = (description: string): OpenApiObject => ({
  description,
  schema: { type: 'integer', minimum: 0 },
});

/** The operation's `security`, copied, when the options give one. */
function securityOf(options: BatchPathItemOptions): OpenApiObject {
  if (options.security === undefined) return {};
  return {
    security: options.security.map((requirement) =>
      Object.fromEntries(Object.entries(requirement).map(([name, scopes]) => [name, [...scopes]])),
    ),
  };
}

function monitorPath(path: string): string {
  return `${path.endsWith('/') ? path.slice(0, -1) : path}/jobs/{id}`;
}

function formatsOf(options: BatchPathItemOptions): { json: boolean; multipart: boolean } {
  const formats = options.formats ?? ['multipart', 'json'];
  return { json: formats.includes('json'), multipart: formats.includes('multipart') };
}

/** The content of a finished batch's answer: what the `200` of `POST` and of the monitor carry. */
function answerContent(options: BatchPathItemOptions): OpenApiObject {
  const { json, multipart } = formatsOf(options);
  const content: OpenApiObject = {};
  if (json) {
    content[JSON_TYPE] = { schema: cloneJson(jsonBatchResponseSchema) };
    content[JSON_LINES] = {
      schema: {
        ...cloneJson(jsonLinesLineSchema),
        description:
          'Each line of the body (JSON Lines): one sub-response, written the moment its item ' +
          'finished, in completion order, with its `index`. Asked for with `Accept: ' +
          'application/jsonl` (or `application/x-ndjson`).',
      },
    };
  }
  if (multipart) content[MULTIPART] = multipartBody(MULTIPART_RESPONSE);
  return content;
}

function requestSchema(maxRequests: number): JsonSchema {
  const schema = cloneJson(jsonBatchRequestSchema) as {
    properties: { requests: Record<string, unknown> };
  };
  schema.properties.requests.maxItems = maxRequests;
  return schema;
}

/** What the parts of the path item read from the options. */
interface Described {
  path: string;
  options: BatchPathItemOptions;
  json: boolean;
  multipart: boolean;
  maxRequests: number;
  asyncBatches: boolean;
  idempotencyKeys: boolean;
  accepted: string[];
}

/**
 * An OpenAPI 3.1 Path Item Object for a batch route (`POST` only) at `path`: the request
 * body in the formats it accepts (`application/json` with `jsonBatchRequestSchema`,
 * `requests` limited to `maxRequests`; `multipart/mixed` as binary), the `200` answer
 * (`application/json`, `application/jsonl`, `multipart/mixed`), the `202` of an
 * asynchronous batch with its monitor in `Location` (SPEC §9), the endpoint's own errors as
 * `application/problem+json` (`400`, `405`, `409`, `413`, `415`, `422`, `431`, `503`) and
 * the `Idempotency-Key` and `Prefer` request headers. A fresh object on every call: add to
 * it freely.
 *
 * ```ts
 * const document = {
 *   openapi: '3.1.0',
 *   info: { title: 'My API', version: '1.0.0' },
 *   paths: { ...myPaths, ...batchPaths('/batch', { maxRequests: 50 }) },
 * };
 * ```
 */
export function batchPathItem(path: string, options: BatchPathItemOptions = {}): OpenApiObject {
  const { json, multipart } = formatsOf(options);
  const described: Described = {
    path,
    options,
    json,
    multipart,
    maxRequests: options.maxRequests ?? DEFAULT_MAX_REQUESTS,
    asyncBatches: options.asyncBatches !== false,
    idempotencyKeys: options.idempotencyKeys !== false,
    accepted: [...(multipart ? [MULTIPART] : []), ...(json ? [JSON_TYPE] : [])],
  };
  const { maxRequests, accepted } = described;
  const requestContent: OpenApiObject = {};
  if (json) requestContent[JSON_TYPE] = { schema: requestSchema(maxRequests) };
  if (multipart) requestContent[MULTIPART] = multipartBody(MULTIPART_REQUEST);
  const operation: OpenApiObject = {
    operationId: options.operationId ?? 'batch',
    summary: options.summary ?? 'Send many requests in one',
    description:
      'Runs every sub-request in-process through this API (its middleware, authentication, ' +
      'routes and error handling), as if they ran one after another in request order — reads ' +
      'run concurrently — and answers them all in one body (@batch; SPEC §1–§4). Every ' +
      "sub-request inherits the batch request's headers (`Authorization`, `Cookie`, …) but " +
      'hop-by-hop and `Content-*` ones. Targets are resolved against the base of ' +
      `\`${path}\` (its path up to the last segment); a request to the batch route itself is ` +
      `refused. At most ${maxRequests} requests. The format is chosen by \`Content-Type\`: ` +
      `${accepted.join(' or ')}.`,
    tags: [...(options.tags ?? ['batch'])],
    parameters: headerParameters(described),
    requestBody: { required: true, content: requestContent },
    responses: { ...successResponses(described), ...errorResponses(described) },
  };
  return { post: { ...operation, ...securityOf(options) } };
}

/** The `Idempotency-Key` and `Prefer` request headers. */
function headerParameters({ idempotencyKeys, asyncBatches }: Described): OpenApiObject[] {
  const parameters: OpenApiObject[] = [];
  if (idempotencyKeys) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Makes the batch safe to resend (SPEC §8): a Structured Fields string or a bare token ' +
        'of visible ASCII, 1–255 characters, scoped to the caller. A resent batch with the same ' +
        'key is not run again: its recorded answers are replayed (`Idempotent-Replayed: ' +
        'true`); `409` while the first is still running, `422` when the key came with another ' +
        'batch. Never inherited by the sub-requests.',
      schema: { type: 'string', minLength: 1, maxLength: 257 },
      'x-batch-spec': 'SPEC §8',
    });
  }
  parameters.push({
    name: 'Prefer',
    in: 'header',
    required: false,
    description:
      'Preferences (RFC 7240), applied by the batch layer and confirmed in ' +
      '`Preference-Applied` (SPEC §7): `return=minimal` answers every item below 400 with its ' +
      'status and headers only' +
      (asyncBatches
        ? '; `respond-async` answers `202` at once and runs the batch in the background (SPEC §9)'
        : '') +
      '. Any other preference is passed on to the sub-requests.',
    schema: { type: 'string' },
    examples: {
      minimal: { value: 'return=minimal' },
      ...(asyncBatches ? { async: { value: 'respond-async' } } : {}),
    },
    'x-batch-spec': 'SPEC §7',
  });

  return parameters;
}

/** `200`, and `202` for asynchronous batches. */
function successResponses({
  path,
  options,
  idempotencyKeys,
  asyncBatches,
}: Described): OpenApiObject {
  const preferenceApplied = {
    description: 'The preferences of `Prefer` the batch layer applied (`return=minimal`).',
    schema: { type: 'string' },
  };
  const responses: OpenApiObject = {
    '200': {
      description:
        'The batch ran: every sub-response, in request order (JSON Lines: completion order). ' +
        "Each item's own status is inside the body, whatever it is.",
      headers: {
        'Preference-Applied': preferenceApplied,
        ...(idempotencyKeys
          ? {
              'Idempotent-Replayed': {
                description:
                  '`true` when these are the recorded answers of an earlier run (SPEC §8).',
                schema: { type: 'string', const: 'true' },
              },
            }
          : {}),
      },
      content: answerContent(options),
    },
  };
  if (asyncBatches) {
    responses['202'] = {
      description:
        'Asked for with `Prefer: respond-async` (SPEC §9): the batch was validated and runs in ' +
        'the background. `GET` the monitor in `Location` for its progress and, once finished, ' +
        'its answer; `DELETE` it to cancel.',
      headers: {
        Location: {
          description: `The status monitor: \`${monitorPath(path)}\`, the id unguessable.`,
          required: true,
          schema: { type: 'string', format: 'uri-reference' },
        },
        'Retry-After': retryAfter('Seconds to wait before asking the monitor.'),
        'Preference-Applied': {
          description: '`respond-async`.',
          schema: { type: 'string' },
        },
      },
      content: { [JSON_TYPE]: { schema: cloneJson(batchJobStatusSchema) } },
      'x-batch-spec': 'SPEC §9',
    };
  }
  return responses;
}

/** The problem answers of the batch endpoint (SPEC §5). */
function errorResponses(described: Described): OpenApiObject {
  const { path, options, maxRequests, idempotencyKeys, asyncBatches, accepted } = described;
  const responses: OpenApiObject = {};
  responses['400'] = problemResponse(
    'The batch is malformed (`invalid_batch`: every problem named by JSON pointer or part ' +
      `number), or holds more than ${maxRequests} requests (\`too_many_requests_in_batch\`)` +
      (idempotencyKeys ? ', or its `Idempotency-Key` is malformed or missing where required' : '') +
      '. Nothing ran.',
  );
  responses['405'] = problemResponse(
    `Any method but \`POST\` on \`${path}\` (\`method_not_allowed\`).`,
    { Allow: { description: '`POST`.', schema: { type: 'string', const: 'POST' } } },
  );
  if (idempotencyKeys) {
    responses['409'] = problemResponse(
      'A batch with this `Idempotency-Key` is still running: retry after `Retry-After` (SPEC §8).',
      { 'Retry-After': retryAfter('Seconds to wait before resending.') },
    );
  }
  responses['413'] = problemResponse(
    'The batch body is larger than ' +
      (options.maxBodyBytes === undefined ? '10 MiB' : `${options.maxBodyBytes} bytes`) +
      ' (`body_too_large`), an item body is too large (`item_body_too_large`), or the items ' +
      'carry too much once `defaults` are merged (`merged_batch_too_large`). Nothing ran.',
  );
  responses['415'] = problemResponse(
    `The \`Content-Type\` is not a batch format; accepted: ${accepted.join(', ')} (\`unsupported_media_type\`).`,
  );
  if (idempotencyKeys) {
    responses['422'] = problemResponse(
      'This `Idempotency-Key` came with another batch (SPEC §8). Nothing ran.',
    );
  }
  responses['431'] = problemResponse(
    "A part's or an item's headers are too large (`part_headers_too_large`). Nothing ran.",
  );
  if (idempotencyKeys || asyncBatches) {
    responses['503'] = problemResponse(
      'The store of recorded batches (SPEC §8, §9) cannot be reached; nothing ran. Retry later.',
      { 'Retry-After': retryAfter('Seconds to wait before resending.') },
    );
  }

  return responses;
}

/**
 * An OpenAPI 3.1 Path Item Object for the status monitor of asynchronous batches under the
 * batch route at `path` (`<path>/jobs/{id}`, SPEC §9): `GET` answers `202` with the
 * progress while the batch runs, then `200` with its answer exactly as it would have been
 * answered at once; `DELETE` cancels it (`204`). `404` for an id that does not exist, has
 * expired, or belongs to another caller. Marked `x-batch-spec: SPEC §9`.
 */
export function batchMonitorPathItem(
  path: string,
  options: BatchPathItemOptions = {},
): OpenApiObject {
  const operationId = options.operationId ?? 'batch';
  const tags = [...(options.tags ?? ['batch'])];
  const notFound = problemResponse(
    'No such batch: the id never existed, has expired, was cancelled, or belongs to another caller.',
  );
  const security = securityOf(options);
  return {
    summary: 'The status monitor of an asynchronous batch',
    description: `Given in the \`Location\` of the \`202\` that \`POST ${path}\` answers with \`Prefer: respond-async\` (SPEC §9). Only the caller who sent the batch can read or cancel it.`,
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        description: 'The batch id (at least 128 random bits).',
        schema: { type: 'string' },
      },
    ],
    get: {
      operationId: `${operationId}JobStatus`,
      summary: 'Progress, then the answer of an asynchronous batch',
      tags,
      ...security,
      responses: {
        '200': {
          description:
            "The batch finished: its answer exactly as it would have been answered at once (the original request's format; JSON Lines when asked for with `Accept`; `Prefer: return=minimal` applied if the batch asked). Items that never finished because the server running them stopped are answered with a problem each.",
          content: answerContent(options),
        },
        '202': {
          description: 'Still running: `done` counts the finished items.',
          headers: { 'Retry-After': retryAfter('Seconds to wait before asking again.') },
          content: { [JSON_TYPE]: { schema: cloneJson(batchJobStatusSchema) } },
        },
        '404': notFound,
      },
    },
    delete: {
      operationId: `${operationId}JobCancel`,
      summary: 'Cancel an asynchronous batch',
      description:
        'Items not started never start; running ones are aborted. Afterwards the monitor is `404`.',
      tags,
      ...security,
      responses: { '204': { description: 'Cancelled.' }, '404': notFound },
    },
    'x-batch-spec': 'SPEC §9',
  };
}

/**
 * The OpenAPI 3.1 Paths entries of a batch route at `path`: `batchPathItem` at `path` and,
 * unless `asyncBatches: false`, `batchMonitorPathItem` at `<path>/jobs/{id}`. Spread it
 * into a document's `paths`.
 */
export function batchPaths(path: string, options: BatchPathItemOptions = {}): OpenApiObject {
  return {
    [path]: batchPathItem(path, options),
    ...(options.asyncBatches === false
      ? {}
      : { [monitorPath(path)]: batchMonitorPathItem(path, options) }),
  };
}

/** Where the status monitor of an asynchronous batch sent to `path` lives (SPEC §9). */
export function batchMonitorPath(path: string): string {
  return monitorPath(path);
}

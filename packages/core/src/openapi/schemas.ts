/**
 * JSON Schema 2020-12 for the JSON batch format (SPEC §3), its answer, a JSON Lines line
 * and the problem answers of the endpoint (SPEC §5). Plain, deeply frozen objects with no
 * `$ref` in them, so that each one can be embedded anywhere — an OpenAPI 3.1 document, a
 * Fastify route schema, a validator — without a base URI to resolve against.
 */

/** A JSON Schema object (2020-12). Plain JSON values only. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The dialect every schema here is written in. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** An HTTP token (RFC 9110 §5.6.2): a method or a header name. */
const HTTP_TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/** What the JSON parser accepts in a header value: Latin-1 without line breaks or controls. */
const HEADER_VALUE = '^[\\t\\u0020-\\u007e\\u0080-\\u00ff]*$';

/** Freezes a plain JSON value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** A deep, mutable copy of a plain JSON value (what a caller may change or a tool may annotate). */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) out[key] = cloneJson(member);
    return out as T;
  }
  return value;
}

const requestHeaders = {
  type: 'object',
  description:
    'Header names to a string, or to an array of strings for a repeated header. Names are HTTP ' +
    'tokens; values are Latin-1 without line breaks or control characters. Precedence: the ' +
    "item's own headers, then `defaults.headers` (names compared case-insensitively), then the " +
    "batch request's inherited headers (SPEC §4).",
  propertyNames: { pattern: HTTP_TOKEN },
  additionalProperties: {
    anyOf: [
      { type: 'string', pattern: HEADER_VALUE },
      { type: 'array', items: { type: 'string', pattern: HEADER_VALUE } },
    ],
  },
};

const method = {
  type: 'string',
  description:
    'An HTTP method token, any case (upper-cased before dispatch); `CONNECT` cannot be batched.',
  pattern: HTTP_TOKEN,
  not: { pattern: '^[Cc][Oo][Nn][Nn][Ee][Cc][Tt]$' },
  default: 'GET',
  examples: ['GET', 'POST', 'PATCH'],
};

/** A request target: visible ASCII, no fragment, not `*` (SPEC §2, §4 "No nesting"). */
const target = {
  type: 'string',
  pattern: '^[\\u0021\\u0022\\u0024-\\u007e]+$',
  not: { const: '*' },
};

const path = {
  ...target,
  description:
    'The target: an absolute path (`/articles/409?x=1`), a path relative to the batch ' +
    "route's base (`articles`), `$<id>` or `$<id>/rest` — the `Location` of the earlier item " +
    'with that `id` (SPEC §4 "References") — or an absolute URL on the batch request\'s own ' +
    '`Host`. Visible ASCII only (percent-encode the rest), no fragment. Required here or in ' +
    '`defaults`.',
  examples: ['/articles', '/articles/409', '$new'],
};

const url = {
  ...target,
  description:
    'A synonym of `path` (Microsoft Graph and OData clients send it); giving both is a `400`.',
};

const body = {
  description:
    'Any JSON value, sent as JSON (`Content-Type: application/json` unless the item names ' +
    'another type). With a non-JSON Content-Type a string is sent as its UTF-8 bytes; with ' +
    '`"bodyEncoding": "base64"` a base64 string carries bytes. `null` means no body.',
};

const bodyEncoding = {
  const: 'base64',
  description: '`body` is a base64 string (standard or URL-safe alphabet) carrying bytes.',
};

/** With `bodyEncoding`, a `body` given next to it must be a string. */
const base64Body = {
  bodyEncoding: { properties: { body: { type: 'string', contentEncoding: 'base64' } } },
};

const defaults = {
  type: 'object',
  description:
    'A request-shaped object merged into every request deeply and without overwriting: an ' +
    "item's own value always wins; objects (such as `headers`) merge key by key; arrays and " +
    'scalars are taken whole. `id`, `dependsOn` and `atomicityGroup` are not defaults.',
  properties: { method, path, url, headers: requestHeaders, body, bodyEncoding },
  additionalProperties: false,
  not: { required: ['path', 'url'] },
  dependentSchemas: base64Body,
};

const request = {
  type: 'object',
  description:
    'One sub-request. Unknown members are refused (`400` naming them), so that a typo cannot ' +
    'silently change what runs.',
  properties: {
    method,
    path,
    url,
    headers: requestHeaders,
    body,
    bodyEncoding,
    id: {
      type: 'string',
      minLength: 1,
      description:
        'Unique in the batch; echoed in the answer; named by `dependsOn` and `$<id>` targets. ' +
        'Must differ from every `atomicityGroup` name.',
    },
    dependsOn: {
      type: 'array',
      items: { type: 'string' },
      description:
        'Ids of earlier requests, or names of earlier atomicity groups, that must succeed ' +
        'first; when one failed (status >= 400) this item answers `424` without running.',
    },
    atomicityGroup: {
      type: 'string',
      minLength: 1,
      description:
        'The adjacent items sharing it form one atomicity group: run in order, all or nothing ' +
        '(SPEC §4 "Atomicity groups"; OData 4.01 JSON).',
    },
  },
  additionalProperties: false,
  not: { required: ['path', 'url'] },
  dependentSchemas: base64Body,
};

const hasTarget = {
  anyOf: [
    { type: 'object', required: ['path'] },
    { type: 'object', required: ['url'] },
  ],
};

/**
 * JSON Schema 2020-12 of a JSON batch request (SPEC §3): `{ "defaults"?, "requests": [...] }`.
 * Unknown members are refused at every level (`additionalProperties: false`), as the parser
 * refuses them. What a schema cannot say is checked by the server alone: `id`s unique,
 * `dependsOn` naming earlier items, a group's items adjacent, `maxRequests` (the path item
 * of `batchPathItem` adds it as `maxItems`) and the other limits.
 */
export const jsonBatchRequestSchema: JsonSchema = deepFreeze({
  $schema: JSON_SCHEMA_DIALECT,
  title: 'JSON batch request',
  description:
    'Many HTTP requests in one (SPEC §3; the Kinto format with the `id`, `dependsOn` and ' +
    '`atomicityGroup` members of Microsoft Graph and OData 4.01 JSON batches).',
  type: 'object',
  properties: {
    defaults,
    requests: {
      type: 'array',
      description: 'The sub-requests, answered in this order. `[]` is valid.',
      items: request,
    },
  },
  required: ['requests'],
  additionalProperties: false,
  // Without a `path` (or `url`) in `defaults`, every request names its own.
  if: { required: ['defaults'], properties: { defaults: hasTarget } },
  else: { properties: { requests: { type: 'array', items: hasTarget } } },
  examples: [
    {
      defaults: { method: 'POST', path: '/articles' },
      requests: [
        { body: { title: 'MoFo', url: 'http://mozilla.org' } },
        { method: 'PATCH', path: '/articles/409', body: { read_position: 3477 } },
      ],
    },
  ],
});

const responseProperties = {
  status: {
    type: 'integer',
    minimum: 100,
    maximum: 999,
    description: "The sub-response's own status.",
  },
  id: { type: 'string', description: "The request's `id`, echoed." },
  atomicityGroup: { type: 'string', description: "The request's `atomicityGroup`, echoed." },
  path: {
    type: 'string',
    description:
      'The path the item was dispatched to, without its query string (for an item whose ' +
      '`$<id>` reference was never followed, the target as sent).',
  },
  headers: {
    type: 'object',
    description:
      'Header names in canonical case (`Content-Type`, `ETag`, `Set-Cookie`) to a string, or ' +
      'an array of strings for a repeated header.',
    additionalProperties: {
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    },
  },
  body: {
    description:
      'The parsed value when the sub-response is JSON; a string when it is text; a base64 ' +
      'string with `"bodyEncoding": "base64"` otherwise; `""` when empty. No `body` member ' +
      'at all for a `HEAD` request, a `204` or a `304`.',
  },
  bodyEncoding: { const: 'base64', description: '`body` is base64.' },
};

const responseObject = {
  type: 'object',
  description: 'One sub-response.',
  properties: responseProperties,
  required: ['status', 'headers'],
};

/**
 * JSON Schema 2020-12 of the answer to a JSON batch (SPEC §3): `{ "responses": [...],
 * "failed"?: [...] }`, one response object per request, in request order. `failed` (the
 * indexes of the items whose status is >= 400) is optional here: servers add it after
 * `responses`, and older ones do not send it. Members not listed are allowed (a client
 * ignores what it does not know).
 */
export const jsonBatchResponseSchema: JsonSchema = deepFreeze({
  $schema: JSON_SCHEMA_DIALECT,
  title: 'JSON batch response',
  description: 'The answers of a JSON batch, in request order (SPEC §3).',
  type: 'object',
  properties: {
    responses: { type: 'array', items: responseObject },
    failed: {
      type: 'array',
      description:
        'The 0-based indexes, ascending, of every item whose status is >= 400 (a `424` ' +
        'included); `[]` when none. Optional: not every server version sends it.',
      items: { type: 'integer', minimum: 0 },
      uniqueItems: true,
    },
  },
  required: ['responses'],
  examples: [
    {
      responses: [
        {
          status: 201,
          path: '/articles',
          headers: { 'Content-Type': 'application/json', Location: '/articles/411' },
          body: { id: 411, title: 'MoFo' },
        },
      ],
      failed: [],
    },
  ],
});

/**
 * JSON Schema 2020-12 of one line of a JSON Lines answer (`Accept: application/jsonl`,
 * SPEC §3): a response object of `jsonBatchResponseSchema` plus `index`, the item's 0-based
 * position in the batch. Lines come in completion order.
 */
export const jsonLinesLineSchema: JsonSchema = deepFreeze({
  $schema: JSON_SCHEMA_DIALECT,
  title: 'JSON Lines batch answer line',
  description:
    'One sub-response, written the moment its item finished (completion order): the object ' +
    'of `responses` plus `index`.',
  type: 'object',
  properties: {
    index: {
      type: 'integer',
      minimum: 0,
      description: "The item's 0-based position in the batch.",
    },
    ...responseProperties,
  },
  required: ['index', 'status', 'headers'],
  examples: [
    { index: 1, status: 200, id: 'fast', path: '/v1/slow/10', headers: {}, body: { slept: 10 } },
  ],
});

/**
 * JSON Schema 2020-12 of an error of the batch endpoint itself (SPEC §5): RFC 9457 problem
 * details with `errors`, a list of `{ pointer, detail }` (JSON batches: a JSON pointer into
 * the request body) or `{ part, changeSetPart?, detail }` (multipart: 1-based part numbers).
 */
export const batchProblemSchema: JsonSchema = deepFreeze({
  $schema: JSON_SCHEMA_DIALECT,
  title: 'Batch problem',
  description:
    'Problem details (RFC 9457) of a batch refused as a whole: nothing ran. Never a stack trace.',
  type: 'object',
  properties: {
    type: {
      type: 'string',
      format: 'uri-reference',
      description: '`urn:batch:problem:<code>`, e.g. `urn:batch:problem:invalid-batch`.',
    },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'The first problem, prefixed with where it is.' },
    instance: { type: 'string', format: 'uri-reference' },
    errors: {
      type: 'array',
      description: 'Where the problems are; `[]` when the problem is not in one place.',
      items: {
        oneOf: [
          {
            type: 'object',
            title: 'JSON batch problem',
            properties: {
              pointer: {
                type: 'string',
                description: 'A JSON pointer into the request body (`/requests/3/path`).',
              },
              detail: { type: 'string' },
            },
            required: ['pointer', 'detail'],
          },
          {
            type: 'object',
            title: 'Multipart batch problem',
            properties: {
              part: { type: 'integer', minimum: 1, description: 'The 1-based body part.' },
              changeSetPart: {
                type: 'integer',
                minimum: 1,
                description: 'The 1-based part inside that change set.',
              },
              detail: { type: 'string' },
            },
            required: ['part', 'detail'],
          },
        ],
      },
    },
  },
  required: ['type', 'title', 'status'],
  examples: [
    {
      type: 'urn:batch:problem:invalid-batch',
      title: 'Invalid batch request',
      status: 400,
      detail: '/requests/0/methd: unknown member "methd"',
      errors: [{ pointer: '/requests/0/methd', detail: 'unknown member "methd"' }],
    },
  ],
});

/**
 * JSON Schema 2020-12 of an asynchronous batch's progress (SPEC §9): the body of its `202`
 * and of its monitor's `202` while it runs.
 */
export const batchJobStatusSchema: JsonSchema = deepFreeze({
  $schema: JSON_SCHEMA_DIALECT,
  title: 'Asynchronous batch status',
  type: 'object',
  properties: {
    status: { const: 'running' },
    total: { type: 'integer', minimum: 0, description: 'Items in the batch.' },
    done: { type: 'integer', minimum: 0, description: 'Items finished so far.' },
  },
  required: ['status', 'total', 'done'],
  examples: [{ status: 'running', total: 250, done: 0 }],
});

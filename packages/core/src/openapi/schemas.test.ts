/**
 * The JSON Schemas against a real JSON Schema 2020-12 validator (Ajv) and against the
 * parser itself: every shape the schema accepts here the server accepts too, every shape it
 * refuses the server refuses, and every answer the handler writes fits the answer schemas.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  BatchError,
  batchJobStatusSchema,
  batchPathItem,
  batchProblemSchema,
  createBatchHandler,
  type Dispatcher,
  decodeBatchRequest,
  type JsonSchema,
  jsonBatchRequestSchema,
  jsonBatchResponseSchema,
  jsonLinesLineSchema,
} from '../index.js';

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
ajv.addFormat('uri-reference', true);

function validator(schema: JsonSchema): ValidateFunction {
  return ajv.compile(schema);
}

const validateRequest = validator(jsonBatchRequestSchema);
const validateResponse = validator(jsonBatchResponseSchema);
const validateLine = validator(jsonLinesLineSchema);
const validateProblem = validator(batchProblemSchema);

function explain(validate: ValidateFunction): string {
  return ajv.errorsText(validate.errors);
}

/** Whether the server's own parser accepts `document` as a JSON batch. */
async function parserAccepts(document: unknown): Promise<boolean> {
  try {
    await decodeBatchRequest({
      contentType: 'application/json',
      body: new TextEncoder().encode(JSON.stringify(document)),
      host: 'api.example.com',
    });
    return true;
  } catch (error) {
    if (error instanceof BatchError) return false;
    throw error;
  }
}

/** JSON batches the server runs: SPEC §3, docs/protocol.md, the core's tests. */
const VALID: Array<[string, unknown]> = [
  ['an empty batch', { requests: [] }],
  [
    'SPEC §3: the Kinto example with defaults',
    {
      defaults: { method: 'POST', path: '/articles', headers: { Authorization: 'Bearer x' } },
      requests: [
        { body: { title: 'MoFo', url: 'http://mozilla.org' } },
        { method: 'PATCH', path: '/articles/409', body: { read_position: 3477 } },
      ],
    },
  ],
  [
    'protocol §3.2: defaults, id and a $id reference by url',
    {
      defaults: { method: 'POST', path: '/articles' },
      requests: [
        { body: { title: 'MoFo', url: 'http://mozilla.org' } },
        { id: 'moco', body: { title: 'MoCo', url: 'http://mozilla.com' } },
        { method: 'PATCH', path: '/articles/1', body: { read_position: 3477 } },
        { method: 'GET', url: '$moco' },
      ],
    },
  ],
  [
    'protocol §3.2: bodies both ways',
    {
      requests: [
        {
          method: 'PUT',
          path: '/bin',
          headers: { 'Content-Type': 'application/octet-stream' },
          body: 'AAEC/w==',
          bodyEncoding: 'base64',
        },
        {
          method: 'POST',
          path: '/echo',
          headers: { 'Content-Type': 'text/plain' },
          body: 'plain words',
        },
        { path: '/bin' },
        { path: '/text' },
        { path: '/empty' },
        { method: 'HEAD', path: '/text' },
      ],
    },
  ],
  [
    'protocol §4: ids and a write for JSON Lines',
    {
      requests: [
        { id: 'slow', path: '/slow/300' },
        { id: 'fast', path: '/slow/10' },
        { id: 'write', method: 'DELETE', path: '/echo/1' },
        { id: 'last', path: '/slow/5' },
      ],
    },
  ],
  [
    'protocol §5: targets (relative, absolute URL on the own host)',
    {
      requests: [
        { path: '/echo' },
        { path: '/v1/echo/a?q=1' },
        { path: 'echo/b' },
        { url: 'https://api.example.com/v1/echo/c' },
        { path: '/v10/echo' },
      ],
    },
  ],
  [
    'protocol §8.1: an atomicity group, dependsOn a group, a $id reference',
    {
      requests: [
        {
          id: 'new',
          atomicityGroup: 'g1',
          method: 'POST',
          path: '/articles',
          body: { title: 'MoFo', url: 'http://mozilla.org' },
        },
        {
          id: 'bad',
          atomicityGroup: 'g1',
          method: 'PATCH',
          path: '/articles/99',
          body: { read_position: 12 },
        },
        { id: 'never', atomicityGroup: 'g1', method: 'DELETE', path: '$new' },
        { id: 'after', dependsOn: ['g1'], path: '/articles' },
        { path: '/articles' },
      ],
    },
  ],
  [
    'headers: a repeated header as an array, Latin-1, an empty override',
    {
      requests: [
        {
          method: 'patch',
          path: '/a',
          headers: {
            Accept: ['text/plain', 'application/json'],
            'X-Name': 'Zoë',
            Authorization: '',
          },
          body: null,
        },
      ],
    },
  ],
  [
    'defaults: url, a default body merged with an own one, base64 in defaults',
    {
      defaults: { url: '/upload', body: 'AAE=', bodyEncoding: 'base64' },
      requests: [{}, { body: 'AgM=' }, { method: 'POST', path: '/other', body: 'BAU=' }],
    },
  ],
  [
    'a body of every JSON kind',
    {
      requests: [1, 'x', true, [1], { a: {} }].map((body) => ({
        path: '/a',
        method: 'POST',
        body,
      })),
    },
  ],
];

/** Shapes the server refuses with a `400` and the schema refuses too. */
const INVALID: Array<[string, unknown]> = [
  ['not an object', [{ path: '/a' }]],
  ['no requests', { defaults: { path: '/a' } }],
  ['requests not an array', { requests: { path: '/a' } }],
  ['an unknown top-level member', { requests: [], request: [] }],
  ['an unknown request member (a typo)', { requests: [{ path: '/a', methd: 'GET' }] }],
  ['an unknown defaults member', { defaults: { path: '/a', timeout: 3 }, requests: [{}] }],
  ['id in defaults', { defaults: { path: '/a', id: 'x' }, requests: [{}] }],
  ['atomicityGroup in defaults', { defaults: { path: '/a', atomicityGroup: 'g' }, requests: [{}] }],
  ['defaults not an object', { defaults: [], requests: [{ path: '/a' }] }],
  ['a request that is not an object', { requests: ['/a'] }],
  ['no path, no defaults', { requests: [{ method: 'GET' }] }],
  ['no path, defaults without one', { defaults: { method: 'POST' }, requests: [{ body: {} }] }],
  ['both path and url', { requests: [{ path: '/a', url: '/b' }] }],
  ['a path that is not a string', { requests: [{ path: 3 }] }],
  ['an empty path', { requests: [{ path: '' }] }],
  ['a path with a space', { requests: [{ path: '/a b' }] }],
  ['a path with a fragment', { requests: [{ path: '/a#x' }] }],
  ['a non-ASCII path', { requests: [{ path: '/é' }] }],
  ['the asterisk form', { requests: [{ method: 'OPTIONS', path: '*' }] }],
  ['a method that is not a token', { requests: [{ method: 'GE T', path: '/a' }] }],
  ['CONNECT, any case', { requests: [{ method: 'connect', path: '/a' }] }],
  ['a method that is not a string', { requests: [{ method: 1, path: '/a' }] }],
  ['headers not an object', { requests: [{ path: '/a', headers: ['Accept: x'] }] }],
  ['a header name that is not a token', { requests: [{ path: '/a', headers: { 'X Y': 'z' } }] }],
  ['a number header value', { requests: [{ path: '/a', headers: { 'X-N': 1 } }] }],
  [
    'a header value with a line break',
    { requests: [{ path: '/a', headers: { 'X-N': 'a\r\nb' } }] },
  ],
  ['a non-Latin-1 header value', { requests: [{ path: '/a', headers: { 'X-N': '😀' } }] }],
  ['an array of non-strings', { requests: [{ path: '/a', headers: { 'X-N': [1] } }] }],
  [
    'bodyEncoding other than base64',
    { requests: [{ path: '/a', body: 'AA==', bodyEncoding: 'hex' }] },
  ],
  [
    'bodyEncoding with an object body',
    { requests: [{ path: '/a', body: {}, bodyEncoding: 'base64' }] },
  ],
  ['an empty id', { requests: [{ path: '/a', id: '' }] }],
  ['a number id', { requests: [{ path: '/a', id: 1 }] }],
  [
    'dependsOn a string',
    {
      requests: [
        { path: '/a', id: 'x' },
        { path: '/b', dependsOn: 'x' },
      ],
    },
  ],
  [
    'dependsOn numbers',
    {
      requests: [
        { path: '/a', id: 'x' },
        { path: '/b', dependsOn: [0] },
      ],
    },
  ],
  ['an empty atomicityGroup', { requests: [{ path: '/a', atomicityGroup: '' }] }],
];

describe('jsonBatchRequestSchema', () => {
  it('is JSON Schema 2020-12 and frozen', () => {
    expect(jsonBatchRequestSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.isFrozen(jsonBatchRequestSchema)).toBe(true);
    expect(Object.isFrozen(jsonBatchRequestSchema.properties)).toBe(true);
  });

  it.each(VALID)('accepts %s — and so does the server', async (_name, document) => {
    expect(validateRequest(document), explain(validateRequest)).toBe(true);
    expect(await parserAccepts(document)).toBe(true);
  });

  it.each(INVALID)('refuses %s — and so does the server', async (_name, document) => {
    expect(validateRequest(document)).toBe(false);
    expect(await parserAccepts(document)).toBe(false);
  });

  it('accepts what only the server can refuse (duplicate ids, unknown dependsOn)', async () => {
    const duplicate = {
      requests: [
        { path: '/a', id: 'x' },
        { path: '/b', id: 'x' },
      ],
    };
    expect(validateRequest(duplicate)).toBe(true);
    expect(await parserAccepts(duplicate)).toBe(false);
  });

  it("names the offending member in the validator's errors", () => {
    expect(validateRequest({ requests: [{ path: '/a', methd: 'GET' }] })).toBe(false);
    expect(validateRequest.errors).toContainEqual(
      expect.objectContaining({
        instancePath: '/requests/0',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'methd' },
      }),
    );
  });

  it("batchPathItem's copy limits requests to maxRequests", () => {
    const item = batchPathItem('/batch', { maxRequests: 2 }) as {
      post: { requestBody: { content: { 'application/json': { schema: JsonSchema } } } };
    };
    const limited = ajv.compile(item.post.requestBody.content['application/json'].schema);
    expect(limited({ requests: [{ path: '/a' }, { path: '/b' }] })).toBe(true);
    expect(limited({ requests: [{ path: '/a' }, { path: '/b' }, { path: '/c' }] })).toBe(false);
    // The exported schema itself is unchanged.
    expect(validateRequest({ requests: [{ path: '/a' }, { path: '/b' }, { path: '/c' }] })).toBe(
      true,
    );
  });
});

/** Routes of a small app: JSON, text, bytes, nothing, an error, a repeated header. */
const dispatch: Dispatcher = async (request) => {
  const path = request.target.split('?')[0];
  const json = (status: number, value: unknown, extra: Array<[string, string]> = []) => ({
    status,
    headers: [['Content-Type', 'application/json'] as [string, string], ...extra],
    body: new TextEncoder().encode(JSON.stringify(value)),
  });
  switch (path) {
    case '/json':
      return json(200, { ok: true }, [
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ]);
    case '/created':
      return json(201, { id: 1 }, [['Location', '/things/1']]);
    case '/text':
      return {
        status: 200,
        headers: [['Content-Type', 'text/plain']],
        body: new TextEncoder().encode('héllo'),
      };
    case '/bin':
      return {
        status: 200,
        headers: [['Content-Type', 'application/octet-stream']],
        body: new Uint8Array([0, 1, 255]),
      };
    case '/empty':
      return { status: 204, headers: [], body: null };
    default:
      return json(404, { title: 'Not Found' });
  }
};

const handler = createBatchHandler({ dispatch, transaction: (run) => run() });

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return handler.fetch(
    new Request('http://api.example.com/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
  );
}

const MIXED = {
  requests: [
    { path: '/json', id: 'j' },
    { method: 'POST', path: '/created', body: {} },
    { path: '/text' },
    { path: '/bin' },
    { path: '/empty' },
    { method: 'HEAD', path: '/json' },
    { path: '/missing', id: 'm' },
    { path: '/json', dependsOn: ['m'] },
    { method: 'POST', path: '/created', atomicityGroup: 'g', body: {} },
    { method: 'POST', path: '/missing', atomicityGroup: 'g', body: {} },
  ],
};

describe('jsonBatchResponseSchema and jsonLinesLineSchema', () => {
  it('fit every kind of answer the handler writes (JSON)', async () => {
    const response = await post(MIXED);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { responses: unknown[] };
    expect(answer.responses).toHaveLength(MIXED.requests.length);
    expect(validateResponse(answer), explain(validateResponse)).toBe(true);
  });

  it('fit every line the handler writes (JSON Lines)', async () => {
    const response = await post(MIXED, { accept: 'application/jsonl' });
    expect(response.headers.get('content-type')).toBe('application/jsonl');
    const lines = (await response.text()).split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(MIXED.requests.length);
    for (const line of lines) {
      expect(validateLine(JSON.parse(line)), `${line}: ${explain(validateLine)}`).toBe(true);
    }
  });

  it('accept `failed` (SPEC §3) and an answer without it; refuse wrong shapes', () => {
    const one = { status: 404, path: '/a', headers: {}, body: '' };
    expect(validateResponse({ responses: [one], failed: [0] })).toBe(true);
    expect(validateResponse({ responses: [], failed: [] })).toBe(true);
    expect(validateResponse({ responses: [one] })).toBe(true);
    for (const wrong of [
      {},
      { responses: {} },
      { responses: [{ path: '/a', headers: {} }] },
      { responses: [{ status: '200', headers: {} }] },
      { responses: [{ status: 42, headers: {} }] },
      { responses: [{ status: 200, headers: { A: 1 } }] },
      { responses: [{ status: 200, headers: {}, bodyEncoding: 'hex' }] },
      { responses: [one], failed: [-1] },
      { responses: [one], failed: ['0'] },
      { responses: [one], failed: [0, 0] },
    ]) {
      expect(validateResponse(wrong), JSON.stringify(wrong)).toBe(false);
    }
    expect(validateLine({ ...one, index: 0 })).toBe(true);
    expect(validateLine(one)).toBe(false);
    expect(validateLine({ ...one, index: -1 })).toBe(false);
  });
});

describe('batchProblemSchema', () => {
  it.each([
    [
      'a JSON batch with problems (pointers)',
      { requests: [{ methd: 'GET' }, { method: 'PATCH' }] },
    ],
    ['too many requests', { requests: Array.from({ length: 101 }, () => ({ path: '/json' })) }],
    ['a nested batch', { requests: [{ method: 'POST', path: '/batch', body: { requests: [] } }] }],
  ])('fits the 400 answered for %s', async (_name, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = await response.json();
    expect(validateProblem(problem), explain(validateProblem)).toBe(true);
  });

  it('fits the 415, 405 and a multipart problem naming a part', async () => {
    const refused = [
      await handler.fetch(
        new Request('http://api.example.com/batch', {
          method: 'POST',
          body: 'hi',
          headers: { 'content-type': 'text/plain' },
        }),
      ),
      await handler.fetch(new Request('http://api.example.com/batch')),
      await handler.fetch(
        new Request('http://api.example.com/batch', {
          method: 'POST',
          headers: { 'content-type': 'multipart/mixed; boundary=b' },
          body: '--b\r\nContent-Type: application/http\r\n\r\nGET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n--b--',
        }),
      ),
    ];
    expect(refused.map((response) => response.status)).toEqual([415, 405, 400]);
    for (const response of refused) {
      const problem = await response.json();
      expect(validateProblem(problem), explain(validateProblem)).toBe(true);
    }
  });

  it('refuses wrong shapes', () => {
    const base = { type: 'urn:batch:problem:invalid-batch', title: 'Invalid', status: 400 };
    expect(validateProblem({ ...base, errors: [{ part: 3, changeSetPart: 2, detail: 'x' }] })).toBe(
      true,
    );
    for (const wrong of [
      { title: 'x', status: 400 },
      { ...base, status: 200 },
      { ...base, errors: [{ detail: 'x' }] },
      { ...base, errors: [{ part: 0, detail: 'x' }] },
      { ...base, errors: [{ pointer: '/a' }] },
    ]) {
      expect(validateProblem(wrong), JSON.stringify(wrong)).toBe(false);
    }
  });
});

describe('batchJobStatusSchema', () => {
  it('is the body of a running asynchronous batch (SPEC §9)', () => {
    const validate = validator(batchJobStatusSchema);
    expect(validate({ status: 'running', total: 3, done: 0 })).toBe(true);
    expect(validate({ status: 'done', total: 3, done: 3 })).toBe(false);
    expect(validate({ status: 'running', total: 3 })).toBe(false);
  });
});

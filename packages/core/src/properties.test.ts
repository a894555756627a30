import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchError,
  canonicalHeaderName,
  type DecodedSubResponse,
  decodeBatchRequest,
  decodeBatchResponse,
  encodeBatchRequest,
  encodeBatchResponse,
  type HeaderList,
  type SubRequestInit,
  type SubResponse,
} from './index.js';
import { bytes, chunked, collect, FC_SEED, settle } from './testing.js';

/** Multipart answers write header names in canonical case (`content-type` → `Content-Type`). */
const canonical = (headers: HeaderList): HeaderList =>
  headers.map(([name, value]) => [canonicalHeaderName(name), value]);

// Every property here runs from one fixed seed, FC_SEED (testing.ts): the same inputs on every
// run and machine. A failure prints its seed and shrink path (`{ seed: …, path: "…" }`);
// `FC_SEED=<seed> pnpm test` replays it (turbo.json passes FC_SEED to the test tasks), and any
// other FC_SEED explores other inputs. The timeouts (60–120 s, by number of runs) are over 100x
// the idle time: idle, the slowest property, 1000 runs of "JSON: arbitrary JSON documents",
// takes about 0.5 s; with one core busy and turbo running other packages' tasks beside it, it
// took up to 12 s, past vitest's 5 s default.

const TCHARS =
  "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?".split(
  '',
);
const PATH_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%?".split('');

const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
const method = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
  token,
);
const target = fc
  .string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 40 })
  .map((rest) => `/${rest}`);
// Header values: visible Latin-1 and inner spaces, no leading or trailing white space.
const headerValue = fc
  .string({
    unit: fc
      .integer({ min: 0x21, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c)),
    maxLength: 30,
  })
  .chain((text) => fc.constantFrom(text, text.length > 1 ? `${text[0]} ${text.slice(1)}` : text));
const headerName = token.filter(
  (name) =>
    !['content-length', 'content-type', 'transfer-encoding', 'host'].includes(name.toLowerCase()),
);
const headers = fc.array(fc.tuple(headerName, headerValue), {
  maxLength: 5,
}) as fc.Arbitrary<HeaderList>;
const boundary = fc
  .string({ unit: fc.constantFrom(...BCHARS), minLength: 1, maxLength: 70 })
  .filter((b) => !b.endsWith(' '));
const cuts = fc.array(fc.nat({ max: 5000 }), { maxLength: 12 });

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const withoutLength = (list: HeaderList) =>
  list.filter(([name]) => name.toLowerCase() !== 'content-length');

/** A body with its Content-Type: arbitrary bytes, text, or JSON. */
const typedBody = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((body) => ({ type: 'application/octet-stream', body })),
  fc
    .string({ maxLength: 100 })
    .map((text) => ({ type: 'text/plain; charset=utf-8', body: bytes(text) })),
  fc.jsonValue().map((value) => ({ type: 'application/json', body: bytes(JSON.stringify(value)) })),
  fc.uint8Array({ maxLength: 50 }).map((body) => ({ type: undefined, body })),
);

const requestInit = fc.record({
  method,
  target,
  headers,
  typed: typedBody,
  contentId: fc.option(
    fc
      .string({ unit: fc.constantFrom(...BCHARS, ' ', '<'), minLength: 1, maxLength: 20 })
      .map((id) => `<${id.trim() || 'x'}>`),
    { nil: undefined },
  ),
});

type RawRequest = {
  method: string;
  target: string;
  headers: HeaderList;
  typed: { type: string | undefined; body: Uint8Array };
  contentId: string | undefined;
};

function toInit(request: RawRequest, index: number): SubRequestInit {
  const list: HeaderList = [...request.headers];
  if (request.typed.type !== undefined) list.push(['Content-Type', request.typed.type]);
  const init: SubRequestInit = {
    method: request.method,
    target: request.target,
    headers: list,
    body: request.typed.body,
  };
  if (request.contentId !== undefined) init.contentId = request.contentId;
  init.id = `id${index}`;
  return init;
}

describe('multipart request: encode → decode', () => {
  it('gives back every request, whatever the boundary and the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestInit, { maxLength: 6 }),
        boundary,
        cuts,
        async (raw, boundaryText, splits) => {
          const inits = raw.map(toInit);
          const delimiter = bytes(`\n--${boundaryText}`);
          fc.pre(inits.every((init) => !contains(init.body as Uint8Array, delimiter)));
          const encoded = encodeBatchRequest('multipart', inits, { boundary: boundaryText });
          expect(encoded.contentType).toBe(`multipart/mixed; boundary=${boundaryText}`);
          const contentType = `multipart/mixed; boundary="${boundaryText}"`;
          const decoded = await decodeBatchRequest(
            { contentType, body: chunked(encoded.body, splits) },
            { maxRequests: 1000 },
          );
          expect(decoded.format).toBe('multipart');
          expect(decoded.items).toHaveLength(inits.length);
          decoded.items.forEach((item, index) => {
            const init = inits[index]!;
            expect(item.method).toBe(init.method!.toUpperCase());
            expect(item.target).toBe(init.target);
            expect(withoutLength(item.headers)).toEqual(init.headers);
            expect(item.body).toEqual(init.body);
            expect(item.contentId).toBe(init.contentId ?? `<${init.id}>`);
          });
        },
      ),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 60_000);
});

describe('JSON request: encode → decode', () => {
  it('gives back every request, ids and dependsOn included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestInit, { maxLength: 6 }),
        fc.boolean(),
        cuts,
        async (raw, depend, splits) => {
          const inits = raw.map(toInit);
          if (depend && inits.length > 1) inits[inits.length - 1]!.dependsOn = [inits[0]!.id!];
          const encoded = encodeBatchRequest('json', inits);
          const decoded = await decodeBatchRequest({
            contentType: 'application/json; charset=utf-8',
            body: chunked(encoded.body, splits),
          });
          expect(decoded.format).toBe('json');
          expect(decoded.items).toHaveLength(inits.length);
          decoded.items.forEach((item, index) => {
            const init = inits[index]!;
            expect(item.method).toBe(init.method!.toUpperCase());
            expect(item.target).toBe(init.target);
            expect(item.body).toEqual(init.body);
            expect(item.id).toBe(init.id);
            expect(item.dependsOn).toEqual(init.dependsOn);
            // Repeated names (any case) travel as one array under the first name's case.
            const lower = (list: HeaderList) =>
              list.map(([name, value]) => [name.toLowerCase(), value]).sort();
            expect(lower(item.headers)).toEqual(lower(init.headers!));
          });
        },
      ),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 60_000);
});

const status = fc.integer({ min: 100, max: 599 }).filter((code) => code !== 204 && code !== 304);
const subResponse = fc.record({
  status,
  headers,
  typed: typedBody,
  contentId: fc.option(fc.constantFrom('<a>', 'b', '<c + 1>'), { nil: undefined }),
  streamed: fc.boolean(),
});

function toResponse(
  raw: {
    status: number;
    headers: HeaderList;
    typed: { type: string | undefined; body: Uint8Array };
    contentId: string | undefined;
    streamed: boolean;
  },
  index: number,
): SubResponse {
  const list: HeaderList = [...raw.headers];
  if (raw.typed.type !== undefined) list.push(['content-type', raw.typed.type]);
  const body = raw.typed.body;
  const response: SubResponse = {
    status: raw.status,
    headers: list,
    body: raw.streamed ? chunked(body, [1, 7, 30]) : body,
    id: `r${index}`,
    path: `/items/${index}`,
  };
  if (raw.contentId !== undefined) response.contentId = raw.contentId;
  return response;
}

describe('batch response: encode → decode', () => {
  it('multipart keeps status, every header line and the exact body bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(subResponse, { maxLength: 6 }),
        boundary,
        cuts,
        async (raw, boundaryText, splits) => {
          const delimiter = bytes(`\n--${boundaryText}`);
          fc.pre(raw.every((item) => !contains(item.typed.body, delimiter)));
          const encoded = encodeBatchResponse('multipart', raw.map(toResponse), {
            boundary: boundaryText,
          });
          const body = await collect(encoded.body);
          const decoded = await decodeBatchResponse({
            contentType: encoded.contentType,
            body: chunked(body, splits),
          });
          expect(decoded).toHaveLength(raw.length);
          decoded.forEach((response, index) => {
            const original = toResponse(raw[index]!, index);
            expect(response.status).toBe(original.status);
            expect(response.statusText.length).toBeGreaterThan(0);
            expect(withoutLength(response.headers)).toEqual(canonical(original.headers));
            expect(response.body).toEqual(raw[index]!.typed.body);
            const id = original.contentId;
            expect(response.contentId).toBe(
              id === undefined
                ? undefined
                : id.startsWith('<')
                  ? `<response-${id.slice(1)}`
                  : `response-${id}`,
            );
          });
        },
      ),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 60_000);

  it('JSON keeps status, headers, id, path and the body (JSON bodies equal as values)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(subResponse, { maxLength: 6 }), async (raw) => {
        const encoded = encodeBatchResponse('json', raw.map(toResponse));
        const body = await collect(encoded.body);
        const decoded = await decodeBatchResponse({ contentType: encoded.contentType, body });
        expect(decoded).toHaveLength(raw.length);
        decoded.forEach((response, index) => {
          const original = raw[index]!;
          expect(response.status).toBe(original.status);
          expect(response.id).toBe(`r${index}`);
          expect(response.path).toBe(`/items/${index}`);
          const lower = (list: HeaderList) =>
            list.map(([name, value]) => [name.toLowerCase(), value]).sort();
          expect(lower(response.headers)).toEqual(lower(toResponse(original, index).headers));
          if (original.typed.type === 'application/json') {
            expect(JSON.parse(new TextDecoder().decode(response.body))).toEqual(
              JSON.parse(new TextDecoder().decode(original.typed.body)),
            );
          } else {
            expect(response.body).toEqual(original.typed.body);
          }
        });
      }),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 60_000);
});

/** Fragments that make random bodies look like batches often enough to reach deep code. */
const FRAGMENTS = [
  '--b',
  '--b--',
  '\r\n',
  '\n',
  ' ',
  'Content-Type: application/http',
  'Content-ID: <1>',
  'Content-Length: 5',
  'Content-Length: x',
  'Transfer-Encoding: chunked',
  'GET / HTTP/1.1',
  'POST /a',
  'http://h/x',
  'CONNECT /',
  '\t',
  ':',
  'X: y',
  'hello',
  '\0',
  // Change sets (SPEC §2): nested parts, and a nested change set.
  'Content-Type: multipart/mixed; boundary=c',
  'Content-Type: multipart/mixed; boundary=d',
  'Content-Type: MULTIPART/mixed',
  '--c',
  '--c--',
  '--d',
  '--d--',
  'POST $1/Orders',
];
const batchLikeBytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc
    .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 5 })), { maxLength: 40 })
    .map((parts) => bytes(parts.join(''))),
);

function describeOutcome(outcome: Awaited<ReturnType<typeof settle>>): unknown {
  if (outcome.ok) return outcome.value;
  const error = outcome.error;
  return error instanceof BatchError
    ? { code: error.code, errors: error.errors }
    : { unexpected: String(error) };
}

describe('multipart reader', () => {
  it('gives the same items, or the same error, for every way of splitting the input', async () => {
    await fc.assert(
      fc.asyncProperty(batchLikeBytes, cuts, async (data, splits) => {
        const contentType = 'multipart/mixed; boundary=b';
        const whole = await settle(() =>
          decodeBatchRequest({ contentType, body: data, host: 'h' }),
        );
        const split = await settle(() =>
          decodeBatchRequest({ contentType, body: chunked(data, splits), host: 'h' }),
        );
        const oneByte = await settle(() =>
          decodeBatchRequest({ contentType, body: chunked(data, [...data.keys()]), host: 'h' }),
        );
        expect(describeOutcome(split)).toEqual(describeOutcome(whole));
        expect(describeOutcome(oneByte)).toEqual(describeOutcome(whole));
      }),
      { numRuns: 500, seed: FC_SEED },
    );
  }, 90_000);

  it('is split-invariant on valid batches with mixed line endings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestInit, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        cuts,
        async (raw, bareLf, splits) => {
          const inits = raw.map(toInit).map((init) => ({ ...init, body: bytes('payload') }));
          const encoded = encodeBatchRequest('multipart', inits, { boundary: 'b' });
          // Byte for byte: a TextDecoder labelled latin1 is windows-1252 (Node 24 follows the
          // spec), which turns 0x80–0x9f into other characters.
          const text = Array.from(encoded.body, (byte) => String.fromCharCode(byte)).join('');
          const body = Uint8Array.from(bareLf ? text.replaceAll('\r\n', '\n') : text, (c) =>
            c.charCodeAt(0),
          );
          const contentType = 'multipart/mixed; boundary=b';
          const whole = await decodeBatchRequest({ contentType, body });
          const split = await decodeBatchRequest({ contentType, body: chunked(body, splits) });
          expect(split).toEqual(whole);
          expect(whole.items.map((item) => new TextDecoder().decode(item.body))).toEqual(
            inits.map(() => 'payload'),
          );
        },
      ),
      { numRuns: 200, seed: FC_SEED },
    );
  }, 60_000);
});

describe('decoders never throw anything but BatchError', () => {
  it('multipart: arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(batchLikeBytes, async (data) => {
        const outcome = await settle(() =>
          decodeBatchRequest(
            { contentType: 'multipart/mixed; boundary=b', body: data },
            { maxPartHeaderBytes: 64, maxRequests: 5 },
          ),
        );
        if (!outcome.ok) expect(outcome.error).toBeInstanceOf(BatchError);
      }),
      { numRuns: 1000, seed: FC_SEED },
    );
  }, 120_000);

  it('JSON: arbitrary JSON documents and arbitrary bytes; __proto__, constructor and prototype reach no prototype', async () => {
    // Written as JSON text, member by member: a JavaScript object would turn a `__proto__`
    // key into its prototype, and JSON.stringify would drop it.
    const objectText = (members: [string, string][]) =>
      `{${members.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
    const POISON_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
    // Values that carry `polluted` under the keys a merge must never follow, at any depth.
    const { value: poisoned } = fc.letrec<{ value: string; object: string }>((tie) => ({
      value: fc.oneof(
        { maxDepth: 3, depthIdentifier: 'poison' },
        fc.constant('{"polluted":true}'),
        fc.jsonValue({ maxDepth: 1 }).map((value) => JSON.stringify(value)),
        tie('object'),
      ),
      object: fc
        .array(fc.tuple(fc.constantFrom(...POISON_KEYS, 'polluted', 'a', 'keep'), tie('value')), {
          maxLength: 4,
        })
        .map(objectText),
    }));
    /** An object of `keys` (each at most once), with values from `value`. */
    const members = (keys: readonly string[], value: (key: string) => fc.Arbitrary<string>) =>
      fc
        .uniqueArray(fc.constantFrom(...keys), { maxLength: keys.length })
        .chain((chosen) =>
          fc.tuple(...chosen.map((key) => value(key).map((text): [string, string] => [key, text]))),
        )
        .map(objectText);
    const memberValue = (key: string): fc.Arbitrary<string> =>
      key === 'path'
        ? fc.constantFrom('"/a"', '"/a/b?c=1"', '5')
        : key === 'method'
          ? fc.constantFrom('"GET"', '"POST"', '"PATCH"')
          : key === 'bodyEncoding'
            ? fc.constantFrom('"base64"', '"text"')
            : poisoned;
    const REQUEST_KEYS = ['method', 'path', 'url', 'headers', 'body', 'bodyEncoding', 'id'];
    // Anything goes (mostly refused, but merged and validated first) ...
    const anyRequest = members([...REQUEST_KEYS, ...POISON_KEYS], memberValue);
    const anyDefaults = members(['method', 'path', 'headers', 'body', ...POISON_KEYS], memberValue);
    // ... and well-formed: the poisoned keys only where they are data (bodies, header names).
    const headersText = members(['Accept', 'X-A', ...POISON_KEYS], () => fc.constant('"x"'));
    const wellFormed = members(['method', 'headers', 'body'], (key) =>
      key === 'body' ? poisoned : key === 'headers' ? headersText : memberValue(key),
    ).map((text) => `{"path":"/a"${text === '{}' ? '' : `,${text.slice(1, -1)}`}}`);
    const request = fc.oneof({ arbitrary: wellFormed, weight: 4 }, anyRequest);
    const defaults = fc.oneof(wellFormed, anyDefaults);
    const batchText = fc
      .tuple(fc.array(request, { maxLength: 4 }), fc.option(defaults, { nil: undefined }))
      .map(([requests, defaultsText]) =>
        objectText([
          ['requests', `[${requests.join(',')}]`],
          ...(defaultsText === undefined ? [] : [['defaults', defaultsText] as [string, string]]),
        ]),
      );
    const document = fc.oneof(
      fc.anything().map((value) => bytes(JSON.stringify(value) ?? 'undefined')),
      batchText.map(bytes),
      batchText.map(bytes),
      fc.uint8Array({ maxLength: 200 }),
    );
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    /** How many documents carried `polluted` under each of the keys. */
    const carried = new Map<string, number>(POISON_KEYS.map((key) => [key, 0]));
    await fc.assert(
      fc.asyncProperty(document, async (data) => {
        const text = new TextDecoder().decode(data);
        for (const key of POISON_KEYS)
          if (new RegExp(`"${key}":\\{[^]*"polluted"`).test(text))
            carried.set(key, carried.get(key)! + 1);
        const outcome = await settle(() =>
          decodeBatchRequest({ contentType: 'application/json', body: data }),
        );
        if (!outcome.ok) expect(outcome.error).toBeInstanceOf(BatchError);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
      }),
      { numRuns: 1000, seed: FC_SEED },
    );
    // The property did meet what it guards against.
    for (const key of POISON_KEYS) expect(carried.get(key), key).toBeGreaterThan(50);
  }, 120_000);

  it('responses: arbitrary bytes in both formats', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchLikeBytes,
        fc.constantFrom('multipart/mixed; boundary=b', 'application/json'),
        async (data, contentType) => {
          const outcome = await settle(() => decodeBatchResponse({ contentType, body: data }));
          if (!outcome.ok) expect(outcome.error).toBeInstanceOf(BatchError);
        },
      ),
      { numRuns: 1000, seed: FC_SEED },
    );
  }, 120_000);
});

describe('JSON limits while reading', () => {
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ unit: fc.constantFrom('a', 'é', '\\', '"', '\n', '\u{1f600}'), maxLength: 40 }),
  );
  const item = fc.record({
    path: fc.constant('/a'),
    body: fc.option(body, { nil: undefined }),
    headers: fc.option(fc.constant({ 'Content-Type': 'text/plain' }), { nil: undefined }),
  });

  // Found with this seed: an escape cut by a chunk boundary was counted as 2 body bytes
  // ([{body:'a'}, {body:'\na'}], maxItemBodyBytes 0, a cut at byte 100 named the wrong item).
  it('reject only what the full validation rejects, with the same code, whatever the chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { maxLength: 8 }),
        fc.nat({ max: 8 }),
        fc.nat({ max: 60 }),
        fc.boolean(),
        cuts,
        async (requests, maxRequests, maxItemBodyBytes, pretty, splits) => {
          const text = JSON.stringify({ requests }, null, pretty ? 2 : undefined);
          const limits = { maxRequests, maxItemBodyBytes };
          const outcome = await settle(() =>
            decodeBatchRequest(
              { contentType: 'application/json', body: chunked(bytes(text), splits) },
              limits,
            ),
          );
          const whole = await settle(() =>
            decodeBatchRequest({ contentType: 'application/json', body: bytes(text) }, limits),
          );
          expect(describeOutcome(outcome)).toEqual(describeOutcome(whole));
          // The truth, computed without the reader: the sizes after validation.
          const tooMany = requests.length > maxRequests;
          const unlimited = await decodeBatchRequest(
            { contentType: 'application/json', body: bytes(text) },
            { maxRequests: 100 },
          );
          const tooLarge = unlimited.items.some(
            (decoded) => decoded.body.length > maxItemBodyBytes,
          );
          if (outcome.ok) {
            expect(tooMany || tooLarge).toBe(false);
          } else {
            const code = (outcome.error as BatchError).code;
            if (code === 'too_many_requests_in_batch') expect(tooMany).toBe(true);
            else if (code === 'item_body_too_large') expect(tooLarge).toBe(true);
            else expect.unreachable(`unexpected ${code}`);
          }
        },
      ),
      { numRuns: 500, seed: FC_SEED },
    );
  }, 90_000);
});

// ---------------------------------------------------------------------------------------
// Change sets and atomicity groups (SPEC §2 "Change sets", §3 `atomicityGroup`)
// ---------------------------------------------------------------------------------------

/**
 * A batch cut into runs: each run is either one atomicity group (`grouped`) or requests of
 * no group. Consecutive groups get different names, so each is its own change set.
 */
function groupRuns<T>(runs: { items: T[]; grouped: boolean }[]): {
  item: T;
  group: string | undefined;
}[] {
  return runs.flatMap((run, index) =>
    run.items.map((item) => ({ item, group: run.grouped ? `g${index}` : undefined })),
  );
}

/** The `changeset-N` names a multipart decoder gives the groups of `groups`, in order. */
function changeSetNames(groups: (string | undefined)[]): (string | undefined)[] {
  const names = new Map<string, string>();
  return groups.map((group) => {
    if (group === undefined) return undefined;
    if (!names.has(group)) names.set(group, `changeset-${names.size + 1}`);
    return names.get(group);
  });
}

const runs = <T>(item: fc.Arbitrary<T>) =>
  fc.array(
    fc.record({ items: fc.array(item, { minLength: 1, maxLength: 3 }), grouped: fc.boolean() }),
    {
      maxLength: 4,
    },
  );

describe('change sets: multipart request encode → decode', () => {
  it('gives back every request and its group, whatever the groupings, the boundaries and the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        runs(requestInit),
        boundary,
        boundary,
        cuts,
        fc.boolean(),
        async (raw, outer, inner, splits, bareLf) => {
          fc.pre(!outer.startsWith(inner) && !inner.startsWith(outer));
          const grouped = groupRuns(raw);
          const inits = grouped.map(({ item, group }, index) => {
            const init = toInit(item, index);
            if (group !== undefined) init.atomicityGroup = group;
            return init;
          });
          const delimiters = [bytes(`\n--${outer}`), bytes(`\n--${inner}`)];
          fc.pre(
            inits.every((init) => delimiters.every((d) => !contains(init.body as Uint8Array, d))),
          );
          // Bare LF: the framing only (bodies keep their bytes and go with a Content-Length).
          fc.pre(!bareLf || inits.every((init) => !contains(init.body as Uint8Array, bytes('\r'))));
          const encoded = encodeBatchRequest('multipart', inits, {
            boundary: outer,
            changeSetBoundary: inner,
          });
          let body = encoded.body;
          if (bareLf) body = withoutCr(body);
          const contentType = `multipart/mixed; boundary="${outer}"`;
          const whole = await decodeBatchRequest({ contentType, body }, { maxRequests: 1000 });
          const split = await decodeBatchRequest(
            { contentType, body: chunked(body, splits) },
            { maxRequests: 1000 },
          );
          expect(split).toEqual(whole);
          expect(whole.items).toHaveLength(inits.length);
          const names = changeSetNames(grouped.map(({ group }) => group));
          whole.items.forEach((item, index) => {
            const init = inits[index]!;
            expect(item.method).toBe(init.method!.toUpperCase());
            expect(item.target).toBe(init.target);
            expect(item.body).toEqual(init.body);
            expect(item.contentId).toBe(init.contentId ?? `<${init.id}>`);
            expect(item.atomicityGroup).toBe(names[index]);
          });
        },
      ),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 90_000);
});

/** The bytes with every CR dropped: CRLF framing becomes bare LF. */
function withoutCr(data: Uint8Array): Uint8Array {
  return data.filter((byte) => byte !== 0x0d);
}

describe('atomicity groups: JSON request encode → decode', () => {
  it('gives back every group, and dependsOn naming an earlier group', async () => {
    await fc.assert(
      fc.asyncProperty(runs(requestInit), fc.boolean(), cuts, async (raw, depend, splits) => {
        const grouped = groupRuns(raw);
        const inits = grouped.map(({ item, group }, index) => {
          const init = toInit(item, index);
          if (group !== undefined) init.atomicityGroup = group;
          return init;
        });
        // The last item waits for the first group, when one ended before it.
        const last = inits[inits.length - 1];
        const firstGroup = grouped.find(({ group }) => group !== undefined)?.group;
        if (
          depend &&
          last !== undefined &&
          firstGroup !== undefined &&
          last.atomicityGroup !== firstGroup
        )
          last.dependsOn = [firstGroup];
        const encoded = encodeBatchRequest('json', inits);
        const decoded = await decodeBatchRequest({
          contentType: 'application/json',
          body: chunked(encoded.body, splits),
        });
        expect(decoded.items.map((item) => item.atomicityGroup)).toStrictEqual(
          inits.map((init) => init.atomicityGroup),
        );
        expect(decoded.items.map((item) => item.dependsOn)).toStrictEqual(
          inits.map((init) => init.dependsOn),
        );
        expect(decoded.items.map((item) => item.target)).toStrictEqual(
          inits.map((init) => init.target),
        );
      }),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 60_000);
});

const groupedAnswer = fc.record({
  answer: subResponse,
  /** Only for a group's run of one: the group failed and this is its failed request's answer. */
  failed: fc.boolean(),
});

describe('change sets: batch response encode → decode', () => {
  it('multipart: groups come back as change sets, failed ones as one plain part, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        runs(groupedAnswer),
        boundary,
        fc.option(boundary, { nil: undefined }),
        fc.boolean(),
        cuts,
        async (raw, outer, inner, echo, splits) => {
          fc.pre(inner === undefined || (!outer.startsWith(inner) && !inner.startsWith(outer)));
          const grouped = groupRuns(raw);
          const responses = grouped.map(({ item, group }, index) => {
            const response = toResponse(item.answer, index);
            if (group !== undefined) {
              response.atomicityGroup = group;
              // A failed group is answered by its failed request alone.
              const run = raw[Number(group.slice(1))]!;
              if (run.items.length === 1 && item.failed) response.failedGroup = true;
            }
            return response;
          });
          const delimiters = [outer, inner ?? 'changeset_'].map((b) => bytes(`\n--${b}`));
          fc.pre(
            grouped.every(({ item }) =>
              delimiters.every((d) => !contains(item.answer.typed.body, d)),
            ),
          );
          const options =
            inner === undefined
              ? { boundary: outer, echoContentId: echo }
              : { boundary: outer, changeSetBoundary: inner, echoContentId: echo };
          const encoded = encodeBatchResponse('multipart', responses, options);
          const body = await collect(encoded.body);
          const decoded: DecodedSubResponse[] = await decodeBatchResponse({
            contentType: encoded.contentType,
            body: chunked(body, splits),
          });
          expect(decoded).toHaveLength(responses.length);
          const names = changeSetNames(
            responses.map((r) => (r.failedGroup === true ? undefined : r.atomicityGroup)),
          );
          decoded.forEach((response, index) => {
            const original = responses[index]!;
            expect(response.status).toBe(original.status);
            expect(withoutLength(response.headers)).toEqual(canonical(original.headers));
            expect(response.body).toEqual(grouped[index]!.item.answer.typed.body);
            expect(response.atomicityGroup).toBe(names[index]);
            const id = original.contentId;
            expect(response.contentId).toBe(
              id === undefined || echo
                ? id
                : id.startsWith('<')
                  ? `<response-${id.slice(1)}`
                  : `response-${id}`,
            );
          });
        },
      ),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 90_000);

  it('JSON and JSON Lines: atomicityGroup is echoed on every answer of a group', async () => {
    await fc.assert(
      fc.asyncProperty(runs(subResponse), fc.boolean(), async (raw, lines) => {
        const responses = groupRuns(raw).map(({ item, group }, index) => {
          const response = toResponse(item, index);
          if (group !== undefined) response.atomicityGroup = group;
          if (lines) response.index = index;
          return response;
        });
        const encoded = encodeBatchResponse('json', responses, { jsonLines: lines });
        const decoded = await decodeBatchResponse({
          contentType: encoded.contentType,
          body: await collect(encoded.body),
        });
        expect(decoded.map((r) => r.atomicityGroup)).toStrictEqual(
          responses.map((r) => r.atomicityGroup),
        );
      }),
      { numRuns: 200, seed: FC_SEED },
    );
  }, 60_000);
});

describe('change sets: the reader on arbitrary bytes', () => {
  const nested = fc
    .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 5 })), { maxLength: 60 })
    .map((parts) =>
      bytes(`--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n${parts.join('')}`),
    );

  it('gives the same items or the same error for every split, and throws nothing but BatchError', async () => {
    await fc.assert(
      fc.asyncProperty(nested, cuts, fc.boolean(), async (data, splits, small) => {
        const contentType = 'multipart/mixed; boundary=b';
        const limits = small ? { maxPartHeaderBytes: 64, maxRequests: 3 } : {};
        const whole = await settle(() =>
          decodeBatchRequest({ contentType, body: data, host: 'h' }, limits),
        );
        const split = await settle(() =>
          decodeBatchRequest({ contentType, body: chunked(data, splits), host: 'h' }, limits),
        );
        if (!whole.ok) expect(whole.error).toBeInstanceOf(BatchError);
        if (!split.ok) expect(split.error).toBeInstanceOf(BatchError);
        if (!small) expect(describeOutcome(split)).toEqual(describeOutcome(whole));
        const response = await settle(() =>
          decodeBatchResponse({ contentType, body: chunked(data, splits) }),
        );
        if (!response.ok) expect(response.error).toBeInstanceOf(BatchError);
      }),
      { numRuns: 1000, seed: FC_SEED },
    );
  }, 120_000);
});

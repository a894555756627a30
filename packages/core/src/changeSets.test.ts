/**
 * The wire side of change sets and atomicity groups (SPEC §2 "Change sets (OData)", §3
 * `atomicityGroup`, §4 "Atomicity groups" and "References"): wire vectors in, decoded items
 * (or a `BatchError`) out; encoded answers and requests checked byte for byte; round trips.
 */
import { describe, expect, it } from 'vitest';
import {
  BatchError,
  type BatchLimits,
  type BodyInput,
  type DecodedBatch,
  decodeBatchRequest,
  decodeBatchResponse,
  decodeJsonLines,
  encodeBatchRequest,
  encodeBatchResponse,
  isODataBatch,
  parseReference,
  partError,
  partLabel,
  partLocations,
  referenceName,
  type SubRequest,
  type SubResponse,
} from './index.js';
import { bytes, collect, decoder } from './testing.js';

const HOST = 'host';
const B = 'batch_36522ad7';
const C = 'changeset_77162fcd';
const MULTIPART = `multipart/mixed; boundary=${B}`;

/** Wire text from lines, joined with CRLF. */
function crlf(...lines: string[]): string {
  return lines.join('\r\n');
}

async function* chunksOf(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.slice(i, i + size);
}

/** Every vector is fed whole and split into small chunks: the result must not change. */
const FEEDS = ['whole', 1, 3, 7, 64] as const;
type Feed = (typeof FEEDS)[number];

function feed(wire: string, mode: Feed): BodyInput {
  const data = bytes(wire);
  return mode === 'whole' ? data : chunksOf(data, mode);
}

function decode(
  body: BodyInput,
  limits?: BatchLimits,
  contentType = MULTIPART,
): Promise<DecodedBatch> {
  return decodeBatchRequest({ contentType, body, host: HOST }, limits);
}

interface Item {
  method: string;
  target: string;
  body: string;
  contentId?: string;
  atomicityGroup?: string;
}

/** The members that matter here, with the body as text. */
function plain(items: SubRequest[]): Item[] {
  return items.map((item) => {
    const out: Item = { method: item.method, target: item.target, body: decoder.decode(item.body) };
    if (item.contentId !== undefined) out.contentId = item.contentId;
    if (item.atomicityGroup !== undefined) out.atomicityGroup = item.atomicityGroup;
    return out;
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<BatchError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BatchError);
    return error as BatchError;
  }
  return expect.fail('expected a BatchError, the batch was accepted');
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  return decoder.decode(await collect(body));
}

// ---------------------------------------------------------------------------------------
// SPEC §2 request: change sets accepted
// ---------------------------------------------------------------------------------------

/** The OData 4.0 Part 1 §11.7 example, with a change set whose second request is `$1/Orders`. */
const ODATA_EXAMPLE = crlf(
  `--${B}`,
  'Content-Type: application/http',
  'Content-Transfer-Encoding:binary',
  '',
  "GET /service/Customers('ALFKI') HTTP/1.1",
  'Host: host',
  '',
  `--${B} `,
  `Content-Type: multipart/mixed; boundary=${C}`,
  '',
  `--${C}`,
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  'Content-ID: 1',
  '',
  'POST /service/Customers HTTP/1.1',
  'Host: host',
  'Content-Type: application/json',
  'Content-Length: 16',
  '',
  '{"Name":"Alfie"}',
  '',
  `--${C}`,
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  'Content-ID: 2',
  '',
  'POST $1/Orders HTTP/1.1',
  'Host: host',
  'Content-Type: application/json',
  'Content-Length: 11',
  '',
  '{"Total":3}',
  '',
  `--${C}--`,
  '',
  `--${B}`,
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  '',
  'GET /service/Products HTTP/1.1',
  'Host: host',
  '',
  `--${B}--`,
  '',
);

interface AcceptedVector {
  name: string;
  wire: string;
  items: Item[];
}

const ACCEPTED: AcceptedVector[] = [
  {
    name: 'the OData example: a GET, a change set (POST, then POST $1/Orders), a GET',
    wire: ODATA_EXAMPLE,
    items: [
      { method: 'GET', target: "/service/Customers('ALFKI')", body: '' },
      {
        method: 'POST',
        target: '/service/Customers',
        body: '{"Name":"Alfie"}',
        contentId: '1',
        atomicityGroup: 'changeset-1',
      },
      {
        method: 'POST',
        target: '$1/Orders',
        body: '{"Total":3}',
        contentId: '2',
        atomicityGroup: 'changeset-1',
      },
      { method: 'GET', target: '/service/Products', body: '' },
    ],
  },
  {
    name: 'bare LF everywhere, inside the change set too',
    wire: ODATA_EXAMPLE.replaceAll('\r\n', '\n'),
    items: [
      { method: 'GET', target: "/service/Customers('ALFKI')", body: '' },
      {
        method: 'POST',
        target: '/service/Customers',
        body: '{"Name":"Alfie"}',
        contentId: '1',
        atomicityGroup: 'changeset-1',
      },
      {
        method: 'POST',
        target: '$1/Orders',
        body: '{"Total":3}',
        contentId: '2',
        atomicityGroup: 'changeset-1',
      },
      { method: 'GET', target: '/service/Products', body: '' },
    ],
  },
  {
    name: 'a quoted change-set boundary with other parameters, MIME-Version, a preamble and an epilogue inside, message/http, no version, no blank line, padding after the inner delimiters',
    wire: crlf(
      `--${B}`,
      'MIME-Version: 1.0',
      'Content-Type: MULTIPART/Mixed; boundary="===cs 1=="; charset=utf-8',
      'Content-Transfer-Encoding: binary',
      '',
      'This is the preamble of the change set.',
      '--===cs 1== \t',
      'Content-Type: message/http',
      'Content-ID: <item1>',
      '',
      'DELETE /articles/1',
      '--===cs 1==',
      'Content-Type: application/http',
      'Content-ID: <uuid + 2>',
      '',
      'PATCH $item1?x=1 HTTP/1.1',
      'Content-Type: text/plain',
      '',
      'hello',
      '--===cs 1==--   ',
      'the epilogue of the change set',
      `--${B}--`,
    ),
    items: [
      {
        method: 'DELETE',
        target: '/articles/1',
        body: '',
        contentId: '<item1>',
        atomicityGroup: 'changeset-1',
      },
      {
        method: 'PATCH',
        target: '$item1?x=1',
        body: 'hello',
        contentId: '<uuid + 2>',
        atomicityGroup: 'changeset-1',
      },
    ],
  },
  {
    name: 'two change sets in a row are two groups, named in order of appearance',
    wire: crlf(
      `--${B}`,
      'Content-Type: multipart/mixed; boundary=cs1',
      '',
      '--cs1',
      'Content-Type: application/http',
      '',
      'POST /a HTTP/1.1',
      '--cs1--',
      `--${B}`,
      'Content-Type: multipart/mixed; boundary=cs2',
      '',
      '--cs2',
      'Content-Type: application/http',
      '',
      'POST /b HTTP/1.1',
      '',
      '--cs2',
      'Content-Type: application/http',
      '',
      'POST /c HTTP/1.1',
      '',
      '--cs2--',
      `--${B}`,
      'Content-Type: application/http',
      '',
      'GET /d HTTP/1.1',
      '',
      `--${B}--`,
    ),
    items: [
      { method: 'POST', target: '/a', body: '', atomicityGroup: 'changeset-1' },
      { method: 'POST', target: '/b', body: '', atomicityGroup: 'changeset-2' },
      { method: 'POST', target: '/c', body: '', atomicityGroup: 'changeset-2' },
      { method: 'GET', target: '/d', body: '' },
    ],
  },
  {
    name: 'a change set with no line break after its close delimiter, nor after the batch close',
    wire: `--${B}\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: application/http\n\nGET /x\n--c--\n--${B}--`,
    items: [{ method: 'GET', target: '/x', body: '', atomicityGroup: 'changeset-1' }],
  },
  {
    name: 'a change-set boundary that begins with the batch boundary is read right',
    wire: crlf(
      `--${B}`,
      `Content-Type: multipart/mixed; boundary=${B}_inner`,
      '',
      `--${B}_inner`,
      'Content-Type: application/http',
      '',
      'POST /a HTTP/1.1',
      '',
      `--${B}_inner--`,
      `--${B}--`,
    ),
    items: [{ method: 'POST', target: '/a', body: '', atomicityGroup: 'changeset-1' }],
  },
  {
    name: 'a $<id> reference outside any change set is kept as sent too (the engine judges it)',
    wire: crlf(`--${B}`, 'Content-Type: application/http', '', 'GET $1 HTTP/1.1', '', `--${B}--`),
    items: [{ method: 'GET', target: '$1', body: '' }],
  },
];

describe('SPEC §2 change sets — accepted (every vector fed whole and in chunks of 1, 3, 7, 64)', () => {
  it.each(ACCEPTED)('$name', async ({ wire, items }) => {
    for (const mode of FEEDS) {
      const decoded = await decode(feed(wire, mode));
      expect(plain(decoded.items), `feed ${mode}`).toStrictEqual(items);
    }
  });

  it('the inner request keeps its headers, and a Content-Length that counted the line break is corrected', async () => {
    const decoded = await decode(bytes(ODATA_EXAMPLE));
    expect(decoded.items[2]?.headers).toStrictEqual([
      ['Host', 'host'],
      ['Content-Type', 'application/json'],
      ['Content-Length', '11'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §2 request: change sets refused
// ---------------------------------------------------------------------------------------

const OK_PART = crlf(`--${B}`, 'Content-Type: application/http', '', 'GET /ok HTTP/1.1', '', '');
const CLOSE = `--${B}--\r\n`;

/** A change-set part (boundary `c`) holding the given inner parts' text. */
function changeSet(...inner: string[]): string {
  return `--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n${inner.join('')}--c--\r\n`;
}

function innerPart(requestLine: string, extra = ''): string {
  return `--c\r\nContent-Type: application/http\r\n\r\n${requestLine}\r\n${extra}\r\n`;
}

interface RejectedVector {
  name: string;
  wire: string;
  code?: string;
  status?: number;
  /** The `errors` entry expected (its `detail` free). */
  at: { part: number; changeSetPart?: number };
  /** What the message names: `part 2`, `part 2.3`. */
  label: string;
}

const REJECTED: RejectedVector[] = [
  {
    name: 'a change set inside a change set',
    wire:
      OK_PART +
      changeSet(
        innerPart('POST /a HTTP/1.1'),
        '--c\r\nContent-Type: multipart/mixed; boundary=d\r\n\r\n--d\r\nContent-Type: application/http\r\n\r\nPOST /b HTTP/1.1\r\n\r\n--d--\r\n',
      ) +
      CLOSE,
    at: { part: 2, changeSetPart: 2 },
    label: 'part 2.2',
  },
  {
    name: 'an empty change set',
    wire: `${OK_PART}${changeSet()}${CLOSE}`,
    at: { part: 2 },
    label: 'part 2',
  },
  {
    name: 'an empty change set with a preamble only',
    wire: `${OK_PART}--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\njust words\r\n--c--\r\n${CLOSE}`,
    at: { part: 2 },
    label: 'part 2',
  },
  {
    name: 'a change set without its closing delimiter',
    wire: `${OK_PART}--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n${innerPart('POST /a HTTP/1.1')}${CLOSE}`,
    at: { part: 2 },
    label: 'part 2',
  },
  {
    name: 'a change set with no delimiter line at all',
    wire: `${OK_PART}--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\nPOST /a HTTP/1.1\r\n\r\n${CLOSE}`,
    at: { part: 2 },
    label: 'part 2',
  },
  {
    name: 'a change set without a boundary parameter',
    wire: `${OK_PART}--${B}\r\nContent-Type: multipart/mixed\r\n\r\n${innerPart('POST /a')}--c--\r\n${CLOSE}`,
    at: { part: 2 },
    label: 'part 2',
  },
  {
    name: 'a change-set boundary longer than 70 characters',
    wire: `--${B}\r\nContent-Type: multipart/mixed; boundary=${'c'.repeat(71)}\r\n\r\n--${'c'.repeat(71)}\r\nContent-Type: application/http\r\n\r\nPOST /a\r\n--${'c'.repeat(71)}--\r\n${CLOSE}`,
    at: { part: 1 },
    label: 'part 1',
  },
  {
    name: 'a change set with a base64 transfer encoding',
    wire: `${OK_PART}--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\nContent-Transfer-Encoding: base64\r\n\r\n${innerPart('POST /a')}--c--\r\n${CLOSE}`,
    at: { part: 2 },
    label: 'part 2',
  },
  {
    name: 'a malformed part header line on a change set',
    wire: `${OK_PART}--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\nContent-ID <x>\r\n\r\n${innerPart('POST /a')}--c--\r\n${CLOSE}`,
    at: { part: 2 },
    label: 'part 2',
  },
  {
    name: 'an inner request line that is malformed',
    wire:
      OK_PART +
      changeSet(
        innerPart('POST /a HTTP/1.1'),
        innerPart('POST /b HTTP/1.1'),
        innerPart('PO(ST /c'),
      ) +
      CLOSE,
    at: { part: 2, changeSetPart: 3 },
    label: 'part 2.3',
  },
  {
    name: 'an inner Transfer-Encoding',
    wire:
      changeSet(innerPart('POST /a HTTP/1.1', 'Transfer-Encoding: chunked\r\n')) + OK_PART + CLOSE,
    at: { part: 1, changeSetPart: 1 },
    label: 'part 1.1',
  },
  {
    name: 'an inner absolute-form target naming another host',
    wire: OK_PART + OK_PART + changeSet(innerPart('GET https://evil.example/a HTTP/1.1')) + CLOSE,
    at: { part: 3, changeSetPart: 1 },
    label: 'part 3.1',
  },
  {
    name: 'an inner part with no request line',
    wire:
      changeSet(innerPart('POST /a'), '--c\r\nContent-Type: application/http\r\n\r\n\r\n') + CLOSE,
    at: { part: 1, changeSetPart: 2 },
    label: 'part 1.2',
  },
  {
    name: 'an inner part that is itself not application/http',
    wire: changeSet('--c\r\nContent-Type: text/plain\r\n\r\nPOST /a\r\n') + CLOSE,
    at: { part: 1, changeSetPart: 1 },
    label: 'part 1.1',
  },
];

describe('SPEC §2 change sets — refused (400 naming the part, nothing decoded)', () => {
  it.each(REJECTED)('$name', async ({ wire, at, label }) => {
    for (const mode of FEEDS) {
      const error = await rejectionOf(decode(feed(wire, mode)));
      expect(error.status, `feed ${mode}`).toBe(400);
      expect(error.code, `feed ${mode}`).toBe('invalid_batch');
      expect(error.errors, `feed ${mode}`).toStrictEqual([{ ...at, detail: expect.any(String) }]);
      expect(error.message, `feed ${mode}`).toMatch(new RegExp(`^${label.replace('.', '\\.')}: `));
    }
  });

  it('the first problem of the body is the one told, whatever the chunking', async () => {
    // Part 1 is bad (a request part), part 2 a bad change set: part 1 is named every time.
    const wire = `--${B}\r\nContent-Type: application/http\r\n\r\nGE(T /a\r\n${changeSet()}${CLOSE}`;
    for (const mode of FEEDS) {
      const error = await rejectionOf(decode(feed(wire, mode)));
      expect(error.errors, `feed ${mode}`).toStrictEqual([{ part: 1, detail: expect.any(String) }]);
    }
  });

  it('toProblem() keeps the change-set position: { part, changeSetPart, detail }', async () => {
    const error = await rejectionOf(
      decode(bytes(changeSet(innerPart('POST /a'), innerPart('CONNECT /b')) + CLOSE)),
    );
    expect(error.toProblem()).toStrictEqual({
      type: 'urn:batch:problem:invalid-batch',
      title: 'Invalid batch request',
      status: 400,
      detail: 'part 1.2: CONNECT cannot be batched',
      errors: [{ part: 1, changeSetPart: 2, detail: 'CONNECT cannot be batched' }],
    });
  });
});

// ---------------------------------------------------------------------------------------
// Limits inside change sets
// ---------------------------------------------------------------------------------------

/** An async iterable of chunks that counts how many of them were pulled. */
function countingStream(chunks: string[]): {
  body: AsyncIterable<Uint8Array>;
  pulled: () => number;
} {
  let pulled = 0;
  return {
    body: {
      async *[Symbol.asyncIterator]() {
        for (const chunk of chunks) {
          pulled++;
          yield bytes(chunk);
        }
      },
    },
    pulled: () => pulled,
  };
}

describe('limits — inside change sets', () => {
  const set3 = changeSet(innerPart('POST /a'), innerPart('POST /b'), innerPart('POST /c'));

  it('maxRequests counts every request of a change set, not the change set', async () => {
    const wire = OK_PART + set3 + OK_PART + CLOSE;
    for (const mode of FEEDS) {
      const ok = await decode(feed(wire, mode), { maxRequests: 5 });
      expect(ok.items).toHaveLength(5);
      const error = await rejectionOf(decode(feed(wire, mode), { maxRequests: 4 }));
      expect(error.code).toBe('too_many_requests_in_batch');
      expect(error.status).toBe(400);
    }
    // A change set alone: its three requests against a limit of 2.
    const error = await rejectionOf(decode(bytes(set3 + CLOSE), { maxRequests: 2 }));
    expect(error.code).toBe('too_many_requests_in_batch');
    expect((await decode(bytes(set3 + CLOSE), { maxRequests: 3 })).items).toHaveLength(3);
  });

  it('maxPartHeaderBytes holds for each inner part (431 naming part N.k), and for the change set’s own part headers', async () => {
    const big = changeSet(
      innerPart('POST /a'),
      innerPart('POST /b', `X-Pad: ${'p'.repeat(200)}\r\n`),
    );
    for (const mode of FEEDS) {
      expect(
        (await decode(feed(big + CLOSE, mode), { maxPartHeaderBytes: 300 })).items,
      ).toHaveLength(2);
      const error = await rejectionOf(decode(feed(big + CLOSE, mode), { maxPartHeaderBytes: 200 }));
      expect(error.status).toBe(431);
      expect(error.errors).toStrictEqual([
        { part: 1, changeSetPart: 2, detail: expect.any(String) },
      ]);
      expect(error.message).toMatch(/^part 1\.2: /);
    }
    const fatHead = `--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\nX-Pad: ${'p'.repeat(300)}\r\n\r\n${innerPart('POST /a')}--c--\r\n${CLOSE}`;
    for (const mode of FEEDS) {
      const error = await rejectionOf(decode(feed(fatHead, mode), { maxPartHeaderBytes: 200 }));
      expect(error.status).toBe(431);
      expect(error.errors).toStrictEqual([{ part: 1, detail: expect.any(String) }]);
    }
  });

  it('maxItemBodyBytes holds for each inner request — not for the change set as a whole', async () => {
    const body = (n: number) => `POST /a\r\nContent-Length: ${n}\r\n\r\n${'x'.repeat(n)}`;
    const fits =
      changeSet(...Array.from({ length: 4 }, () => `--c\r\n\r\n${body(10)}\r\n`)) + CLOSE;
    const over = changeSet(`--c\r\n\r\n${body(10)}\r\n`, `--c\r\n\r\n${body(11)}\r\n`) + CLOSE;
    for (const mode of FEEDS) {
      const ok = await decode(feed(fits, mode), { maxItemBodyBytes: 10 });
      expect(ok.items.map((item) => item.body.length)).toStrictEqual([10, 10, 10, 10]);
      const error = await rejectionOf(decode(feed(over, mode), { maxItemBodyBytes: 10 }));
      expect(error.status).toBe(413);
      expect(error.code).toBe('item_body_too_large');
      expect(error.errors).toStrictEqual([
        { part: 1, changeSetPart: 2, detail: expect.any(String) },
      ]);
    }
  });

  it('maxBodyBytes holds for the whole batch, change sets included', async () => {
    const wire = bytes(set3 + CLOSE);
    expect((await decode(wire, { maxBodyBytes: wire.length })).items).toHaveLength(3);
    const error = await rejectionOf(decode(chunksOf(wire, 5), { maxBodyBytes: wire.length - 1 }));
    expect(error.status).toBe(413);
  });

  it('are enforced while reading: a change set is not read to its end once one is passed', async () => {
    const head = `--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\n\r\nPOST /upload HTTP/1.1\r\n\r\n`;
    const body = countingStream([
      head,
      ...Array<string>(1000).fill('x'.repeat(100)),
      `\r\n--c--\r\n${CLOSE}`,
    ]);
    const error = await rejectionOf(decode(body.body, { maxItemBodyBytes: 1000 }));
    expect(error.status).toBe(413);
    expect(error.errors).toStrictEqual([{ part: 1, changeSetPart: 1, detail: expect.any(String) }]);
    expect(body.pulled()).toBeLessThanOrEqual(15);

    const parts = countingStream([
      `--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n`,
      ...Array<string>(1000).fill('--c\r\nContent-Type: application/http\r\n\r\nPOST /a\r\n'),
      `--c--\r\n${CLOSE}`,
    ]);
    const tooMany = await rejectionOf(decode(parts.body));
    expect(tooMany.code).toBe('too_many_requests_in_batch');
    expect(parts.pulled()).toBeLessThanOrEqual(103);

    const nested = countingStream([
      `--${B}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: multipart/mixed; boundary=d\r\n\r\n`,
      ...Array<string>(1000).fill('x'.repeat(100)),
      `--c--\r\n${CLOSE}`,
    ]);
    const deep = await rejectionOf(decode(nested.body));
    expect(deep.errors).toStrictEqual([{ part: 1, changeSetPart: 1, detail: expect.any(String) }]);
    expect(nested.pulled()).toBeLessThanOrEqual(2);
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §3 request: atomicityGroup
// ---------------------------------------------------------------------------------------

function decodeJson(document: unknown): Promise<DecodedBatch> {
  return decode(bytes(JSON.stringify(document)), undefined, 'application/json');
}

function pointersOf(error: BatchError): string[] {
  return error.errors.map((entry) => ('pointer' in entry ? entry.pointer : `part ${entry.part}`));
}

describe('SPEC §3 — atomicityGroup in JSON requests', () => {
  it('is read onto the items; dependsOn may name an earlier group; $<id> targets are kept', async () => {
    const decoded = await decodeJson({
      requests: [
        { id: 'a', method: 'POST', url: '/Customers', atomicityGroup: 'g1' },
        { id: 'b', method: 'POST', path: '$a/Orders', atomicityGroup: 'g1', dependsOn: ['a'] },
        { id: 'c', method: 'GET', url: '$item3?x=1', dependsOn: ['g1'] },
        { id: 'd', method: 'PATCH', url: '$c', atomicityGroup: 'g2', dependsOn: ['g1', 'c'] },
      ],
    });
    expect(
      decoded.items.map(({ id, target, atomicityGroup, dependsOn }) => ({
        id,
        target,
        atomicityGroup,
        dependsOn,
      })),
    ).toStrictEqual([
      { id: 'a', target: '/Customers', atomicityGroup: 'g1', dependsOn: undefined },
      { id: 'b', target: '$a/Orders', atomicityGroup: 'g1', dependsOn: ['a'] },
      { id: 'c', target: '$item3?x=1', atomicityGroup: undefined, dependsOn: ['g1'] },
      { id: 'd', target: '$c', atomicityGroup: 'g2', dependsOn: ['g1', 'c'] },
    ]);
  });

  it.each([
    {
      name: 'items of one group that are not adjacent',
      requests: [
        { path: '/a', atomicityGroup: 'g' },
        { path: '/b' },
        { path: '/c', atomicityGroup: 'g' },
      ],
      pointers: ['/requests/2/atomicityGroup'],
    },
    {
      name: 'a group interrupted by another group',
      requests: [
        { path: '/a', atomicityGroup: 'g' },
        { path: '/b', atomicityGroup: 'h' },
        { path: '/c', atomicityGroup: 'g' },
      ],
      pointers: ['/requests/2/atomicityGroup'],
    },
    {
      name: 'an empty or non-string atomicityGroup',
      requests: [
        { path: '/a', atomicityGroup: '' },
        { path: '/b', atomicityGroup: 3 },
      ],
      pointers: ['/requests/0/atomicityGroup', '/requests/1/atomicityGroup'],
    },
    {
      name: 'dependsOn naming the item’s own group',
      requests: [
        { path: '/a', atomicityGroup: 'g' },
        { path: '/b', atomicityGroup: 'g', dependsOn: ['g'] },
      ],
      pointers: ['/requests/1/dependsOn/0'],
    },
    {
      name: 'dependsOn naming a later group, or no group at all',
      requests: [
        { path: '/a', dependsOn: ['g'] },
        { path: '/b', atomicityGroup: 'g', dependsOn: ['nothing'] },
      ],
      pointers: ['/requests/0/dependsOn/0', '/requests/1/dependsOn/0'],
    },
    {
      name: 'a group named like a request id',
      requests: [
        { id: 'x', path: '/a' },
        { path: '/b', atomicityGroup: 'x' },
      ],
      pointers: ['/requests/1/atomicityGroup'],
    },
  ])('400: $name', async ({ requests, pointers }) => {
    const error = await rejectionOf(decodeJson({ requests }));
    expect(error.status).toBe(400);
    expect(pointersOf(error)).toStrictEqual(pointers);
  });

  it('400: atomicityGroup is not a default (give it on each request of the group)', async () => {
    const error = await rejectionOf(
      decodeJson({ defaults: { atomicityGroup: 'g' }, requests: [{ path: '/a' }] }),
    );
    expect(pointersOf(error)).toStrictEqual(['/defaults/atomicityGroup']);
    expect(error.message).toContain('each request');
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §2 response: change sets
// ---------------------------------------------------------------------------------------

function answer(init: Partial<SubResponse> & { status: number }): SubResponse {
  return { headers: [], body: null, ...init };
}

const ANSWERS: SubResponse[] = [
  answer({ status: 200, headers: [['Content-Type', 'text/plain']], body: bytes('a') }),
  answer({ status: 201, contentId: '1', atomicityGroup: 'changeset-1', body: bytes('b') }),
  answer({ status: 201, contentId: '<2>', atomicityGroup: 'changeset-1' }),
  answer({ status: 204, contentId: 'x', atomicityGroup: 'changeset-2' }),
];

describe('SPEC §2 — change sets in multipart answers', () => {
  it('adjacent answers of one group are one multipart/mixed part, Content-IDs mirrored', async () => {
    const encoded = encodeBatchResponse('multipart', ANSWERS, {
      boundary: 'batch_x',
      changeSetBoundary: 'changeset_y',
    });
    expect(encoded.contentType).toBe('multipart/mixed; boundary=batch_x');
    expect(await text(encoded.body)).toBe(
      crlf(
        '--batch_x',
        'Content-Type: application/http',
        '',
        'HTTP/1.1 200 OK',
        'Content-Type: text/plain',
        'Content-Length: 1',
        '',
        'a',
        '--batch_x',
        'Content-Type: multipart/mixed; boundary=changeset_y',
        '',
        '--changeset_y',
        'Content-Type: application/http',
        'Content-ID: response-1',
        '',
        'HTTP/1.1 201 Created',
        'Content-Length: 1',
        '',
        'b',
        '--changeset_y',
        'Content-Type: application/http',
        'Content-ID: <response-2>',
        '',
        'HTTP/1.1 201 Created',
        '',
        '',
        '--changeset_y--',
        '--batch_x',
        'Content-Type: multipart/mixed; boundary=changeset_y',
        '',
        '--changeset_y',
        'Content-Type: application/http',
        'Content-ID: response-x',
        '',
        'HTTP/1.1 204 No Content',
        '',
        '',
        '--changeset_y--',
        '--batch_x--',
        '',
      ),
    );
  });

  it('OData (echoContentId): each Content-ID is echoed unchanged', async () => {
    const wire = await text(
      encodeBatchResponse('multipart', ANSWERS, { boundary: 'b', echoContentId: true }).body,
    );
    expect(wire.match(/^Content-ID: .*$/gm)).toStrictEqual([
      'Content-ID: 1',
      'Content-ID: <2>',
      'Content-ID: x',
    ]);
  });

  it('a failed change set is one plain application/http part: the failed request’s answer', async () => {
    const wire = await text(
      encodeBatchResponse(
        'multipart',
        [
          answer({ status: 200, body: bytes('a'), headers: [['Content-Type', 'text/plain']] }),
          answer({
            status: 409,
            contentId: '2',
            atomicityGroup: 'changeset-1',
            failedGroup: true,
            headers: [['Content-Type', 'text/plain']],
            body: bytes('conflict'),
          }),
          answer({ status: 201, contentId: '3', atomicityGroup: 'changeset-2' }),
        ],
        { boundary: 'batch_x', changeSetBoundary: 'cs', echoContentId: true },
      ).body,
    );
    expect(wire).toBe(
      crlf(
        '--batch_x',
        'Content-Type: application/http',
        '',
        'HTTP/1.1 200 OK',
        'Content-Type: text/plain',
        'Content-Length: 1',
        '',
        'a',
        '--batch_x',
        'Content-Type: application/http',
        'Content-ID: 2',
        '',
        'HTTP/1.1 409 Conflict',
        'Content-Type: text/plain',
        'Content-Length: 8',
        '',
        'conflict',
        '--batch_x',
        'Content-Type: multipart/mixed; boundary=cs',
        '',
        '--cs',
        'Content-Type: application/http',
        'Content-ID: 3',
        '',
        'HTTP/1.1 201 Created',
        '',
        '',
        '--cs--',
        '--batch_x--',
        '',
      ),
    );
  });

  it('a change set that ends the batch is closed before the batch is', async () => {
    const wire = await text(
      encodeBatchResponse('multipart', [answer({ status: 200, atomicityGroup: 'g' })], {
        boundary: 'b',
        changeSetBoundary: 'c',
      }).body,
    );
    expect(wire.endsWith('\r\n--c--\r\n--b--\r\n')).toBe(true);
  });

  it('default change-set boundaries: changeset_ and a token, fresh for each change set, never quoted', async () => {
    const wire = await text(encodeBatchResponse('multipart', ANSWERS).body);
    const boundaries = [...wire.matchAll(/Content-Type: multipart\/mixed; boundary=(.*)\r\n/g)].map(
      (match) => match[1],
    );
    expect(boundaries).toHaveLength(2);
    for (const boundary of boundaries) expect(boundary).toMatch(/^changeset_[0-9a-z]+$/);
    expect(boundaries[0]).not.toBe(boundaries[1]);
  });

  it('a change-set boundary that begins with the batch boundary (or the other way) is a TypeError', () => {
    expect(() =>
      encodeBatchResponse('multipart', ANSWERS, { boundary: 'b', changeSetBoundary: 'b1' }),
    ).toThrow(TypeError);
    expect(() =>
      encodeBatchResponse('multipart', ANSWERS, { boundary: 'b1', changeSetBoundary: 'b' }),
    ).toThrow(TypeError);
    expect(() =>
      encodeBatchRequest('multipart', [{ target: '/a', atomicityGroup: 'g' }], {
        boundary: 'x',
        changeSetBoundary: 'x',
      }),
    ).toThrow(TypeError);
  });

  it('streams: the change set opens with its first answer and closes when another group’s comes', async () => {
    const gates: Array<(value: SubResponse) => void> = [];
    const arrivals = [0, 1, 2].map(
      () => new Promise<SubResponse>((resolve) => gates.push(resolve)),
    );
    async function* answers(): AsyncGenerator<SubResponse> {
      for (const arrival of arrivals) yield await arrival;
    }
    const body = encodeBatchResponse('multipart', answers(), {
      boundary: 'b',
      changeSetBoundary: 'c',
    }).body[Symbol.asyncIterator]();
    gates[0]!(answer({ status: 201, atomicityGroup: 'g', contentId: '1' }));
    const first = decoder.decode((await body.next()).value as Uint8Array);
    expect(first).toMatch(/^--b\r\nContent-Type: multipart\/mixed; boundary=c\r\n\r\n--c\r\n/);
    expect(first).toContain('HTTP/1.1 201 Created');
    expect(first).not.toContain('--c--');
    gates[1]!(answer({ status: 201, atomicityGroup: 'g', contentId: '2' }));
    const second = decoder.decode((await body.next()).value as Uint8Array);
    expect(second).toMatch(/^\r\n--c\r\n/);
    gates[2]!(answer({ status: 200 }));
    const third = decoder.decode((await body.next()).value as Uint8Array);
    expect(third).toMatch(/^\r\n--c--\r\n--b\r\nContent-Type: application\/http\r\n/);
    const last = decoder.decode((await body.next()).value as Uint8Array);
    expect(last).toBe('\r\n--b--\r\n');
    expect((await body.next()).done).toBe(true);
  });

  it('decodeBatchResponse gives a change set’s answers in place, each with its group', async () => {
    const encoded = encodeBatchResponse('multipart', ANSWERS, { boundary: 'b' });
    const decoded = await decodeBatchResponse({
      contentType: encoded.contentType,
      body: chunksOf(await collect(encoded.body), 5),
    });
    expect(
      decoded.map(({ status, contentId, atomicityGroup, body }) => ({
        status,
        contentId,
        atomicityGroup,
        body: decoder.decode(body),
      })),
    ).toStrictEqual([
      { status: 200, contentId: undefined, atomicityGroup: undefined, body: 'a' },
      { status: 201, contentId: 'response-1', atomicityGroup: 'changeset-1', body: 'b' },
      { status: 201, contentId: '<response-2>', atomicityGroup: 'changeset-1', body: '' },
      { status: 204, contentId: 'response-x', atomicityGroup: 'changeset-2', body: '' },
    ]);
  });

  it('decodeBatchResponse reads an OData server’s answer with bare LF and a change set', async () => {
    const wire = [
      '--batchresponse_1',
      'Content-Type: multipart/mixed; boundary=changesetresponse_2',
      '',
      '--changesetresponse_2',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 1',
      '',
      'HTTP/1.1 201 Created',
      'Location: http://host/service/Customers(7)',
      'Content-Length: 0',
      '',
      '',
      '--changesetresponse_2',
      'Content-Type: application/http',
      'Content-ID: 2',
      '',
      'HTTP/1.1 204 No Content',
      '',
      '',
      '--changesetresponse_2--',
      '--batchresponse_1--',
      '',
    ].join('\n');
    const decoded = await decodeBatchResponse({
      contentType: 'multipart/mixed; boundary=batchresponse_1',
      body: bytes(wire),
    });
    expect(decoded.map((r) => [r.status, r.contentId, r.atomicityGroup])).toStrictEqual([
      [201, '1', 'changeset-1'],
      [204, '2', 'changeset-1'],
    ]);
  });
});

describe('SPEC §3 — atomicityGroup echoed in JSON answers', () => {
  const answers = [
    answer({ status: 201, id: 'a', atomicityGroup: 'g1', requestMethod: 'POST' }),
    answer({ status: 200, id: 'b' }),
  ];

  it('JSON', async () => {
    const wire = await text(encodeBatchResponse('json', answers).body);
    expect(JSON.parse(wire)).toStrictEqual({
      responses: [
        { status: 201, id: 'a', atomicityGroup: 'g1', headers: {}, body: '' },
        { status: 200, id: 'b', headers: {}, body: '' },
      ],
      failed: [],
    });
    const decoded = await decodeBatchResponse({
      contentType: 'application/json',
      body: bytes(wire),
    });
    expect(decoded.map((r) => r.atomicityGroup)).toStrictEqual(['g1', undefined]);
  });

  it('JSON Lines', async () => {
    const encoded = encodeBatchResponse(
      'json',
      answers.map((item, index) => ({ ...item, index })),
      { jsonLines: true },
    );
    const lines = (await text(encoded.body))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toStrictEqual({
      index: 0,
      status: 201,
      id: 'a',
      atomicityGroup: 'g1',
      headers: {},
      body: '',
    });
    expect(lines[1]).not.toHaveProperty('atomicityGroup');
    const decoded: SubResponse[] = [];
    for await (const item of decodeJsonLines(bytes(lines.map((l) => JSON.stringify(l)).join('\n'))))
      decoded.push(item);
    expect(decoded[0]?.atomicityGroup).toBe('g1');
  });
});

// ---------------------------------------------------------------------------------------
// Client side: encodeBatchRequest with change sets
// ---------------------------------------------------------------------------------------

describe('encodeBatchRequest — atomicity groups', () => {
  const requests = [
    { target: '/a' },
    {
      method: 'POST',
      target: '/Customers',
      contentId: '1',
      atomicityGroup: 'g',
      headers: [['Content-Type', 'application/json']] as [string, string][],
      body: '{}',
    },
    { method: 'POST', target: '$1/Orders', id: '2', atomicityGroup: 'g' },
    { method: 'DELETE', target: '/b', atomicityGroup: 'h' },
  ];

  it('multipart: adjacent requests of one group are one change set', () => {
    const encoded = encodeBatchRequest('multipart', requests, {
      boundary: 'b',
      changeSetBoundary: 'cs',
    });
    expect(decoder.decode(encoded.body)).toBe(
      crlf(
        '--b',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        'GET /a HTTP/1.1',
        '',
        '',
        '--b',
        'Content-Type: multipart/mixed; boundary=cs',
        '',
        '--cs',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        'Content-ID: 1',
        '',
        'POST /Customers HTTP/1.1',
        'Content-Type: application/json',
        'Content-Length: 2',
        '',
        '{}',
        '--cs',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        'Content-ID: <2>',
        '',
        'POST $1/Orders HTTP/1.1',
        '',
        '',
        '--cs--',
        '--b',
        'Content-Type: multipart/mixed; boundary=cs',
        '',
        '--cs',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        'DELETE /b HTTP/1.1',
        '',
        '',
        '--cs--',
        '--b--',
        '',
      ),
    );
  });

  it('round trip: encodeBatchRequest → decodeBatchRequest, both formats, chunked', async () => {
    for (const format of ['multipart', 'json'] as const) {
      const encoded = encodeBatchRequest(format, requests);
      for (const size of [1, 13, 1000]) {
        const decoded = await decodeBatchRequest({
          contentType: encoded.contentType,
          body: chunksOf(encoded.body, size),
        });
        expect(decoded.items.map((item) => item.target)).toStrictEqual([
          '/a',
          '/Customers',
          '$1/Orders',
          '/b',
        ]);
        expect(decoded.items.map((item) => item.atomicityGroup)).toStrictEqual(
          format === 'json'
            ? [undefined, 'g', 'g', 'h']
            : [undefined, 'changeset-1', 'changeset-1', 'changeset-2'],
        );
      }
    }
  });

  it('JSON: the atomicityGroup member, and dependsOn naming a group', () => {
    const encoded = encodeBatchRequest('json', [
      { id: 'a', method: 'POST', target: '/x', atomicityGroup: 'g' },
      { id: 'b', target: '/y', dependsOn: ['g'] },
    ]);
    expect(JSON.parse(decoder.decode(encoded.body))).toStrictEqual({
      requests: [
        { method: 'POST', path: '/x', id: 'a', atomicityGroup: 'g' },
        { method: 'GET', path: '/y', id: 'b', dependsOn: ['g'] },
      ],
    });
  });

  it('a group whose requests are not adjacent, or an empty group name, is a TypeError', () => {
    for (const format of ['multipart', 'json'] as const) {
      expect(() =>
        encodeBatchRequest(format, [
          { target: '/a', atomicityGroup: 'g' },
          { target: '/b' },
          { target: '/c', atomicityGroup: 'g' },
        ]),
      ).toThrow(/adjacent/);
      expect(() => encodeBatchRequest(format, [{ target: '/a', atomicityGroup: '' }])).toThrow(
        TypeError,
      );
    }
  });
});

describe('round trip: encodeBatchResponse → decodeBatchResponse with change sets and a failed one', () => {
  it('multipart', async () => {
    const answers = [
      answer({ status: 201, contentId: '1', atomicityGroup: 'changeset-1', body: bytes('one') }),
      answer({ status: 201, contentId: '2', atomicityGroup: 'changeset-1', body: bytes('two') }),
      answer({ status: 400, contentId: '3', atomicityGroup: 'changeset-2', failedGroup: true }),
      answer({ status: 200, body: bytes('plain') }),
      answer({ status: 200, contentId: '5', atomicityGroup: 'changeset-3', body: bytes('five') }),
    ];
    const encoded = encodeBatchResponse('multipart', answers, { echoContentId: true });
    const decoded = await decodeBatchResponse({
      contentType: encoded.contentType,
      body: chunksOf(await collect(encoded.body), 3),
    });
    expect(
      decoded.map(({ status, contentId, atomicityGroup, body }) => [
        status,
        contentId,
        atomicityGroup,
        decoder.decode(body),
      ]),
    ).toStrictEqual([
      [201, '1', 'changeset-1', 'one'],
      [201, '2', 'changeset-1', 'two'],
      [400, '3', undefined, ''],
      [200, undefined, undefined, 'plain'],
      [200, '5', 'changeset-2', 'five'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// Helpers for the engine: references, OData, part locations
// ---------------------------------------------------------------------------------------

describe('parseReference and referenceName (SPEC §4 "References")', () => {
  it.each([
    ['$1/Orders?x', { id: '1', rest: '/Orders?x' }],
    ['$1/Orders', { id: '1', rest: '/Orders' }],
    ['$item', { id: 'item', rest: '' }],
    ['$item3?x=1', { id: 'item3', rest: '?x=1' }],
    ['$a#frag', { id: 'a', rest: '#frag' }],
    ['$1', { id: '1', rest: '' }],
    ['$', undefined],
    ['$/x', undefined],
    ['$?x', undefined],
    ['/a/$1', undefined],
    ['People?$top=2', undefined],
    ['', undefined],
  ])('%s', (target, expected) => {
    expect(parseReference(target)).toStrictEqual(expected);
  });

  it('names an item by its JSON id, or its Content-ID without <…>', () => {
    expect(referenceName({ id: 'a' })).toBe('a');
    expect(referenceName({ id: '<a>' })).toBe('<a>');
    expect(referenceName({ contentId: '<1>' })).toBe('1');
    expect(referenceName({ contentId: ' 1 ' })).toBe('1');
    expect(referenceName({ contentId: 'item1' })).toBe('item1');
    expect(referenceName({ contentId: '<>' })).toBe('');
    expect(referenceName({ contentId: '<' })).toBe('<');
    expect(referenceName({})).toBeUndefined();
  });
});

describe('isODataBatch (SPEC §2: OData batches echo Content-IDs)', () => {
  it.each([
    ['/odata/$batch', [], true],
    ['/odata/$batch/', [], true],
    ['/odata/$Batch?x=1', [], true],
    ['/odata/%24batch', [], true],
    ['$batch', [], true],
    ['/batch', [], false],
    ['/v1/batch', [['OData-Version', '4.0']], true],
    ['/v1/batch', [['odata-maxversion', '4.01']], true],
    ['/v1/batch', [['Accept', 'application/json']], false],
    ['/$batch/x', [], false],
    ['/x$batch', [], false],
  ] as const)('%s %j → %s', (path, headers, expected) => {
    expect(
      isODataBatch(
        path,
        headers.map(([name, value]) => [name, value]),
      ),
    ).toBe(expected);
  });
});

describe('partLocations, partLabel and partError (for errors found after decoding)', () => {
  it('gives each decoded multipart item its part, and its place in its change set', async () => {
    const decoded = await decode(bytes(ACCEPTED[3]!.wire));
    const locations = partLocations(decoded.items);
    expect(locations).toStrictEqual([
      { number: 1, changeSet: { ordinal: 1, part: 1 } },
      { number: 2, changeSet: { ordinal: 2, part: 1 } },
      { number: 2, changeSet: { ordinal: 2, part: 2 } },
      3,
    ]);
    expect(locations.map(partLabel)).toStrictEqual(['1.1', '2.1', '2.2', '3']);
    const error = partError('invalid_batch', locations[2]!, 'no');
    expect(error.message).toBe('part 2.2: no');
    expect(error.errors).toStrictEqual([{ part: 2, changeSetPart: 2, detail: 'no' }]);
    expect(partError('invalid_batch', locations[3]!, 'no').errors).toStrictEqual([
      { part: 3, detail: 'no' },
    ]);
  });
});

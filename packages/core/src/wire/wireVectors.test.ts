/**
 * Wire vectors for SPEC §2 (multipart) and §3 (JSON): real wire text in, decoded items (or
 * a `BatchError`) out, and encoded batch responses checked byte for byte.
 */
import { describe, expect, it } from 'vitest';
import {
  BatchError,
  type BatchLimits,
  type BodyInput,
  type DecodedBatch,
  decodeBatchRequest,
  decodeBatchResponse,
  encodeBatchResponse,
  type HeaderList,
  type SubRequest,
  type SubResponse,
} from '../index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HOST = 'api.example.com';
const B = 'b0undary';
const MULTIPART = `multipart/mixed; boundary=${B}`;
const JSON_TYPE = 'application/json';

function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Collects an encoded body into one string. */
async function text(iterable: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return decoder.decode(out);
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

/** Every vector is fed whole and split into small chunks: the result must not change. */
const FEEDS = ['whole', 1, 3, 7] as const;
type Feed = (typeof FEEDS)[number];

function feed(wire: string, mode: Feed): BodyInput {
  const bytes = utf8(wire);
  return mode === 'whole' ? bytes : chunksOf(bytes, mode);
}

/** A decoded item in plain values, with its body as text. */
interface Item {
  method: string;
  target: string;
  headers: HeaderList;
  body: string;
  contentId?: string;
  id?: string;
  dependsOn?: string[];
}

function plain(items: SubRequest[]): Item[] {
  return items.map(({ body, ...rest }) => ({ ...rest, body: decoder.decode(body) }));
}

function decode(
  contentType: string | undefined,
  body: BodyInput,
  limits?: BatchLimits,
): Promise<DecodedBatch> {
  return decodeBatchRequest({ contentType, body, host: HOST }, limits);
}

function decodeJson(json: string, limits?: BatchLimits): Promise<DecodedBatch> {
  return decode(JSON_TYPE, utf8(json), limits);
}

/** The `BatchError` a promise rejects with; fails on a resolve or on any other error. */
async function rejectionOf(promise: Promise<unknown>): Promise<BatchError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BatchError);
    return error as BatchError;
  }
  return expect.fail(`expected a BatchError, the batch was accepted: ${JSON.stringify(outcome)}`);
}

function pointers(error: BatchError): string[] {
  return error.errors.map((detail) =>
    'pointer' in detail ? detail.pointer : `part ${detail.part}`,
  );
}

/** Matches a string holding JSON text equal to `value` (key order free). */
function jsonText(value: unknown) {
  return {
    asymmetricMatch: (actual: unknown) => {
      if (typeof actual !== 'string') return false;
      try {
        expect(JSON.parse(actual)).toStrictEqual(value);
        return true;
      } catch {
        return false;
      }
    },
    toString: () => `JSON text of ${JSON.stringify(value)}`,
    toAsymmetricMatcher: () => `JSON text of ${JSON.stringify(value)}`,
  };
}

function isPolluted(): boolean {
  const probe: Record<string, unknown> = {};
  return (
    probe.polluted !== undefined ||
    (Object.prototype as unknown as Record<string, unknown>).polluted !== undefined
  );
}

// A valid part, and the close delimiter, to put around the part under test.
const OK_PART = `--${B}\r\nContent-Type: application/http\r\n\r\nGET /ok HTTP/1.1\r\n\r\n`;
const CLOSE = `--${B}--\r\n`;
const OK_ITEM: Item = { method: 'GET', target: '/ok', headers: [], body: '' };

// ---------------------------------------------------------------------------------------
// SPEC §2 request: leniency
// ---------------------------------------------------------------------------------------

interface AcceptedVector {
  name: string;
  contentType?: string;
  wire: string;
  items: Item[];
}

const ACCEPTED: AcceptedVector[] = [
  {
    name: 'the SPEC §2 example with CRLF (Content-Length 24 for a 23-byte body is corrected)',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `Content-ID: <item1>\r\n` +
      `\r\n` +
      `PATCH /articles/409 HTTP/1.1\r\n` +
      `Content-Type: application/json\r\n` +
      `Content-Length: 24\r\n` +
      `\r\n` +
      `{"read_position": 3477}\r\n` +
      `--${B}--`,
    items: [
      {
        method: 'PATCH',
        target: '/articles/409',
        headers: [
          ['Content-Type', 'application/json'],
          ['Content-Length', '23'],
        ],
        body: '{"read_position": 3477}',
        contentId: '<item1>',
      },
    ],
  },
  {
    name: 'the SPEC §2 example verbatim (bare LF, boundary BOUNDARY)',
    contentType: 'multipart/mixed; boundary=BOUNDARY',
    wire:
      '--BOUNDARY\n' +
      'Content-Type: application/http\n' +
      'Content-ID: <item1>\n' +
      '\n' +
      'PATCH /articles/409 HTTP/1.1\n' +
      'Content-Type: application/json\n' +
      'Content-Length: 24\n' +
      '\n' +
      '{"read_position": 3477}\n' +
      '--BOUNDARY--\n',
    items: [
      {
        method: 'PATCH',
        target: '/articles/409',
        headers: [
          ['Content-Type', 'application/json'],
          ['Content-Length', '23'],
        ],
        body: '{"read_position": 3477}',
        contentId: '<item1>',
      },
    ],
  },
  {
    name: 'bare LF everywhere: part headers, inner request, delimiters',
    wire:
      `--${B}\n` +
      `Content-Type: application/http\n` +
      `Content-ID: <a>\n` +
      `\n` +
      `POST /items HTTP/1.1\n` +
      `Content-Type: text/plain\n` +
      `Content-Length: 5\n` +
      `\n` +
      `hello\n` +
      `--${B}\n` +
      `Content-Type: application/http\n` +
      `\n` +
      `GET /items/1 HTTP/1.1\n` +
      `Accept: application/json\n` +
      `\n` +
      `\n` +
      `--${B}--\n`,
    items: [
      {
        method: 'POST',
        target: '/items',
        headers: [
          ['Content-Type', 'text/plain'],
          ['Content-Length', '5'],
        ],
        body: 'hello',
        contentId: '<a>',
      },
      {
        method: 'GET',
        target: '/items/1',
        headers: [['Accept', 'application/json']],
        body: '',
      },
    ],
  },
  {
    name: 'bare LF in the inner request only, CRLF framing',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `PUT /notes/1 HTTP/1.1\n` +
      `Content-Type: text/plain\n` +
      `\n` +
      `two\nlines` +
      `\r\n--${B}--\r\n`,
    items: [
      {
        method: 'PUT',
        target: '/notes/1',
        headers: [['Content-Type', 'text/plain']],
        body: 'two\nlines',
      },
    ],
  },
  {
    name: 'quoted boundary with other parameters after it (Python email generator)',
    contentType:
      'multipart/mixed; boundary="===============7330845974216740156=="; charset=utf-8; type=application/http',
    wire:
      `--===============7330845974216740156==\r\n` +
      `Content-Type: application/http\r\n` +
      `MIME-Version: 1.0\r\n` +
      `Content-Transfer-Encoding: binary\r\n` +
      `Content-ID: <b29c5de2-0db4-490b-b421-6a51b598bd22 + 1>\r\n` +
      `\r\n` +
      `GET /storage/v1/b/bucket/o/obj1 HTTP/1.1\r\n` +
      `Content-Type: application/json\r\n` +
      `MIME-Version: 1.0\r\n` +
      `host: api.example.com\r\n` +
      `\r\n` +
      `\r\n` +
      `--===============7330845974216740156==--`,
    items: [
      {
        method: 'GET',
        target: '/storage/v1/b/bucket/o/obj1',
        headers: [
          ['Content-Type', 'application/json'],
          ['MIME-Version', '1.0'],
          ['host', 'api.example.com'],
        ],
        body: '',
        contentId: '<b29c5de2-0db4-490b-b421-6a51b598bd22 + 1>',
      },
    ],
  },
  {
    name: 'a preamble before the first delimiter and an epilogue after the last',
    wire:
      `This is the preamble. It is to be ignored.\r\n` +
      `--${B}x is not a delimiter line either\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /a HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}--\r\n` +
      `This is the epilogue. It is to be ignored too, delimiters included.\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /never HTTP/1.1\r\n` +
      `\r\n`,
    items: [{ method: 'GET', target: '/a', headers: [], body: '' }],
  },
  {
    name: 'no line break after the closing delimiter',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `DELETE /a/1 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}--`,
    items: [{ method: 'DELETE', target: '/a/1', headers: [], body: '' }],
  },
  {
    name: 'linear white space after delimiter lines',
    wire:
      `--${B} \t \r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /a HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\t\n` +
      `Content-Type: application/http\n` +
      `\n` +
      `GET /b HTTP/1.1\n` +
      `\n` +
      `\n` +
      `--${B}--   \r\n`,
    items: [
      { method: 'GET', target: '/a', headers: [], body: '' },
      { method: 'GET', target: '/b', headers: [], body: '' },
    ],
  },
  {
    name: 'part Content-Type application/http or message/http (parameters, any case)',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /a HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: message/http\r\n` +
      `\r\n` +
      `GET /b HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `content-type: Application/HTTP; msgtype=request\r\n` +
      `\r\n` +
      `GET /c HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}--\r\n`,
    items: [
      { method: 'GET', target: '/a', headers: [], body: '' },
      { method: 'GET', target: '/b', headers: [], body: '' },
      { method: 'GET', target: '/c', headers: [], body: '' },
    ],
  },
  {
    name: 'Content-Transfer-Encoding: binary and extra part headers (MIME-Version)',
    wire:
      `--${B}\r\n` +
      `MIME-Version: 1.0\r\n` +
      `Content-Type: application/http\r\n` +
      `Content-Transfer-Encoding: binary\r\n` +
      `X-Part-Note: ignored\r\n` +
      `Content-ID: 7\r\n` +
      `\r\n` +
      `POST /notes HTTP/1.1\r\n` +
      `Content-Type: text/plain\r\n` +
      `Content-Length: 2\r\n` +
      `\r\n` +
      `hi\r\n` +
      `--${B}--\r\n`,
    items: [
      {
        method: 'POST',
        target: '/notes',
        headers: [
          ['Content-Type', 'text/plain'],
          ['Content-Length', '2'],
        ],
        body: 'hi',
        contentId: '7',
      },
    ],
  },
  {
    name: 'Content-ID in every form: <item1>, item1, 1, <uuid + 1>',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `Content-ID: <item1>\r\n` +
      `\r\n` +
      `GET /1 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `Content-ID: item1\r\n` +
      `\r\n` +
      `GET /2 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `content-id: 1\r\n` +
      `\r\n` +
      `GET /3 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `Content-ID: <a8a2cd37-5c2b-4d8f-9f44-0c1c5e8e2f10 + 1>\r\n` +
      `\r\n` +
      `GET /4 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /5 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}--\r\n`,
    items: [
      { method: 'GET', target: '/1', headers: [], body: '', contentId: '<item1>' },
      { method: 'GET', target: '/2', headers: [], body: '', contentId: 'item1' },
      { method: 'GET', target: '/3', headers: [], body: '', contentId: '1' },
      {
        method: 'GET',
        target: '/4',
        headers: [],
        body: '',
        contentId: '<a8a2cd37-5c2b-4d8f-9f44-0c1c5e8e2f10 + 1>',
      },
      { method: 'GET', target: '/5', headers: [], body: '' },
    ],
  },
  {
    name: 'a request line without the HTTP version',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /path\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `DELETE /items/7\r\n` +
      `If-Match: "v3"\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}--\r\n`,
    items: [
      { method: 'GET', target: '/path', headers: [], body: '' },
      { method: 'DELETE', target: '/items/7', headers: [['If-Match', '"v3"']], body: '' },
    ],
  },
  {
    name: 'bodiless requests with no blank line after their headers',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /a HTTP/1.1\r\n` +
      `Accept: text/plain\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `DELETE /b HTTP/1.1\r\n` +
      `--${B}\n` +
      `Content-Type: application/http\n` +
      `\n` +
      `GET /c\n` +
      `X-Trace: 1\n` +
      `--${B}--`,
    items: [
      { method: 'GET', target: '/a', headers: [['Accept', 'text/plain']], body: '' },
      { method: 'DELETE', target: '/b', headers: [], body: '' },
      { method: 'GET', target: '/c', headers: [['X-Trace', '1']], body: '' },
    ],
  },
  {
    name: 'no inner Content-Length: the body is the rest of the part, minus the delimiter line break',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `POST /a HTTP/1.1\r\n` +
      `Content-Type: text/plain\r\n` +
      `\r\n` +
      `line one\r\nline two` +
      `\r\n--${B}\n` +
      `Content-Type: application/http\n` +
      `\n` +
      `POST /b HTTP/1.1\n` +
      `\n` +
      `x\ny` +
      `\n--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `POST /c HTTP/1.1\r\n` +
      `\r\n` +
      `ends with its own line break\r\n` +
      `\r\n--${B}--\r\n`,
    items: [
      {
        method: 'POST',
        target: '/a',
        headers: [['Content-Type', 'text/plain']],
        body: 'line one\r\nline two',
      },
      { method: 'POST', target: '/b', headers: [], body: 'x\ny' },
      { method: 'POST', target: '/c', headers: [], body: 'ends with its own line break\r\n' },
    ],
  },
  {
    name: 'targets: origin form, absolute form naming the batch Host, relative form',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /a?b=1 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET https://api.example.com/v1/users/7?expand=true HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET http://API.Example.COM:80/x HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET https://api.example.com:443 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET People?$top=2 HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${B}--\r\n`,
    items: [
      { method: 'GET', target: '/a?b=1', headers: [], body: '' },
      { method: 'GET', target: '/v1/users/7?expand=true', headers: [], body: '' },
      { method: 'GET', target: '/x', headers: [], body: '' },
      { method: 'GET', target: '/', headers: [], body: '' },
      { method: 'GET', target: 'People?$top=2', headers: [], body: '' },
    ],
  },
  {
    name: 'a boundary of exactly 70 characters',
    contentType: `multipart/mixed; boundary="${'='.repeat(15)}${'x'.repeat(55)}"`,
    wire:
      `--${'='.repeat(15)}${'x'.repeat(55)}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `GET /a HTTP/1.1\r\n` +
      `\r\n` +
      `\r\n` +
      `--${'='.repeat(15)}${'x'.repeat(55)}--\r\n`,
    items: [{ method: 'GET', target: '/a', headers: [], body: '' }],
  },
  {
    name: 'inner Content-Length that also counted the CRLF before the delimiter (2 bytes over)',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `POST /a HTTP/1.1\r\n` +
      `Content-Length: 5\r\n` +
      `\r\n` +
      `abc\r\n` +
      `--${B}--\r\n`,
    items: [{ method: 'POST', target: '/a', headers: [['Content-Length', '3']], body: 'abc' }],
  },
  {
    name: 'inner Content-Length followed by line breaks only',
    wire:
      `--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `POST /a HTTP/1.1\r\n` +
      `Content-Length: 3\r\n` +
      `\r\n` +
      `abc\r\n\n\r\n` +
      `\r\n--${B}\r\n` +
      `Content-Type: application/http\r\n` +
      `\r\n` +
      `POST /b HTTP/1.1\r\n` +
      `Content-Length: 0\r\n` +
      `\r\n` +
      `\r\n--${B}--\r\n`,
    items: [
      { method: 'POST', target: '/a', headers: [['Content-Length', '3']], body: 'abc' },
      { method: 'POST', target: '/b', headers: [['Content-Length', '0']], body: '' },
    ],
  },
];

describe('SPEC §2 request — leniency (accepted wire vectors)', () => {
  it.each(ACCEPTED)('$name', async ({ contentType, wire, items }) => {
    for (const mode of FEEDS) {
      const decoded = await decode(contentType ?? MULTIPART, feed(wire, mode));
      expect(decoded.format, `feed ${mode}`).toBe('multipart');
      expect(plain(decoded.items), `feed ${mode}`).toStrictEqual(items);
    }
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §2 request: rejections
// ---------------------------------------------------------------------------------------

interface RejectedVector {
  name: string;
  contentType?: string;
  wire: string;
  /** The 1-based part at fault, or `null` when the batch as a whole is. */
  part: number | null;
}

const REJECTED: RejectedVector[] = [
  {
    name: 'boundary parameter missing',
    contentType: 'multipart/mixed',
    wire: OK_PART + CLOSE,
    part: null,
  },
  {
    name: 'boundary parameter empty',
    contentType: 'multipart/mixed; boundary=""',
    wire: OK_PART + CLOSE,
    part: null,
  },
  {
    name: 'boundary longer than 70 characters',
    contentType: `multipart/mixed; boundary=${'b'.repeat(71)}`,
    wire:
      `--${'b'.repeat(71)}\r\nContent-Type: application/http\r\n\r\nGET /a HTTP/1.1\r\n\r\n` +
      `--${'b'.repeat(71)}--\r\n`,
    part: null,
  },
  { name: 'no closing delimiter', wire: OK_PART, part: null },
  { name: 'closing delimiter cut short', wire: `${OK_PART}--${B}-`, part: null },
  { name: 'no delimiter at all', wire: 'GET /a HTTP/1.1\r\n\r\n', part: null },
  {
    name: 'a part with no request line',
    wire: `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\n\r\n${CLOSE}`,
    part: 2,
  },
  { name: 'an empty part', wire: `${OK_PART}--${B}\r\n\r\n${CLOSE}`, part: 2 },
  {
    name: 'a method that is not an HTTP token',
    wire: `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\nGE(T /a HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 2,
  },
  {
    name: 'a method with a non-ASCII character',
    wire: `${OK_PART}${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\nGÉT /a HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 3,
  },
  {
    name: 'CONNECT',
    wire: `--${B}\r\nContent-Type: application/http\r\n\r\nCONNECT api.example.com:443 HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 1,
  },
  {
    name: 'connect (lower case)',
    wire: `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\nconnect /a HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 2,
  },
  {
    name: 'a malformed inner header line (no colon)',
    wire:
      `${OK_PART}${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `GET /a HTTP/1.1\r\nAccept application/json\r\n\r\n${CLOSE}`,
    part: 3,
  },
  {
    name: 'a malformed inner header line (white space before the colon)',
    wire:
      `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `GET /a HTTP/1.1\r\nAccept : application/json\r\n\r\n${CLOSE}`,
    part: 2,
  },
  {
    name: 'a malformed part header line',
    wire: `--${B}\r\nContent-Type: application/http\r\nContent-ID <x>\r\n\r\nGET /a HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 1,
  },
  {
    name: 'obs-fold in the inner headers',
    wire:
      `--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `GET /a HTTP/1.1\r\nX-Long: first\r\n  folded\r\n\r\n${CLOSE}`,
    part: 1,
  },
  {
    name: 'obs-fold in the part headers (bare LF)',
    wire: `${OK_PART}--${B}\nContent-Type: application/http\nContent-ID: <a>\n\t<b>\n\nGET /a HTTP/1.1\n\n${CLOSE}`,
    part: 2,
  },
  {
    name: 'inner Content-Length 3 bytes larger than the part holds',
    wire:
      `--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `POST /a HTTP/1.1\r\nContent-Length: 6\r\n\r\nabc\r\n${CLOSE}`,
    part: 1,
  },
  {
    name: 'inner Content-Length much larger than the part holds (bare LF)',
    wire:
      `${OK_PART}--${B}\nContent-Type: application/http\n\n` +
      `POST /a HTTP/1.1\nContent-Length: 100\n\nabc\n${CLOSE}`,
    part: 2,
  },
  {
    name: 'inner Content-Length followed by other bytes',
    wire:
      `--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdef\r\n${CLOSE}`,
    part: 1,
  },
  {
    name: 'inner Content-Length followed by a line break and more bytes',
    wire:
      `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\r\nGET /smuggled HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 2,
  },
  {
    name: 'inner Transfer-Encoding',
    wire:
      `--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\r\n${CLOSE}`,
    part: 1,
  },
  {
    name: 'absolute-form target naming another host',
    wire: `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\nGET https://evil.example.com/a HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 2,
  },
  {
    name: 'absolute-form target naming the batch host on another port',
    wire: `--${B}\r\nContent-Type: application/http\r\n\r\nGET https://api.example.com:8443/a HTTP/1.1\r\n\r\n${CLOSE}`,
    part: 1,
  },
];

describe('SPEC §2 request — rejections (400, nothing decoded)', () => {
  it.each(REJECTED)('$name', async ({ contentType, wire, part }) => {
    for (const mode of FEEDS) {
      const error = await rejectionOf(decode(contentType ?? MULTIPART, feed(wire, mode)));
      expect(error.status, `feed ${mode}`).toBe(400);
      expect(error.code, `feed ${mode}`).toBe('invalid_batch');
      if (part === null) {
        expect(error.errors, `feed ${mode}`).toStrictEqual([]);
      } else {
        expect(error.errors, `feed ${mode}`).toStrictEqual([{ part, detail: expect.any(String) }]);
        expect(error.message, `feed ${mode}`).toContain(`part ${part}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §1: other content types
// ---------------------------------------------------------------------------------------

describe('SPEC §1 — 415 for anything but multipart/mixed and application/json', () => {
  it.each([
    { contentType: 'text/plain' },
    { contentType: undefined },
    { contentType: '' },
    { contentType: 'multipart/form-data; boundary=b0undary' },
    { contentType: 'application/x-www-form-urlencoded' },
    { contentType: 'application/json-seq' },
  ])('$contentType → 415 listing the accepted types', async ({ contentType }) => {
    const error = await rejectionOf(decode(contentType, utf8(OK_PART + CLOSE)));
    expect(error.status).toBe(415);
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toContain('multipart/mixed');
    expect(error.message).toContain('application/json');
    expect(error.toProblem().detail).toContain('multipart/mixed');
  });

  it('null content type → 415', async () => {
    const error = await rejectionOf(
      decodeBatchRequest({ contentType: null, body: utf8('{}'), host: HOST }),
    );
    expect(error.status).toBe(415);
  });

  it('a format the endpoint does not serve → 415 listing only the ones it does', async () => {
    const error = await rejectionOf(
      decodeBatchRequest({
        contentType: MULTIPART,
        body: utf8(OK_PART + CLOSE),
        host: HOST,
        formats: ['json'],
      }),
    );
    expect(error.status).toBe(415);
    expect(error.message).toContain('application/json');
    expect(error.message).not.toContain('accepted: multipart/mixed');
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset="UTF-8"',
  ])('%s selects the JSON format', async (contentType) => {
    const decoded = await decode(contentType, utf8('{"requests":[{"path":"/a"}]}'));
    expect(decoded.format).toBe('json');
    expect(plain(decoded.items)).toStrictEqual([
      { method: 'GET', target: '/a', headers: [], body: '' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// Limits, in both formats
// ---------------------------------------------------------------------------------------

/** An async iterable of chunks that counts how many of them were pulled. */
function countingStream(chunks: string[]): {
  body: AsyncIterable<Uint8Array>;
  pulled: () => number;
  total: number;
} {
  const encoded = chunks.map(utf8);
  let pulled = 0;
  return {
    body: {
      async *[Symbol.asyncIterator]() {
        for (const chunk of encoded) {
          pulled++;
          yield chunk;
        }
      },
    },
    pulled: () => pulled,
    total: encoded.length,
  };
}

describe('limits — multipart', () => {
  it('maxRequests: 100 parts pass with the default limits', async () => {
    const decoded = await decode(MULTIPART, utf8(OK_PART.repeat(100) + CLOSE));
    expect(decoded.items).toHaveLength(100);
    expect(plain(decoded.items)[99]).toStrictEqual(OK_ITEM);
  });

  it('maxRequests: 101 parts → 400 too_many_requests_in_batch', async () => {
    const error = await rejectionOf(decode(MULTIPART, utf8(OK_PART.repeat(101) + CLOSE)));
    expect(error.status).toBe(400);
    expect(error.code).toBe('too_many_requests_in_batch');
  });

  it('maxRequests: a configured limit of 2', async () => {
    const error = await rejectionOf(
      decode(MULTIPART, utf8(OK_PART.repeat(3) + CLOSE), { maxRequests: 2 }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe('too_many_requests_in_batch');
  });

  it('maxBodyBytes: a body of exactly the limit passes, one byte more → 413', async () => {
    const wire = utf8(OK_PART + CLOSE);
    const ok = await decode(MULTIPART, wire, { maxBodyBytes: wire.length });
    expect(plain(ok.items)).toStrictEqual([OK_ITEM]);
    for (const body of [wire, chunksOf(wire, 5)]) {
      const error = await rejectionOf(decode(MULTIPART, body, { maxBodyBytes: wire.length - 1 }));
      expect(error.status).toBe(413);
      expect(error.code).toBe('body_too_large');
    }
  });

  it('maxPartHeaderBytes: a part head over the default 16 KiB → 431 naming the part', async () => {
    const wire =
      `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `GET /a HTTP/1.1\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n${CLOSE}`;
    const error = await rejectionOf(decode(MULTIPART, utf8(wire)));
    expect(error.status).toBe(431);
    expect(error.code).toBe('part_headers_too_large');
    expect(error.errors).toStrictEqual([{ part: 2, detail: expect.any(String) }]);
  });

  it('maxPartHeaderBytes: a configured limit, counting part headers and inner head', async () => {
    // The part head: 32 bytes of part headers + blank line, 17 of request line, 2 of blank line.
    const wire =
      `--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `GET /a HTTP/1.1\r\nX-Pad: ${'p'.repeat(50)}\r\n\r\n${CLOSE}`;
    const ok = await decode(MULTIPART, utf8(wire), { maxPartHeaderBytes: 200 });
    expect(plain(ok.items)[0]?.headers).toStrictEqual([['X-Pad', 'p'.repeat(50)]]);
    const error = await rejectionOf(decode(MULTIPART, utf8(wire), { maxPartHeaderBytes: 100 }));
    expect(error.status).toBe(431);
    expect(error.errors).toStrictEqual([{ part: 1, detail: expect.any(String) }]);
  });

  it('maxItemBodyBytes: a body of exactly the limit passes, one byte more → 413', async () => {
    const withLength = (body: string) =>
      `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `POST /a HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}\r\n${CLOSE}`;
    const withoutLength = (body: string) =>
      `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\n` +
      `POST /a HTTP/1.1\r\n\r\n${body}\r\n${CLOSE}`;
    for (const build of [withLength, withoutLength]) {
      const ok = await decode(MULTIPART, utf8(build('0123456789')), { maxItemBodyBytes: 10 });
      expect(plain(ok.items)[1]?.body).toBe('0123456789');
      for (const body of ['0123456789A', 'x'.repeat(1000)]) {
        const error = await rejectionOf(
          decode(MULTIPART, utf8(build(body)), { maxItemBodyBytes: 10 }),
        );
        expect(error.status).toBe(413);
        expect(error.code).toBe('item_body_too_large');
        expect(error.errors).toStrictEqual([{ part: 2, detail: expect.any(String) }]);
      }
    }
  });
});

describe('limits — JSON', () => {
  const requests = (n: number) =>
    JSON.stringify({ requests: Array.from({ length: n }, () => ({ path: '/a' })) });

  it('maxRequests: 100 requests pass with the default limits', async () => {
    const decoded = await decodeJson(requests(100));
    expect(decoded.items).toHaveLength(100);
  });

  it('maxRequests: 101 requests → 400 too_many_requests_in_batch at /requests', async () => {
    const error = await rejectionOf(decodeJson(requests(101)));
    expect(error.status).toBe(400);
    expect(error.code).toBe('too_many_requests_in_batch');
    expect(pointers(error)).toStrictEqual(['/requests']);
  });

  it('maxBodyBytes: a body of exactly the limit passes, one byte more → 413', async () => {
    const wire = requests(2);
    const ok = await decodeJson(wire, { maxBodyBytes: wire.length });
    expect(ok.items).toHaveLength(2);
    for (const body of [utf8(wire), chunksOf(utf8(wire), 4)]) {
      const error = await rejectionOf(decode(JSON_TYPE, body, { maxBodyBytes: wire.length - 1 }));
      expect(error.status).toBe(413);
      expect(error.code).toBe('body_too_large');
    }
  });

  it('maxPartHeaderBytes: one item with headers over the default 16 KiB → 431', async () => {
    const wire = JSON.stringify({
      requests: [{ path: '/a' }, { path: '/b', headers: { 'X-Big': 'a'.repeat(17_000) } }],
    });
    const error = await rejectionOf(decodeJson(wire));
    expect(error.status).toBe(431);
    expect(error.code).toBe('part_headers_too_large');
    expect(pointers(error)).toStrictEqual(['/requests/1/headers']);
  });

  it('maxItemBodyBytes: a body of exactly the limit passes, one byte more → 413', async () => {
    // The string "12345678" is sent as its JSON text: 10 bytes with its quotes.
    const ok = await decodeJson('{"requests":[{"path":"/a","body":"12345678"}]}', {
      maxItemBodyBytes: 10,
    });
    expect(plain(ok.items)[0]?.body).toBe('"12345678"');
    const error = await rejectionOf(
      decodeJson('{"requests":[{"path":"/a"},{"path":"/a","body":"123456789"}]}', {
        maxItemBodyBytes: 10,
      }),
    );
    expect(error.status).toBe(413);
    expect(error.code).toBe('item_body_too_large');
    expect(pointers(error)).toStrictEqual(['/requests/1/body']);
  });
});

describe('limits are enforced while reading (the stream is not read to its end)', () => {
  const postHead = `--${B}\r\nContent-Type: application/http\r\n\r\nPOST /upload HTTP/1.1\r\n\r\n`;

  it('multipart maxRequests: stops at part 101', async () => {
    const stream = countingStream([...Array<string>(1000).fill(OK_PART), CLOSE]);
    const error = await rejectionOf(decode(MULTIPART, stream.body));
    expect(error.code).toBe('too_many_requests_in_batch');
    expect(stream.pulled()).toBeLessThanOrEqual(102);
  });

  it('multipart maxBodyBytes', async () => {
    const stream = countingStream([
      OK_PART,
      postHead,
      ...Array<string>(1000).fill('x'.repeat(100)),
      `\r\n${CLOSE}`,
    ]);
    const error = await rejectionOf(decode(MULTIPART, stream.body, { maxBodyBytes: 4096 }));
    expect(error.status).toBe(413);
    expect(error.code).toBe('body_too_large');
    expect(stream.pulled()).toBeLessThanOrEqual(45);
  });

  it('multipart maxItemBodyBytes (no Content-Length)', async () => {
    const stream = countingStream([
      OK_PART,
      postHead,
      ...Array<string>(1000).fill('x'.repeat(100)),
      `\r\n${CLOSE}`,
    ]);
    const error = await rejectionOf(decode(MULTIPART, stream.body, { maxItemBodyBytes: 1000 }));
    expect(error.status).toBe(413);
    expect(error.code).toBe('item_body_too_large');
    expect(error.errors).toStrictEqual([{ part: 2, detail: expect.any(String) }]);
    expect(stream.pulled()).toBeLessThanOrEqual(15);
  });

  it('multipart maxItemBodyBytes (a Content-Length that is too large)', async () => {
    const stream = countingStream([
      OK_PART,
      `--${B}\r\nContent-Type: application/http\r\n\r\nPOST /upload HTTP/1.1\r\nContent-Length: 100000\r\n\r\n`,
      ...Array<string>(1000).fill('x'.repeat(100)),
      `\r\n${CLOSE}`,
    ]);
    const error = await rejectionOf(decode(MULTIPART, stream.body, { maxItemBodyBytes: 1000 }));
    expect(error.status).toBe(413);
    expect(error.errors).toStrictEqual([{ part: 2, detail: expect.any(String) }]);
    expect(stream.pulled()).toBeLessThanOrEqual(15);
  });

  it('multipart maxPartHeaderBytes (default 16 KiB)', async () => {
    const stream = countingStream([
      OK_PART,
      `--${B}\r\nContent-Type: application/http\r\n\r\nGET /a HTTP/1.1\r\n`,
      ...Array<string>(10_000).fill(`X-Filler: ${'a'.repeat(40)}\r\n`),
      `\r\n${CLOSE}`,
    ]);
    const error = await rejectionOf(decode(MULTIPART, stream.body));
    expect(error.status).toBe(431);
    expect(error.errors).toStrictEqual([{ part: 2, detail: expect.any(String) }]);
    expect(stream.pulled()).toBeLessThanOrEqual(400);
  });

  it('JSON maxBodyBytes', async () => {
    const stream = countingStream([
      '{"requests":[',
      ...Array<string>(1000).fill('{"path":"/a"},'),
      '{"path":"/a"}]}',
    ]);
    const error = await rejectionOf(decode(JSON_TYPE, stream.body, { maxBodyBytes: 1000 }));
    expect(error.status).toBe(413);
    expect(stream.pulled()).toBeLessThanOrEqual(80);
  });

  // SPEC §4 "Streaming": the request body is read as a stream and memory is bounded by the
  // largest single item, not by the batch — so the JSON count and item limits must stop the
  // read too, not only the byte limit.
  it('JSON maxRequests (SPEC §4 streaming): stops soon after request 101', async () => {
    const stream = countingStream([
      '{"requests":[',
      ...Array<string>(1000).fill('{"path":"/a"},'),
      '{"path":"/a"}]}',
    ]);
    const error = await rejectionOf(decode(JSON_TYPE, stream.body));
    expect(error.status).toBe(400);
    expect(error.code).toBe('too_many_requests_in_batch');
    expect(stream.pulled()).toBeLessThan(stream.total / 2);
  });

  it('JSON maxItemBodyBytes (SPEC §4 streaming): stops soon after the item body passes it', async () => {
    const stream = countingStream([
      '{"requests":[{"path":"/a","body":"',
      ...Array<string>(1000).fill('x'.repeat(100)),
      '"}]}',
    ]);
    const error = await rejectionOf(decode(JSON_TYPE, stream.body, { maxItemBodyBytes: 1000 }));
    expect(error.status).toBe(413);
    expect(error.code).toBe('item_body_too_large');
    expect(stream.pulled()).toBeLessThan(stream.total / 2);
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §2 response
// ---------------------------------------------------------------------------------------

function response(init: Partial<SubResponse> & { status: number }): SubResponse {
  return { headers: [], body: null, ...init };
}

async function multipartResponse(
  responses: SubResponse[],
  boundary = 'batch_x8Kf2',
): Promise<string> {
  return text(encodeBatchResponse('multipart', responses, { boundary }).body);
}

describe('SPEC §2 response', () => {
  it('writes the SPEC §2 response shape exactly', async () => {
    const json = '{"id": 409, "read_position": 3477}';
    const wire = await multipartResponse([
      response({
        status: 200,
        headers: [['Content-Type', 'application/json']],
        body: utf8(json),
        contentId: '<item1>',
      }),
      response({ status: 204, contentId: 'item2' }),
    ]);
    expect(wire).toBe(
      `--batch_x8Kf2\r\n` +
        `Content-Type: application/http\r\n` +
        `Content-ID: <response-item1>\r\n` +
        `\r\n` +
        `HTTP/1.1 200 OK\r\n` +
        `Content-Type: application/json\r\n` +
        `Content-Length: ${json.length}\r\n` +
        `\r\n` +
        `${json}\r\n` +
        `--batch_x8Kf2\r\n` +
        `Content-Type: application/http\r\n` +
        `Content-ID: response-item2\r\n` +
        `\r\n` +
        `HTTP/1.1 204 No Content\r\n` +
        `\r\n` +
        `\r\n` +
        `--batch_x8Kf2--\r\n`,
    );
  });

  it.each([
    { status: 200, statusText: undefined, line: /^HTTP\/1\.1 200 OK$/ },
    { status: 201, statusText: undefined, line: /^HTTP\/1\.1 201 Created$/ },
    { status: 404, statusText: undefined, line: /^HTTP\/1\.1 404 Not Found$/ },
    { status: 424, statusText: undefined, line: /^HTTP\/1\.1 424 Failed Dependency$/ },
    { status: 299, statusText: undefined, line: /^HTTP\/1\.1 299 [\x21-\x7e][\t\x20-\x7e]*$/ },
    { status: 599, statusText: undefined, line: /^HTTP\/1\.1 599 [\x21-\x7e][\t\x20-\x7e]*$/ },
    { status: 200, statusText: 'All Good', line: /^HTTP\/1\.1 200 All Good$/ },
    { status: 200, statusText: '', line: /^HTTP\/1\.1 200 OK$/ },
    {
      status: 500,
      statusText: 'Oops\r\nSet-Cookie: pwned=1',
      line: /^HTTP\/1\.1 500 Internal Server Error$/,
    },
  ])(
    'status line $status "$statusText" always has a reason phrase',
    async ({ status, statusText, line }) => {
      const init: SubResponse = response({ status });
      if (statusText !== undefined) init.statusText = statusText;
      const wire = await multipartResponse([init]);
      const statusLine = wire.split('\r\n').find((l) => l.startsWith('HTTP/'));
      expect(statusLine).toMatch(line);
      expect(wire).not.toContain('pwned');
    },
  );

  it('boundary: `batch_` + a token, not quoted, when none is given', async () => {
    const encoded = encodeBatchResponse('multipart', [response({ status: 200 })]);
    const match = /^multipart\/mixed; boundary=(batch_[0-9A-Za-z_-]+)$/.exec(encoded.contentType);
    expect(match).not.toBeNull();
    const boundary = match?.[1] ?? '';
    expect(boundary.length).toBeLessThanOrEqual(70);
    expect(encoded.contentType).not.toContain('"');
    const wire = await text(encoded.body);
    expect(wire.startsWith(`--${boundary}\r\n`)).toBe(true);
    expect(wire.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
    const other = encodeBatchResponse('multipart', [response({ status: 200 })]);
    expect(other.contentType).not.toBe(encoded.contentType);
  });

  it('boundary: the given one is used, unquoted', async () => {
    const encoded = encodeBatchResponse('multipart', [response({ status: 200 })], {
      boundary: 'batch_given',
    });
    expect(encoded.contentType).toBe('multipart/mixed; boundary=batch_given');
  });

  it('CRLF everywhere: no bare LF in the framing', async () => {
    const wire = await multipartResponse([
      response({
        status: 201,
        headers: [
          ['Content-Type', 'text/plain'],
          ['Location', '/a/1'],
        ],
        body: utf8('created'),
        contentId: '<a>',
      }),
      response({ status: 304, headers: [['ETag', '"v1"']], contentId: 'b' }),
      response({ status: 500, body: utf8('boom') }),
      response({
        status: 200,
        headers: [['Content-Type', 'text/plain']],
        body: (async function* () {
          yield utf8('stre');
          yield utf8('amed');
        })(),
      }),
    ]);
    expect(wire).not.toMatch(/(?<!\r)\n/);
    expect(wire).not.toMatch(/\r(?!\n)/);
    expect(wire).toContain('\r\n\r\nstreamed\r\n--batch_x8Kf2--\r\n');
  });

  it.each([
    { contentId: '<item1>', expected: 'Content-ID: <response-item1>\r\n' },
    { contentId: 'item1', expected: 'Content-ID: response-item1\r\n' },
    { contentId: '1', expected: 'Content-ID: response-1\r\n' },
    {
      contentId: '<a8a2cd37-5c2b-4d8f-9f44-0c1c5e8e2f10 + 1>',
      expected: 'Content-ID: <response-a8a2cd37-5c2b-4d8f-9f44-0c1c5e8e2f10 + 1>\r\n',
    },
    { contentId: undefined, expected: null },
  ])('Content-ID $contentId is mirrored', async ({ contentId, expected }) => {
    const init = response({ status: 200 });
    if (contentId !== undefined) init.contentId = contentId;
    const wire = await multipartResponse([init]);
    if (expected === null) expect(wire.toLowerCase()).not.toContain('content-id');
    else expect(wire).toContain(expected);
  });

  it('every header is kept, Set-Cookie one line each, in order', async () => {
    const wire = await multipartResponse([
      response({
        status: 200,
        headers: [
          ['Content-Type', 'text/plain'],
          ['Set-Cookie', 'a=1; Path=/'],
          ['X-Custom', 'kept'],
          ['Set-Cookie', 'b=2; HttpOnly'],
          ['Vary', 'Accept'],
          ['Vary', 'Cookie'],
        ],
        body: utf8('ok'),
      }),
    ]);
    expect(wire).toContain(
      'HTTP/1.1 200 OK\r\n' +
        'Content-Type: text/plain\r\n' +
        'Set-Cookie: a=1; Path=/\r\n' +
        'X-Custom: kept\r\n' +
        'Set-Cookie: b=2; HttpOnly\r\n' +
        'Vary: Accept\r\n' +
        'Vary: Cookie\r\n' +
        'Content-Length: 2\r\n' +
        '\r\n' +
        'ok\r\n',
    );
  });

  it('header values with CR or LF are dropped (no header injection)', async () => {
    const wire = await multipartResponse([
      response({
        status: 200,
        headers: [
          ['X-Evil', 'a\r\nSet-Cookie: pwned=1'],
          ['X-Lf', 'a\nX-Injected: 1'],
          ['X-Cr', 'a\rb'],
          ['Bad Name', 'x'],
          ['X-Ok', 'fine'],
        ],
      }),
    ]);
    expect(wire).not.toContain('pwned');
    expect(wire).not.toContain('X-Injected');
    expect(wire).not.toContain('X-Evil');
    expect(wire).not.toContain('X-Lf');
    expect(wire).not.toContain('X-Cr');
    expect(wire).not.toContain('Bad Name');
    expect(wire).toContain('\r\nX-Ok: fine\r\n');
  });

  it('hop-by-hop headers are dropped', async () => {
    const wire = await multipartResponse([
      response({
        status: 200,
        headers: [
          ['Transfer-Encoding', 'chunked'],
          ['Connection', 'keep-alive'],
          ['Keep-Alive', 'timeout=5'],
          ['Upgrade', 'h2c'],
          ['Content-Type', 'text/plain'],
        ],
        body: utf8('x'),
      }),
    ]);
    expect(wire).not.toMatch(/transfer-encoding|connection|keep-alive|upgrade/i);
    expect(wire).toContain('Content-Type: text/plain\r\nContent-Length: 1\r\n\r\nx\r\n');
  });

  it('round-trips through decodeBatchResponse', async () => {
    const encoded = encodeBatchResponse('multipart', [
      response({
        status: 201,
        headers: [
          ['Content-Type', 'application/json'],
          ['Set-Cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
        ],
        body: utf8('{"id":1}'),
        contentId: '<x>',
      }),
      response({ status: 299 }),
    ]);
    const wire = await text(encoded.body);
    const decoded = await decodeBatchResponse({
      contentType: encoded.contentType,
      body: utf8(wire),
    });
    expect(decoded.map((r) => [r.status, r.contentId, decoder.decode(r.body)])).toStrictEqual([
      [201, '<response-x>', '{"id":1}'],
      [299, undefined, ''],
    ]);
    expect(decoded[0]?.headers.filter(([name]) => name === 'Set-Cookie')).toStrictEqual([
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
    ]);
    expect(decoded[1]?.statusText).not.toBe('');
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §3 request: accepted
// ---------------------------------------------------------------------------------------

interface JsonVector {
  name: string;
  json: string;
  items: unknown[];
}

const JSON_ACCEPTED: JsonVector[] = [
  { name: '`requests: []` is valid', json: '{"requests":[]}', items: [] },
  {
    name: 'the SPEC §3 example',
    json: `{
      "defaults": { "method": "POST", "path": "/articles", "headers": { "Authorization": "Basic bWU6cHc=" } },
      "requests": [
        { "body": { "title": "MoFo", "url": "http://mozilla.org" } },
        { "method": "PATCH", "path": "/articles/409", "body": { "read_position": 3477 } }
      ]
    }`,
    items: [
      {
        method: 'POST',
        target: '/articles',
        headers: [
          ['Authorization', 'Basic bWU6cHc='],
          ['Content-Type', 'application/json'],
        ],
        body: jsonText({ title: 'MoFo', url: 'http://mozilla.org' }),
      },
      {
        method: 'PATCH',
        target: '/articles/409',
        headers: [
          ['Authorization', 'Basic bWU6cHc='],
          ['Content-Type', 'application/json'],
        ],
        body: '{"read_position":3477}',
      },
    ],
  },
  {
    name: 'method defaults to GET; case-insensitive, normalised to upper case',
    json: '{"requests":[{"path":"/a"},{"method":"patch","path":"/b"},{"method":"Delete","path":"/c"}]}',
    items: [
      { method: 'GET', target: '/a', headers: [], body: '' },
      { method: 'PATCH', target: '/b', headers: [], body: '' },
      { method: 'DELETE', target: '/c', headers: [], body: '' },
    ],
  },
  {
    name: "defaults: the request's own method, path and body win",
    json: `{"defaults":{"method":"POST","path":"/d","body":"from defaults"},
            "requests":[{"method":"PUT","path":"/own","body":"own"},{}]}`,
    items: [
      {
        method: 'PUT',
        target: '/own',
        headers: [['Content-Type', 'application/json']],
        body: '"own"',
      },
      {
        method: 'POST',
        target: '/d',
        headers: [['Content-Type', 'application/json']],
        body: '"from defaults"',
      },
    ],
  },
  {
    name: 'defaults: headers merge key by key, case-insensitively, the request winning',
    json: `{"defaults":{"path":"/a","headers":{"Authorization":"Bearer d","Accept":"text/html"}},
            "requests":[{"headers":{"accept":"application/json","X-Own":"1"}},{"headers":{"AUTHORIZATION":"Bearer r"}}]}`,
    items: [
      {
        method: 'GET',
        target: '/a',
        headers: [
          ['accept', 'application/json'],
          ['X-Own', '1'],
          ['Authorization', 'Bearer d'],
        ],
        body: '',
      },
      {
        method: 'GET',
        target: '/a',
        headers: [
          ['AUTHORIZATION', 'Bearer r'],
          ['Accept', 'text/html'],
        ],
        body: '',
      },
    ],
  },
  {
    name: 'defaults: arrays are not merged (header value arrays, array bodies)',
    json: `{"defaults":{"method":"POST","path":"/a","headers":{"X-Tag":["d1","d2"]},"body":[1,2,3]},
            "requests":[{"headers":{"x-tag":["r1"]},"body":[9]},{}]}`,
    items: [
      {
        method: 'POST',
        target: '/a',
        headers: [
          ['x-tag', 'r1'],
          ['Content-Type', 'application/json'],
        ],
        body: '[9]',
      },
      {
        method: 'POST',
        target: '/a',
        headers: [
          ['X-Tag', 'd1'],
          ['X-Tag', 'd2'],
          ['Content-Type', 'application/json'],
        ],
        body: '[1,2,3]',
      },
    ],
  },
  {
    name: 'defaults: object bodies merge deeply, the request winning',
    json: `{"defaults":{"method":"POST","path":"/a","body":{"a":1,"nested":{"x":1,"y":2}}},
            "requests":[{"body":{"nested":{"y":3},"b":2}}]}`,
    items: [
      {
        method: 'POST',
        target: '/a',
        headers: [['Content-Type', 'application/json']],
        body: jsonText({ a: 1, nested: { x: 1, y: 3 }, b: 2 }),
      },
    ],
  },
  {
    name: '`url` is a synonym of `path` (in a request and in defaults)',
    json: `{"defaults":{"url":"/from-defaults"},
            "requests":[{"url":"/me/messages"},{},{"path":"/own"},{"url":"People?$top=2"}]}`,
    items: [
      { method: 'GET', target: '/me/messages', headers: [], body: '' },
      { method: 'GET', target: '/from-defaults', headers: [], body: '' },
      { method: 'GET', target: '/own', headers: [], body: '' },
      { method: 'GET', target: 'People?$top=2', headers: [], body: '' },
    ],
  },
  {
    name: 'a header value given as an array of strings is a repeated header',
    json: '{"requests":[{"path":"/a","headers":{"Accept":["text/plain","application/json"],"X-One":"1"}}]}',
    items: [
      {
        method: 'GET',
        target: '/a',
        headers: [
          ['Accept', 'text/plain'],
          ['Accept', 'application/json'],
          ['X-One', '1'],
        ],
        body: '',
      },
    ],
  },
  {
    name: 'id and dependsOn naming earlier ids',
    json: `{"requests":[{"id":"a","path":"/a"},{"id":"b","path":"/b","dependsOn":["a"]},
            {"path":"/c","dependsOn":["a","b"]}]}`,
    items: [
      { method: 'GET', target: '/a', headers: [], body: '', id: 'a' },
      { method: 'GET', target: '/b', headers: [], body: '', id: 'b', dependsOn: ['a'] },
      { method: 'GET', target: '/c', headers: [], body: '', dependsOn: ['a', 'b'] },
    ],
  },
  {
    name: 'body: a JSON value is sent as JSON with Content-Type: application/json',
    json: `{"requests":[{"method":"POST","path":"/a","body":{"k":[1,true,null]}},
            {"method":"POST","path":"/b","body":"text"},{"method":"POST","path":"/c","body":0},
            {"method":"POST","path":"/d","body":false}]}`,
    items: [
      {
        method: 'POST',
        target: '/a',
        headers: [['Content-Type', 'application/json']],
        body: '{"k":[1,true,null]}',
      },
      {
        method: 'POST',
        target: '/b',
        headers: [['Content-Type', 'application/json']],
        body: '"text"',
      },
      {
        method: 'POST',
        target: '/c',
        headers: [['Content-Type', 'application/json']],
        body: '0',
      },
      {
        method: 'POST',
        target: '/d',
        headers: [['Content-Type', 'application/json']],
        body: 'false',
      },
    ],
  },
  {
    name: 'body: a named JSON Content-Type keeps the body JSON and adds no second Content-Type',
    json: `{"requests":[{"method":"PATCH","path":"/a","headers":{"content-type":"application/merge-patch+json"},"body":{"a":null}},
            {"method":"POST","path":"/b","headers":{"Content-Type":"application/json"},"body":"s"}]}`,
    items: [
      {
        method: 'PATCH',
        target: '/a',
        headers: [['content-type', 'application/merge-patch+json']],
        body: '{"a":null}',
      },
      {
        method: 'POST',
        target: '/b',
        headers: [['Content-Type', 'application/json']],
        body: '"s"',
      },
    ],
  },
  {
    name: 'body: a named non-JSON Content-Type and a string body → the raw UTF-8 bytes',
    json: `{"defaults":{"headers":{"Content-Type":"text/csv"}},
            "requests":[{"method":"POST","path":"/a","headers":{"Content-Type":"text/plain; charset=utf-8"},"body":"héllo ✓\\n"},
            {"method":"POST","path":"/b","body":"a,b\\n1,2"}]}`,
    items: [
      {
        method: 'POST',
        target: '/a',
        headers: [['Content-Type', 'text/plain; charset=utf-8']],
        body: 'héllo ✓\n',
      },
      {
        method: 'POST',
        target: '/b',
        headers: [['Content-Type', 'text/csv']],
        body: 'a,b\n1,2',
      },
    ],
  },
  {
    name: 'body: `"bodyEncoding": "base64"` → the decoded bytes',
    json: '{"requests":[{"method":"PUT","path":"/t","headers":{"Content-Type":"text/plain"},"body":"aMOpbGxv","bodyEncoding":"base64"}]}',
    items: [
      {
        method: 'PUT',
        target: '/t',
        headers: [['Content-Type', 'text/plain']],
        body: 'héllo',
      },
    ],
  },
  {
    name: 'a JSON batch with a byte order mark',
    json: '\uFEFF{"requests":[{"path":"/a"}]}',
    items: [{ method: 'GET', target: '/a', headers: [], body: '' }],
  },
];

describe('SPEC §3 request — accepted', () => {
  it.each(JSON_ACCEPTED)('$name', async ({ json, items }) => {
    for (const mode of ['whole', 5] as const) {
      const bytes = utf8(json);
      const body = mode === 'whole' ? bytes : chunksOf(bytes, mode);
      const decoded = await decode(JSON_TYPE, body);
      expect(decoded.format).toBe('json');
      expect(plain(decoded.items), `feed ${mode}`).toEqual(items);
      // No stray optional members: exactly those expected.
      expect(decoded.items.map((item) => Object.keys(item).sort())).toStrictEqual(
        items.map((item) => Object.keys(item as object).sort()),
      );
    }
  });

  it('body: base64 decodes to binary bytes exactly', async () => {
    const decoded = await decodeJson(
      '{"requests":[{"method":"PUT","path":"/logo.png","headers":{"Content-Type":"image/png"},"body":"iVBORw0KGgo=","bodyEncoding":"base64"}]}',
    );
    const [item] = decoded.items;
    expect(item?.headers).toStrictEqual([['Content-Type', 'image/png']]);
    expect(Array.from(item?.body ?? [])).toStrictEqual([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §3 request: __proto__, constructor, prototype
// ---------------------------------------------------------------------------------------

describe('SPEC §3 request — __proto__ / constructor / prototype', () => {
  it('as members of defaults or of a request: 400 naming them, Object.prototype untouched', async () => {
    const error = await rejectionOf(
      decodeJson(
        '{"defaults":{"__proto__":{"polluted":true},"path":"/a"},' +
          '"requests":[{"__proto__":{"polluted":true}},{"path":"/b","constructor":{"prototype":{"polluted":true}}}]}',
      ),
    );
    expect(error.status).toBe(400);
    expect(pointers(error).sort()).toStrictEqual([
      '/defaults/__proto__',
      '/requests/0/__proto__',
      '/requests/1/constructor',
    ]);
    expect(isPolluted()).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('inside defaults.body: never merged, Object.prototype untouched', async () => {
    const decoded = await decodeJson(
      `{"defaults":{"method":"POST","path":"/a","body":{"keep":1,"__proto__":{"polluted":true},
         "constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true}}},
        "requests":[{"body":{"own":2}},{},{"body":{"nested":{"__proto__":{"polluted":true}}}}]}`,
    );
    const bodies = decoded.items.map((item) => JSON.parse(decoder.decode(item.body)) as unknown);
    expect(bodies[0]).toStrictEqual({ own: 2, keep: 1 });
    expect(bodies[1]).toStrictEqual({ keep: 1 });
    expect(Object.keys(bodies[2] as object).sort()).toStrictEqual(['keep', 'nested']);
    expect(isPolluted()).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('inside defaults.headers: never merged', async () => {
    const decoded = await decodeJson(
      `{"defaults":{"path":"/a","headers":{"Accept":"text/plain","__proto__":"x","constructor":"y","prototype":"z"}},
        "requests":[{}]}`,
    );
    expect(plain(decoded.items)).toStrictEqual([
      { method: 'GET', target: '/a', headers: [['Accept', 'text/plain']], body: '' },
    ]);
    expect(isPolluted()).toBe(false);
  });

  it("a request's own body keeps its own keys when defaults hold a body (own value wins)", async () => {
    const decoded = await decodeJson(
      `{"defaults":{"body":{"source":"batch"}},
        "requests":[{"method":"POST","path":"/cars","body":{"constructor":"Ferrari","prototype":"SF-25"}}]}`,
    );
    expect(JSON.parse(decoder.decode(decoded.items[0]?.body))).toStrictEqual({
      constructor: 'Ferrari',
      prototype: 'SF-25',
      source: 'batch',
    });
    expect(isPolluted()).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §3 request: rejections
// ---------------------------------------------------------------------------------------

interface JsonRejectedVector {
  name: string;
  json: string;
  /** JSON pointers named in `errors`, in any order. */
  pointers: string[];
}

const JSON_REJECTED: JsonRejectedVector[] = [
  {
    name: 'an unknown top-level member',
    json: '{"requests":[],"request":[]}',
    pointers: ['/request'],
  },
  {
    name: 'an unknown member in defaults',
    json: '{"defaults":{"path":"/a","header":{"Accept":"x"}},"requests":[{}]}',
    pointers: ['/defaults/header'],
  },
  {
    name: 'an unknown member in a request',
    json: '{"requests":[{"path":"/a"},{"path":"/b","methd":"PUT"}]}',
    pointers: ['/requests/1/methd'],
  },
  {
    name: 'an unknown member with a "/" in its name (escaped pointer)',
    json: '{"requests":[{"path":"/a","a/b~c":1}]}',
    pointers: ['/requests/0/a~1b~0c'],
  },
  {
    name: 'both `url` and `path`',
    json: '{"requests":[{"path":"/a"},{"path":"/a","url":"/b"}]}',
    pointers: ['/requests/1/url'],
  },
  {
    name: 'a problem with `url` names `url`, the member the client sent',
    json: '{"requests":[{"url":5}]}',
    pointers: ['/requests/0/url'],
  },
  {
    name: 'a method that is not an HTTP token',
    json: '{"requests":[{"method":"GET /x","path":"/a"},{"method":"","path":"/a"},{"method":42,"path":"/a"}]}',
    pointers: ['/requests/0/method', '/requests/1/method', '/requests/2/method'],
  },
  {
    name: 'no path after defaults are merged',
    json: '{"defaults":{"method":"POST"},"requests":[{"path":"/a"},{"body":{}}]}',
    pointers: ['/requests/1/path'],
  },
  {
    name: 'a path that is not a string, or is empty',
    json: '{"requests":[{"path":["/a"]},{"path":""}]}',
    pointers: ['/requests/0/path', '/requests/1/path'],
  },
  {
    name: 'a duplicate id',
    json: '{"requests":[{"id":"a","path":"/a"},{"id":"b","path":"/b"},{"id":"a","path":"/c"}]}',
    pointers: ['/requests/2/id'],
  },
  {
    name: 'an id that is not a string',
    json: '{"requests":[{"id":1,"path":"/a"}]}',
    pointers: ['/requests/0/id'],
  },
  {
    name: 'dependsOn naming a later id',
    json: '{"requests":[{"id":"a","path":"/a","dependsOn":["b"]},{"id":"b","path":"/b"}]}',
    pointers: ['/requests/0/dependsOn/0'],
  },
  {
    name: 'dependsOn naming an unknown id',
    json: '{"requests":[{"id":"a","path":"/a"},{"id":"b","path":"/b","dependsOn":["a","zz"]}]}',
    pointers: ['/requests/1/dependsOn/1'],
  },
  {
    name: 'dependsOn naming itself',
    json: '{"requests":[{"id":"a","path":"/a","dependsOn":["a"]}]}',
    pointers: ['/requests/0/dependsOn/0'],
  },
  {
    name: 'dependsOn that is not an array of strings',
    json: '{"requests":[{"id":"a","path":"/a"},{"path":"/b","dependsOn":"a"}]}',
    pointers: ['/requests/1/dependsOn'],
  },
  {
    name: 'a body that is not valid base64',
    json: '{"requests":[{"method":"PUT","path":"/a","body":"not base64!!","bodyEncoding":"base64"}]}',
    pointers: ['/requests/0/body'],
  },
  {
    name: 'a base64 body that is not a string',
    json: '{"requests":[{"method":"PUT","path":"/a","body":{"a":1},"bodyEncoding":"base64"}]}',
    pointers: ['/requests/0/body'],
  },
  {
    name: 'a body encoding other than base64',
    json: '{"requests":[{"method":"PUT","path":"/a","body":"00ff","bodyEncoding":"hex"}]}',
    pointers: ['/requests/0/bodyEncoding'],
  },
  {
    name: 'a header value that is not a string',
    json: '{"requests":[{"path":"/a","headers":{"X-N":1,"X-A":["ok",2]}}]}',
    pointers: ['/requests/0/headers/X-N', '/requests/0/headers/X-A/1'],
  },
  {
    name: 'a header value with a line break (header injection)',
    json: '{"requests":[{"path":"/a","headers":{"X-Evil":"a\\r\\nX-Injected: 1"}}]}',
    pointers: ['/requests/0/headers/X-Evil'],
  },
  {
    name: 'a header name that is not a token',
    json: '{"requests":[{"path":"/a","headers":{"Bad Name":"x"}}]}',
    pointers: ['/requests/0/headers/Bad Name'],
  },
  {
    name: 'headers that are not an object',
    json: '{"requests":[{"path":"/a","headers":["Accept: x"]}]}',
    pointers: ['/requests/0/headers'],
  },
  {
    name: 'a request that is not an object',
    json: '{"requests":[{"path":"/a"},"/b"]}',
    pointers: ['/requests/1'],
  },
  {
    name: 'defaults that are not an object',
    json: '{"defaults":[],"requests":[{"path":"/a"}]}',
    pointers: ['/defaults'],
  },
  { name: '`requests` missing', json: '{"defaults":{}}', pointers: ['/requests'] },
  { name: '`requests` not an array', json: '{"requests":{}}', pointers: ['/requests'] },
  { name: 'the document is not an object', json: '[{"path":"/a"}]', pointers: [''] },
  {
    name: 'several problems are reported at once',
    json: '{"requests":[{"pth":"/a"},{"path":"/b","method":"G E T"}],"x":1}',
    pointers: ['/x', '/requests/0/pth', '/requests/0/path', '/requests/1/method'],
  },
];

describe('SPEC §3 request — rejections (400 naming the member)', () => {
  it.each(JSON_REJECTED)('$name', async ({ json, pointers: expected }) => {
    const error = await rejectionOf(decodeJson(json));
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_batch');
    expect(pointers(error).sort()).toStrictEqual([...expected].sort());
    for (const detail of error.errors)
      expect(detail).toStrictEqual(expect.objectContaining({ detail: expect.any(String) }));
  });

  it.each([
    { name: 'JSON that does not parse', body: utf8('{"requests":[') },
    { name: 'not UTF-8', body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) },
    { name: 'an empty body', body: new Uint8Array(0) },
  ])('$name → 400', async ({ body }) => {
    const error = await rejectionOf(decode(JSON_TYPE, body));
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_batch');
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §3 response
// ---------------------------------------------------------------------------------------

async function jsonResponse(responses: SubResponse[]): Promise<string> {
  const encoded = encodeBatchResponse('json', responses);
  expect(encoded.contentType).toBe('application/json');
  return text(encoded.body);
}

describe('SPEC §3 response', () => {
  it('no responses → {"responses":[],"failed":[]}, byte for byte', async () => {
    expect(await jsonResponse([])).toBe('{"responses":[],"failed":[]}');
  });

  it('"failed" after "responses": the positions of the answers ≥ 400, ascending (a 424 too)', async () => {
    const wire = await jsonResponse([
      response({ status: 200 }),
      response({ status: 404 }),
      response({ status: 399 }),
      response({ status: 400 }),
      response({ status: 424 }),
      response({ status: 204 }),
      response({ status: 500 }),
    ]);
    expect(wire).toBe(
      '{"responses":[{"status":200,"headers":{},"body":""},{"status":404,"headers":{},"body":""},' +
        '{"status":399,"headers":{},"body":""},{"status":400,"headers":{},"body":""},' +
        '{"status":424,"headers":{},"body":""},{"status":204,"headers":{}},' +
        '{"status":500,"headers":{},"body":""}],"failed":[1,3,4,6]}',
    );
  });

  it('JSON Lines carry no "failed"', async () => {
    const encoded = encodeBatchResponse('json', [response({ status: 404, index: 0 })], {
      jsonLines: true,
    });
    expect(await text(encoded.body)).toBe('{"index":0,"status":404,"headers":{},"body":""}\n');
  });

  it('order, id, path, canonical header names, repeated headers and every body kind', async () => {
    const wire = await jsonResponse([
      response({
        status: 201,
        id: 'first',
        path: '/articles',
        headers: [
          ['content-type', 'application/json'],
          ['etag', '"v1"'],
          ['set-cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
          ['x-request-id', 'r1'],
          ['cache-control', 'no-store'],
        ],
        body: utf8('{ "id": 411, "title": "MoFo" }'),
      }),
      response({
        status: 200,
        path: '/readme',
        headers: [['Content-Type', 'text/plain; charset=utf-8']],
        body: utf8('héllo\n'),
      }),
      response({
        status: 200,
        id: 'logo',
        headers: [['Content-Type', 'image/png']],
        body: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      }),
      response({ status: 204 }),
      response({ status: 304, headers: [['ETag', '"v1"']], body: new Uint8Array(0) }),
      // A HEAD answer: headers of a JSON body, no body.
      response({
        status: 200,
        requestMethod: 'HEAD',
        headers: [
          ['Content-Type', 'application/json'],
          ['Content-Length', '42'],
        ],
      }),
      // An empty 200 that is not a HEAD answer: an empty body.
      response({ status: 200, headers: [] }),
      response({
        status: 200,
        headers: [['Content-Type', 'application/json']],
        body: (async function* () {
          yield utf8('[1,');
          yield utf8('2]');
        })(),
      }),
    ]);
    expect(JSON.parse(wire)).toStrictEqual({
      responses: [
        {
          status: 201,
          id: 'first',
          path: '/articles',
          headers: {
            'Content-Type': 'application/json',
            ETag: '"v1"',
            'Set-Cookie': ['a=1', 'b=2'],
            'X-Request-ID': 'r1',
            'Cache-Control': 'no-store',
          },
          body: { id: 411, title: 'MoFo' },
        },
        {
          status: 200,
          path: '/readme',
          headers: { 'Content-Type': 'text/plain; charset=utf-8' },
          body: 'héllo\n',
        },
        {
          status: 200,
          id: 'logo',
          headers: { 'Content-Type': 'image/png' },
          body: 'iVBORw0KGgo=',
          bodyEncoding: 'base64',
        },
        // SPEC §3: no body member at all for 204, 304 and HEAD.
        { status: 204, headers: {} },
        { status: 304, headers: { ETag: '"v1"' } },
        { status: 200, headers: { 'Content-Type': 'application/json', 'Content-Length': '42' } },
        { status: 200, headers: {}, body: '' },
        { status: 200, headers: { 'Content-Type': 'application/json' }, body: [1, 2] },
      ],
      failed: [],
    });
    // A JSON body is spliced in as the value it is, not re-serialised nor quoted.
    expect(wire).toContain('"body":{ "id": 411, "title": "MoFo" }');
  });

  it('drops hop-by-hop headers and header values that could inject lines', async () => {
    const wire = await jsonResponse([
      response({
        status: 200,
        headers: [
          ['Transfer-Encoding', 'chunked'],
          ['Connection', 'close'],
          ['X-Evil', 'a\r\nb'],
          ['X-Ok', 'fine'],
        ],
      }),
    ]);
    expect(JSON.parse(wire)).toStrictEqual({
      responses: [{ status: 200, headers: { 'X-Ok': 'fine' }, body: '' }],
      failed: [],
    });
  });
});

// ---------------------------------------------------------------------------------------
// SPEC §5: problem details
// ---------------------------------------------------------------------------------------

describe('BatchError.toProblem() — RFC 9457, never a stack trace', () => {
  it('a JSON error: type, title, status, detail and errors with pointers', async () => {
    const error = await rejectionOf(decodeJson('{"requests":[{"path":"/a"},{"methd":"GET"}]}'));
    const problem = error.toProblem();
    expect(Object.keys(problem).sort()).toStrictEqual([
      'detail',
      'errors',
      'status',
      'title',
      'type',
    ]);
    expect(problem).toStrictEqual({
      type: expect.stringMatching(/\S/),
      title: expect.stringMatching(/\S/),
      status: 400,
      detail: expect.stringContaining('/requests/1/'),
      errors: [
        { pointer: '/requests/1/methd', detail: expect.any(String) },
        { pointer: '/requests/1/path', detail: expect.any(String) },
      ],
    });
    const serialised = JSON.stringify(problem);
    expect(serialised).not.toMatch(/stack|\bat .*:\d+:\d+|\.ts:\d+/);
    expect(JSON.parse(serialised)).toStrictEqual(problem);
  });

  it('a multipart error: errors with the 1-based part', async () => {
    const error = await rejectionOf(
      decode(
        MULTIPART,
        utf8(
          `${OK_PART}--${B}\r\nContent-Type: application/http\r\n\r\nCONNECT a:1 HTTP/1.1\r\n\r\n${CLOSE}`,
        ),
      ),
    );
    const problem = error.toProblem();
    expect(problem.status).toBe(400);
    expect(problem.errors).toStrictEqual([{ part: 2, detail: expect.any(String) }]);
    expect(problem.detail).toContain('part 2');
    expect(JSON.stringify(problem)).not.toMatch(/stack|\.ts:\d+/);
  });

  it.each([
    { name: '413', promise: () => decodeJson('{"requests":[]}', { maxBodyBytes: 4 }), status: 413 },
    { name: '415', promise: () => decode('text/plain', utf8('x')), status: 415 },
    {
      name: '431',
      promise: () => decode(MULTIPART, utf8(OK_PART + CLOSE), { maxPartHeaderBytes: 8 }),
      status: 431,
    },
  ])('$name: status in the problem matches the error', async ({ promise, status }) => {
    const error = await rejectionOf(promise());
    const problem = error.toProblem();
    expect(problem.status).toBe(status);
    expect(error.status).toBe(status);
    expect(Object.keys(problem).sort()).toStrictEqual([
      'detail',
      'errors',
      'status',
      'title',
      'type',
    ]);
    expect(JSON.stringify(problem)).not.toMatch(/stack|\.ts:\d+/);
  });
});

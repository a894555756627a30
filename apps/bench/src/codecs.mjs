// Codec bench: how fast @batch/core decodes and encodes batch bodies, against other
// multipart parsers (multipasta, dicer) and against naive floors measured in the same run.
//
//   node --expose-gc src/codecs.mjs      (or `pnpm bench` from the repository root)
//
// Every contender's output is checked once before it is timed (same part count, same body
// bytes), so a fast but wrong contender fails the bench instead of winning it. Goal misses
// are reported, never fatal: the process exits 0 unless something crashed.

import { Buffer } from 'node:buffer';
import os from 'node:os';
import { decodeBatchRequest, encodeBatchResponse, MultipartScanner } from '@batch/core';
import Dicer from 'dicer';
import * as Multipasta from 'multipasta';
import {
  check,
  chunksOf,
  formatBytes,
  formatMBps,
  formatMs,
  formatRate,
  formatRatio,
  gcExposed,
  measure,
  measureInterleaved,
  printTable,
  seededRandom,
  streamOf,
} from './measure.mjs';

const BOUNDARY = 'batch_bench_boundary_123';
const MULTIPART_TYPE = `multipart/mixed; boundary=${BOUNDARY}`;
/**
 * Request bodies reach the decoders in chunks of this size, each chunk its own memory, as
 * from a socket, and as an async iterable, as a request stream gives them.
 */
const CHUNK_BYTES = 64 * 1024;
/** Limits high enough that no workload hits them: the bench measures decoding, not limits. */
const LIMITS = { maxRequests: 100_000, maxBodyBytes: 2 ** 30 };

/**
 * @typedef {object} Workload
 * @property {string} name
 * @property {number} parts Sub-requests in the batch.
 * @property {number} bodyBytes Size of each sub-request's JSON body.
 * @property {number} warmup Untimed runs per contender.
 * @property {number} runs Timed runs per contender.
 * @property {number} goal Most the core decoder's time may be, as a multiple of the floor's.
 * @property {boolean} encode Whether to bench the encoders too, with these bodies as responses.
 */

/** @type {Workload[]} */
const WORKLOADS = [
  {
    name: '1000×1KB',
    parts: 1000,
    bodyBytes: 1024,
    warmup: 10,
    runs: 60,
    goal: 1.5,
    encode: true,
  },
  {
    name: '100×100KB',
    parts: 100,
    bodyBytes: 100 * 1024,
    warmup: 5,
    runs: 60,
    goal: 1.3,
    encode: false,
  },
];

// ---------------------------------------------------------------------------------------
// Inputs: realistic JSON bodies, and the multipart and JSON batches that carry them.

// biome-ignore format: a word list reads better packed
const WORDS = [
  'batch', 'request', 'article', 'reader', 'latency', 'throughput', 'cache', 'server',
  'gateway', 'payload', 'the', 'of', 'and', 'with', 'for', 'quick', 'brown', 'fox', 'jumps',
  'over', 'lazy', 'dog', 'café', 'naïve', 'Zürich', 'façade', 'smörgåsbord', '東京', 'ünïcode',
  'said "hello"', 'path/to/thing', 'tab\tseparated', 'emoji 🚀',
];
const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov'];
const TAGS = ['http', 'batching', 'performance', 'multipart', 'json', 'node', 'web'];
const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';

/**
 * @param {() => number} rand
 * @param {readonly string[]} list
 */
function pick(rand, list) {
  return list[Math.floor(rand() * list.length)];
}

/**
 * @param {() => number} rand
 * @param {number} count
 */
function sentence(rand, count) {
  return Array.from({ length: count }, () => pick(rand, WORDS)).join(' ');
}

/**
 * An article with comments, as JSON of exactly `targetBytes` bytes (UTF-8). One comment in
 * four is pretty-printed, so line feeds occur inside bodies as they do in real traffic; the
 * rest is compact. The last member pads the text to the exact size.
 *
 * @param {() => number} rand
 * @param {number} n The article number.
 * @param {number} targetBytes
 * @returns {Buffer}
 */
function articleBody(rand, n, targetBytes) {
  const article = {
    id: n,
    title: sentence(rand, 6),
    author: { name: pick(rand, NAMES), email: `author${n}@example.com` },
    tags: [pick(rand, TAGS), pick(rand, TAGS)],
    published: new Date(1.7e12 + Math.floor(rand() * 3e10)).toISOString(),
    rating: Math.round(rand() * 500) / 100,
    draft: rand() < 0.1,
  };
  const fragments = [`{"article":${JSON.stringify(article)},"comments":[`];
  let bytes = Buffer.byteLength(fragments[0]);
  const tail = '],"summary":""}';
  const reserve = tail.length + 8; // room for the tail and a few bytes of padding
  for (let i = 0; ; i++) {
    const comment = {
      id: n * 100_000 + i,
      author: { name: pick(rand, NAMES), karma: Math.floor(rand() * 10_000) },
      text: sentence(rand, 8 + Math.floor(rand() * 16)),
      likes: Math.floor(rand() * 500),
      score: Math.round(rand() * 10_000) / 100,
      flagged: rand() < 0.05,
    };
    const json = i % 4 === 3 ? JSON.stringify(comment, null, 2) : JSON.stringify(comment);
    const fragment = i === 0 ? json : `,${i % 4 === 0 ? '\n' : ''}${json}`;
    const size = Buffer.byteLength(fragment);
    if (bytes + size + reserve > targetBytes) break;
    fragments.push(fragment);
    bytes += size;
  }
  // ASCII padding, so characters are bytes.
  const padding = targetBytes - bytes - tail.length;
  const summary = FILLER.repeat(Math.ceil(padding / FILLER.length) + 1).slice(0, padding);
  fragments.push(`],"summary":"${summary}"}`);
  const body = Buffer.from(fragments.join(''));
  check(body.length === targetBytes, `body ${n} is ${body.length} bytes, not ${targetBytes}`);
  return body;
}

/**
 * A Google-style `multipart/mixed` batch: one `application/http` part per body, each a
 * `POST /articles/N` with a JSON body. CRLF line breaks throughout.
 * @param {readonly Buffer[]} bodies
 */
function multipartBatch(bodies) {
  /** @type {Buffer[]} */
  const pieces = [];
  bodies.forEach((body, i) => {
    const n = i + 1;
    const head =
      `--${BOUNDARY}\r\n` +
      'Content-Type: application/http\r\n' +
      `Content-ID: <item-${n}>\r\n` +
      '\r\n' +
      `POST /articles/${n} HTTP/1.1\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${body.length}\r\n` +
      '\r\n';
    // The CRLF after the body belongs to the next delimiter (RFC 2046).
    pieces.push(Buffer.from(head, 'latin1'), body, Buffer.from('\r\n'));
  });
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}

/**
 * The same sub-requests as a JSON batch; each body is spliced in as the JSON text it is.
 * @param {readonly Buffer[]} bodies
 */
function jsonBatch(bodies) {
  /** @type {Buffer[]} */
  const pieces = [Buffer.from('{"requests":[')];
  bodies.forEach((body, i) => {
    const n = i + 1;
    const head = `{"method":"POST","path":"/articles/${n}","headers":{"Content-Type":"application/json"},"body":`;
    pieces.push(Buffer.from(`${i === 0 ? '' : ','}${head}`), body, Buffer.from('}'));
  });
  pieces.push(Buffer.from(']}'));
  return Buffer.concat(pieces);
}

/**
 * `buffer` in `CHUNK_BYTES` chunks, each copied into memory of its own, as a socket reads
 * them (views of one resident buffer would be a kinder input than a server ever gets).
 * @param {Buffer} buffer
 */
function socketChunks(buffer) {
  return chunksOf(buffer, CHUNK_BYTES).map((view) => Buffer.from(view));
}

/** @param {Workload} workload */
function buildInputs(workload) {
  const rand = seededRandom(workload.parts * 7919 + workload.bodyBytes);
  const bodies = Array.from({ length: workload.parts }, (_, i) =>
    articleBody(rand, i + 1, workload.bodyBytes),
  );
  const multipart = multipartBatch(bodies);
  const json = jsonBatch(bodies);
  return {
    bodies,
    multipart,
    multipartChunks: socketChunks(multipart),
    json,
    jsonChunks: socketChunks(json),
  };
}

// ---------------------------------------------------------------------------------------
// Multipart contenders. Each is given the chunks as an async iterable (`streamOf`), reads
// them with `for await`, and returns what it made of each part.

/**
 * One array for a part's chunks, copying only when there are several (as core does).
 * @param {Uint8Array[]} chunks
 */
function joinChunks(chunks) {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

const DASH_BOUNDARY = Buffer.from(`--${BOUNDARY}`);
const DELIMITER = Buffer.from(`\r\n--${BOUNDARY}`);

/**
 * The floor: read the chunks, join them, then cut at each `CRLF--boundary` with the native
 * `Buffer#indexOf`. Each part is a view (part headers, inner head and body together): no
 * header parsing, no validation, no copies besides the join.
 * @param {AsyncIterable<Buffer>} body
 * @returns {Promise<Buffer[]>}
 */
async function naiveSplit(body) {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  const buf = Buffer.concat(chunks);
  /** @type {Buffer[]} */
  const parts = [];
  let from = buf.indexOf(DASH_BOUNDARY) + DASH_BOUNDARY.length + 2; // past the first CRLF
  for (;;) {
    const at = buf.indexOf(DELIMITER, from);
    if (at === -1) throw new Error('naive split: no closing delimiter');
    parts.push(buf.subarray(from, at));
    const after = at + DELIMITER.length;
    if (buf[after] === 0x2d && buf[after + 1] === 0x2d) return parts; // `--`: the close
    from = after + 2;
  }
}

/**
 * The full core decoder: scanning plus parsing each inner HTTP request.
 * @param {AsyncIterable<Buffer>} body
 */
async function coreDecode(body) {
  const batch = await decodeBatchRequest({ contentType: MULTIPART_TYPE, body }, LIMITS);
  return batch.items;
}

/**
 * The bare core scanner: finds the parts and their head ends, parses nothing.
 * @param {AsyncIterable<Buffer>} body
 */
async function coreScan(body) {
  const scanner = new MultipartScanner({
    boundary: BOUNDARY,
    maxParts: LIMITS.maxRequests,
    maxHeadBytes: 16 * 1024,
    maxBodyBytes: LIMITS.maxBodyBytes,
  });
  /** @type {import('@batch/core').MultipartPart[]} */
  const parts = [];
  for await (const chunk of body) for (const part of scanner.push(chunk)) parts.push(part);
  scanner.end();
  return parts;
}

/**
 * multipasta: a push parser that parses each part's headers and streams its content.
 * Every part is treated as a "file" so its content arrives as chunks, collected per part.
 * @param {AsyncIterable<Buffer>} body
 * @returns {Promise<Uint8Array[]>}
 */
async function multipastaParse(body) {
  /** @type {Uint8Array[]} */
  const parts = [];
  /** @type {Multipasta.MultipartError | undefined} */
  let failure;
  let done = false;
  const parser = Multipasta.make({
    headers: { 'content-type': MULTIPART_TYPE },
    isFile: () => true,
    onField: () => {
      throw new Error('multipasta: unexpected field');
    },
    onFile: () => {
      /** @type {Uint8Array[]} */
      const pieces = [];
      return (chunk) => {
        if (chunk === null) parts.push(joinChunks(pieces));
        else pieces.push(chunk);
      };
    },
    onError: (error) => {
      failure ??= error;
    },
    onDone: () => {
      done = true;
    },
  });
  for await (const chunk of body) parser.write(chunk);
  parser.end();
  if (failure !== undefined) throw new Error(`multipasta: ${JSON.stringify(failure)}`);
  if (!done) throw new Error('multipasta: no closing delimiter');
  return parts;
}

/**
 * dicer: a Writable stream emitting a Readable per part (headers parsed, content streamed).
 * Resolves once the stream finished and every part ended.
 * @param {AsyncIterable<Buffer>} body
 * @returns {Promise<Buffer[]>}
 */
function dicerParse(body) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const parts = [];
    let open = 0;
    let finished = false;
    const settle = () => {
      if (finished && open === 0) resolve(parts);
    };
    const dicer = new Dicer({ boundary: BOUNDARY });
    dicer.on('part', (part) => {
      open++;
      /** @type {Buffer[]} */
      const pieces = [];
      part.on('data', (chunk) => pieces.push(/** @type {Buffer} */ (chunk)));
      part.on('error', reject);
      part.on('end', () => {
        parts.push(/** @type {Buffer} */ (joinChunks(pieces)));
        open--;
        settle();
      });
    });
    dicer.on('error', reject);
    dicer.on('finish', () => {
      finished = true;
      settle();
    });
    (async () => {
      for await (const chunk of body) dicer.write(chunk);
      dicer.end();
    })().catch(reject);
  });
}

/**
 * @typedef {object} Contender
 * @property {string} name
 * @property {(body: AsyncIterable<Buffer>) => unknown} run
 * @property {(output: any, bodies: readonly Buffer[]) => void} verify Throws unless `output` holds every part and body.
 */

/**
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function sameBytes(a, b) {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * For contenders that return each part's content whole or with its head: the part count,
 * and that each part ends with its body.
 * @param {string} name
 * @param {readonly Uint8Array[]} parts
 * @param {readonly Buffer[]} bodies
 */
function verifyPartContents(name, parts, bodies) {
  check(parts.length === bodies.length, `${name} found ${parts.length} of ${bodies.length} parts`);
  parts.forEach((part, i) => {
    const body = bodies[i];
    check(
      part.length > body.length && sameBytes(part.subarray(part.length - body.length), body),
      `${name}: part ${i + 1} does not end with its body`,
    );
  });
}

const FLOOR = 'floor (concat + indexOf)';
const CORE = 'core decodeBatchRequest';
const MULTIPASTA = 'multipasta 0.2.8';

/** @type {Contender[]} */
const MULTIPART_CONTENDERS = [
  {
    name: FLOOR,
    run: naiveSplit,
    verify: (parts, bodies) => verifyPartContents('floor', parts, bodies),
  },
  {
    name: CORE,
    run: coreDecode,
    verify: (/** @type {import('@batch/core').SubRequest[]} */ items, bodies) => {
      check(items.length === bodies.length, `core found ${items.length} of ${bodies.length} items`);
      items.forEach((item, i) => {
        const n = i + 1;
        check(item.method === 'POST', `core: item ${n} method ${item.method}`);
        check(item.target === `/articles/${n}`, `core: item ${n} target ${item.target}`);
        check(item.contentId === `<item-${n}>`, `core: item ${n} Content-ID ${item.contentId}`);
        check(sameBytes(item.body, bodies[i]), `core: item ${n} body differs`);
      });
    },
  },
  {
    name: 'core MultipartScanner',
    run: coreScan,
    verify: (/** @type {import('@batch/core').MultipartPart[]} */ parts, bodies) => {
      check(parts.length === bodies.length, `scanner found ${parts.length} of ${bodies.length}`);
      parts.forEach((part, i) => {
        const body = part.bytes.subarray(part.bytes.length - bodies[i].length);
        check(sameBytes(body, bodies[i]), `scanner: part ${i + 1} does not end with its body`);
      });
    },
  },
  {
    name: MULTIPASTA,
    run: multipastaParse,
    verify: (parts, bodies) => verifyPartContents('multipasta', parts, bodies),
  },
  {
    name: 'dicer 0.3.1',
    run: dicerParse,
    verify: (parts, bodies) => verifyPartContents('dicer', parts, bodies),
  },
];

// ---------------------------------------------------------------------------------------
// Benches

const DECODE_COLUMNS = [
  { header: 'contender', align: /** @type {const} */ ('left') },
  { header: 'median ms' },
  { header: 'min ms' },
  { header: 'MB/s' },
  { header: 'parts/s' },
  { header: '× floor' },
];

/**
 * Core's decoder against one other contender alone, A B B A A B …: each run follows a run
 * of the other as often as one of its own, so neither inherits the other's garbage more.
 * Returns the median of the per-round ratios and the ratio of the fastest runs.
 * @param {Workload} workload
 * @param {readonly Buffer[]} chunks
 * @param {string} other
 */
async function versusCore(workload, chunks, other) {
  const pair = MULTIPART_CONTENDERS.filter(({ name }) => name === CORE || name === other).map(
    ({ name, run }) => ({ name, run: () => run(streamOf(chunks)) }),
  );
  const { results, ratio } = await measureInterleaved(pair, {
    warmup: workload.warmup,
    runs: workload.runs,
    order: 'rotate',
  });
  const min = (/** @type {string} */ name) =>
    /** @type {import('./measure.mjs').Measurement} */ (results.get(name)).min;
  return { median: ratio(CORE, other), fastest: min(CORE) / min(other) };
}

/**
 * Times every multipart contender on one workload, interleaved (see `measureInterleaved`),
 * and prints the table; then times core against multipasta and against the floor, two by
 * two, for the goals.
 * @param {Workload} workload
 * @param {ReturnType<typeof buildInputs>} inputs
 */
async function benchMultipart(workload, inputs) {
  const { bodies, multipart, multipartChunks } = inputs;
  for (const contender of MULTIPART_CONTENDERS) {
    contender.verify(await contender.run(streamOf(multipartChunks)), bodies);
  }
  const { results, ratio } = await measureInterleaved(
    MULTIPART_CONTENDERS.map(({ name, run }) => ({
      name,
      run: () => run(streamOf(multipartChunks)),
    })),
    workload,
  );
  /** @type {string[][]} */
  const rows = MULTIPART_CONTENDERS.map(({ name }) => {
    const result = /** @type {import('./measure.mjs').Measurement} */ (results.get(name));
    return [
      name,
      formatMs(result.median),
      formatMs(result.min),
      formatMBps(multipart.length, result.median),
      formatRate(workload.parts, result.median),
      `${ratio(name, FLOOR).toFixed(2)}×`,
      `${ratio(name, MULTIPASTA).toFixed(2)}×`,
    ];
  });
  printTable(
    `multipart decode, ${workload.name}: ${formatBytes(multipart.length)} in ${multipartChunks.length} chunks, ${workload.runs} interleaved rounds`,
    [...DECODE_COLUMNS, { header: '× multipasta' }],
    rows,
  );
  return {
    multipasta: await versusCore(workload, multipartChunks, MULTIPASTA),
    floor: await versusCore(workload, multipartChunks, FLOOR),
  };
}

/**
 * Core's JSON-format decoder against a bare `JSON.parse` of the joined chunks.
 * @param {Workload} workload
 * @param {ReturnType<typeof buildInputs>} inputs
 */
async function benchJson(workload, inputs) {
  const { bodies, json, jsonChunks } = inputs;
  const contenders = [
    {
      name: 'baseline JSON.parse(concat)',
      run: async () => {
        /** @type {Buffer[]} */
        const chunks = [];
        for await (const chunk of streamOf(jsonChunks)) chunks.push(chunk);
        return JSON.parse(Buffer.concat(chunks).toString());
      },
      verify: (/** @type {any} */ document) =>
        check(document.requests.length === bodies.length, 'JSON.parse: wrong item count'),
    },
    {
      name: 'core decodeBatchRequest (json)',
      run: async () =>
        (
          await decodeBatchRequest(
            { contentType: 'application/json', body: streamOf(jsonChunks) },
            LIMITS,
          )
        ).items,
      verify: (/** @type {import('@batch/core').SubRequest[]} */ items) => {
        check(items.length === bodies.length, `core json found ${items.length} items`);
        items.forEach((item, i) => {
          // The decoder re-serialises JSON bodies: compare values, not bytes.
          const expected = Buffer.from(JSON.stringify(JSON.parse(bodies[i].toString())));
          check(item.target === `/articles/${i + 1}`, `core json: item ${i + 1} target`);
          check(sameBytes(item.body, expected), `core json: item ${i + 1} body differs`);
        });
      },
    },
  ];
  for (const contender of contenders) contender.verify(await contender.run());
  const { results, ratio } = await measureInterleaved(contenders, workload);
  /** @type {string[][]} */
  const rows = contenders.map(({ name }) => {
    const result = /** @type {import('./measure.mjs').Measurement} */ (results.get(name));
    return [
      name,
      formatMs(result.median),
      formatMs(result.min),
      formatMBps(json.length, result.median),
      formatRate(workload.parts, result.median),
      `${ratio(name, contenders[0].name).toFixed(2)}×`,
    ];
  });
  printTable(
    `JSON decode, ${workload.name}: ${formatBytes(json.length)} in ${jsonChunks.length} chunks, ${workload.runs} interleaved rounds`,
    [...DECODE_COLUMNS.slice(0, 4), { header: 'items/s' }, { header: '× JSON.parse' }],
    rows,
  );
}

/**
 * Collects an async iterable of byte chunks into one Buffer.
 * @param {AsyncIterable<Uint8Array>} body
 */
async function collectBody(body) {
  /** @type {Uint8Array[]} */
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Consumes an async iterable of byte chunks, as a server writing them out would.
 * @param {AsyncIterable<Uint8Array>} body
 */
async function drainBody(body) {
  let bytes = 0;
  for await (const chunk of body) bytes += chunk.length;
  return bytes;
}

/**
 * Hand-written multipart response, byte for byte what core writes for these responses.
 * @param {readonly import('@batch/core').SubResponse[]} responses
 */
function naiveMultipartResponse(responses) {
  /** @type {Uint8Array[]} */
  const pieces = [];
  responses.forEach((response, i) => {
    const body = /** @type {Uint8Array} */ (response.body);
    let head = `${i === 0 ? '' : '\r\n'}--${BOUNDARY}\r\nContent-Type: application/http\r\n`;
    head += `Content-ID: <response-${response.contentId?.slice(1, -1)}>\r\n\r\n`;
    head += 'HTTP/1.1 200 OK\r\n';
    // Core writes header names in canonical case (content-type → Content-Type).
    for (const [name, value] of response.headers)
      head += `${name.replace(/(^|-)([a-z])/g, (_, dash, letter) => dash + letter.toUpperCase())}: ${value}\r\n`;
    head += `Content-Length: ${body.length}\r\n\r\n`;
    pieces.push(Buffer.from(head, 'latin1'), body);
  });
  pieces.push(Buffer.from(`\r\n--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}

/**
 * Hand-written JSON response, byte for byte what core writes for these responses.
 * @param {readonly import('@batch/core').SubResponse[]} responses
 */
function naiveJsonResponse(responses) {
  /** @type {Uint8Array[]} */
  const pieces = [Buffer.from('{"responses":[')];
  responses.forEach((response, i) => {
    const head = `${i === 0 ? '' : ','}{"status":200,"id":"${response.id}","headers":{"Content-Type":"application/json"},"body":`;
    pieces.push(Buffer.from(head), /** @type {Uint8Array} */ (response.body), Buffer.from('}'));
  });
  pieces.push(Buffer.from('],"failed":[]}'));
  return Buffer.concat(pieces);
}

/**
 * Core's encoders against a naive `Buffer.concat` of hand-written parts.
 * @param {Workload} workload
 * @param {readonly Buffer[]} bodies
 */
async function benchEncode(workload, bodies) {
  /** @type {import('@batch/core').HeaderList} */
  const headers = [['content-type', 'application/json']];
  /** @type {import('@batch/core').SubResponse[]} */
  const multipartResponses = bodies.map((body, i) => ({
    status: 200,
    headers,
    body,
    contentId: `<item-${i + 1}>`,
  }));
  /** @type {import('@batch/core').SubResponse[]} */
  const jsonResponses = bodies.map((body, i) => ({
    status: 200,
    headers,
    body,
    id: String(i + 1),
  }));
  const encode = (/** @type {'multipart' | 'json'} */ format) =>
    encodeBatchResponse(format, format === 'multipart' ? multipartResponses : jsonResponses, {
      boundary: BOUNDARY,
    }).body;

  const pairs = [
    {
      format: /** @type {const} */ ('multipart'),
      naive: () => naiveMultipartResponse(multipartResponses),
    },
    { format: /** @type {const} */ ('json'), naive: () => naiveJsonResponse(jsonResponses) },
  ];
  /** @type {string[][]} */
  const rows = [];
  /** @type {string[]} */
  const sizes = [];
  for (const { format, naive } of pairs) {
    const expected = naive();
    sizes.push(`${format} ${formatBytes(expected.length)}`);
    const encoded = await collectBody(encode(format));
    check(sameBytes(encoded, expected), `core ${format} encoder output differs from the naive one`);

    const baseline = await measure(naive, workload);
    const core = await measure(() => drainBody(encode(format)), workload);
    for (const [name, result] of [
      [`baseline ${format} Buffer.concat`, baseline],
      [`core encodeBatchResponse (${format})`, core],
    ]) {
      const { median, min } = /** @type {import('./measure.mjs').Measurement} */ (result);
      rows.push([
        /** @type {string} */ (name),
        formatMs(median),
        formatMs(min),
        formatMBps(expected.length, median),
        formatRate(bodies.length, median),
        formatRatio(median, baseline.median),
      ]);
    }
  }
  printTable(
    `encode, ${workload.name} responses (${sizes.join(', ')}), median of ${workload.runs} runs`,
    [...DECODE_COLUMNS.slice(0, 4), { header: 'responses/s' }, { header: '× baseline' }],
    rows,
  );
}

// ---------------------------------------------------------------------------------------

console.log('@batch/core codec bench');
console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()}, ` +
    `${gcExposed ? 'gc before each table' : 'no --expose-gc: gc not forced between tables'}`,
);
console.log(
  `every decoder reads the same ${CHUNK_BYTES / 1024} KiB chunks (each its own memory) as an async iterable; ` +
    'decoders are timed interleaved, one run of each per round; MB/s counts the whole batch ' +
    'body (1 MB = 10^6 bytes); × is the median of the per-round ratios to that column’s row',
);

/** @type {{ workload: Workload, ratio: Awaited<ReturnType<typeof benchMultipart>> }[]} */
const goals = [];
for (const workload of WORKLOADS) {
  const inputs = buildInputs(workload);
  goals.push({ workload, ratio: await benchMultipart(workload, inputs) });
  await benchJson(workload, inputs);
  if (workload.encode) await benchEncode(workload, inputs.bodies);
}

// The verdicts are on the median of the per-round ratios; fastest run over fastest run is
// shown as a second opinion (see the README).
/**
 * @param {string} label
 * @param {{ median: number, fastest: number }} ratio
 * @param {number} goal
 */
function verdict(label, ratio, goal) {
  console.log(
    `  ${ratio.median <= goal ? 'PASS' : 'MISS'}  ${label}: ${ratio.median.toFixed(2)}× ` +
      `(goal ≤ ${goal}×; fastest run over fastest run: ${ratio.fastest.toFixed(2)}×)`,
  );
}
console.log('\ngoal: core decode ≤ 1.0× multipasta on both workloads');
for (const { workload, ratio } of goals) verdict(workload.name, ratio.multipasta, 1);
const goalText = goals
  .map(({ workload }, i) => `${workload.goal}×${i === 0 ? ' floor' : ''} on ${workload.name}`)
  .join(', ≤ ');
console.log(`goal: core decode ≤ ${goalText}`);
for (const { workload, ratio } of goals) verdict(workload.name, ratio.floor, workload.goal);

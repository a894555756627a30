// @odata/client 2.21.10 (unmodified) against the four example apps: its multipart `$batch`
// (every write in a change set of its own) and its OData 4.01 JSON `$batch` (ids,
// `atomicityGroup`, `dependsOn`, `$<id>` references), each answer read by the client's own
// parser; and a change set of several requests with Content-IDs and a `$1` reference (which
// the client cannot write) answered by the server and read by the client's exported parser.
//
// How the apps are reached (createApp's existing options, nothing changed in the apps):
// - `batchPath: '/$batch'`: the client posts to `serviceEndpoint + '$batch'`; a route ending
//   in `$batch` is an OData batch (SPEC §2: Content-IDs echoed unchanged), whose base is `/`,
//   so the client's relative targets (`articles`) resolve to `/articles` (SPEC §4);
// - the bearer token as a common header (`commonHeaders`): the client copies it onto the
//   batch request and onto every request inside it;
// - `collection: 'articles/1'` rather than `id: 1`: the client formats keys the OData way,
//   `articles(1)`, a route the reading list does not have.

import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import type { Article } from '@batch/reading-list';
import { defaultProxy, type FetchProxy, OData, parseMultiPartContent } from '@odata/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { APPS, article, articles, headerOf, type Served, scratch } from './apps.js';

/** One batch as it went over the wire. */
interface Exchange {
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  status: number;
  contentType: string | null;
  /** The answer's text (multipart), or its parsed JSON. */
  content: unknown;
}

/** An OData V4 client of the app at `api`, as `owner`, that records every exchange. */
function odataClient(api: Served, owner = 'alice') {
  const wire: Exchange[] = [];
  const fetchProxy: FetchProxy = async (url, init) => {
    const answer = await defaultProxy(url, init);
    wire.push({
      url,
      requestHeaders: { ...(init.headers as Record<string, string>) },
      requestBody: String(init.body),
      status: answer.response.status,
      contentType: answer.response.headers.get('content-type'),
      content: answer.content,
    });
    return answer;
  };
  const client = OData.New4({
    serviceEndpoint: `${api.url}/`,
    commonHeaders: { Authorization: `Bearer ${owner}` },
    fetchProxy,
  });
  return { client, wire };
}

/** How many times `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe.each(APPS)('@odata/client 2.21.10 against the $name app', (app) => {
  const apps = scratch('interop-odata');
  afterEach(apps.stopAll);
  afterAll(apps.remove);
  const start = () => apps.start(app, { batchPath: '/$batch', database: apps.freshFile() });

  it('multipart $batch: each write in a change set of its own, a failed one answered by one application/http part, all read by the client', async () => {
    const api = await start();
    const { client, wire } = odataClient(api);
    const results = await client.execBatchRequests([
      client.newBatchRequest({ collection: 'articles', method: 'POST', entity: article('One') }),
      client.newBatchRequest({
        collection: 'articles/1',
        method: 'PATCH',
        entity: { read_position: 3 },
      }),
      client.newBatchRequest({
        collection: 'articles/99',
        method: 'PATCH',
        entity: { read_position: 3 },
      }),
      client.newBatchRequest({ collection: 'articles', method: 'POST', entity: article('Two') }),
      client.newBatchRequest({ collection: 'articles/2', method: 'DELETE' }),
      client.newBatchRequest({ collection: 'articles' }),
    ]);

    // What the client wrote: five change sets of one request each, then the GET; relative
    // targets; no Content-ID anywhere.
    expect(wire).toHaveLength(1);
    const [exchange] = wire as [Exchange];
    expect(exchange.url).toBe(`${api.url}/$batch`);
    expect(exchange.requestHeaders['Content-Type']).toMatch(/^multipart\/mixed; boundary=/);
    expect(count(exchange.requestBody, 'Content-Type: multipart/mixed; boundary=')).toBe(5);
    expect(exchange.requestBody).toContain('\r\nPOST articles HTTP/1.1\r\n');
    expect(exchange.requestBody).toContain('\r\nGET articles HTTP/1.1\r\n');
    expect(exchange.requestBody).not.toMatch(/Content-ID/i);

    // What the server answered: four change sets of one answer each, the failed one as one
    // plain application/http part (SPEC §2), the boundaries unquoted tokens.
    expect(exchange.status).toBe(200);
    expect(exchange.contentType).toMatch(/^multipart\/mixed; boundary=batch_[0-9A-Za-z]+$/);
    const text = exchange.content as string;
    expect(count(text, 'Content-Type: multipart/mixed; boundary=changeset_')).toBe(4);
    expect(text).not.toMatch(/Content-ID/i);

    // The client's parser: one answer per request, in order, statuses and reason phrases.
    expect(results.map((result) => [result.status, result.statusText])).toEqual([
      [201, 'Created'],
      [200, 'OK'],
      [404, 'Not Found'],
      [201, 'Created'],
      [200, 'OK'],
      [200, 'OK'],
    ]);
    expect(headerOf(results[0]!.headers, 'Location')).toBe('/articles/1');
    expect(await results[0]!.json()).toMatchObject({ id: 1, ...article('One') });
    expect(await results[1]!.json()).toMatchObject({ id: 1, read_position: 3 });
    expect(await results[2]!.json()).toMatchObject({
      status: 404,
      detail: 'article 99 not found',
    });
    expect(await results[4]!.json()).toMatchObject({ id: 2, title: 'Two' });
    const listed = (await results[5]!.json()) as unknown as { data: Article[] };
    expect(listed.data).toMatchObject([{ id: 1, title: 'One', read_position: 3 }]);

    expect(await articles(api)).toEqual(listed.data);
  });

  it("multipart sub-response header names reach the client's case-sensitive parser in canonical case", async () => {
    // http-string-parser (the client's parser) keeps header names as written, in a plain
    // object: the multipart answer writes them in canonical case (`Location`, `ETag`,
    // `Content-Type`) on every adapter — Hono's fetch `Headers` hand them out in lower case.
    const api = await start();
    const { client } = odataClient(api);
    const [created] = await client.execBatchRequests([
      client.newBatchRequest({ collection: 'articles', method: 'POST', entity: article('One') }),
    ]);
    const names = Object.keys(created!.headers);
    expect(names).toEqual(expect.arrayContaining(['Content-Type', 'ETag', 'Location']));
  });

  it('JSON $batch (OData 4.01): an atomicity group with a $<id> reference commits, a failing one rolls back, dependsOn names the group', async () => {
    const api = await start();
    const { client, wire } = odataClient(api);
    const committed = await client.execBatchRequestsJson([
      client.newBatchRequest({
        collection: 'articles',
        method: 'POST',
        entity: article('Grouped'),
        requestId: 'new',
        atomicityGroup: 'g',
      }),
      client.newBatchRequest({
        collection: '$new',
        method: 'PATCH',
        entity: { read_position: 9 },
        atomicityGroup: 'g',
      }),
      client.newBatchRequest({ collection: 'articles', dependsOn: ['g'] }),
    ]);
    // What the client wrote: lower-case methods, `url`, ids (its position when none given).
    const sent = JSON.parse(wire[0]!.requestBody) as { requests: Record<string, unknown>[] };
    expect(
      sent.requests.map((r) => [r.id, r.method, r.url, r.atomicityGroup, r.dependsOn]),
    ).toEqual([
      ['new', 'post', 'articles', 'g', undefined],
      ['1', 'patch', '$new', 'g', undefined],
      ['2', 'get', 'articles', undefined, ['g']],
    ]);
    expect(committed.map((result) => result.status)).toEqual([201, 200, 200]);
    expect(
      committed.map(
        (result) => (result as { raw?: { atomicityGroup?: string } }).raw?.atomicityGroup,
      ),
    ).toEqual(['g', 'g', undefined]);
    expect(await committed[0]!.json()).toMatchObject({ id: 1, title: 'Grouped' });
    expect(await committed[1]!.json()).toMatchObject({ id: 1, read_position: 9 });
    expect(await committed[2]!.json()).toMatchObject({
      data: [{ id: 1, title: 'Grouped', read_position: 9 }],
    });

    const failed = await client.execBatchRequestsJson([
      client.newBatchRequest({
        collection: 'articles',
        method: 'POST',
        entity: article('RolledBack'),
        atomicityGroup: 'h',
      }),
      client.newBatchRequest({
        collection: 'articles/999',
        method: 'PATCH',
        entity: { read_position: 1 },
        atomicityGroup: 'h',
      }),
      client.newBatchRequest({ collection: 'articles', dependsOn: ['h'] }),
    ]);
    expect(failed.map((result) => result.status)).toEqual([424, 404, 424]);
    // SPEC §3: both JSON answers end with `failed`; the client reads `responses` alone.
    expect(wire.map((exchange) => (exchange.content as { failed?: number[] }).failed)).toEqual([
      [],
      [0, 1, 2],
    ]);
    expect(await failed[0]!.json()).toMatchObject({
      status: 424,
      detail: expect.stringMatching(/^rolled back/),
    });

    expect(await articles(api)).toMatchObject([{ id: 1, title: 'Grouped', read_position: 9 }]);
  });

  it('a change set of several requests with Content-IDs and a $1 reference: Content-IDs echoed unchanged on the OData route, the nested answer read by the client’s parser', async () => {
    // @odata/client writes one request per change set and no Content-ID, so this batch is
    // written by @batch/core's encoder, the way an OData client that references does.
    const api = await start();
    const { contentType, body } = encodeBatchRequest('multipart', [
      {
        method: 'POST',
        target: 'articles',
        contentId: '1',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify(article('First')),
        atomicityGroup: 'cs',
      },
      {
        method: 'PATCH',
        target: '$1',
        contentId: '2',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify({ read_position: 7 }),
        atomicityGroup: 'cs',
      },
      {
        method: 'POST',
        target: 'articles',
        contentId: '3',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify(article('Second')),
        atomicityGroup: 'cs',
      },
      { method: 'GET', target: 'articles', contentId: '4' },
    ]);
    const response = await fetch(`${api.url}/$batch`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: 'Bearer alice' },
      body,
    });
    expect(response.status).toBe(200);
    const responseType = response.headers.get('content-type')!;
    const text = await response.text();
    // One nested change-set part holding three application/http parts, then the GET's part;
    // every Content-ID as sent (not `response-1`).
    expect(count(text, 'Content-Type: multipart/mixed; boundary=changeset_')).toBe(1);
    expect(count(text, 'Content-Type: application/http\r\n')).toBe(4);
    expect([...text.matchAll(/^Content-ID: (.*)\r$/gm)].map((match) => match[1])).toEqual([
      '1',
      '2',
      '3',
      '4',
    ]);

    const boundary = responseType.split('=').pop()!;
    const results = await parseMultiPartContent(text, boundary);
    expect(results.map((result) => result.status)).toEqual([201, 200, 201, 200]);
    expect(await results[1]!.json()).toMatchObject({ id: 1, read_position: 7 });
    expect(await results[3]!.json()).toMatchObject({
      data: [
        { id: 1, title: 'First', read_position: 7 },
        { id: 2, title: 'Second' },
      ],
    });
    // @batch/core's decoder reads the same bytes the same way.
    const decoded = await decodeBatchResponse({
      contentType: responseType,
      body: new TextEncoder().encode(text),
    });
    expect(decoded.map((part) => [part.status, part.contentId, part.atomicityGroup])).toEqual([
      [201, '1', 'changeset-1'],
      [200, '2', 'changeset-1'],
      [201, '3', 'changeset-1'],
      [200, '4', undefined],
    ]);
  });

  it('a failing change set with Content-IDs: one application/http part for the whole set, the failed request’s answer with its Content-ID; nothing written', async () => {
    const api = await start();
    const { contentType, body } = encodeBatchRequest('multipart', [
      {
        method: 'POST',
        target: 'articles',
        contentId: '1',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify(article('Lost')),
        atomicityGroup: 'cs',
      },
      {
        method: 'PATCH',
        target: 'articles/999',
        contentId: '2',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify({ read_position: 7 }),
        atomicityGroup: 'cs',
      },
      { method: 'GET', target: 'articles', contentId: '3' },
    ]);
    const response = await fetch(`${api.url}/$batch`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: 'Bearer alice' },
      body,
    });
    const text = await response.text();
    expect(text).not.toContain('multipart/mixed; boundary=changeset_');
    expect([...text.matchAll(/^Content-ID: (.*)\r$/gm)].map((match) => match[1])).toEqual([
      '2',
      '3',
    ]);
    const results = await parseMultiPartContent(
      text,
      response.headers.get('content-type')!.split('=').pop()!,
    );
    expect(results.map((result) => result.status)).toEqual([404, 200]);
    expect(await results[1]!.json()).toEqual({ data: [] });
    expect(await articles(api)).toEqual([]);
  });
});

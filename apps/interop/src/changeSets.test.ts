// Change sets written by @batch/core's own encoder (`encodeBatchRequest` with
// `atomicityGroup`, multipart) against the four example apps on their real SQLite store and
// transaction hook (the default of every app's `createApp`), each on a fresh database file:
// a failing change set leaves nothing in the database, a succeeding one with `$<id>`
// references commits all of it, and a new app on the same file (a restart) finds exactly
// what was committed.

import {
  type DecodedSubResponse,
  decodeBatchResponse,
  encodeBatchRequest,
  type SubRequestInit,
} from '@batch/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { APPS, article, articles, call, type Served, scratch } from './apps.js';

const JSON_TYPE: [string, string] = ['Content-Type', 'application/json'];

/** A JSON write inside change set `group`. */
const write = (
  method: string,
  target: string,
  body: unknown,
  id: string,
  group: string,
): SubRequestInit => ({
  method,
  target,
  id,
  headers: [JSON_TYPE],
  body: JSON.stringify(body),
  atomicityGroup: group,
});

/** Posts a multipart batch to `/batch` as alice; answers the raw text and the decoded parts. */
async function multipartBatch(api: Served, requests: SubRequestInit[]) {
  const { contentType, body } = encodeBatchRequest('multipart', requests);
  const response = await fetch(`${api.url}/batch`, {
    method: 'POST',
    headers: { 'content-type': contentType, authorization: 'Bearer alice' },
    body,
  });
  expect(response.status).toBe(200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const parts = await decodeBatchResponse({
    contentType: response.headers.get('content-type'),
    body: bytes,
  });
  return { text: new TextDecoder().decode(bytes), parts };
}

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in assertions
const json = (part: DecodedSubResponse): any => JSON.parse(new TextDecoder().decode(part.body));

/** The Content-IDs of the answer's parts, in order. */
const contentIds = (text: string) =>
  [...text.matchAll(/^Content-ID: (.*)\r$/gm)].map((match) => match[1]);

describe.each(APPS)('change sets on the $name app and its SQLite store', (app) => {
  const apps = scratch('interop-changesets');
  afterEach(apps.stopAll);
  afterAll(apps.remove);

  /** The change set that fails at its fourth request (article 999 does not exist). */
  const failing = (group: string): SubRequestInit[] => [
    write('POST', '/articles', article('Lost'), 'lost', group),
    write('PATCH', '$lost', { read_position: 5 }, 'lostPatch', group),
    write('PATCH', '/articles/1', { read_position: 99 }, 'existingPatch', group),
    write('PATCH', '/articles/999', { read_position: 1 }, 'missing', group),
    write('POST', '/articles', article('NotRun'), 'notRun', group),
  ];

  it('a failing change set leaves nothing in the database: answered by one part, the failed request’s 404', async () => {
    const api = await apps.start(app, { database: apps.freshFile() });
    expect(
      (await call(api, '/articles', { method: 'POST', body: article('Existing') })).status,
    ).toBe(201);

    const { text, parts } = await multipartBatch(api, [
      ...failing('cs'),
      { method: 'GET', target: '/articles', id: 'after' },
    ]);
    // The change set is one plain application/http part, the answer of the request that
    // failed (its Content-ID mirrored); the GET after it ran after the rollback.
    expect(text).not.toContain('multipart/mixed; boundary=changeset_');
    expect(contentIds(text)).toEqual(['<response-missing>', '<response-after>']);
    expect(parts.map((part) => [part.status, part.atomicityGroup])).toEqual([
      [404, undefined],
      [200, undefined],
    ]);
    expect(json(parts[0]!)).toMatchObject({ status: 404, detail: 'article 999 not found' });
    expect(json(parts[1]!).data).toMatchObject([{ id: 1, title: 'Existing', read_position: 0 }]);

    // Nothing of the set is left: not the created article, not the patch of article 1, not
    // even the id it took (the id counter rolled back with it).
    expect(await articles(api)).toMatchObject([{ id: 1, title: 'Existing', read_position: 0 }]);
    const next = await call(api, '/articles', { method: 'POST', body: article('Next') });
    expect(await next.json()).toMatchObject({ id: 2, title: 'Next' });
  });

  it('a succeeding change set with $<id> references commits all of it', async () => {
    const api = await apps.start(app, { database: apps.freshFile() });
    const { text, parts } = await multipartBatch(api, [
      write('POST', '/articles', article('One'), 'one', 'cs'),
      write('PATCH', '$one', { read_position: 7 }, 'onePatch', 'cs'),
      write('POST', '/articles', article('Two'), 'two', 'cs'),
      write('PUT', '$two', { ...article('Two'), read_position: 8 }, 'twoPut', 'cs'),
      { method: 'GET', target: '/articles', id: 'after' },
    ]);
    expect(contentIds(text)).toEqual([
      '<response-one>',
      '<response-onePatch>',
      '<response-two>',
      '<response-twoPut>',
      '<response-after>',
    ]);
    expect(parts.map((part) => [part.status, part.atomicityGroup])).toEqual([
      [201, 'changeset-1'],
      [200, 'changeset-1'],
      [201, 'changeset-1'],
      [200, 'changeset-1'],
      [200, undefined],
    ]);
    expect(json(parts[1]!)).toMatchObject({ id: 1, title: 'One', read_position: 7 });
    expect(json(parts[3]!)).toMatchObject({ id: 2, title: 'Two', read_position: 8 });
    const committed = [
      { id: 1, title: 'One', read_position: 7 },
      { id: 2, title: 'Two', read_position: 8 },
    ];
    expect(json(parts[4]!).data).toMatchObject(committed);
    expect(await articles(api)).toMatchObject(committed);
  });

  it('after a restart (a new app on the same file) the database holds what was committed, and only that', async () => {
    const database = apps.freshFile();
    const first = await apps.start(app, { database });
    const { parts } = await multipartBatch(first, [
      write('POST', '/articles', article('Kept'), 'kept', 'ok'),
      write('PATCH', '$kept', { read_position: 5 }, 'keptPatch', 'ok'),
      ...failing('bad'),
    ]);
    // The first set committed (two answers), the second failed (one answer: the 404).
    expect(parts.map((part) => [part.status, part.atomicityGroup])).toEqual([
      [201, 'changeset-1'],
      [200, 'changeset-1'],
      [404, undefined],
    ]);
    expect(
      (await call(first, '/articles', { method: 'POST', body: article('Direct') })).status,
    ).toBe(201);
    const before = await articles(first);
    expect(before).toMatchObject([
      { id: 1, title: 'Kept', read_position: 5 },
      { id: 2, title: 'Direct', read_position: 0 },
    ]);
    await apps.stopAll(); // the server stops, the store closes

    const again = await apps.start(app, { database });
    expect(await articles(again)).toEqual(before);
    const next = await call(again, '/articles', { method: 'POST', body: article('AfterRestart') });
    expect(await next.json()).toMatchObject({ id: 3 });
    const after = await articles(again);
    await apps.stopAll();

    // The file is the reading list's, not the framework's: the next app in line reads it too.
    const other = APPS[(APPS.indexOf(app) + 1) % APPS.length]!;
    expect(await articles(await apps.start(other, { database }))).toEqual(after);
  });
});

// kinto-http 5.3.0 (unmodified), the Kinto JavaScript client whose batch format @batch's JSON
// format is, against the four example apps: `client.batch()` posts `{defaults, requests}`
// to `/v1/batch` and reads `responses` — which now end with `failed` (SPEC §3), a member
// the client does not know and must not trip on.
//
// How the apps are reached: `batchPath: '/v1/batch'` (the client posts to `<remote>/batch`,
// and its remote must end with its protocol version); `batch: { basePath: '/' }` (it sends
// `/articles`, served at the root). The apps are not Kinto servers: the client's one
// server-info read (`GET /v1/`, for `batch_max_requests`) is answered by its `fetchFunc`.

import type { Article } from '@batch/reading-list';
import KintoHttp, { type AggregateResponse } from 'kinto-http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { APPS, article, articles, scratch } from './apps.js';

// Its types are ESM in a package that is not `"type": "module"`: TypeScript reads them as
// CommonJS (the class under `.default`), while the ESM build loaded here default-exports it.
const KintoClient = (
  'default' in KintoHttp ? KintoHttp.default : KintoHttp
) as typeof KintoHttp.default;
type FetchInput = Parameters<typeof fetch>[0];

describe.each(APPS)('kinto-http 5.3.0 against the $name app', (app) => {
  const apps = scratch('interop-kinto');
  afterEach(() => apps.stopAll());
  afterAll(() => apps.remove());

  it('client.batch(): creates, a 404, a refused write and a read, sorted by aggregate(); the raw answer carries failed', async () => {
    const api = await apps.start(app, { batchPath: '/v1/batch', batch: { basePath: '/' } });
    const answers: Array<{ responses: unknown[]; failed?: number[] }> = [];
    const fetchFunc = async (input: FetchInput, init?: RequestInit) => {
      const url = new URL(String(input));
      if (url.pathname === '/v1/') {
        return Response.json({ settings: { batch_max_requests: 25 }, capabilities: {} });
      }
      const response = await fetch(input, init);
      if (url.pathname === '/v1/batch')
        answers.push((await response.clone().json()) as (typeof answers)[number]);
      return response;
    };
    const client = new KintoClient(`${api.url}/v1`, {
      headers: { Authorization: 'Bearer alice' },
      fetchFunc,
    });
    const result = (await client.batch(
      (batch: InstanceType<typeof KintoClient>) => {
        void batch.execute({
          headers: {},
          method: 'POST',
          path: '/articles',
          body: article('Kinto'),
        });
        void batch.execute({
          headers: {},
          method: 'PATCH',
          path: '/articles/999',
          body: { read_position: 1 },
        });
        void batch.execute({
          headers: {},
          method: 'POST',
          path: '/articles',
          body: { title: 'no url' },
        });
        void batch.execute({
          headers: {},
          method: 'POST',
          path: '/articles',
          body: article('Second'),
        });
        void batch.execute({ headers: {}, path: '/articles' });
      },
      { aggregate: true },
    )) as AggregateResponse;
    expect(answers).toHaveLength(1);
    expect(answers[0]!.responses).toHaveLength(5);
    expect(answers[0]!.failed).toEqual([1, 2]);
    // aggregate() read every status from `responses`, untroubled by `failed`.
    expect(result.published).toHaveLength(3);
    expect(result.published[0]).toMatchObject({ id: 1, ...article('Kinto') });
    expect(result.published[2]).toMatchObject({ data: [{ id: 1 }, { id: 2 }] });
    expect(result.skipped).toEqual([
      expect.objectContaining({
        path: '/articles/999',
        error: expect.objectContaining({ status: 404 }),
      }),
    ]);
    expect(result.errors).toEqual([
      expect.objectContaining({
        path: '/articles',
        error: expect.objectContaining({ status: 400 }),
      }),
    ]);
    expect(result.conflicts).toEqual([]);
    expect((await articles(api)).map((a: Article) => a.title)).toEqual(['Kinto', 'Second']);
  });

  it('without aggregate: the raw responses, in order, as the client returns them', async () => {
    const api = await apps.start(app, { batchPath: '/v1/batch', batch: { basePath: '/' } });
    const client = new KintoClient(`${api.url}/v1`, {
      headers: { Authorization: 'Bearer alice' },
      fetchFunc: async (input: FetchInput, init?: RequestInit) =>
        new URL(String(input)).pathname === '/v1/'
          ? Response.json({ settings: {}, capabilities: {} })
          : fetch(input, init),
    });
    const responses = (await client.batch((batch: InstanceType<typeof KintoClient>) => {
      void batch.execute({ headers: {}, path: '/articles/1' });
      void batch.execute({ headers: {}, path: '/articles' });
    })) as unknown as Array<{ status: number; path: string }>;
    expect(responses.map((response) => [response.status, response.path])).toEqual([
      [404, '/articles/1'],
      [200, '/articles'],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { type RunningNest, startOnExpress, startOnFastify } from './createNestApp.js';

interface Item {
  status: number;
  headers: Record<string, string | string[]>;
  body: unknown;
}

async function post(app: RunningNest, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${app.url}/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { responses: Item[] }).responses;
}

describe.each([
  ['@nestjs/platform-express + @batch/express', startOnExpress],
  ['@nestjs/platform-fastify + @batch/fastify', startOnFastify],
])('NestJS on %s', (_name, start) => {
  it('runs every sub-request through the guard (its own headers), pipes and interceptor', async () => {
    const app = await start();
    try {
      const responses = await post(
        app,
        {
          requests: [
            { path: '/items/1', headers: { 'X-User': 'alice' } },
            { path: '/items/2', headers: { 'X-User': 'bob' } },
            { path: '/items/3', headers: { 'X-User': '' } },
            { path: '/items/abc', headers: { 'X-User': 'alice' } },
            { method: 'POST', path: '/items', body: { title: 'MoFo' } },
            { method: 'POST', path: '/items', body: { title: '' } },
          ],
        },
        { 'x-user': 'outer' },
      );
      expect(responses.map((item) => item.status)).toEqual([200, 200, 403, 400, 201, 400]);
      expect(responses[0]?.body).toEqual({ data: { id: 1, user: 'alice' } });
      expect(responses[1]?.body).toEqual({ data: { id: 2, user: 'bob' } });
      // ParseIntPipe and the body pipe answered through Nest's exception filter.
      expect(responses[3]?.body).toMatchObject({ statusCode: 400 });
      expect(responses[4]?.body).toEqual({ data: { title: 'MoFo', user: 'outer' } });
      expect(responses[5]?.body).toMatchObject({
        statusCode: 400,
        message: 'title must be a non-empty string',
      });
      expect(responses[0]?.headers['X-Intercepted']).toBe('yes');
      // The guard ran once per sub-request (never for the batch request), on its headers.
      expect(app.guardLog).toEqual(['alice', 'bob', '', 'alice', 'outer', 'outer']);
    } finally {
      await app.close();
    }
  });

  it('answers a direct request exactly as a sub-request', async () => {
    const app = await start();
    try {
      const direct = await fetch(`${app.url}/items/7`, { headers: { 'x-user': 'carol' } });
      expect(direct.status).toBe(200);
      expect(direct.headers.get('x-intercepted')).toBe('yes');
      expect(await direct.json()).toEqual({ data: { id: 7, user: 'carol' } });
      const refused = await fetch(`${app.url}/items/7`);
      expect(refused.status).toBe(403);
      const [item] = await post(app, { requests: [{ path: '/items/7' }] });
      expect(item?.status).toBe(403);
      expect(item?.body).toEqual(await (await fetch(`${app.url}/items/7`)).json());
    } finally {
      await app.close();
    }
  });

  it('answers the monitor of an asynchronous batch (SPEC §9) to its caller, and 404 to anyone else', async () => {
    const app = await start();
    try {
      const caller = { authorization: 'Bearer nest', 'x-user': 'alice' };
      const accepted = await fetch(`${app.url}/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'respond-async', ...caller },
        body: JSON.stringify({ requests: [{ path: '/items/1' }, { path: '/items/abc' }] }),
      });
      expect(accepted.status).toBe(202);
      const monitor = accepted.headers.get('location');
      expect(monitor).toMatch(/^\/batch\/jobs\/[0-9a-f]{32}$/);
      let answer = await fetch(`${app.url}${monitor}`, { headers: caller });
      for (let tries = 0; answer.status === 202 && tries < 200; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        answer = await fetch(`${app.url}${monitor}`, { headers: caller });
      }
      expect(answer.status).toBe(200);
      const { responses } = (await answer.json()) as { responses: Item[] };
      expect(responses.map((item) => item.status)).toEqual([200, 400]);
      expect(responses[0]?.body).toEqual({ data: { id: 1, user: 'alice' } });
      const stranger = await fetch(`${app.url}${monitor}`, { headers: { 'x-user': 'alice' } });
      expect(stranger.status).toBe(404);
      const cancelled = await fetch(`${app.url}${monitor}`, { method: 'DELETE', headers: caller });
      expect(cancelled.status).toBe(204);
      expect((await fetch(`${app.url}${monitor}`, { headers: caller })).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});

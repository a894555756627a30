import { AsyncLocalStorage } from 'node:async_hooks';
import { batch } from '@batch/express';
import { listen } from '@batch/test-suite';
import express, { type NextFunction, type Request, type Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';

// The core README's "Charging a whole batch up front", as written there: one budget per
// client address; a JSON batch is charged its item count before any item runs (all or
// nothing), and its items are then not charged again; everything else pays 1 per request.
function createChargedApp(perMinute: number) {
  const limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
  const prepaid = new AsyncLocalStorage<boolean>();

  const charge = async (res: Response, key: string, points: number): Promise<boolean> => {
    try {
      await limiter.consume(key, points);
      return true;
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      await limiter.reward(key, points); // a refused request costs nothing
      res.status(429).set('Retry-After', String(Math.ceil(refusal.msBeforeNext / 1000)));
      res.json({ title: 'Too Many Requests', status: 429 });
      return false;
    }
  };

  const app = express();
  app.use(
    '/batch',
    express.json({ limit: '10mb' }), // the adapter takes the parsed body (JSON batches only)
    async (req: Request, res: Response, next: NextFunction) => {
      const requests: unknown = req.body?.requests;
      // Not a JSON batch (multipart) or malformed: its items pay one by one, below.
      if (!Array.isArray(requests)) return next();
      if (await charge(res, req.ip ?? '', requests.length)) prepaid.run(true, next);
    },
    batch(app),
  );
  app.use(async (req, res, next) => {
    if (prepaid.getStore() === true || (await charge(res, req.ip ?? '', 1))) next();
  });
  app.get('/articles/:id', (req, res) => {
    res.json({ id: Number(req.params.id) });
  });
  return app;
}

const postBatch = async (url: string, n: number) => {
  const response = await fetch(`${url}/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      requests: Array.from({ length: n }, (_, i) => ({ path: `/articles/${i}` })),
    }),
  });
  const body = (await response.json()) as { responses?: { status: number }[] };
  return { status: response.status, items: body.responses?.map((item) => item.status) };
};

const get = async (url: string) => {
  const response = await fetch(`${url}/articles/1`);
  await response.arrayBuffer();
  return response.status;
};

describe('Express: charging a whole batch up front (rate-limiter-flexible)', () => {
  it('charges a JSON batch its item count before it runs, and refuses it whole when over', async () => {
    const api = await listen(createChargedApp(20).listen(0, '127.0.0.1'));
    try {
      // 30 items under 20: refused as a whole, nothing runs, nothing is charged.
      const tooBig = await postBatch(api.url, 30);
      expect(tooBig).toEqual({ status: 429, items: undefined });
      // 15 items: charged 15 up front, all answered (their items are not charged again).
      const fits = await postBatch(api.url, 15);
      expect(fits).toEqual({ status: 200, items: Array(15).fill(200) });
      // 5 left for direct requests, then 429.
      const direct = [];
      for (let i = 0; i < 6; i++) direct.push(await get(api.url));
      expect(direct).toEqual([200, 200, 200, 200, 200, 429]);
      // And no batch of even one item now.
      expect((await postBatch(api.url, 1)).status).toBe(429);
    } finally {
      await api.close();
    }
  });
});

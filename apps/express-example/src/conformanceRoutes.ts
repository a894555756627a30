import express, { type NextFunction, type Request, type Response, Router } from 'express';

/**
 * The routes of the conformance suite's test app (packages/test-suite/src/testApp.ts): a
 * generic app with no bearer-token rule, served only by `createApp({ conformance: true })`.
 */

/** Records every request that reaches it, as `METHOD url`. */
export function requestLog(log: string[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    log.push(`${req.method} ${req.originalUrl}`);
    next();
  };
}

const ECHOED = ['authorization', 'cookie', 'accept-language', 'host', 'x-custom', 'content-type'];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function conformanceRoutes(): Router {
  const router = Router();
  router.all(
    ['/echo', '/echo/*splat'],
    express.text({ type: 'text/*' }),
    express.raw({ type: 'application/octet-stream' }),
    (req, res) => {
      const body: unknown = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body;
      res.json({
        method: req.method,
        url: req.originalUrl,
        body: body ?? null,
        headers: Object.fromEntries(ECHOED.map((name) => [name, req.get(name) ?? null])),
        ip: req.ip ?? null,
      });
    },
  );
  router.get('/cookies', (_req, res) => {
    res.cookie('a', '1').cookie('b', '2').type('text/plain').send('ok');
  });
  router.get('/binary', (_req, res) => {
    res
      .type('application/octet-stream')
      .send(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  });
  router.get('/text', (_req, res) => {
    res.type('text/plain; charset=utf-8').send('héllo wörld');
  });
  router.get('/empty', (_req, res) => {
    res.status(204).end();
  });
  router.get('/not-modified', (_req, res) => {
    res.status(304).end();
  });
  router.get('/redirect', (_req, res) => {
    res.redirect(302, '/echo');
  });
  router.get('/slow/:ms', async (req, res) => {
    const ms = Number(req.params.ms);
    await pause(ms);
    res.json({ slept: ms });
  });
  router.get('/big/:kb', (req, res) => {
    res.type('application/octet-stream').send(Buffer.alloc(Number(req.params.kb) * 1024, 'x'));
  });
  router.get('/fail', () => {
    throw new Error('boom');
  });
  router.get('/private', (req, res) => {
    if (!req.get('authorization')) res.status(401).json({ error: 'unauthorized' });
    else res.json({ ok: true });
  });
  router.get('/stream', async (_req, res) => {
    res.type('text/plain');
    for (const chunk of ['a', 'b', 'c']) {
      res.write(chunk);
      await pause(5);
    }
    res.end();
  });
  // The test app's own error handler: `{ "error": message }`.
  router.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.message });
  });
  return router;
}

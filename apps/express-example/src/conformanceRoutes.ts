import defaultExpress, {
  type NextFunction,
  type Request,
  type Response,
  type Router,
} from 'express';

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

export interface ConformanceRoutesOptions {
  /** The `express` module to build the router with. @default this app's Express 5 */
  express?: typeof defaultExpress;
  /**
   * `express` is Express 4 (the adapter's tests): its wildcards are unnamed, and its body
   * parsers set `req.body` to `{}` when they parse nothing. @default false
   */
  express4?: boolean;
}

/**
 * The conformance routes, as one router (with its own `{ "error": message }` error handler).
 * The single home of these routes: the adapter's own tests (packages/express) use it too.
 */
export function conformanceRoutes(options: ConformanceRoutesOptions = {}): Router {
  const { express = defaultExpress, express4 = false } = options;
  const router = express.Router();
  router.all(
    express4 ? ['/echo', '/echo/*'] : ['/echo', '/echo/*splat'],
    express.text({ type: 'text/*' }),
    express.raw({ type: 'application/octet-stream' }),
    (req, res) => {
      // Express 4's parsers leave `{}` when they parse nothing, and mark what they parse.
      const parsed = !express4 || (req as Request & { _body?: boolean })._body === true;
      const body: unknown = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body;
      res.json({
        method: req.method,
        url: req.originalUrl,
        body: parsed ? (body ?? null) : null,
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
  router.get('/header', (req, res) => {
    const name = typeof req.query.name === 'string' ? req.query.name.toLowerCase() : '';
    const spaces = Number(req.query.spaces);
    if (Number.isSafeInteger(spaces)) res.set('X-Echo', `a${' '.repeat(spaces)}b`);
    res.json({ value: name === '' ? null : (req.headers[name] ?? null) });
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

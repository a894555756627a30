import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAYGROUND_PATH, playgroundAssets } from './playgroundAssets.js';
import { MAX_SIMULATED_RTT_MS, simulatedRoundTrip } from './simulatedRoundTrip.js';
import { withPlayground } from './withPlayground.js';

/** A raw GET (no URL normalisation: `..` goes out as it is). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path, method, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject).end();
    },
  );
}

/** The built page (these tests run from the source: `dist/server` is the default's home). */
const built = playgroundAssets(new URL('../../dist/page/', import.meta.url));

let port = 0;
const handled: string[] = [];
/** When the app was handed each request (`performance.now()`). */
const handedAt: number[] = [];
const server = createServer(
  withPlayground(
    (req, res) => {
      handled.push(`${req.method} ${req.url}`);
      handedAt.push(performance.now());
      res.end('app');
    },
    { assets: built },
  ),
);

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('playgroundAssets', () => {
  it('maps the built page: index.html at /playground, scripts and styles under it', () => {
    const assets = built;
    expect(assets.get(PLAYGROUND_PATH)?.contentType).toBe('text/html; charset=utf-8');
    expect(assets.get('/playground/playground.js')?.contentType).toBe(
      'text/javascript; charset=utf-8',
    );
    expect(assets.get('/playground/client.js')?.body.length).toBeGreaterThan(1000);
    expect(assets.get('/playground/playground.css')?.contentType).toBe('text/css; charset=utf-8');
    expect(assets.has('/playground/index.html')).toBe(false);
  });

  it('says so when the page is not built', () => {
    expect(() => playgroundAssets(new URL('file:///nonexistent/page/'))).toThrow(/not built/);
  });

  it('the page loads nothing from elsewhere and runs no inline script', () => {
    const html = built.get(PLAYGROUND_PATH)!.body.toString();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
  });
});

describe('withPlayground', () => {
  it('serves the page with its content type, nosniff and a strict CSP', async () => {
    for (const path of ['/playground', '/playground/', '/playground?auto=1']) {
      const page = await get(port, path);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.body).toContain('<title>@batch playground</title>');
    }
    const script = await get(port, '/playground/playground.js');
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    const head = await get(port, '/playground/playground.css', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(handled).toEqual([]);
  });

  it('serves only its known files: anything else goes to the app untouched', async () => {
    handled.length = 0;
    const paths = [
      '/playground/../package.json',
      '/playground/%2e%2e/package.json',
      '/playground/..%2fserver%2findex.js',
      '/playground/index.html',
      '/playground/nope.js',
      '/playground/playground.js/',
      '/playgroundx',
    ];
    for (const path of paths) {
      const answer = await get(port, path);
      expect(answer.body, path).toBe('app');
    }
    // A POST to the page is the app's business too.
    await get(port, '/playground', {}, 'POST');
    expect(handled).toEqual([...paths.map((path) => `GET ${path}`), 'POST /playground']);
  });

  it('waits X-Playground-RTT before handing a request to the app, and answers 400 to bad values', async () => {
    handled.length = 0;
    handedAt.length = 0;
    const started = performance.now();
    const slow = await get(port, '/articles', { 'x-playground-rtt': '300' });
    expect(slow.body).toBe('app');
    // The app itself got the request that late (a timer never fires early: a lower bound).
    expect(handedAt[0]! - started).toBeGreaterThanOrEqual(295);

    for (const value of ['-1', '2001', '1e3', 'abc', '', '100, 200', '99999']) {
      const bad = await get(port, '/articles', { 'x-playground-rtt': value });
      expect(bad.status, value).toBe(400);
      expect(bad.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(bad.body).detail).toContain('X-Playground-RTT');
    }
    expect(handled).toEqual(['GET /articles']);
  });
});

describe('simulatedRoundTrip', () => {
  it('is off without the header, and takes 0 … 2000 ms', () => {
    expect(simulatedRoundTrip(undefined)).toEqual({ delayMs: 0 });
    expect(simulatedRoundTrip('0')).toEqual({ delayMs: 0 });
    expect(simulatedRoundTrip(' 150 ')).toEqual({ delayMs: 150 });
    expect(simulatedRoundTrip(String(MAX_SIMULATED_RTT_MS))).toEqual({ delayMs: 2000 });
    expect(simulatedRoundTrip('2001')).toHaveProperty('error');
    expect(simulatedRoundTrip(['1', '2'])).toHaveProperty('error');
  });
});

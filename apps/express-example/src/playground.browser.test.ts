import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withPlayground } from '@batch/playground';
import { ArticleStore, MULTIPART_EXAMPLE_BATCH } from '@batch/reading-list';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';

// The playground in a real browser: Debian's Chromium (`apt-get install -y chromium`;
// .ci/run installs it), driven by playwright-core. No Chromium is a failure, not a skip.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The screenshot of the README, rewritten when asked (UPDATE_SCREENSHOT=1) or missing.
const SCREENSHOT = fileURLToPath(new URL('../../../docs/playground.png', import.meta.url));

/** The example app as `pnpm start` serves it: behind the playground, on port 0. */
async function startApp(maxRequests?: number): Promise<{ server: Server; port: number }> {
  const { app } = createApp({
    store: new ArticleStore(),
    ...(maxRequests === undefined ? {} : { batch: { maxRequests } }),
  });
  const server = createServer(withPlayground(app));
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

let browser: BrowserContext | undefined;
/** Why Chromium did not start: every test fails with it (a missing browser is no skip). */
let launchError: Error | undefined;
let profile: string | undefined;
let api: { server: Server; port: number };
let small: { server: Server; port: number };
// Another origin (127.0.0.1, its own port), open to CORS: the calls there bypass the batch.
let other: { server: Server; port: number; seen: string[] };

beforeAll(async () => {
  api = await startApp();
  small = await startApp(8);
  const seen: string[] = [];
  const otherServer = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
    });
    res.end(JSON.stringify({ origin: 'other' }));
  });
  await new Promise<void>((resolve) => otherServer.listen(0, '127.0.0.1', resolve));
  other = { server: otherServer, port: (otherServer.address() as AddressInfo).port, seen };

  if (!existsSync(CHROMIUM)) {
    launchError = new Error(
      `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
    return;
  }
  profile = mkdtempSync(join(tmpdir(), 'batch-chromium-'));
  browser = await chromium
    .launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        // Without these, Chromium's own connections out are refused on a closed network.
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    .catch((error: Error) => {
      launchError = error;
      return undefined;
    });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  for (const started of [api, small, other]) {
    started?.server.closeAllConnections();
    await new Promise((resolve) => (started ? started.server.close(resolve) : resolve(null)));
  }
});

interface Opened {
  page: Page;
  /** Console errors, page errors and failed requests. */
  errors: string[];
  /** `METHOD /path` of every request the page made after it loaded. */
  requests: string[];
  /** The `Content-Type` of every answer to a `POST /batch`. */
  batchAnswers: string[];
}

/** A new tab on `path` of the app on `port`, recording errors and requests. */
async function open(path: string, port = api.port): Promise<Opened> {
  if (browser === undefined) throw launchError ?? new Error('Chromium did not start');
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
  page.on('request', (request) => {
    const url = new URL(request.url());
    requests.push(
      `${request.method()} ${url.host === `localhost:${port}` ? '' : url.origin}${url.pathname}`,
    );
  });
  const batchAnswers: string[] = [];
  page.on('response', (response) => {
    if (response.request().method() === 'POST' && response.url().endsWith('/batch')) {
      batchAnswers.push(response.headers()['content-type'] ?? '');
    }
  });
  await page.goto(`http://localhost:${port}${path}`);
  await page.getByTestId('ready').waitFor({ state: 'attached' });
  return { page, errors, requests, batchAnswers };
}

/** The race's result element, once it has its numbers. */
async function raceResult(page: Page) {
  const result = page.locator('[data-testid="result"][data-batched-ms]');
  await result.waitFor({ timeout: 30_000 });
  const read = async (name: string) => Number(await result.getAttribute(`data-${name}`));
  return {
    calls: await read('calls'),
    batchedMs: await read('batched-ms'),
    unbatchedMs: await read('unbatched-ms'),
    batchRequests: await read('batch-requests'),
    unbatchedRequests: await read('unbatched-requests'),
    failedCalls: await read('failed-calls'),
    text: await result.textContent(),
  };
}

/**
 * Loads `/playground/client.js` (@batch/client as the page bundles it) into the page as
 * `globalThis.batchClient`. A string, so that vitest does not rewrite its `import()`.
 */
async function loadClient(page: Page): Promise<void> {
  await page.evaluate(
    'import("/playground/client.js").then((client) => { globalThis.batchClient = client; })',
  );
}

/** What the tests use of @batch/client in the page (typed here without the DOM library). */
type BrowserFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
declare global {
  var batchClient: {
    createBatchFetch(options: {
      endpoint: string;
      serviceInfo?: false;
      headers?: Record<string, string>;
      fetch?: BrowserFetch;
    }): BrowserFetch;
  };
}

const count = (requests: string[], request: string) => requests.filter((r) => r === request).length;

describe('the playground in Chromium', () => {
  it('loads with no console error, every control labelled', async () => {
    const { page, errors } = await open('/playground');
    await expect(page.title()).resolves.toBe('@batch playground');
    for (const label of ['Bearer token', 'Calls', 'Simulated round trip', 'Content-Type', 'Body']) {
      await expect(page.getByLabel(label, { exact: false }).count(), label).resolves.toBe(1);
    }
    expect(await page.getByRole('button', { name: 'Run the race' }).isVisible()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the builder sends both README batches and shows their answers', async () => {
    const { page, errors } = await open('/playground');
    // The JSON example is chosen first: two POSTs and a PATCH.
    await page.getByRole('button', { name: 'Send the batch' }).click();
    await expect(page.locator('#answer-status').textContent()).resolves.toBe('Answer: 200 OK');
    const answer = JSON.parse((await page.locator('#answer-body').textContent())!);
    expect(answer.responses.map((r: { status: number }) => r.status)).toEqual([201, 201, 200]);
    expect(answer.responses[2].body).toMatchObject({ id: 1, read_position: 3477 });
    await expect(page.locator('#answer-headers').textContent()).resolves.toMatch(
      /^content-type: application\/json/m,
    );
    await expect(page.locator('#curl').textContent()).resolves.toMatch(
      /^curl -s http:\/\/localhost:\d+\/batch -H 'Authorization: Bearer alice' -H 'Content-Type: application\/json' -d '\{"defaults"/,
    );

    // The multipart example, chosen with the keyboard: a PATCH and a GET of article 1.
    await page.getByLabel(MULTIPART_EXAMPLE_BATCH.title).focus();
    await page.keyboard.press('Space');
    await expect(page.getByLabel('Content-Type').inputValue()).resolves.toBe(
      MULTIPART_EXAMPLE_BATCH.contentType,
    );
    await page.getByRole('button', { name: 'Send the batch' }).click();
    await page.locator('[data-part="1"]').waitFor();
    const parts = await page.locator('.part').allTextContents();
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatch(/^Part 1: 200 OK/);
    expect(parts[1]).toMatch(/^Part 2: 200 OK/);
    expect(parts[1]).toContain('"read_position": 42');
    await expect(page.locator('#curl').textContent()).resolves.toContain(
      "--data-binary $'--batch_curl\\r\\nContent-Type: application/http\\r\\n",
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it('?auto=1 races 20 calls: batched is faster, in one POST /batch against 20 GETs', async () => {
    const { page, errors, requests, batchAnswers } = await open('/playground?auto=1');
    const result = await raceResult(page);
    expect(result).toMatchObject({
      calls: 20,
      batchRequests: 1,
      unbatchedRequests: 20,
      failedCalls: 0,
    });
    expect(result.batchedMs).toBeLessThan(result.unbatchedMs);
    // The round trip is 150 ms; the browser's 6 connections make 20 calls wait 4 of them.
    expect(result.batchedMs).toBeGreaterThanOrEqual(145);
    expect(result.unbatchedMs).toBeGreaterThanOrEqual(4 * 150 - 5);
    // The browser's own network log agrees.
    expect(count(requests, 'GET /articles')).toBe(20);
    expect(count(requests, 'POST /batch')).toBe(1);
    // Streamed: each batched call ends as its item's line arrives.
    expect(batchAnswers).toEqual(['application/jsonl']);
    // Waterfalls: a row per call on each side, with its times written out.
    await expect(page.locator('table.waterfall.direct tbody tr').count()).resolves.toBe(20);
    await expect(page.locator('table.waterfall.batched tbody tr').count()).resolves.toBe(20);
    await expect(
      page.locator('table.waterfall.batched tbody tr').first().textContent(),
    ).resolves.toMatch(/^#1200\d+ ms → \d+ ms$/);
    expect(errors).toEqual([]);
    console.log(`playground race (Node ${process.version}): ${result.text}`);
    if (process.env.UPDATE_SCREENSHOT === '1' || !existsSync(SCREENSHOT)) {
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
    await page.close();
  });

  it('splits the race into batches of the server’s maxRequests (8: 20 calls in 3)', async () => {
    const { page, errors, requests } = await open('/playground?auto=1&rtt=100', small.port);
    const result = await raceResult(page);
    expect(result).toMatchObject({ calls: 20, batchRequests: 3, failedCalls: 0 });
    expect(result.batchedMs).toBeLessThan(result.unbatchedMs);
    expect(count(requests, 'POST /batch')).toBe(3);
    expect(count(requests, 'GET /articles')).toBe(20);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('runs the race from the keyboard, with the calls and round trip typed in', async () => {
    const { page, errors, requests } = await open('/playground');
    await page.getByLabel('Calls').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('7');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('0');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const result = await raceResult(page);
    expect(result).toMatchObject({ calls: 7, batchRequests: 1, unbatchedRequests: 7 });
    expect(count(requests, 'GET /articles')).toBe(7);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('@batch/client in Chromium', () => {
  it('coalesces the calls of one tick into one POST /batch', async () => {
    const { page, errors, requests } = await open('/playground');
    const before = requests.length;
    await loadClient(page);
    const answers = await page.evaluate(async () => {
      const { createBatchFetch } = globalThis.batchClient;
      const sent: number[] = [];
      const api = createBatchFetch({
        endpoint: '/batch',
        headers: { authorization: 'Bearer coalesce' },
        serviceInfo: false,
        fetch: async (input, init) => {
          sent.push(JSON.parse(new TextDecoder().decode(init?.body as Uint8Array)).requests.length);
          return fetch(input, init);
        },
      });
      const created = await api('/articles', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'one', url: 'http://example.com/1' }),
      });
      const { id } = (await created.clone().json()) as { id: number };
      const calls = await Promise.all([api('/articles'), api(`/articles/${id}`), api('/nope')]);
      return {
        sent,
        created: created.status,
        statuses: calls.map((r) => r.status),
        list: (await calls[0]!.json()) as { data: unknown[] },
        one: await calls[1]!.json(),
        url: calls[1]!.url,
        id,
      };
    });
    expect(answers.sent).toEqual([1, 3]);
    expect(answers.created).toBe(201);
    expect(answers.statuses).toEqual([200, 200, 404]);
    expect(answers.list.data).toHaveLength(1);
    expect(answers.one).toMatchObject({ id: answers.id, title: 'one' });
    expect(answers.url).toBe(`http://localhost:${api.port}/articles/${answers.id}`);
    expect(requests.slice(before)).toEqual([
      'GET /playground/client.js',
      'POST /batch',
      'POST /batch',
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an aborted call leaves a pending batch, or rejects at once while its batch is in flight', async () => {
    const { page, errors } = await open('/playground');
    await loadClient(page);
    const outcome = await page.evaluate(async () => {
      const { createBatchFetch } = globalThis.batchClient;
      const sent: number[] = [];
      const api = createBatchFetch({
        endpoint: '/batch',
        // The batch waits 800 ms at the server: time to abort a call while it is in flight.
        headers: { authorization: 'Bearer aborts', 'x-playground-rtt': '800' },
        serviceInfo: false,
        fetch: (input, init) => {
          sent.push(JSON.parse(new TextDecoder().decode(init?.body as Uint8Array)).requests.length);
          return fetch(input, init);
        },
      });
      const settle = (p: Promise<Response>) =>
        p.then(
          (r) => `${r.status}`,
          (e: Error) => e.name,
        );
      // Aborted before the batch goes out: it is left out of it.
      const early = new AbortController();
      const pending = [api('/articles'), api('/articles', { signal: early.signal }), api('/')];
      early.abort();
      const first = await Promise.all(pending.map(settle));
      // Aborted while the batch is in flight: that call rejects at once, the other waits.
      const late = new AbortController();
      const started = performance.now();
      const kept = settle(api('/articles'));
      const aborted = settle(api('/articles', { signal: late.signal })).then((outcome) => ({
        outcome,
        ms: performance.now() - started,
      }));
      setTimeout(() => late.abort(), 50);
      return { sent, first, second: [await kept, await aborted] };
    });
    expect(outcome.first).toEqual(['200', 'AbortError', '200']);
    expect(outcome.sent).toEqual([2, 2]);
    const [kept, aborted] = outcome.second as [string, { outcome: string; ms: number }];
    expect(kept).toBe('200');
    expect(aborted.outcome).toBe('AbortError');
    expect(aborted.ms).toBeLessThan(800); // before the batch's answer: the server waits 800 ms
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a call to another origin bypasses the batch', async () => {
    const { page, errors, requests } = await open('/playground');
    const before = requests.length;
    const otherUrl = `http://127.0.0.1:${other.port}/hello`;
    await loadClient(page);
    const answer = await page.evaluate(async (url) => {
      const { createBatchFetch } = globalThis.batchClient;
      const api = createBatchFetch({ endpoint: '/batch', serviceInfo: false });
      const response = await api(url);
      return { status: response.status, body: await response.json() };
    }, otherUrl);
    expect(answer).toEqual({ status: 200, body: { origin: 'other' } });
    expect(other.seen).toEqual(['GET /hello']);
    expect(requests.slice(before)).toEqual([
      'GET /playground/client.js',
      `GET http://127.0.0.1:${other.port}/hello`,
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

import { spawn } from 'node:child_process';
import { waitForOutput } from '@batch/test-suite';
import { describe, expect, it } from 'vitest';

/** Writes in one batch: they run one after another (writes are barriers). */
const WRITES = 20;
const RTT_MS = 300;
/**
 * What the batch may take beyond its one wait: ample for a busy machine (20 small writes
 * take a few ms), and far under the (WRITES - 1) × RTT = 5.7 s more that a wait per item
 * would add — a lower bound: a timer never fires early.
 */
const SLACK_MS = 2000;

/**
 * The playground test of an example app's real program: `node dist/server.js` (on port 0,
 * in memory) prints the playground's URL and serves the page, and a batch that carries
 * `X-Playground-RTT` waits the round trip once — not once per item, although every item
 * inherits the header: the wait is in front of the app, on real HTTP requests only.
 */
export function playgroundServerTest(framework: string, appDir: string): void {
  describe(`the playground (${framework})`, () => {
    it('is served, and a batch of writes with a simulated round trip waits it once', async () => {
      const child = spawn(process.execPath, ['dist/server.js'], {
        cwd: appDir,
        env: { ...process.env, PORT: '0', DATABASE: ':memory:' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('close', resolve));
      try {
        const url = await waitForOutput(
          child,
          (output) => /^Playground .*: (http:\/\/localhost:\d+)\/playground$/m.exec(output)?.[1],
        );

        const page = await fetch(`${url}/playground`);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(page.headers.get('x-content-type-options')).toBe('nosniff');
        expect(await page.text()).toContain('src="/playground/playground.js"');

        const headers = {
          authorization: 'Bearer rtt',
          'content-type': 'application/json',
          'x-playground-rtt': String(RTT_MS),
        };
        const body = JSON.stringify({
          defaults: { method: 'POST', path: '/articles' },
          requests: Array.from({ length: WRITES }, (_, i) => ({
            body: { title: `t${i}`, url: `http://example.com/${i}` },
          })),
        });
        const started = performance.now();
        const answer = await fetch(`${url}/batch`, { method: 'POST', headers, body });
        const { responses } = (await answer.json()) as { responses: { status: number }[] };
        const elapsed = performance.now() - started;
        expect(answer.status).toBe(200);
        expect(responses.map((r) => r.status)).toEqual(Array(WRITES).fill(201));
        // One wait (≥ RTT); a wait per item would be WRITES × RTT = 6 s.
        expect(elapsed).toBeGreaterThanOrEqual(RTT_MS - 5);
        expect(elapsed).toBeLessThan(RTT_MS + SLACK_MS);

        const bad = await fetch(`${url}/`, { headers: { 'x-playground-rtt': '2001' } });
        expect(bad.status).toBe(400);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });
  });
}

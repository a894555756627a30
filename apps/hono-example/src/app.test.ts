import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ArticleStore } from '@batch/reading-list';
import { conformanceSuite, readingListScenarios } from '@batch/test-suite';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';

/** Serves an app with @hono/node-server on 127.0.0.1, port 0. */
async function listen(app: Hono) {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

conformanceSuite('Hono example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await listen(app)), log };
  },
});

readingListScenarios('Hono example app', {
  start: async () => {
    const store = new ArticleStore();
    return { ...(await listen(createApp({ store }).app)), store };
  },
});

describe('pnpm start', () => {
  it('prints the banner with its URL and answers GET /', async () => {
    // Its own process group: pnpm does not pass SIGTERM on to `node dist/server.js`, so the
    // whole group is signalled (as Ctrl+C in a terminal does).
    const child = spawn('pnpm', ['start'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, PORT: '0' },
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('close', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`no banner in 20 s:\n${output}`)), 20_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
          const match = /\(Hono\) listening on (http:\/\/localhost:\d+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
      });
      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { batch: { path: string } }).batch.path).toBe('/batch');
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  }, 30_000);
});

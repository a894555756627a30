import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ArticleStore, serviceInfo } from '@batch/reading-list';
import { conformanceSuite, readingListScenarios } from '@batch/test-suite';
import type Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';

interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(app: Koa): Promise<Served> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

conformanceSuite('koa example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await serve(app)), log };
  },
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
type Json = any;

readingListScenarios('Koa example app', {
  start: async () => {
    const store = new ArticleStore();
    return { ...(await serve(createApp({ store }).app)), store };
  },
});

describe('the reading list on Koa', () => {
  it('answers GET / with the service info, naming Koa', async () => {
    const api = await serve(createApp().app);
    try {
      const response = await fetch(`${api.url}/`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(serviceInfo('Koa'));
    } finally {
      await api.close();
    }
  });
});

/** Reads the child's stdout until the whole banner is there; answers its URL and text. */
function readBanner(child: ChildProcessByStdio<null, Readable, null>) {
  return new Promise<{ url: string; banner: string }>((resolve, reject) => {
    let banner = '';
    const timer = setTimeout(() => reject(new Error(`no URL in 20 s:\n${banner}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      banner += chunk;
      const url = /reading-list \(Koa\) listening on (http:\/\/localhost:\d+)/.exec(banner)?.[1];
      if (url !== undefined && banner.includes('Ctrl+C')) {
        clearTimeout(timer);
        resolve({ url, banner });
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited before printing its URL:\n${banner}`));
    });
  });
}

describe('pnpm start', () => {
  it('prints its URL and two curl commands, answers GET /, and stops on SIGTERM', async () => {
    const child = spawn('pnpm', ['start'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, PORT: '0' },
      shell: false,
      // Its own process group, signalled as a whole: pnpm does not pass SIGTERM on to
      // `node dist/server.js`.
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const closed = once(child, 'close');
    try {
      const { url, banner } = await readBanner(child);
      expect(banner.split(`curl -s ${url}/batch `)).toHaveLength(3);
      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      const info = (await response.json()) as Json;
      expect(info.batch.path).toBe('/batch');
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await closed; // every process of the group let go of stdout: the server is gone too
    }
  }, 30_000);
});

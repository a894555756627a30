// The four example apps (Express, Koa, Hono, Fastify), each started in-process on 127.0.0.1, port 0,
// on a store of its own: `:memory:` by default, or a SQLite file that a later app can open
// again (a restart).

import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchOptions } from '@batch/core';
import { createApp as createExpressApp } from '@batch/express-example/app';
import { createApp as createFastifyApp } from '@batch/fastify-example/app';
import { createApp as createHonoApp } from '@batch/hono-example/app';
import { createApp as createKoaApp } from '@batch/koa-example/app';
import type { Article, ArticleStore } from '@batch/reading-list';
import { serve } from '@hono/node-server';

/** What all four apps' `createApp` take (the options used here). */
export interface AppOptions {
  /** The SQLite file, or `':memory:'` (the default). */
  database?: string;
  batch?: BatchOptions;
  /** @default '/batch' */
  batchPath?: string;
  /** Also the conformance routes (`/echo`, `/binary`, `/empty` …, no bearer-token rule). */
  conformance?: boolean;
}

/** An app listening on loopback. */
export interface Served {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  /** Stops the server (dropping idle keep-alive connections), then closes the store. */
  close(): Promise<void>;
}

/** Waits until a node:http server listens; answers its URL and how to stop it and the store. */
async function listening(server: Server, store: ArticleStore): Promise<Served> {
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await store.close();
    },
  };
}

/** Each app on its own framework, with the store that `createApp` opened from `database`. */
export const APPS: { name: string; start: (options?: AppOptions) => Promise<Served> }[] = [
  {
    name: 'Express',
    start: (options = {}) => {
      const { app, store } = createExpressApp(options);
      return listening(app.listen(0, '127.0.0.1'), store);
    },
  },
  {
    name: 'Koa',
    start: (options = {}) => {
      const { app, store } = createKoaApp(options);
      return listening(createServer(app.callback()).listen(0, '127.0.0.1'), store);
    },
  },
  {
    name: 'Hono',
    start: (options = {}) => {
      const { app, store } = createHonoApp(options);
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      return listening(server, store);
    },
  },
  {
    name: 'Fastify',
    start: async (options = {}) => {
      const { app, store } = createFastifyApp(options);
      await app.ready();
      return listening(app.server.listen(0, '127.0.0.1'), store);
    },
  },
];

/**
 * A scratch folder for SQLite files, and the apps started in a test: `stopAll()` (after each
 * test) stops them and closes their stores; `remove()` (after all) deletes the folder.
 */
export function scratch(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  let files = 0;
  const running: Served[] = [];
  return {
    /** A path for a new, empty database file. */
    freshFile: () => join(dir, `db-${++files}.sqlite`),
    /** Starts `app` and remembers it for `stopAll()`. */
    start: async (app: (typeof APPS)[number], options?: AppOptions) => {
      const served = await app.start(options);
      running.push(served);
      return served;
    },
    stopAll: async () => {
      for (const served of running.splice(0).reverse()) await served.close();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A direct (not batched) request as `owner`; an object body goes as JSON. */
export function call(
  api: Served,
  path: string,
  init: { method?: string; body?: unknown; owner?: string } = {},
): Promise<Response> {
  const { method = 'GET', body, owner = 'alice' } = init;
  return fetch(api.url + path, {
    method,
    headers: {
      authorization: `Bearer ${owner}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The owner's articles, read directly (`GET /articles`). */
export async function articles(api: Served, owner = 'alice'): Promise<Article[]> {
  const response = await call(api, '/articles', { owner });
  if (response.status !== 200) throw new Error(`GET /articles answered ${response.status}`);
  return ((await response.json()) as { data: Article[] }).data;
}

/** A header of a plain `name → value` record, found whatever the case of its name. */
export function headerOf(
  headers: Record<string, string> | undefined,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** An article body the store accepts. */
export const article = (title: string) => ({
  title,
  url: `http://${title.toLowerCase()}.example`,
});

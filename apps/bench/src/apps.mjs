// The application every adapter bench serves: one route, `GET /articles/:id`, answering
// the small JSON `{"id":<id>,"title":"MoFo"}`, written once per framework. Shared by
// src/dispatch.mjs (in-process) and src/endToEnd.server.mjs (over loopback).
//
// Not a bench itself: index.mjs does not run it.

import { createRequire } from 'node:module';
import Router from '@koa/router';
import express5 from 'express';
import express4 from 'express4';
import { Hono } from 'hono';
import Koa from 'koa';

const require = createRequire(import.meta.url);

/** The frameworks the adapter benches compare, in the order they are printed. */
export const FRAMEWORKS = /** @type {const} */ (['express5', 'express4', 'koa', 'hono', 'node']);

/** @typedef {typeof FRAMEWORKS[number] | 'hapi'} Framework */

/** Printed names. */
export const LABELS = /** @type {Record<Framework, string>} */ ({
  express5: 'Express 5',
  express4: 'Express 4',
  koa: 'Koa 3',
  hono: 'Hono 4',
  node: 'node:http',
  hapi: 'hapi 17',
});

/**
 * What `GET /articles/<id>` answers, as a string.
 * @param {number} id
 */
export function articleJson(id) {
  return JSON.stringify({ id, title: 'MoFo' });
}

/** `/articles/<id>` → the id, or NaN. @param {string} url */
function idOf(url) {
  const match = /^\/articles\/(\d+)(?:\?|$)/.exec(url);
  return match === null ? Number.NaN : Number(match[1]);
}

/**
 * An Express app (4 or 5, whichever `express` is) with the article route.
 * @param {'express5' | 'express4'} version
 * @returns {import('express').Express}
 */
export function expressApp(version) {
  const app = (version === 'express5' ? express5 : express4)();
  app.get('/articles/:id', (req, res) => {
    res.json({ id: Number(req.params.id), title: 'MoFo' });
  });
  return app;
}

/** A Koa app with the article route on @koa/router. */
export function koaApp() {
  const app = new Koa();
  const router = new Router();
  router.get('/articles/:id', (ctx) => {
    ctx.body = { id: Number(ctx.params.id), title: 'MoFo' };
  });
  return { app, router };
}

/** A Hono app with the article route. */
export function honoApp() {
  const app = new Hono();
  app.get('/articles/:id', (c) => c.json({ id: Number(c.req.param('id')), title: 'MoFo' }));
  return app;
}

/**
 * A plain `node:http` listener with the article route (404 for anything else).
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
export function nodeListener(req, res) {
  const id = req.method === 'GET' ? idOf(req.url ?? '') : Number.NaN;
  if (Number.isNaN(id)) {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(articleJson(id));
}

/**
 * A hapi 17 server with the article route and the bassmaster batch plugin on `/batch`.
 *
 * hapi 17 predates Node 16's `IncomingMessage` `'close'` semantics ('close' now follows a
 * fully read body rather than a lost connection): on Node 20 it takes every POST as a
 * disconnect and never answers. The server drops hapi's `req.on('close')` listener, which
 * a bench never needs (no client goes away mid-request).
 *
 * @param {{ host: string, port: number }} address
 */
export async function hapiServer(address) {
  const Hapi = require('hapi');
  const server = new Hapi.Server(address);
  server.route({
    method: 'GET',
    path: '/articles/{id}',
    handler: (request) => ({ id: Number(request.params.id), title: 'MoFo' }),
  });
  await server.register({ plugin: require('bassmaster') });
  server.listener.prependListener('request', (/** @type {any} */ req) => {
    const on = req.on;
    req.on = function (/** @type {string} */ event, /** @type {Function} */ listener) {
      return event === 'close' ? this : on.call(this, event, listener);
    };
  });
  return server;
}

/**
 * Imports a workspace adapter that may not be built yet (its `dist` missing).
 * @param {'@batch/koa' | '@batch/hono' | '@batch/express' | '@batch/node'} name
 * @returns {Promise<{ module: any, error?: undefined } | { module?: undefined, error: string }>}
 */
export async function loadAdapter(name) {
  try {
    return { module: await import(name) };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { error: `not built (${message})` };
  }
}

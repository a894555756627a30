import 'reflect-metadata';
import type { BatchOptions } from '@batch/core';
import { batch as expressBatch } from '@batch/express';
import { batch as fastifyBatch } from '@batch/fastify';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, GUARD_LOG } from './app.module.js';

/** A started Nest app: its URL, what its guard saw, and how to stop it. */
export interface RunningNest {
  url: string;
  guardLog: string[];
  close(): Promise<void>;
}

/** Where a Nest app listens, and the options of its batch route. */
export interface NestAppOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** `@batch/core`'s `BatchOptions` of the batch route (`aroundItem: batchTracing()`, …). */
  batch?: BatchOptions;
}

async function started(app: INestApplication, port: number): Promise<RunningNest> {
  await app.listen(port, '127.0.0.1');
  return {
    url: (await app.getUrl()).replace('[::1]', '127.0.0.1'),
    guardLog: app.get<string[]>(GUARD_LOG),
    close: () => app.close(),
  };
}

/**
 * The app on @nestjs/platform-express, `POST /batch` by @batch/express, and the monitors of
 * asynchronous batches under it (`GET`/`DELETE /batch/jobs/<id>`).
 */
export async function startOnExpress(options: NestAppOptions = {}): Promise<RunningNest> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
  // The Express app under Nest: the batch route dispatches into all of it (Nest's routes,
  // guards, pipes, interceptors and exception filters), whatever the order. Mounted with
  // `use`, so that it answers the monitors under /batch too (a route, `all('/batch')`,
  // would match /batch alone).
  const express = app.getHttpAdapter().getInstance();
  express.use('/batch', expressBatch(express, options.batch));
  return started(app, options.port ?? 0);
}

/** The app on @nestjs/platform-fastify, `POST /batch` by @batch/fastify (monitors too). */
export async function startOnFastify(options: NestAppOptions = {}): Promise<RunningNest> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
    logger: false,
  });
  await app.register(fastifyBatch, { ...options.batch, path: '/batch' });
  return started(app, options.port ?? 0);
}

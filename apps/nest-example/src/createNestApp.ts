import 'reflect-metadata';
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

async function started(app: INestApplication): Promise<RunningNest> {
  await app.listen(0, '127.0.0.1');
  return {
    url: (await app.getUrl()).replace('[::1]', '127.0.0.1'),
    guardLog: app.get<string[]>(GUARD_LOG),
    close: () => app.close(),
  };
}

/** The app on @nestjs/platform-express, `POST /batch` by @batch/express. */
export async function startOnExpress(): Promise<RunningNest> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
  // The Express app under Nest: the batch route dispatches into all of it (Nest's routes,
  // guards, pipes, interceptors and exception filters), whatever the order.
  const express = app.getHttpAdapter().getInstance();
  express.all('/batch', expressBatch(express));
  return started(app);
}

/** The app on @nestjs/platform-fastify, `POST /batch` by @batch/fastify. */
export async function startOnFastify(): Promise<RunningNest> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
    logger: false,
  });
  await app.register(fastifyBatch, { path: '/batch' });
  return started(app);
}

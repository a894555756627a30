import { fileURLToPath } from 'node:url';
import { playgroundServerTest } from '@batch/playground/testing';

playgroundServerTest('Koa', fileURLToPath(new URL('..', import.meta.url)));

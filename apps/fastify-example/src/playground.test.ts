import { fileURLToPath } from 'node:url';
import { playgroundServerTest } from '@batch/playground/testing';

playgroundServerTest('Fastify', fileURLToPath(new URL('..', import.meta.url)));

import { fileURLToPath } from 'node:url';
import { playgroundServerTest } from '@batch/playground/testing';

playgroundServerTest('Hono', fileURLToPath(new URL('..', import.meta.url)));

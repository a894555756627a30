import { fileURLToPath } from 'node:url';
import { playgroundServerTest } from '@batch/playground/testing';

playgroundServerTest('Express', fileURLToPath(new URL('..', import.meta.url)));

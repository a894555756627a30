import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.package.js';

// `incoming`: the helpers for a Node request that need no `node:` module (@batch/hono uses
// them on @hono/node-server, and must load on runtimes without Node).
export default defineConfig(packageBuild('node', ['src/index.ts', 'src/incoming.ts']));

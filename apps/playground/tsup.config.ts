import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

// @batch/client from its source, not as a workspace dependency: its tests start the example
// apps, which serve this page — a package cycle turbo cannot order. (tsconfig.json `paths`
// says the same to the type checker.)
const client = fileURLToPath(new URL('../../packages/client/src/index.ts', import.meta.url));

export default defineConfig([
  // The server side: the node:http listener that serves the page and simulates the round
  // trip. Its own file, not bundled into the apps: it finds the page beside itself.
  {
    entry: { index: 'src/server/index.ts' },
    outDir: 'dist/server',
    format: ['esm'],
    platform: 'node',
    target: 'es2022',
    clean: true,
    sourcemap: true,
  },
  // The page: one script with @batch/client, @batch/core and the example batches bundled
  // in (nothing is fetched from elsewhere), `client.js` (@batch/client alone, to import from
  // the browser's console), and the HTML and CSS of `src/page/public`.
  {
    entry: { playground: 'src/page/main.ts', client: 'src/page/client.ts' },
    outDir: 'dist/page',
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    clean: true,
    sourcemap: true,
    splitting: false,
    noExternal: [/.*/],
    publicDir: 'src/page/public',
    esbuildOptions(options) {
      options.alias = { '@batch/client': client };
    },
  },
]);

import { defineConfig } from 'tsup';

// One self-contained ESM file per runtime, bundled from the built `dist` of @batch/core,
// @batch/fetch, @batch/hono and hono (their `exports` maps): nothing is resolved at run time.
export default defineConfig({
  entry: {
    bun: 'src/entries/bun.ts',
    deno: 'src/entries/deno.ts',
    worker: 'src/entries/worker.ts',
  },
  format: ['esm'],
  platform: 'neutral',
  target: 'es2022',
  clean: true,
  noExternal: [/.*/],
  splitting: false,
});

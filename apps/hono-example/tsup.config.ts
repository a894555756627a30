import { defineConfig } from 'tsup';

// The runnable server; the shared store (TypeScript source) is bundled in.
export default defineConfig({
  entry: ['src/server.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'es2022',
  clean: true,
  sourcemap: true,
  noExternal: ['@batch/reading-list'],
});

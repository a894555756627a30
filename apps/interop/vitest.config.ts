import { defineConfig } from 'vitest/config';

export default defineConfig({
  // kinto-http's Node build (`main`) requires peer dependencies (atob, node-fetch, form-data)
  // that a fetch-native Node does not need: its ESM build (`module`) is loaded instead; its
  // extensionless imports are resolved by Vite, which bundles it rather than hand it to Node.
  resolve: { alias: { 'kinto-http': 'kinto-http/lib/index.js' } },
  test: {
    include: ['src/**/*.test.ts'],
    // Real HTTP on loopback (servers, sockets, child processes): generous for a busy machine,
    // where turbo runs other packages' tasks beside this one.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    server: { deps: { inline: ['kinto-http'] } },
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Real HTTP on loopback (servers, sockets, child processes): generous for a busy machine,
    // where turbo runs other packages' tasks beside this one.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

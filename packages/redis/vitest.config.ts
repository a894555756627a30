import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // A real redis-server (started per file) and waits for leases to lapse: generous for a
    // busy machine, where turbo runs other packages' tasks beside this one.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

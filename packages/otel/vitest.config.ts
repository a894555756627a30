import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Real servers on loopback: generous for a busy machine, where turbo runs other
    // packages' tasks beside this one.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

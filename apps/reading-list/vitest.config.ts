import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // In-memory only; generous for a busy machine all the same.
    testTimeout: 15_000,
  },
});

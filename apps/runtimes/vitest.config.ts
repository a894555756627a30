import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Each file starts a runtime (a separate binary) and talks to it over loopback, on a busy
    // 2-core machine where turbo runs other packages' tests beside this one: wide timeouts.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // No real HTTP here, but timers and property runs: generous for a busy machine, where turbo
    // runs other packages' tasks beside this one (property tests set their own, sized to their
    // runs; their seed is FC_SEED in src/testing.ts).
    testTimeout: 15_000,
  },
});

import type { Options } from 'tsup';

/**
 * The build every published `@batch/*` package shares: `src/index.ts` to ESM + CJS +
 * types, with source maps. `platform` is `'neutral'` for code that must run anywhere
 * (no `node:` imports), `'node'` for the node:http packages.
 */
export function packageBuild(platform: 'neutral' | 'node'): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform,
  };
}

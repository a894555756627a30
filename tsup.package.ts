import type { Options } from 'tsup';

/**
 * The build every published `@batch/*` package shares: `src/index.ts` (and any other
 * entry: a subpath export) to ESM + CJS + types, with source maps. `platform` is `'neutral'` for code that must run anywhere
 * (no `node:` imports), `'node'` for the node:http packages.
 */
export function packageBuild(
  platform: 'neutral' | 'node',
  entry: string[] = ['src/index.ts'],
): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform,
  };
}

/**
 * The build of an example app: its runnable server as one ESM file, with the shared
 * store (TypeScript source of a private workspace package) bundled in.
 */
export function appBuild(): Options {
  return {
    entry: ['src/server.ts'],
    format: ['esm'],
    platform: 'node',
    target: 'es2022',
    clean: true,
    sourcemap: true,
    noExternal: ['@batch/reading-list'],
  };
}

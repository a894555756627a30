import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The house rules of docs/architecture.md, checked on the import graph: inside
 * `@batch/core` a folder imports only folders below it (codecs never the engine); an adapter
 * imports only `@batch/core`'s public entry, its bridge and its framework. Each rule has a
 * case below that feeds it a broken graph, so that the check is seen to fail.
 */
const packages = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The core's folders from the bottom up: each may import itself and those before it. */
export const CORE_LAYERS = [
  'model',
  'openapi',
  'http',
  'multipart',
  'json',
  'wire',
  'engine',
  '.',
] as const;
/** Folders that must never import one another (siblings at one level). */
const SIBLINGS: Array<[string, string]> = [['multipart', 'json']];

/** What each adapter or bridge may import: packages by name (any subpath of a listed one). */
export const ALLOWED_PACKAGES: Record<string, string[]> = {
  node: ['@batch/core'],
  fetch: ['@batch/core'],
  express: ['@batch/core', '@batch/node', 'express'],
  koa: ['@batch/core', '@batch/node', 'koa'],
  hono: ['@batch/core', '@batch/fetch', '@batch/node/incoming', 'hono'],
  fastify: ['@batch/core', '@batch/node', 'fastify', 'fastify-plugin'],
  redis: ['@batch/core', 'redis', '@redis/client'],
  client: ['@batch/core'],
  otel: ['@batch/core', '@opentelemetry/api'],
};

interface Import {
  file: string;
  specifier: string;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) out.push(path);
  }
  return out;
}

export function importsOf(files: Array<{ file: string; text: string }>): Import[] {
  const out: Import[] = [];
  for (const { file, text } of files) {
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2];
      if (specifier !== undefined) out.push({ file, specifier });
    }
  }
  return out;
}

function layerOf(fileInSrc: string): string {
  const first = fileInSrc.split('/')[0]!;
  return fileInSrc.includes('/') ? first : '.';
}

/** Breaks of the core's layering, as `file → specifier: why`. */
export function coreViolations(imports: Import[]): string[] {
  const out: string[] = [];
  for (const { file, specifier } of imports) {
    if (specifier.startsWith('node:')) {
      out.push(`${file} → ${specifier}: the core has no node: import`);
      continue;
    }
    if (!specifier.startsWith('.')) {
      out.push(`${file} → ${specifier}: the core has no dependency`);
      continue;
    }
    const from = layerOf(file);
    const to = layerOf(join(dirname(file), specifier).replaceAll('\\', '/'));
    const rank = (layer: string) => CORE_LAYERS.indexOf(layer as (typeof CORE_LAYERS)[number]);
    if (rank(to) === -1 || rank(from) === -1) out.push(`${file} → ${specifier}: unknown folder`);
    else if (rank(to) > rank(from))
      out.push(`${file} → ${specifier}: ${from}/ imports ${to}/, above it`);
    else if (SIBLINGS.some(([a, b]) => (from === a && to === b) || (from === b && to === a)))
      out.push(`${file} → ${specifier}: ${from}/ and ${to}/ are codecs of their own`);
  }
  return out;
}

/** Breaks of an adapter's imports: only the packages it is allowed, `@batch/core` by its public entry. */
export function adapterViolations(name: string, imports: Import[]): string[] {
  const allowed = ALLOWED_PACKAGES[name] ?? [];
  const out: string[] = [];
  for (const { file, specifier } of imports) {
    if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
    if (specifier.startsWith('@batch/core/')) {
      out.push(`${file} → ${specifier}: only @batch/core's public entry`);
      continue;
    }
    const ok = allowed.some((pkg) => specifier === pkg || specifier.startsWith(`${pkg}/`));
    if (!ok) out.push(`${file} → ${specifier}: ${name} may import ${allowed.join(', ')}`);
  }
  return out;
}

function read(dir: string) {
  return sourceFiles(dir).map((path) => ({
    file: relative(dir, path).replaceAll('\\', '/'),
    text: readFileSync(path, 'utf8'),
  }));
}

describe('import rules (docs/architecture.md)', () => {
  it('the core: each folder imports only folders below it, no node: and no dependency', () => {
    expect(coreViolations(importsOf(read(join(packages, 'core/src'))))).toEqual([]);
  });

  const published = readdirSync(packages, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !['core', 'test-suite'].includes(entry.name))
    .map((entry) => entry.name);

  it.each(published)('%s imports only what it may', (name) => {
    // A new package declares what it may import before it lands.
    expect(Object.keys(ALLOWED_PACKAGES)).toContain(name);
    const files = read(join(packages, name, 'src'));
    expect(files.length).toBeGreaterThan(0);
    expect(adapterViolations(name, importsOf(files))).toEqual([]);
  });

  it('fails on a broken rule: a codec importing the engine, a node: import, an adapter reaching into the core', () => {
    const broken = importsOf([
      {
        file: 'json/parseJsonBatch.ts',
        text: "import { planBatch } from '../engine/planBatch.js';",
      },
      { file: 'http/bytes.ts', text: "import { Buffer } from 'node:buffer';" },
      { file: 'json/parseJsonBatch.ts', text: "import { x } from '../multipart/partError.js';" },
      { file: 'engine/planBatch.ts', text: "import type { Options } from '../options.js';" },
      { file: 'wire/decode.ts', text: "export { y } from '../multipart/MultipartScanner.js';" },
    ]);
    expect(coreViolations(broken)).toEqual([
      expect.stringContaining('json/ imports engine/'),
      expect.stringContaining('no node: import'),
      expect.stringContaining('codecs of their own'),
      expect.stringContaining('engine/ imports ./'),
    ]);
    expect(
      adapterViolations(
        'express',
        importsOf([
          { file: 'index.ts', text: "import { x } from '@batch/core/src/engine/planBatch.js';" },
          { file: 'index.ts', text: "import koa from 'koa';" },
          { file: 'index.ts', text: "import { batch } from '@batch/node';" },
        ]),
      ),
    ).toEqual([expect.stringContaining('public entry'), expect.stringContaining('may import')]);
  });
});

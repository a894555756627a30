// Runs every bench file in turn, each in its own `node --expose-gc` process so one bench's
// heap and JIT state cannot skew the next. Add new bench files to BENCHES.
//
//   node src/index.mjs             all benches
//   node src/index.mjs codecs      only the benches whose file name contains "codecs"
//   node src/index.mjs adapters    a group of benches (see GROUPS)
//
// Exits non-zero only when a bench process crashes (a failed output check, an exception);
// a missed performance goal is reported by the bench itself and is not a failure.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Bench files, relative to this directory, in the order they run. */
const BENCHES = [
  'codecs.mjs',
  'engine.mjs',
  'dispatch.mjs',
  'fastify-dispatch.mjs',
  'endToEnd.mjs',
  'versus.mjs',
  'client.mjs',
  'minimal.mjs',
  'records.mjs',
  'tracing.mjs',
];

/** Filter words that name several benches at once. */
const GROUPS = /** @type {Record<string, string[]>} */ ({
  adapters: ['dispatch.mjs', 'endToEnd.mjs'],
});

/**
 * Runs one bench file; resolves with its exit code (1 when killed by a signal).
 * @param {string} file
 * @returns {Promise<number>}
 */
function runBench(file) {
  const path = fileURLToPath(new URL(file, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(signal === null ? (code ?? 1) : 1));
  });
}

const filters = process.argv.slice(2);
const selected = BENCHES.filter(
  (file) =>
    filters.length === 0 ||
    filters.some(
      (filter) =>
        file.includes(filter) || (Object.hasOwn(GROUPS, filter) && GROUPS[filter].includes(file)),
    ),
);
if (selected.length === 0) {
  console.error(
    `no bench matches ${filters.join(', ')}; benches: ${BENCHES.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`,
  );
  process.exit(1);
}

/** @type {string[]} */
const failed = [];
for (const file of selected) {
  console.log(`\n=== ${file} ${'='.repeat(Math.max(0, 72 - file.length))}`);
  const started = performance.now();
  const code = await runBench(file);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\n=== ${file}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${seconds} s`);
  if (code !== 0) failed.push(file);
}
if (failed.length > 0) {
  console.error(`\n${failed.length} bench(es) failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}

// Shared helpers for the bench scripts: timing, statistics, formatting and table printing.
// Plain ESM JavaScript with JSDoc types, so Node runs it as is (no build step).

/**
 * @typedef {object} Measurement
 * @property {number[]} samples Wall time of each timed run, in nanoseconds, in run order.
 * @property {number} median Median of `samples`, in nanoseconds.
 * @property {number} min Fastest run, in nanoseconds.
 * @property {number} max Slowest run, in nanoseconds.
 * @property {unknown} result What the last timed run returned.
 */

/**
 * @typedef {object} MeasureOptions
 * @property {number} [warmup] Untimed runs first, so the JIT has compiled the hot paths. @default 3
 * @property {number} [runs] Timed runs. @default 15
 */

/** Runs a full garbage collection when Node was started with `--expose-gc`; a no-op otherwise. */
export function collectGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/** True when `collectGarbage()` really collects (the process was started with `--expose-gc`). */
export const gcExposed = typeof globalThis.gc === 'function';

/**
 * The median of `values` (the mean of the two middle values for an even count).
 * @param {readonly number[]} values
 * @returns {number}
 */
export function median(values) {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Times `fn`: collects garbage, runs it `warmup` times untimed, then `runs` times timed
 * with `process.hrtime.bigint()`. Each run is awaited before the next starts, so `fn` may
 * be sync or async; what it returns is the work's output (kept, so it is really produced).
 *
 * @param {() => unknown} fn
 * @param {MeasureOptions} [options]
 * @returns {Promise<Measurement>}
 */
export async function measure(fn, { warmup = 3, runs = 15 } = {}) {
  collectGarbage();
  for (let i = 0; i < warmup; i++) await fn();
  /** @type {number[]} */
  const samples = [];
  let result;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    result = await fn();
    const end = process.hrtime.bigint();
    samples.push(Number(end - start));
  }
  return {
    result,
    samples,
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/**
 * Times several contenders in the same rounds: `warmup` untimed rounds, then `runs` timed
 * rounds, each running every contender once. With `order: 'shuffle'` the order is shuffled
 * anew each round (from a fixed seed), so that no contender always follows the same one;
 * with `'rotate'` it rotates by one each round (for two: A B B A A B …, each following the
 * other as often as itself). Machine drift, GC debt and allocator state then fall on every
 * contender alike, where `measure()` run one contender after another lets them land on one. Besides each
 * contender's own figures, `ratio(a, b)` is the median of a's time over b's in the same
 * round: the paired comparison to quote.
 *
 * @param {readonly { name: string, run: () => unknown }[]} contenders
 * @param {MeasureOptions & { order?: 'shuffle' | 'rotate' }} [options] `order` @default 'shuffle'
 * @returns {Promise<{ results: Map<string, Measurement>, ratio: (a: string, b: string) => number }>}
 */
export async function measureInterleaved(
  contenders,
  { warmup = 3, runs = 15, order: how = 'shuffle' } = {},
) {
  collectGarbage();
  /** @type {Map<string, number[]>} */
  const samples = new Map(contenders.map((contender) => [contender.name, []]));
  /** @type {Map<string, unknown>} */
  const last = new Map();
  const random = seededRandom(contenders.length * 7919 + runs);
  const order = [...contenders];
  for (let round = 0; round < warmup + runs; round++) {
    if (how === 'rotate') {
      if (round > 0) order.push(/** @type {(typeof order)[number]} */ (order.shift()));
    } else {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    for (const contender of order) {
      const start = process.hrtime.bigint();
      const result = await contender.run();
      const end = process.hrtime.bigint();
      if (round >= warmup) {
        samples.get(contender.name)?.push(Number(end - start));
        last.set(contender.name, result);
      }
    }
  }
  /** @type {Map<string, Measurement>} */
  const results = new Map();
  for (const [name, times] of samples) {
    results.set(name, {
      result: last.get(name),
      samples: times,
      median: median(times),
      min: Math.min(...times),
      max: Math.max(...times),
    });
  }
  const ratio = (/** @type {string} */ a, /** @type {string} */ b) => {
    const over = /** @type {number[]} */ (samples.get(b));
    return median(/** @type {number[]} */ (samples.get(a)).map((time, i) => time / over[i]));
  };
  return { results, ratio };
}

// ---------------------------------------------------------------------------------------
// Formatting

/**
 * Milliseconds, from nanoseconds, with a precision that suits the magnitude.
 * @param {number} ns
 */
export function formatMs(ns) {
  const ms = ns / 1e6;
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/**
 * Throughput in MB/s (1 MB = 10^6 bytes) for `bytes` handled in `ns` nanoseconds.
 * @param {number} bytes
 * @param {number} ns
 */
export function formatMBps(bytes, ns) {
  const mbps = bytes / 1e6 / (ns / 1e9);
  return mbps >= 100 ? mbps.toFixed(0) : mbps.toFixed(1);
}

/**
 * Items per second, for `count` items handled in `ns` nanoseconds (`1.23M`, `456k`).
 * @param {number} count
 * @param {number} ns
 */
export function formatRate(count, ns) {
  const perSecond = count / (ns / 1e9);
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

/**
 * A ratio such as a median over a baseline's median: `1.23×`.
 * @param {number} value
 * @param {number} baseline
 */
export function formatRatio(value, baseline) {
  return `${(value / baseline).toFixed(2)}×`;
}

/**
 * A byte count as `1.05 MB` / `12.3 kB` (decimal units, like the MB/s column).
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

// ---------------------------------------------------------------------------------------
// Tables

/**
 * @typedef {object} Column
 * @property {string} header
 * @property {'left' | 'right'} [align] @default 'right'
 */

/**
 * Prints a plain-text table: a title line, a header row, a rule, then `rows` (cells are
 * strings). Columns are as wide as their widest cell.
 *
 * @param {string} title
 * @param {readonly Column[]} columns
 * @param {readonly (readonly string[])[]} rows
 */
export function printTable(title, columns, rows) {
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  /** @param {readonly string[]} cells */
  const line = (cells) =>
    cells
      .map((cell, i) =>
        columns[i].align === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i]),
      )
      .join('  ')
      .trimEnd();
  console.log(`\n${title}`);
  console.log(line(columns.map((column) => column.header)));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

// ---------------------------------------------------------------------------------------
// Inputs

/**
 * Splits `buffer` into `size`-byte views (the last may be shorter). No bytes are copied.
 * @param {Buffer} buffer
 * @param {number} size
 * @returns {Buffer[]}
 */
export function chunksOf(buffer, size) {
  /** @type {Buffer[]} */
  const chunks = [];
  for (let start = 0; start < buffer.length; start += size) {
    chunks.push(buffer.subarray(start, start + size));
  }
  return chunks;
}

/**
 * Yields `chunks` one by one, as a request body stream would.
 * @template T
 * @param {readonly T[]} chunks
 * @returns {AsyncGenerator<T>}
 */
export async function* streamOf(chunks) {
  for (const chunk of chunks) yield chunk;
}

/**
 * A deterministic pseudo-random generator (mulberry32): same seed, same inputs, every run.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Throws when `condition` is false: benches check their contenders' output before timing.
 * @param {unknown} condition
 * @param {string} message
 * @returns {asserts condition}
 */
export function check(condition, message) {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

/**
 * A forked server process speaking the benches' IPC protocol: it sends `{ type: 'ready',
 * … }` once it listens, answers `{ type: 'cpu' }` with `{ type: 'cpu', usage }`, and exits
 * on `{ type: 'close' }`. Resolves with the ready message's members, plus `cpu()` (its
 * user + system µs so far) and `close()`. Other messages go to `onMessage`. Every child is
 * added to `children` while it runs (so that a watchdog can kill them).
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} name for the error when it exits before it is ready
 * @param {Set<import('node:child_process').ChildProcess>} children
 * @param {(message: any) => void} [onMessage]
 * @returns {Promise<any>}
 */
export function forkedServer(child, name, children, onMessage) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  /** @type {((usage: NodeJS.CpuUsage) => void)[]} */
  const waiting = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} server exited (${code})`)));
    child.on('message', (/** @type {any} */ message) => {
      if (message.type === 'cpu') waiting.shift()?.(message.usage);
      else if (message.type !== 'ready') onMessage?.(message);
      else {
        const { type: _type, ...members } = message;
        resolve({
          ...members,
          cpu: () =>
            new Promise((resolveCpu) => {
              waiting.push((usage) => resolveCpu(usage.user + usage.system));
              child.send({ type: 'cpu' });
            }),
          close: () =>
            new Promise((resolveClose) => {
              if (child.exitCode !== null) resolveClose(undefined);
              else {
                child.once('exit', () => resolveClose(undefined));
                child.send({ type: 'close' });
              }
            }),
        });
      }
    });
  });
}

/**
 * Kills `children` and fails the bench if it still runs after `ms` (a hung server must not
 * hang CI or a developer's terminal).
 * @param {string} name
 * @param {number} ms
 * @param {Set<import('node:child_process').ChildProcess>} children
 */
export function startWatchdog(name, ms, children) {
  const watchdog = setTimeout(() => {
    console.error(`\n${name}: still running after ${ms / 1000} s; killing the servers`);
    for (const child of children) child.kill();
    process.exit(1);
  }, ms);
  watchdog.unref();
}

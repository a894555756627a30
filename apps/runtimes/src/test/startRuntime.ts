import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

/** A runtime serving `dist/<runtime>.js` on loopback. */
export interface RunningRuntime {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Stops the server (and its process); safe to call twice. */
  stop(): Promise<void>;
}

const APP_DIR = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const STARTUP_MS = 45_000;

/**
 * The Bun binary of the `bun` npm package: its install script (allowed in the root
 * package.json's `pnpm.onlyBuiltDependencies`) puts the platform's binary at `bin/bun.exe`.
 */
export function bunBinary(): string {
  return join(dirname(require.resolve('bun/package.json')), 'bin', 'bun.exe');
}

/**
 * The Deno binary of the `deno` npm package: its platform package (`@deno/linux-x64-glibc`,
 * …, an optional dependency), resolved from `deno` itself — the path its `bin.cjs` spawns,
 * without the Node process in between.
 */
export function denoBinary(): string {
  const fromDeno = createRequire(require.resolve('deno/package.json'));
  const arch = process.arch;
  const target =
    process.platform === 'linux' ? `linux-${arch}-glibc` : `${process.platform}-${arch}`;
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  return join(dirname(fromDeno.resolve(`@deno/${target}/package.json`)), exe);
}

/** `bun dist/bun.js`: `Bun.serve` on a free port. */
export function startBun(): Promise<RunningRuntime> {
  return startChild(bunBinary(), ['--no-install', 'dist/bun.js'], {
    // No transpiler cache written under the user's home for a 200 kB bundle.
    BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0',
  });
}

/** `deno run dist/deno.js`: `Deno.serve` on a free port, allowed loopback only. */
export async function startDeno(): Promise<RunningRuntime> {
  // Deno's caches go to a folder of this run, removed with the server.
  const denoDir = await mkdtemp(join(tmpdir(), 'batch-deno-'));
  try {
    const running = await startChild(
      denoBinary(),
      ['run', '--no-config', '--no-npm', '--no-remote', '--allow-net=127.0.0.1', 'dist/deno.js'],
      { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' },
    );
    return {
      origin: running.origin,
      async stop() {
        await running.stop();
        await rm(denoDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(denoDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * `dist/worker.js` as a Cloudflare Worker in workerd (the `workerd` npm package's binary,
 * run by Miniflare), with a binding (`GREETING`), listening on a free port.
 */
export async function startWorkerd(): Promise<RunningRuntime> {
  const miniflare = new Miniflare({
    modules: true,
    scriptPath: join(APP_DIR, 'dist', 'worker.js'),
    compatibilityDate: '2026-04-01',
    bindings: { GREETING: 'hello from a binding' },
    host: '127.0.0.1',
    port: 0,
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= miniflare.dispose();
    return stopped;
  };
  try {
    const url = await withTimeout(miniflare.ready, 'workerd (Miniflare) did not start');
    return { origin: url.origin, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Spawns a server that prints `{"listening":<port>}` as its first line; rejects (with what
 * it wrote) if it exits or stays silent first, after stopping it.
 */
async function startChild(
  binary: string,
  args: string[],
  env: Record<string, string>,
): Promise<RunningRuntime> {
  const child = spawn(binary, args, {
    cwd: APP_DIR,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = () => stopChild(child, exited);
  try {
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          const newline = stdout.indexOf('\n');
          if (newline === -1) return;
          const line = stdout.slice(0, newline);
          let port: unknown;
          try {
            port = (JSON.parse(line) as { listening?: unknown }).listening;
          } catch {}
          if (typeof port === 'number') resolve(port);
          else reject(new Error(`unexpected first line: ${line}`));
        });
        child.once('error', reject);
        child.once('exit', (code, signal) =>
          reject(new Error(`exited (${signal ?? code}) before listening`)),
        );
      }),
      `${binary} did not print its port`,
    );
    return { origin: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw new Error(`${binary} ${args.join(' ')}: ${(error as Error).message}\n${output}`);
  }
}

/** SIGTERM, then SIGKILL if it is still there after 10 s; resolves when it has exited. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  // No pid: it never started (the 'error' event said why).
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${STARTUP_MS} ms`)), STARTUP_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

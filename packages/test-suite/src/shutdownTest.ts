import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The batch the test sends: the Kinto documentation's, on a fresh store: 201, 201, 200. */
const BATCH = JSON.stringify({
  defaults: { method: 'POST', path: '/articles' },
  requests: [
    { body: { title: 'MoFo', url: 'http://mozilla.org' } },
    { body: { title: 'MoCo', url: 'http://mozilla.com' } },
    { method: 'PATCH', path: '/articles/1', body: { read_position: 3477 } },
  ],
});

/** Generous: the CI machine is a busy 2-core box. Nothing is asserted closer than this. */
const MARGIN_MS = 15_000;

/** SHUTDOWN_TIMEOUT_MS of the runs whose batch must finish: far longer than it takes. */
const LONG_BOUND_MS = 30_000;

interface Started {
  child: ChildProcessByStdio<null, Readable, null>;
  port: number;
  /** Resolves when the output so far contains `text`. */
  printed(text: string): Promise<void>;
  output(): string;
  /** Exit code and signal of the top process, and when it exited (`Date.now()`). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `command` in `cwd`, in its own process group; resolves once it printed its banner. */
async function start(
  [command, ...args]: [string, ...string[]],
  cwd: string,
  framework: string,
  env: NodeJS.ProcessEnv,
) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, PORT: '0', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const waiting = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    for (const check of waiting) check();
  });
  const exited = new Promise<Awaited<Started['exited']>>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!output.includes(text)) return;
        waiting.delete(check);
        resolve();
      };
      waiting.add(check);
      check();
      void exited.then(() => {
        if (waiting.delete(check))
          reject(new Error(`exited before printing "${text}":\n${output}`));
      });
    });
  const started: Started = { child, port: 0, printed, output: () => output, exited };
  const banner = new RegExp(`\\(${framework}\\) listening on http://localhost:(\\d+)`);
  await printed('(Ctrl+C stops the server)');
  const match = banner.exec(output);
  if (!match) throw new Error(`no banner:\n${output}`);
  started.port = Number(match[1]);
  return started;
}

/** Kills what the test started and is still running (after a failure): the whole group. */
function cleanUp({ child }: Started): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * A batch whose upload the test controls: the request line and headers go out at once, with
 * `Expect: 100-continue`; resolves once the server answered `100 Continue` (it is handling
 * the batch). `rest()` sends the body; `answer` is the status and body the client gets.
 */
async function openBatch(port: number) {
  const body = Buffer.from(BATCH);
  const req: ClientRequest = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/batch',
    headers: {
      authorization: 'Bearer alice',
      'content-type': 'application/json',
      'content-length': body.length,
      expect: '100-continue',
    },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      res.once('error', reject);
      res.once('aborted', () => reject(new Error('the answer was cut off')));
      res.once('end', () => resolve({ status: res.statusCode!, body: text }));
    });
  });
  answer.catch(() => undefined); // read by the test; not an unhandled rejection meanwhile
  await new Promise<void>((resolve, reject) => {
    req.once('continue', resolve);
    req.once('error', reject);
    req.flushHeaders();
  });
  const half = Math.floor(body.length / 2);
  req.write(body.subarray(0, half));
  return { answer, rest: () => req.end(body.subarray(half)) };
}

/** Whether a new TCP connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The shutdown test of an example app (`appDir`), started as the README says: the root
 * `pnpm <script>` (`start`, `start:koa`, `start:hono`), which a service manager, a container
 * or CI starts and signals. SIGTERM to that top process (or Ctrl+C: SIGINT to its whole
 * process group) must reach the server, which lets a running batch finish, refuses new
 * connections, closes its store and exits 0; pnpm then exits 0. A batch that runs longer
 * than SHUTDOWN_TIMEOUT_MS is cut off, and the server (`node dist/server.js`) still exits 0.
 *
 * The running batch is one whose body is still arriving: the production app has no slow
 * route, and needs no test-only one; to the server a batch in flight is a batch in flight.
 */
export function shutdownTest(framework: string, appDir: string, script: string): void {
  describe(`stopping the ${framework} example`, () => {
    // The test writes articles: on a scratch database file, not the reading list in data/.
    const scratch = mkdtempSync(join(tmpdir(), `${framework.toLowerCase()}-example-`));
    beforeAll(() => {
      process.env.DATABASE = join(scratch, 'reading-list.db');
    });
    afterAll(() => {
      delete process.env.DATABASE;
      rmSync(scratch, { recursive: true, force: true });
    });
    const signals = [
      { name: 'SIGTERM to the pnpm process', signal: 'SIGTERM', group: false },
      { name: 'Ctrl+C (SIGINT to the process group)', signal: 'SIGINT', group: true },
    ] as const;
    for (const { name, signal, group } of signals) {
      it(`pnpm ${script}, ${name}: the running batch gets its whole answer, new connections are refused, exit 0`, async () => {
        const app = await start(['pnpm', script], ROOT, framework, {
          SHUTDOWN_TIMEOUT_MS: String(LONG_BOUND_MS),
        });
        try {
          const batch = await openBatch(app.port);
          process.kill(group ? -app.child.pid! : app.child.pid!, signal);
          await app.printed(`${signal}: stopping`);
          const stoppedAt = Date.now();
          expect(await refused(app.port)).toBe(true);

          await pause(1_000); // a slow client: the batch runs on across the signal
          batch.rest();
          const answer = await batch.answer;
          expect(answer.status).toBe(200);
          const { responses } = JSON.parse(answer.body) as { responses: { status: number }[] };
          expect(responses.map((item) => item.status)).toEqual([201, 201, 200]);

          const exit = await app.exited;
          expect(exit).toMatchObject({ code: 0, signal: null });
          expect(exit.at - stoppedAt).toBeLessThan(LONG_BOUND_MS); // not held until the bound
          expect(app.output()).toContain('\nstopped\n'); // after the store was closed
        } finally {
          cleanUp(app);
        }
      }, 90_000);
    }

    it('node dist/server.js, SIGTERM: a batch still running after SHUTDOWN_TIMEOUT_MS is cut off, exit 0', async () => {
      const bound = 500;
      const app = await start(['node', 'dist/server.js'], appDir, framework, {
        SHUTDOWN_TIMEOUT_MS: String(bound),
      });
      try {
        const batch = await openBatch(app.port); // and its body never ends
        process.kill(app.child.pid!, 'SIGTERM');
        await app.printed('SIGTERM: stopping');
        const stoppedAt = Date.now();

        await expect(batch.answer).rejects.toThrow();
        const exit = await app.exited;
        expect(exit).toMatchObject({ code: 0, signal: null });
        expect(exit.at - stoppedAt).toBeLessThan(bound + MARGIN_MS);
        expect(app.output()).toContain(`still running after ${bound} ms: aborting them`);
        expect(app.output()).toContain('\nstopped\n');
      } finally {
        cleanUp(app);
      }
    }, 60_000);
  });
}

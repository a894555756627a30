import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForOutput } from './waitForOutput.js';

/** A Redis server for one test file, and how to stop it. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` — what `createClient({ url })` takes. */
  url: string;
  /**
   * Stops it: a local `redis-server` exits; with `REDIS_URL`, the loopback proxy in front of
   * that server closes with every connection it carried. Either way, clients connected
   * through `url` lose their connection and cannot reconnect. Safe to call twice.
   */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `redis-server` (from `PATH`) on a free loopback port, with nothing
 * persisted (`--save '' --appendonly no`, in a temporary directory removed on `stop`). When
 * `REDIS_URL` is set (a `redis://` URL), that server is used instead, through a loopback TCP
 * proxy that `stop` closes — so a test can take Redis away mid-test either way. Rejects
 * (never skips) when no server can be had.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== '') return proxyTo(new URL(external));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await spawnRedis(await freePort());
    } catch (error) {
      lastError = error; // The free port may have been taken meanwhile: another one.
    }
  }
  throw new Error(
    `could not start redis-server (install it: apt-get install -y redis-server, or set REDIS_URL): ${String(lastError)}`,
    { cause: lastError },
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function spawnRedis(port: number): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'batch-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'notice',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  exited.then(() => running.delete(child));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await Promise.race([
      waitForOutput(child, (output) =>
        output.includes('Ready to accept connections') ? true : undefined,
      ),
      spawnFailed,
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  return { url: `redis://127.0.0.1:${port}`, stop };
}

async function proxyTo(target: URL): Promise<RedisServer> {
  const port = Number(target.port || 6379);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(port, target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy has no port');
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  let stopped: Promise<void> | undefined;
  return {
    url: url.href,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
}

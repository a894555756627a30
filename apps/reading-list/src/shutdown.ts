import type { Server } from 'node:http';

/** How long running requests get to finish once a stop signal came, unless `SHUTDOWN_TIMEOUT_MS` says. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** A second signal counts only this long after the first: Ctrl+C under `pnpm start` arrives twice. */
const REPEAT_MS = 1_000;

/** `SHUTDOWN_TIMEOUT_MS` (whole milliseconds, 0 or more), or the default when it is unset. */
export function shutdownTimeoutMs(value = process.env.SHUTDOWN_TIMEOUT_MS): number {
  if (value === undefined || value.trim() === '') return DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new Error(`SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds, not "${value}"`);
  }
  return ms;
}

/**
 * The store's close hook: releases what the store holds once no request runs any more —
 * `ArticleStore.close()` closes its SQLite database (after a transaction still open). A
 * store without `close` holds nothing, and is left as it is.
 */
export async function closeStore(store: object): Promise<void> {
  const { close } = store as { close?: unknown };
  if (typeof close === 'function') await close.call(store);
}

export interface StopOnSignalsOptions {
  /** How long running requests may take to finish before their connections are closed. */
  timeoutMs: number;
  /** Called once every connection is closed, before the process exits: closes the store. */
  close: () => unknown;
  /** @default console.log */
  log?: (line: string) => void;
}

/**
 * Stops `server` gracefully on SIGTERM (a service manager, a container, CI) and SIGINT
 * (Ctrl+C), then exits the process with 0:
 *
 * 1. stop accepting connections (new ones are refused) and close the idle keep-alive ones;
 *    a connection whose request is still running stays open until its answer is written,
 *    and is closed then;
 * 2. after `timeoutMs`, close the connections still open: closing its connection aborts a
 *    running batch (SPEC §4 "Cancellation": items not started never start, running ones
 *    see an aborted signal);
 * 3. once no connection is left, `close()` (the store), and exit 0 (1 if `close` throws).
 *
 * A second signal, at least a second after the first, skips the rest of the wait: it
 * aborts the running requests at once (then step 3). Signals repeated within that second
 * count as the first: Ctrl+C under `pnpm start` reaches the server twice, from the terminal
 * and forwarded by pnpm.
 */
export function stopOnSignals(server: Server, options: StopOnSignalsOptions): void {
  const { timeoutMs, close, log = console.log } = options;
  let stopping: { at: number; abort: () => void } | undefined;

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (Date.now() - stopping.at >= REPEAT_MS) {
        log(`${signal} again: aborting the requests still running`);
        stopping.abort();
      }
      return;
    }
    // Node closes the idle keep-alive connections in close(); one whose answer is written
    // later would stay open for keepAliveTimeout (5 s): close each as soon as it is idle.
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const abort = () => {
      clearTimeout(bound);
      server.closeAllConnections();
    };
    const bound = setTimeout(() => {
      log(`still running after ${timeoutMs} ms: aborting them`);
      abort();
    }, timeoutMs);
    stopping = { at: Date.now(), abort };

    // Closes the listening socket at once (so the line below is true when it is printed).
    // The callback runs once the last connection is closed (with an error when the server
    // was not listening: there is nothing to wait for then either).
    server.close(async () => {
      clearInterval(idle);
      clearTimeout(bound);
      try {
        await close();
      } catch (error) {
        console.error('closing the store failed:', error);
        process.exit(1);
      }
      log('stopped');
      process.exit(0);
    });
    log(
      `${signal}: stopping; new connections are refused, requests still running get up to ${timeoutMs} ms to finish`,
    );
  };

  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

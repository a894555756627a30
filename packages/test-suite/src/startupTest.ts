import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitForOutput } from './waitForOutput.js';

/**
 * The startup test of an example app: `pnpm start` in `appDir` with `PORT=0` prints the
 * banner with its URL and three curl batches (the last a minimal import), and the app answers
 * `GET /` with its service info.
 */
export function startupTest(framework: string, appDir: string): void {
  describe('pnpm start', () => {
    it('prints its URL and three curl batches, and answers GET /', async () => {
      // Its own process group, signalled as a whole (as Ctrl+C in a terminal does): the app's
      // `pnpm start` runs `node dist/server.js` under `sh -c`, and pnpm passes SIGTERM to
      // that shell only, which does not pass it on (shutdownTest: the root scripts exec it).
      const child = spawn('pnpm', ['start'], {
        cwd: appDir,
        env: { ...process.env, PORT: '0' },
        shell: false,
        detached: true,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('close', resolve));
      const banner = new RegExp(`\\(${framework}\\) listening on (http://localhost:\\d+)`);
      try {
        const { url, output } = await waitForOutput(child, (output) => {
          const match = banner.exec(output);
          return match && output.includes('Ctrl+C') ? { url: match[1]!, output } : undefined;
        });
        expect(output.split(`curl -s ${url}/batch `)).toHaveLength(4);
        expect(output).toContain(`curl -s -i ${url}/batch `); // the safe-retry example (Idempotency-Key)
        expect(output).toContain("-H 'Prefer: return=minimal'");
        const response = await fetch(`${url}/`);
        expect(response.status).toBe(200);
        expect(((await response.json()) as { batch: { path: string } }).batch.path).toBe('/batch');
      } finally {
        process.kill(-child.pid!, 'SIGTERM');
        await exited;
      }
    }, 30_000);
  });
}

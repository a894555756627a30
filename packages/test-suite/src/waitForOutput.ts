import type { ChildProcess } from 'node:child_process';

/**
 * Reads what a started program prints until `find` finds what the test waits for (a
 * banner's URL, say) and resolves with it; rejects when the program exits first or after
 * `timeoutMs`, with everything it printed.
 */
export function waitForOutput<T>(
  child: ChildProcess,
  find: (output: string) => T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`not printed in ${timeoutMs / 1000} s:\n${output}`)),
      timeoutMs,
    );
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const found = find(output);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
}

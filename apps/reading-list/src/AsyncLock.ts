/**
 * A first-come, first-served lock for asynchronous work: `run(task)` starts `task` once
 * every task queued before it has settled, and answers what it answers. A task that fails
 * does not break the queue.
 */
export class AsyncLock {
  #tail: Promise<unknown> = Promise.resolve();
  #queued = 0;

  /** Tasks holding or waiting for the lock. */
  get queued(): number {
    return this.#queued;
  }

  run<T>(task: () => T | Promise<T>): Promise<T> {
    this.#queued++;
    const result = this.#tail.then(task);
    this.#tail = result.then(
      () => this.#queued--,
      () => this.#queued--,
    );
    return result;
  }
}

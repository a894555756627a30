/**
 * What the engine needs of the signal that says the client went away (`BatchInput.signal`):
 * a WHATWG `AbortSignal` is one, and so is a `ClientAbort`.
 */
export interface AbortSource {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A one-shot abort flag with listeners, for adapters to tell the engine that the client went
 * away: what an `AbortController` does for a batch, without an `EventTarget`. In a busy
 * Node server an `AbortController` per batch (made, listened to, collected) cost more than
 * decoding and encoding a batch of one; this costs an object and an array.
 * Listeners are called once, in the order they were added; one added after the abort is
 * not called (read `aborted` first, as with an `AbortSignal`).
 */
export class ClientAbort implements AbortSource {
  #aborted = false;
  #reason: unknown;
  #listeners: Set<() => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Listeners are called once whatever `options` say (there is one abort). */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.#aborted) return;
    this.#listeners ??= new Set();
    this.#listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners?.delete(listener);
  }

  /** Aborts (once): each listener is called, and forgotten. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        // As an `EventTarget` does: the others still run, the error is reported.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Aborts (with its reason) when `source` does; returns how to stop following it. */
  follow(source: AbortSource): () => void {
    const abort = () => this.abort(source.reason);
    if (source.aborted) {
      abort();
      return () => {};
    }
    source.addEventListener('abort', abort, { once: true });
    return () => source.removeEventListener('abort', abort);
  }

  /** Forgets every listener without calling it (what listened is over). */
  protected forgetListeners(): void {
    this.#listeners = undefined;
  }
}

import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { stopWaitingForAbort, waitForAbort } from './waitForAbort.js';

const waiter = (calls: string[], name: string) => ({ onAbort: () => calls.push(name) });

describe('waitForAbort', () => {
  it('gives a signal one listener, whatever the number of waiters, and tells each once', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    for (let i = 0; i < 40; i++) waitForAbort(controller.signal, waiter(calls, String(i)));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    controller.abort();
    expect(calls).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
  });

  it('forgets a waiter, and takes new ones after an abort on a fresh listener', () => {
    const first = new AbortController();
    const calls: string[] = [];
    const forgotten = waiter(calls, 'forgotten');
    waitForAbort(first.signal, forgotten);
    waitForAbort(first.signal, waiter(calls, 'kept'));
    stopWaitingForAbort(first.signal, forgotten);
    first.abort();
    expect(calls).toEqual(['kept']);
    stopWaitingForAbort(first.signal, forgotten);

    const second = new AbortController();
    waitForAbort(second.signal, waiter(calls, 'second'));
    second.abort();
    expect(calls).toEqual(['kept', 'second']);
  });
});

import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort } from './onAbort.js';

describe('onAbort', () => {
  it('gives a signal one listener, whatever the number of callbacks, and calls each once', () => {
    const controller = new AbortController();
    const calls: number[] = [];
    for (let i = 0; i < 40; i++) onAbort(controller.signal, () => calls.push(i));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    controller.abort();
    expect(calls).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('forgets a callback, and takes new ones after an abort on a fresh listener', () => {
    const first = new AbortController();
    const calls: string[] = [];
    const forget = onAbort(first.signal, () => calls.push('forgotten'));
    onAbort(first.signal, () => calls.push('kept'));
    forget();
    first.abort();
    expect(calls).toEqual(['kept']);

    const second = new AbortController();
    onAbort(second.signal, () => calls.push('second'));
    second.abort();
    expect(calls).toEqual(['kept', 'second']);
  });
});

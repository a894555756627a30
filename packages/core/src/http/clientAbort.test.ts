import { describe, expect, it, vi } from 'vitest';
import { ClientAbort } from './clientAbort.js';

describe('ClientAbort', () => {
  it('calls each listener once, in order, with its reason readable', () => {
    const abort = new ClientAbort();
    const calls: string[] = [];
    abort.addEventListener('abort', () => calls.push(`a:${String(abort.reason)}`));
    abort.addEventListener('abort', () => calls.push('b'), { once: true });
    expect(abort.aborted).toBe(false);
    abort.abort('gone');
    abort.abort('again');
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe('gone');
    expect(calls).toEqual(['a:gone', 'b']);
  });

  it('forgets a removed listener, and calls none added after the abort', () => {
    const abort = new ClientAbort();
    const removed = vi.fn();
    const kept = vi.fn();
    abort.addEventListener('abort', removed);
    abort.addEventListener('abort', kept);
    abort.removeEventListener('abort', removed);
    abort.abort();
    const late = vi.fn();
    abort.addEventListener('abort', late);
    expect(removed).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledOnce();
    expect(late).not.toHaveBeenCalled();
  });

  it('runs the other listeners when one throws, and reports the error', () => {
    const abort = new ClientAbort();
    const after = vi.fn();
    // The error is thrown from a microtask of its own (as an EventTarget reports it): caught here.
    const reported: unknown[] = [];
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementationOnce((task) => {
      try {
        task();
      } catch (error) {
        reported.push(error);
      }
    });
    abort.addEventListener('abort', () => {
      throw new Error('listener failed');
    });
    abort.addEventListener('abort', after);
    abort.abort();
    expect(after).toHaveBeenCalledOnce();
    expect(reported).toEqual([new Error('listener failed')]);
    vi.restoreAllMocks();
  });

  it('follows an AbortSignal (aborted already or later) until told to stop', () => {
    const early = new AbortController();
    early.abort('before');
    const first = new ClientAbort();
    first.follow(early.signal);
    expect([first.aborted, first.reason]).toEqual([true, 'before']);

    const later = new AbortController();
    const second = new ClientAbort();
    second.follow(later.signal);
    expect(second.aborted).toBe(false);
    later.abort('after');
    expect([second.aborted, second.reason]).toEqual([true, 'after']);

    const ignored = new AbortController();
    const third = new ClientAbort();
    const stop = third.follow(ignored.signal);
    stop();
    ignored.abort();
    expect(third.aborted).toBe(false);
  });

  it('follows another ClientAbort', () => {
    const outer = new ClientAbort();
    const inner = new ClientAbort();
    inner.follow(outer);
    outer.abort('client left');
    expect([inner.aborted, inner.reason]).toEqual([true, 'client left']);
  });
});

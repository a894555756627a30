import type { BatchOptions } from '@batch/core';
import { decodeBatchResponse } from '@batch/core';
import { describe, expect, it } from 'vitest';
import type { RunningApp } from './testApp.js';

/**
 * Hostile input (issue 18): each case was a hole an attacker could use on every adapter —
 * a nested batch through a fragment or a spelling the router resolves, `defaults.body`
 * multiplied by the items, a body nested thousands of levels deep, quadratic header
 * trimming, inherited object keys as headers, control bytes in multipart headers.
 */
export function hostileInputSuite(start: (batch?: BatchOptions) => Promise<RunningApp>): void {
  let shared: Promise<RunningApp> | undefined;
  const app = () => {
    shared ??= start();
    return shared;
  };
  const decoder = new TextDecoder();

  async function postJson(document: unknown, headers: Record<string, string> = {}) {
    return postRaw('application/json', JSON.stringify(document), headers);
  }
  async function postRaw(
    contentType: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; type: string; text: string; running: RunningApp }> {
    const running = await app();
    const response = await fetch(`${running.url}/batch`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...headers },
      body,
    });
    const text = decoder.decode(await response.arrayBuffer());
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text,
      running,
    };
  }
  const multipart = (parts: string[]) =>
    `${parts.map((part) => `--b\r\nContent-Type: application/http\r\n${part}`).join('\r\n')}\r\n--b--\r\n`;

  describe('hostile input', () => {
    it.each([
      '/batch#x',
      '/x\\..\\batch',
      '/echo/..\\..\\batch',
      '/x/%2e%2e/batch',
      '/x/.%2E/batch',
      '/%62atch',
      '/BATCH/',
      '\\batch',
    ])('refuses a nested batch at %s (400, nothing runs)', async (path) => {
      const running = await app();
      const before = running.log.length;
      const sent = await postJson({
        requests: [
          { path: '/echo/first' },
          { method: 'POST', path, body: { requests: [{ path: '/echo/nested' }] } },
        ],
      });
      expect(sent.status).toBe(400);
      expect(sent.type).toContain('application/problem+json');
      expect(JSON.parse(sent.text).errors[0].pointer).toBe('/requests/1/path');
      expect(running.log.slice(before)).toEqual([]);
    });

    it('refuses a fragment in any target, in both formats (400 naming the item)', async () => {
      const running = await app();
      const before = running.log.length;
      const json = await postJson({ requests: [{ path: '/echo' }, { path: '/echo#top' }] });
      expect(json.status).toBe(400);
      const problem = JSON.parse(json.text);
      expect(problem.errors).toEqual([
        { pointer: '/requests/1/path', detail: expect.stringContaining('fragment') },
      ]);
      for (const line of ['POST /batch#x HTTP/1.1', 'GET /echo#x HTTP/1.1']) {
        const sent = await postRaw(
          'multipart/mixed; boundary=b',
          multipart(['\r\nGET /echo HTTP/1.1\r\n', `\r\n${line}\r\n`]),
        );
        expect(sent.status).toBe(400);
        expect(JSON.parse(sent.text).errors).toEqual([
          { part: 2, detail: expect.stringContaining('fragment') },
        ]);
      }
      expect(running.log.slice(before)).toEqual([]);
    });

    it('bounds the merged batch: a defaults.body taken by every item is a 413 naming the item past the bound', async () => {
      // Small enough for an app whose own JSON parser (100 KB) reads the batch first.
      const running = await start({ maxBodyBytes: 32 * 1024 });
      const before = running.log.length;
      const big = 'x'.repeat(20 * 1024);
      const response = await fetch(`${running.url}/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          defaults: { method: 'POST', path: '/echo', body: { big } },
          requests: Array.from({ length: 100 }, () => ({})),
        }),
      });
      expect(response.status).toBe(413);
      const problem = (await response.json()) as { errors: unknown[] };
      // 2 × 32 KiB: the fourth item's copy of 20 KiB is past the bound.
      expect(problem.errors).toEqual([
        { pointer: '/requests/3', detail: expect.stringContaining(String(64 * 1024)) },
      ]);
      expect(running.log.slice(before)).toEqual([]);
      // Within the bound, every item receives the defaults' body whole.
      const within = await fetch(`${running.url}/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          defaults: { method: 'POST', path: '/echo', body: { big: 'y'.repeat(1000) } },
          requests: [{}, { body: { own: 1 } }, {}],
        }),
      });
      const parts = ((await within.json()) as { responses: Array<{ body: { body: unknown } }> })
        .responses;
      expect(parts.map((part: { body: { body: unknown } }) => part.body.body)).toEqual([
        { big: 'y'.repeat(1000) },
        { own: 1, big: 'y'.repeat(1000) },
        { big: 'y'.repeat(1000) },
      ]);
    });

    it('answers 400 naming the item for a body nested thousands of levels deep; a deep one within the bound reaches the app', async () => {
      const running = await app();
      const before = running.log.length;
      const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const deep = await postRaw(
        'application/json',
        `{"requests":[{"path":"/echo"},{"method":"POST","path":"/echo","body":${nested(5000)}}]}`,
      );
      expect(deep.status).toBe(400);
      expect(JSON.parse(deep.text).errors).toEqual([
        { pointer: '/requests/1/body', detail: expect.stringContaining('nested') },
      ]);
      const merged = await postRaw(
        'application/json',
        `{"defaults":{"method":"POST","path":"/echo","body":{"a":${nested(5000)}}},"requests":[{}]}`,
      );
      expect(merged.status).toBe(400);
      expect(running.log.slice(before)).toEqual([]);
      const ok = await postRaw(
        'application/json',
        `{"defaults":{"body":{"d":1}},"requests":[{"method":"POST","path":"/echo","body":{"a":${nested(200)}}}]}`,
      );
      expect(ok.status).toBe(200);
      const [answer] = await decodeBatchResponse({
        contentType: ok.type,
        body: new TextEncoder().encode(ok.text),
      });
      expect(answer?.status).toBe(200);
      let echoed = JSON.parse(decoder.decode(answer!.body)).body.a;
      let depth = 0;
      while (Array.isArray(echoed)) {
        depth++;
        echoed = echoed[0];
      }
      expect(depth).toBe(200);
    });

    it('keeps a long whitespace run inside a header the app sets, in linear time', async () => {
      const value = `a${' '.repeat(300_000)}b`;
      const started = Date.now();
      const sent = await postJson({
        requests: [0, 1, 2].map(() => ({ path: '/header?spaces=300000' })),
      });
      // Quadratic trimming took minutes for this; linear takes milliseconds.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(sent.status).toBe(200);
      const { responses } = JSON.parse(sent.text);
      for (const response of responses) expect(response.headers['X-Echo']).toBe(value);
    }, 60_000);

    it('passes a header named like an Object.prototype member as a header, in both formats', async () => {
      const json = await postJson({
        requests: [
          { path: '/header?name=constructor', headers: { constructor: 'x' } },
          { path: '/header?name=toString', headers: { toString: 'y', 'x-custom': 'z' } },
        ],
      });
      expect(json.status).toBe(200);
      const values = JSON.parse(json.text).responses.map(
        (response: { body: { value: unknown } }) => response.body.value,
      );
      expect(values).toEqual(['x', 'y']);
      const sent = await postRaw(
        'multipart/mixed; boundary=b',
        multipart(['\r\nGET /header?name=hasOwnProperty HTTP/1.1\r\nhasOwnProperty: h\r\n']),
      );
      expect(sent.status).toBe(200);
      expect(sent.text).toContain('{"value":"h"}');
    });

    it.each([
      ['an inner header value', '\r\nGET /echo HTTP/1.1\r\nX-Custom: a\u0001b\r\n'],
      ['an inner header value (DEL)', '\r\nGET /echo HTTP/1.1\r\nX-Custom: a\u007fb\r\n'],
      ['a Content-ID', 'Content-ID: <a\u001b[31m>\r\n\r\nGET /echo HTTP/1.1\r\n'],
      ['a part header', 'X-Note: a\u000bb\r\n\r\nGET /echo HTTP/1.1\r\n'],
    ])('refuses a control byte in %s of a multipart batch (400, like JSON)', async (_, part) => {
      const running = await app();
      const before = running.log.length;
      const sent = await postRaw('multipart/mixed; boundary=b', multipart([part]));
      expect(sent.status).toBe(400);
      expect(JSON.parse(sent.text).errors).toEqual([{ part: 1, detail: expect.any(String) }]);
      expect(sent.text).not.toContain('\u001b');
      expect(running.log.slice(before)).toEqual([]);
      const json = await postJson({
        requests: [
          {
            path: '/echo',
            headers: { 'X-Custom': part.includes('\u007f') ? 'a\u007fb' : 'a\u0001b' },
          },
        ],
      });
      expect(json.status).toBe(400);
    });
  });
}

import {
  type BatchFormat,
  decodeBatchResponse,
  encodeBatchRequest,
  type SubRequestInit,
} from '@batch/core';
import { describe, expect, it } from 'vitest';
import type { RunningApp } from './testApp.js';

// SPEC §3 "Failures at a glance" and §7 `Prefer`, through the adapter, over HTTP.

const decoder = new TextDecoder();

async function post(
  app: RunningApp,
  format: BatchFormat,
  requests: SubRequestInit[],
  headers: Record<string, string> = {},
) {
  const encoded = encodeBatchRequest(format, requests);
  const response = await fetch(`${app.url}/batch`, {
    method: 'POST',
    headers: { 'content-type': encoded.contentType, ...headers },
    body: encoded.body as Uint8Array<ArrayBuffer>,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  expect(response.status).toBe(200);
  const contentType = response.headers.get('content-type');
  return {
    headers: response.headers,
    text: decoder.decode(bytes),
    parts: await decodeBatchResponse({ contentType, body: bytes }),
  };
}

/** A 200 JSON, a 401, a 204, a binary body, a 302 with Location, a streamed body, a 500. */
const MIXED: SubRequestInit[] = [
  {
    method: 'POST',
    target: '/echo/1',
    headers: [['Content-Type', 'application/json']],
    body: '{}',
  },
  { target: '/private' },
  { target: '/empty' },
  { target: '/binary' },
  { target: '/redirect' },
  { target: '/stream' },
  { target: '/fail' },
];
const MIXED_STATUSES = [200, 401, 204, 200, 302, 200, 500];

/** The Prefer and failed cases of the conformance suite (`app`: the suite's default app). */
export function preferenceScenarios(app: () => Promise<RunningApp>): void {
  describe('failed (SPEC §3)', () => {
    it('a streamed JSON answer ends with "failed", after "responses"', async () => {
      const sent = await post(await app(), 'json', [
        { target: '/slow/40' },
        { target: '/private' },
        { target: '/fail' },
        { target: '/echo/x' },
      ]);
      // It waited on an item, so it streamed: no Content-Length.
      expect(sent.headers.get('content-length')).toBeNull();
      expect(sent.text.endsWith('],"failed":[1,2]}')).toBe(true);
      expect(JSON.parse(sent.text).failed).toEqual([1, 2]);
    });

    it('a whole JSON answer says "failed": [] when nothing failed; JSON Lines and multipart carry none', async () => {
      const whole = await post(await app(), 'json', [{ target: '/echo/1' }]);
      expect(whole.text.endsWith('}],"failed":[]}')).toBe(true);
      const lines = await post(await app(), 'json', [{ target: '/private' }], {
        accept: 'application/jsonl',
      });
      expect(lines.text).not.toContain('"failed"');
      const multipart = await post(await app(), 'multipart', [{ target: '/private' }]);
      expect(multipart.text).not.toContain('failed');
    });
  });

  describe('Prefer: return=minimal (SPEC §7)', () => {
    it.each([
      ['json', {}],
      ['json', { accept: 'application/jsonl' }],
      ['multipart', {}],
    ] as Array<[BatchFormat, Record<string, string>]>)(
      '%s %j: answers < 400 without body nor body headers, failed ones whole',
      async (format, extra) => {
        const sent = await post(await app(), format, MIXED, {
          prefer: 'return=minimal',
          ...extra,
        });
        expect(sent.headers.get('preference-applied')).toBe('return=minimal');
        expect(sent.parts.map((part) => part.status)).toEqual(MIXED_STATUSES);
        sent.parts.forEach((part, index) => {
          const names = part.headers.map(([name]) => name.toLowerCase());
          if (part.status >= 400) {
            expect(names).toContain('content-type');
            expect(part.body.length).toBeGreaterThan(0);
            return;
          }
          expect(part.body, `item ${index}`).toHaveLength(0);
          expect(names).not.toContain('content-type');
          expect(names).not.toContain('transfer-encoding');
          if (format === 'multipart') expect(part.headers).toContainEqual(['Content-Length', '0']);
          else expect(names).not.toContain('content-length');
        });
        expect(JSON.parse(decoder.decode(sent.parts[1]!.body))).toEqual({ error: 'unauthorized' });
        expect(
          sent.parts[4]!.headers.find(([name]) => name.toLowerCase() === 'location')?.[1],
        ).toBe('/echo');
        if (format === 'json' && extra.accept === undefined) {
          const answer = JSON.parse(sent.text);
          expect(answer.failed).toEqual([1, 6]);
          const withBody = answer.responses.map((item: object) => 'body' in item);
          expect(withBody).toEqual([false, true, false, false, false, false, true]);
        }
      },
    );

    // respond-async makes the batch asynchronous (SPEC §9): that it is never passed on is
    // checked by the asynchronous batches' cases.
    it('Prefer is passed on to items as it was sent', async () => {
      const sent = await post(await app(), 'json', [{ target: '/header?name=prefer' }], {
        prefer: 'handling=lenient, wait=5',
      });
      expect(sent.headers.get('preference-applied')).toBeNull();
      expect(JSON.parse(decoder.decode(sent.parts[0]!.body))).toEqual({
        value: 'handling=lenient, wait=5',
      });
    });
  });
}

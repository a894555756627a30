import { describe, expect, it } from 'vitest';
import { problemResponse } from '../../http/problems.js';
import type { DecodedBatch, SubRequest } from '../../model/types.js';
import type { PlannedItem } from '../planBatch.js';
import { decodeRecordedAnswer, encodeRecordedAnswer } from './answerCodec.js';
import { createMemoryRecordStore } from './createMemoryRecordStore.js';
import { fingerprintOf, sha256Hex } from './fingerprint.js';
import { RecordedBatch } from './recordedBatch.js';

const encoder = new TextEncoder();
const request = (method: string, target: string, extra: Partial<SubRequest> = {}): SubRequest => ({
  method,
  target,
  headers: [],
  body: new Uint8Array(0),
  ...extra,
});
const planned = (requests: SubRequest[]): PlannedItem[] =>
  requests.map((r) => ({ request: r, path: r.target, dependsOn: undefined }));
const policy = () => ({
  store: createMemoryRecordStore(),
  leaseMs: 30_000,
  retentionMs: 60_000,
  maxRecordBytes: 1024 * 1024,
});

describe('recorded answers', () => {
  it('round-trips every member the encoders write, binary bodies whole', () => {
    const answer = {
      status: 201,
      statusText: 'Created',
      headers: [
        ['Location', '/a/1'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ] as Array<[string, string]>,
      body: Uint8Array.from([0, 1, 2, 255]),
      id: 'x',
      contentId: '<1>',
      path: '/a',
      requestMethod: 'HEAD',
      atomicityGroup: 'g',
      failedGroup: true,
    };
    expect(decodeRecordedAnswer(encodeRecordedAnswer(answer, answer.body))).toEqual(answer);
  });
});

describe('sha256Hex', () => {
  it("is SHA-256, whichever hashing the runtime has (Node's own, or Web Crypto)", async () => {
    const bytes = encoder.encode('alice\n');
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const hex = [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('');
    expect(await sha256Hex(bytes)).toBe(hex);
  });
});

describe('fingerprintOf (SPEC §8 "The fingerprint")', () => {
  const batch = (body: string, format: DecodedBatch['format'] = 'json'): DecodedBatch => ({
    format,
    items: [request('POST', '/a', { body: encoder.encode(body), headers: [['X', '1']] })],
  });
  it('is the same for the same batch in either format, another for another body', async () => {
    expect(await fingerprintOf(batch('{"a":1}'))).toBe(
      await fingerprintOf(batch('{"a":1}', 'multipart')),
    );
    expect(await fingerprintOf(batch('{"a":1}'))).not.toBe(await fingerprintOf(batch('{"a":2}')));
    const moved = batch('{"a":1}');
    moved.items[0]!.target = '/b';
    expect(await fingerprintOf(moved)).not.toBe(await fingerprintOf(batch('{"a":1}')));
  });
});

describe('RecordedBatch', () => {
  it('claims once: new, then 409 while running, 422 for another batch, replay once finished', async () => {
    const p = policy();
    const first = await RecordedBatch.claim(p, 'scope:k', 'f1', 2);
    expect('run' in first && first.taken).toBeUndefined();
    await expect(RecordedBatch.claim(p, 'scope:k', 'f1', 2)).rejects.toMatchObject({
      status: 409,
      retryAfterSeconds: 30,
    });
    await expect(RecordedBatch.claim(p, 'scope:k', 'f2', 2)).rejects.toMatchObject({ status: 422 });
    if (!('run' in first)) throw new Error('not claimed');
    async function* runs() {
      yield [problemResponse(200, 'x', 'ok')];
    }
    const out = [];
    for await (const run of first.run.record(runs())) out.push(run);
    expect(out).toHaveLength(1);
    const again = await RecordedBatch.claim(p, 'scope:k', 'f1', 2);
    expect('replay' in again).toBe(true);
  });

  it('answers 503 with Retry-After when the store fails', async () => {
    const p = policy();
    p.store.claim = () => Promise.reject(new Error('down'));
    await expect(RecordedBatch.claim(p, 'k', 'f', 1)).rejects.toMatchObject({
      status: 503,
      retryAfterSeconds: 2,
    });
  });

  it('after a crash: recorded answers kept; a started write without one is a 500 unless it may run again', () => {
    const items = planned([
      request('POST', '/a'),
      request('POST', '/b'),
      request('PUT', '/c'),
      request('POST', '/d', { headers: [['Idempotency-Key', 'own']] }),
      request('POST', '/e'),
    ]);
    const answered = problemResponse(201, 'created', 'done');
    const known = RecordedBatch.known(
      {
        fingerprint: 'f',
        state: 'running',
        owner: 'o',
        leaseLapsed: true,
        total: 5,
        info: '',
        started: [0, 1, 2, 3],
        answers: new Map([[0, encodeRecordedAnswer(answered, answered.body as Uint8Array)]]),
        bytes: 0,
      },
      items,
    );
    expect([...known.keys()].sort()).toEqual([0, 1]);
    expect(known.get(0)?.status).toBe(201);
    expect(known.get(1)?.status).toBe(500);
  });
});

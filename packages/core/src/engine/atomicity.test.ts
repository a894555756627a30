import { describe, expect, it } from 'vitest';
import { createBatchHandler, type Dispatcher } from '../createBatchHandler.js';
import { resolveTarget } from '../http/resolveTarget.js';
import type { DecodedBatch, HeaderList, SubRequest, SubResponse } from '../model/types.js';
import { bytes, collect, decoder } from '../testing.js';
import { decodeBatchResponse } from '../wire/decodeBatchResponse.js';
import { encodeBatchRequest, type SubRequestInit } from '../wire/encodeBatchRequest.js';
import { type ExecuteOptions, executeBatchRuns } from './executeBatch.js';
import { planBatch } from './planBatch.js';
import { referencedTarget } from './references.js';

// SPEC §4 "Atomicity groups" and "References", at the engine level (planner + executor).

type Item = Partial<SubRequest> & { target: string };

function decoded(items: Item[], format: DecodedBatch['format'] = 'json'): DecodedBatch {
  return {
    format,
    items: items.map((item) => ({ method: 'GET', headers: [], body: new Uint8Array(0), ...item })),
  };
}

/** A dispatcher: `?status=` answers that status; POST /articles creates with a Location. */
function app() {
  const log: string[] = [];
  let next = 7;
  const run: ExecuteOptions['run'] = async (request) => {
    log.push(`${request.method} ${request.target}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
    const status = Number(new URL(request.target, 'http://x').searchParams.get('status') ?? 200);
    if (request.method === 'POST' && status < 400) {
      const id = next++;
      return {
        status: 201,
        headers: [['Location', `/articles/${id}`]],
        body: bytes(`{"id":${id}}`),
      };
    }
    return { status, headers: [], body: bytes(`${request.method} ${request.target}`) };
  };
  return { run, log };
}

async function execute(
  batch: DecodedBatch,
  run: ExecuteOptions['run'],
  options: Partial<ExecuteOptions> = {},
): Promise<SubResponse[]> {
  const items = planBatch(batch, {
    batchPath: '/batch',
    base: '/',
    outerHeaders: [],
    inherits: () => false,
  });
  const out: SubResponse[] = [];
  for await (const answers of executeBatchRuns(items, {
    run,
    concurrency: 8,
    parallel: 'reads',
    stopOnError: false,
    timeoutMs: undefined,
    deadlineMs: undefined,
    signal: undefined,
    onItem: undefined,
    resolveReference: (location, referenced, rest) => {
      const target = referencedTarget(location, referenced, rest, 'api.example.com');
      if (target === undefined) return { error: 'another origin' };
      const resolved = resolveTarget(target, '/');
      return { target: resolved, path: resolved.split('?')[0]! };
    },
    ...options,
  }))
    out.push(...answers);
  return out;
}

const detail = (response: SubResponse | undefined) =>
  JSON.parse(decoder.decode(response!.body as Uint8Array)).detail as string;

describe('atomicity groups (SPEC §4)', () => {
  const group = [
    { method: 'POST', target: '/articles', atomicityGroup: 'g' },
    { method: 'PATCH', target: '/articles/1?status=422', atomicityGroup: 'g' },
    { method: 'DELETE', target: '/articles/2', atomicityGroup: 'g' },
  ];

  it('without a transaction hook: in order, stops at the first failure, what ran stays answered', async () => {
    const { run, log } = app();
    const responses = await execute(decoded([...group, { target: '/after' }]), run);
    expect(responses.map((r) => r.status)).toEqual([201, 422, 424, 200]);
    expect(detail(responses[2])).toMatch(/not run: request 1/);
    expect(log).toEqual(['POST /articles', 'PATCH /articles/1?status=422', 'GET /after']);
    expect(responses.slice(0, 3).map((r) => r.atomicityGroup)).toEqual(['g', 'g', 'g']);
  });

  it('with a hook: run rejects on failure so the transaction rolls back; the others answer 424', async () => {
    const { run } = app();
    const events: string[] = [];
    const transaction: ExecuteOptions['transaction'] = async (body, info) => {
      events.push(`begin ${info.name} ${info.size}`);
      try {
        await body();
        events.push('commit');
      } catch (error) {
        events.push('rollback');
        throw error;
      }
    };
    const responses = await execute(decoded(group), run, { transaction });
    expect(events).toEqual(['begin g 3', 'rollback']);
    expect(responses.map((r) => r.status)).toEqual([424, 422, 424]);
    expect(detail(responses[0])).toMatch(/rolled back: request 1/);
    expect(detail(responses[2])).toMatch(/not run: request 1/);

    const ok = await execute(
      decoded(group.map((item) => ({ ...item, target: item.target.replace('?status=422', '') }))),
      app().run,
      { transaction },
    );
    expect(ok.map((r) => r.status)).toEqual([201, 200, 200]);
    expect(events.slice(-2)).toEqual(['begin g 3', 'commit']);
  });

  it('multipart with a hook: a failed change set is answered by the failed request alone', async () => {
    const responses = await execute(decoded(group, 'multipart'), app().run, {
      transaction: (body) => body(),
      collapseFailedGroups: true,
    });
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ status: 422, failedGroup: true, atomicityGroup: 'g' });
  });

  it('a hook that fails on its own (commit) fails the whole group with 500', async () => {
    const responses = await execute(decoded(group.slice(0, 1)), app().run, {
      transaction: async (body) => {
        await body();
        throw new Error('commit failed');
      },
    });
    expect(responses.map((r) => r.status)).toEqual([500]);
    expect(detail(responses[0])).toBe('the transaction failed');
  });

  it('a group runs alone: reads before it end before it starts, reads after it wait for it', async () => {
    const events: string[] = [];
    const run: ExecuteOptions['run'] = async (request, index) => {
      events.push(`start ${index}`);
      await new Promise((resolve) => setTimeout(resolve, request.method === 'GET' ? 15 : 1));
      events.push(`end ${index}`);
      return { status: 200, headers: [], body: null };
    };
    await execute(
      decoded([
        { target: '/r0' },
        { target: '/r1' },
        { method: 'GET', target: '/g2', atomicityGroup: 'g' },
        { method: 'POST', target: '/g3', atomicityGroup: 'g' },
        { target: '/r4' },
        { target: '/r5' },
      ]),
      run,
    );
    const at = (event: string) => events.indexOf(event);
    expect(at('start 2')).toBeGreaterThan(Math.max(at('end 0'), at('end 1')));
    expect(at('start 3')).toBeGreaterThan(at('end 2'));
    expect(Math.min(at('start 4'), at('start 5'))).toBeGreaterThan(at('end 3'));
  });

  it('dependsOn may name a group: 424 when the group failed', async () => {
    const responses = await execute(
      decoded([...group, { target: '/needs-g', dependsOn: ['g'] }]),
      app().run,
    );
    expect(responses[3]!.status).toBe(424);
  });

  it('the items of a group must be adjacent', () => {
    expect(() =>
      planBatch(
        decoded([
          { target: '/a', atomicityGroup: 'g' },
          { target: '/b' },
          { target: '/c', atomicityGroup: 'g' },
        ]),
        { batchPath: '/batch', base: '/', outerHeaders: [], inherits: () => false },
      ),
    ).toThrow(/adjacent/);
  });
});

describe('references (SPEC §4)', () => {
  it('$id stands for the Location of the item it names, plus the rest', async () => {
    const { run, log } = app();
    const responses = await execute(
      decoded([
        { method: 'POST', target: '/articles', id: 'new' },
        { method: 'PATCH', target: '$new', id: 'edit' },
        { target: '$new/comments?x=1' },
      ]),
      run,
    );
    expect(responses.map((r) => r.status)).toEqual([201, 200, 200]);
    expect(log.slice(1)).toEqual(['PATCH /articles/7', 'GET /articles/7/comments?x=1']);
    expect(responses[1]!.path).toBe('/articles/7');
  });

  it('a failed or Location-less referenced item makes the referencing one 424, unrun', async () => {
    const { run, log } = app();
    const responses = await execute(
      decoded([
        { method: 'POST', target: '/articles?status=400', id: 'bad' },
        { method: 'PATCH', target: '$bad' },
        { target: '/plain', id: 'plain' },
        { target: '$plain/x' },
      ]),
      run,
    );
    expect(responses.map((r) => r.status)).toEqual([400, 424, 200, 424]);
    expect(detail(responses[3])).toMatch(/no Location/);
    expect(log).toEqual(['POST /articles?status=400', 'GET /plain']);
  });

  it('multipart: $<Content-ID> names an earlier request of the same change set', async () => {
    const { run, log } = app();
    const responses = await execute(
      decoded(
        [
          { method: 'POST', target: '/articles', contentId: '<1>', atomicityGroup: 'changeset-1' },
          {
            method: 'POST',
            target: '$1/comments',
            contentId: '<2>',
            atomicityGroup: 'changeset-1',
          },
        ],
        'multipart',
      ),
      run,
    );
    expect(responses.map((r) => r.status)).toEqual([201, 201]);
    expect(log).toEqual(['POST /articles', 'POST /articles/7/comments']);
  });

  it('a forward, unknown, or (multipart) out-of-change-set reference is a 400 before anything runs', () => {
    const plan =
      (items: Item[], format: DecodedBatch['format'] = 'json') =>
      () =>
        planBatch(decoded(items, format), {
          batchPath: '/batch',
          base: '/',
          outerHeaders: [],
          inherits: () => false,
        });
    expect(plan([{ target: '$later' }, { target: '/a', id: 'later' }])).toThrow(/no earlier/);
    // A `$name` that names no item at all is an ordinary target (OData's `$metadata`).
    expect(plan([{ target: '$metadata' }])().map((item) => item.request.target)).toEqual([
      '/$metadata',
    ]);
    expect(
      plan(
        [
          { target: '/a', contentId: '1' },
          { target: '$1', contentId: '2', atomicityGroup: 'c' },
        ],
        'multipart',
      ),
    ).toThrow(/^part 2\.1: \$1 names no earlier request of its change set$/);
  });
});

describe('end to end through createBatchHandler', () => {
  /** A store with a transaction: writes go to a draft, committed or dropped. */
  function storeApp() {
    let committed: string[] = [];
    let draft: string[] | undefined;
    let next = 1;
    const dispatch: Dispatcher = async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const rows = draft ?? committed;
      if (request.method === 'POST') {
        const body = decoder.decode(request.body);
        if (body.includes('bad')) return { status: 422, headers: [], body: bytes('bad') };
        const id = next++;
        rows.push(`${request.target}/${id} ${body}`);
        return { status: 201, headers: [['Location', `${request.target}/${id}`]], body: null };
      }
      return {
        status: 200,
        headers: [['Content-Type', 'text/plain']],
        body: bytes(rows.join('|')),
      };
    };
    const transaction = async (run: () => Promise<void>) => {
      draft = [...committed];
      try {
        await run();
        committed = draft;
      } finally {
        draft = undefined;
      }
    };
    return { dispatch, transaction, rows: () => committed };
  }

  const post = (
    handler: ReturnType<typeof createBatchHandler>,
    format: 'json' | 'multipart',
    requests: SubRequestInit[],
    path = '/batch',
    headers: HeaderList = [],
  ) => {
    const encoded = encodeBatchRequest(format, requests);
    return handler
      .handle({
        method: 'POST',
        path,
        headers: [['host', 'api.example.com'], ['content-type', encoded.contentType], ...headers],
        body: encoded.body,
      })
      .then(async (output) => ({
        output,
        text: decoder.decode(await collect(output.body)),
      }));
  };

  it('JSON atomicityGroup with a transaction: all or nothing', async () => {
    const app = storeApp();
    const handler = createBatchHandler({ dispatch: app.dispatch, transaction: app.transaction });
    const failing = await post(handler, 'json', [
      { method: 'POST', target: '/articles', body: 'one', atomicityGroup: 'g', id: 'a' },
      { method: 'POST', target: '/articles', body: 'bad', atomicityGroup: 'g' },
      { method: 'GET', target: '/articles' },
    ]);
    const answers = JSON.parse(failing.text).responses;
    expect(answers.map((a: { status: number }) => a.status)).toEqual([424, 422, 200]);
    expect(answers[0].atomicityGroup).toBe('g');
    expect(answers[2].body).toBe('');
    expect(app.rows()).toEqual([]);
    const passing = await post(handler, 'json', [
      { method: 'POST', target: '/articles', body: 'one', atomicityGroup: 'g', id: 'a' },
      { method: 'POST', target: '$a/comments', body: 'two', atomicityGroup: 'g' },
    ]);
    expect(JSON.parse(passing.text).responses.map((a: { status: number }) => a.status)).toEqual([
      201, 201,
    ]);
    expect(app.rows()).toEqual(['/articles/2 one', '/articles/2/comments/3 two']);
  });

  it('an OData multipart change set with $1, Content-IDs echoed; a failed set is one part', async () => {
    const app = storeApp();
    const handler = createBatchHandler({ dispatch: app.dispatch, transaction: app.transaction });
    const ok = await post(
      handler,
      'multipart',
      [
        { method: 'POST', target: 'Customers', body: 'c', contentId: '1', atomicityGroup: 'cs' },
        { method: 'POST', target: '$1/Orders', body: 'o', contentId: '2', atomicityGroup: 'cs' },
        { method: 'GET', target: 'Customers' },
      ],
      '/odata/$batch',
    );
    expect(app.rows()).toEqual(['/odata/Customers/1 c', '/odata/Customers/1/Orders/2 o']);
    const parts = await decodeBatchResponse({
      contentType: ok.output.headers[0]![1],
      body: bytes(ok.text),
    });
    expect(
      parts.map((part) => [part.status, part.contentId, part.atomicityGroup !== undefined]),
    ).toEqual([
      [201, '1', true],
      [201, '2', true],
      [200, undefined, false],
    ]);
    const failed = await post(handler, 'multipart', [
      { method: 'POST', target: '/Customers', body: 'c2', contentId: '1', atomicityGroup: 'cs' },
      { method: 'POST', target: '$1/Orders', body: 'bad', contentId: '2', atomicityGroup: 'cs' },
    ]);
    const failedParts = await decodeBatchResponse({
      contentType: failed.output.headers[0]![1],
      body: bytes(failed.text),
    });
    expect(failedParts.map((part) => part.status)).toEqual([422]);
    expect(app.rows()).toHaveLength(2);
  });
});

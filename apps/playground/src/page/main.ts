import { setupBuilder } from './builder.js';
import { runRace } from './race.js';
import { describeResult, element, renderSummary, renderWaterfall } from './render.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The server's `maxRequests`, from its service info (`GET /`), else 100. */
async function maxBatchSize(): Promise<number> {
  try {
    const info = (await (await fetch('/', { cache: 'no-store' })).json()) as {
      batch?: { maxRequests?: number };
    };
    return info.batch?.maxRequests ?? 100;
  } catch {
    return 100;
  }
}

function setupRace(token: HTMLInputElement, limit: Promise<number>): () => Promise<void> {
  const form = byId<HTMLFormElement>('race-form');
  const callsInput = byId<HTMLInputElement>('calls');
  const rttInput = byId<HTMLInputElement>('rtt');
  const button = byId<HTMLButtonElement>('race-run');
  const status = byId<HTMLParagraphElement>('race-status');
  const result = byId<HTMLParagraphElement>('result');
  const summary = byId<HTMLDivElement>('race-summary');
  const waterfalls = byId<HTMLDivElement>('waterfalls');

  // ?calls=…&rtt=… preset the inputs.
  const query = new URLSearchParams(location.search);
  for (const [name, input] of [
    ['calls', callsInput],
    ['rtt', rttInput],
  ] as const) {
    const value = query.get(name);
    if (value !== null) input.value = value;
  }

  const run = async () => {
    if (!form.reportValidity()) return;
    const calls = callsInput.valueAsNumber;
    const rttMs = rttInput.valueAsNumber;
    button.disabled = true;
    status.textContent = `Racing ${calls} calls, ${rttMs} ms round trip…`;
    try {
      const race = await runRace({
        calls,
        rttMs,
        token: token.value.trim(),
        maxBatchSize: await limit,
      });
      const scale = Math.max(race.direct.totalMs, race.batched.totalMs, 1);
      summary.replaceChildren(renderSummary(race, calls));
      waterfalls.replaceChildren(
        renderWaterfall('fetch, one by one', 'direct', race.direct, scale),
        renderWaterfall('createBatchFetch, batched', 'batched', race.batched, scale),
      );
      const statuses = [...race.direct.timings, ...race.batched.timings].map((t) => t.status);
      const failed = statuses.filter((s) => s >= 400).length;
      Object.assign(result.dataset, {
        calls: String(calls),
        rttMs: String(rttMs),
        batchedMs: String(Math.round(race.batched.totalMs)),
        unbatchedMs: String(Math.round(race.direct.totalMs)),
        batchRequests: String(race.batched.requests),
        unbatchedRequests: String(race.direct.requests),
        failedCalls: String(failed),
      });
      result.textContent = describeResult(race, calls);
      status.textContent =
        failed === 0
          ? 'Done.'
          : `Done, but ${failed} calls were refused (status 4xx/5xx): is the token set?`;
    } catch (error) {
      result.dataset.error = String(error);
      status.textContent = `The race failed: ${String(error)}`;
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run();
  });
  return run;
}

const token = byId<HTMLInputElement>('token');
setupBuilder(token);
const race = setupRace(token, maxBatchSize());
if (new URLSearchParams(location.search).get('auto') === '1') void race();
// So that the page says it is ready to be used (and tests can wait for it).
document.body.append(element('span', undefined, { hidden: '', 'data-testid': 'ready' }));

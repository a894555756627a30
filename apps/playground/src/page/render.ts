import type { RaceResult, SideResult } from './race.js';

/** `document.createElement` with text and attributes. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attributes: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

const ms = (value: number) => `${Math.round(value)} ms`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The table of totals: per side, its HTTP requests and its time. */
export function renderSummary(result: RaceResult, calls: number): HTMLTableElement {
  const table = element('table');
  table.append(element('caption', `${plural(calls, 'call')} of GET /articles`));
  const head = element('tr');
  for (const title of ['side', 'HTTP requests', 'total', 'slowest call']) {
    head.append(element('th', title, { scope: 'col' }));
  }
  table.append(element('thead'), element('tbody'));
  table.tHead!.append(head);
  const rows: [string, SideResult][] = [
    ['fetch, one by one', result.direct],
    ['createBatchFetch, batched', result.batched],
  ];
  for (const [name, side] of rows) {
    const row = element('tr');
    const slowest = Math.max(...side.timings.map((t) => t.end - t.start));
    row.append(
      element('th', name, { scope: 'row' }),
      element('td', String(side.requests)),
      element('td', ms(side.totalMs)),
      element('td', ms(slowest)),
    );
    table.tBodies[0]!.append(row);
  }
  return table;
}

/**
 * A waterfall: one row per call, its start and end written out, and a bar from start to
 * end on a time axis of `scaleMs` (the same for both sides, so that they compare).
 */
export function renderWaterfall(
  title: string,
  kind: 'direct' | 'batched',
  side: SideResult,
  scaleMs: number,
): HTMLTableElement {
  const table = element('table', undefined, { class: `waterfall ${kind}` });
  table.append(
    element(
      'caption',
      `${title}: ${plural(side.requests, 'HTTP request')}, ${ms(side.totalMs)} in all`,
    ),
  );
  const head = element('tr');
  head.append(
    element('th', 'call', { scope: 'col' }),
    element('th', 'status', { scope: 'col' }),
    element('th', 'start → end', { scope: 'col' }),
    element('th', `time (0 to ${ms(scaleMs)})`, { scope: 'col' }),
  );
  table.append(element('thead'), element('tbody'));
  table.tHead!.append(head);
  for (const timing of side.timings) {
    const row = element('tr');
    const bar = element('div', undefined, { class: 'bar', 'aria-hidden': 'true' });
    bar.style.marginLeft = `${(100 * timing.start) / scaleMs}%`;
    bar.style.width = `${(100 * (timing.end - timing.start)) / scaleMs}%`;
    const track = element('td', undefined, { class: 'track' });
    track.append(bar);
    row.append(
      element('th', `#${timing.index + 1}`, { scope: 'row' }),
      element('td', String(timing.status)),
      element('td', `${ms(timing.start)} → ${ms(timing.end)}`),
      track,
    );
    table.tBodies[0]!.append(row);
  }
  return table;
}

/** The sentence of the result, for people (the numbers are in its `data-*` attributes). */
export function describeResult(result: RaceResult, calls: number): string {
  const { direct, batched } = result;
  const ratio = direct.totalMs / Math.max(batched.totalMs, 1);
  return (
    `${plural(calls, 'call')}: one by one ${ms(direct.totalMs)} in ` +
    `${plural(direct.requests, 'HTTP request')}; batched ${ms(batched.totalMs)} in ` +
    `${plural(batched.requests, 'HTTP request')} (${ratio.toFixed(1)}× ${ratio >= 1 ? 'faster' : 'slower'}).`
  );
}

import { decodeBatchResponse } from '@batch/core';
import { curlCommand, EXAMPLE_BATCHES } from '@batch/reading-list/exampleBatches';
import { element } from './render.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A body as it goes on the wire: a multipart body with CRLF line ends (text areas keep LF). */
function wireBody(contentType: string, body: string): string {
  return /^\s*multipart\//i.test(contentType) ? body.replace(/\r?\n/g, '\r\n') : body;
}

/** JSON pretty-printed, or the text as it is when it is not JSON. */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

const headerLines = (headers: Iterable<[string, string]>) =>
  [...headers].map(([name, value]) => `${name}: ${value}`).join('\n');

/** The builder: pick an example, edit it, send it, read the answer and the curl line. */
export function setupBuilder(token: HTMLInputElement): void {
  const form = byId<HTMLFormElement>('builder-form');
  const contentType = byId<HTMLInputElement>('content-type');
  const body = byId<HTMLTextAreaElement>('body');
  const curl = byId<HTMLPreElement>('curl');
  const answer = byId<HTMLDivElement>('answer');
  const examples = byId<HTMLDivElement>('examples');

  const updateCurl = () => {
    // A JSON body on one line (the same JSON): a curl line to paste, not a wall of \n.
    let text = wireBody(contentType.value, body.value);
    try {
      if (/json/i.test(contentType.value)) text = JSON.stringify(JSON.parse(text));
    } catch {
      // Not JSON (yet): sent as it is.
    }
    const batch = { contentType: contentType.value, body: text };
    curl.textContent = curlCommand(location.origin, batch, token.value.trim());
  };
  const choose = (index: number) => {
    const example = EXAMPLE_BATCHES[index]!;
    contentType.value = example.contentType;
    body.value = /json/.test(example.contentType) ? pretty(example.body) : example.body;
    updateCurl();
  };
  EXAMPLE_BATCHES.forEach((example, index) => {
    const id = `example-${index}`;
    const radio = element('input', undefined, { type: 'radio', name: 'example', id });
    radio.dataset.format = /json/.test(example.contentType) ? 'json' : 'multipart';
    radio.checked = index === 0;
    radio.addEventListener('change', () => choose(index));
    const option = element('div', undefined, { class: 'option' });
    option.append(radio, element('label', example.title, { for: id }));
    examples.append(option);
  });
  choose(0);
  for (const input of [contentType, body, token]) input.addEventListener('input', updateCurl);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });

  async function send() {
    answer.replaceChildren(element('p', 'Sending…'));
    const headers: Record<string, string> = { 'content-type': contentType.value };
    if (token.value.trim() !== '') headers.authorization = `Bearer ${token.value.trim()}`;
    let response: Response;
    try {
      response = await fetch('/batch', {
        method: 'POST',
        headers,
        body: wireBody(contentType.value, body.value),
      });
    } catch (error) {
      answer.replaceChildren(element('p', `The request failed: ${String(error)}`));
      return;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const type = response.headers.get('content-type') ?? '';
    const nodes: HTMLElement[] = [
      element('h3', `Answer: ${response.status} ${response.statusText}`, { id: 'answer-status' }),
      element('h4', 'Headers'),
      element('pre', headerLines(response.headers), { id: 'answer-headers' }),
    ];
    if (/^multipart\//i.test(type)) {
      const parts = await decodeBatchResponse({ contentType: type, body: bytes });
      nodes.push(element('h4', `Body: ${parts.length} parts`));
      parts.forEach((part, index) => {
        const text = new TextDecoder().decode(part.body);
        const section = element('div', undefined, { class: 'part', 'data-part': String(index) });
        section.append(
          element('h5', `Part ${index + 1}: ${part.status} ${part.statusText}`),
          element('pre', `${headerLines(part.headers)}\n\n${pretty(text)}`),
        );
        nodes.push(section);
      });
    } else {
      const text = new TextDecoder().decode(bytes);
      const formatted = /jsonl/.test(type)
        ? text.split('\n').filter(Boolean).map(pretty).join('\n')
        : pretty(text);
      nodes.push(element('h4', 'Body'), element('pre', formatted, { id: 'answer-body' }));
    }
    answer.replaceChildren(...nodes);
  }
}

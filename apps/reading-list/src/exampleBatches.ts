/**
 * The two example batches of the README, the `pnpm start` banner and the playground: one
 * source for all three. No imports, so that a browser bundle can take it as it is.
 */

/** A batch ready to send: the `Content-Type` of `POST /batch` and its body. */
export interface ExampleBatch {
  /** What it shows, in one line. */
  title: string;
  contentType: string;
  body: string;
  /** Other headers of the batch request (`Prefer`), as `Name: value` lines. */
  headers?: readonly string[];
}

/** The Kinto documentation's JSON batch: two POSTs and a PATCH, one round trip. */
export const JSON_EXAMPLE_BATCH: ExampleBatch = {
  title: 'A JSON batch (the Kinto documentation example): two POSTs and a PATCH, one round trip',
  contentType: 'application/json',
  body: JSON.stringify({
    defaults: { method: 'POST', path: '/articles' },
    requests: [
      { body: { title: 'MoFo', url: 'http://mozilla.org' } },
      { body: { title: 'MoCo', url: 'http://mozilla.com' } },
      { method: 'PATCH', path: '/articles/1', body: { read_position: 3477 } },
    ],
  }),
};

/** A multipart/mixed batch (the Google APIs format): a PATCH and a GET of article 1. */
export const MULTIPART_EXAMPLE_BATCH: ExampleBatch = {
  title:
    'A multipart/mixed batch (the Google APIs format): a PATCH and a GET of article 1 (send the JSON batch first)',
  contentType: 'multipart/mixed; boundary=batch_curl',
  body: [
    '--batch_curl',
    'Content-Type: application/http',
    'Content-ID: <item1>',
    '',
    'PATCH /articles/1 HTTP/1.1',
    'Content-Type: application/json',
    '',
    '{"read_position": 42}',
    '--batch_curl',
    'Content-Type: application/http',
    'Content-ID: <item2>',
    '',
    'GET /articles/1 HTTP/1.1',
    '',
    '--batch_curl--',
    '',
  ].join('\r\n'),
};

/**
 * A minimal import (SPEC §7, the Kinto documentation's "payload optimization for massive
 * operations"): three articles, one without its `url`. With `Prefer: return=minimal` the two
 * created answer with their `Location` and `ETag` only; the refused one answers whole, and
 * `"failed": [1]` names it. Not one of the playground's examples.
 */
export const MINIMAL_IMPORT_BATCH: ExampleBatch = {
  title:
    'A minimal import (Prefer: return=minimal): created articles answer with their Location only, "failed" names the one to fix',
  contentType: 'application/json',
  headers: ['Prefer: return=minimal'],
  body: JSON.stringify({
    defaults: { method: 'POST', path: '/articles' },
    requests: [
      { body: { title: 'MDN', url: 'https://developer.mozilla.org' } },
      { body: { title: 'No URL' } },
      { body: { title: 'Kinto', url: 'https://kinto.readthedocs.io' } },
    ],
  }),
};

/** Both example batches, JSON first (the multipart one reads what it creates). */
export const EXAMPLE_BATCHES: readonly ExampleBatch[] = [
  JSON_EXAMPLE_BATCH,
  MULTIPART_EXAMPLE_BATCH,
];

/** Whether `c` cannot stand as it is in a `'…'` shell word: `'`, `\` or a control character. */
const unquotable = (c: string) => c === "'" || c === '\\' || c < ' ' || c === '\x7f';

const ESCAPES: Record<string, string> = {
  '\r': '\\r',
  '\n': '\\n',
  '\t': '\\t',
  "'": "\\'",
  '\\': '\\\\',
};

/** `text` as one shell word: `'…'`, or `$'…'` with escapes when it holds `'`, `\` or controls. */
export function shellQuote(text: string): string {
  const chars = [...text];
  if (!chars.some(unquotable)) return `'${text}'`;
  const escaped = (c: string) =>
    ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  return `$'${chars.map((c) => (unquotable(c) ? escaped(c) : c)).join('')}'`;
}

/**
 * The `curl` line that sends `batch` to `${url}/batch` with `Authorization: Bearer <token>`
 * (none when `token` is empty): `-d` for a body that is one plain line, else
 * `--data-binary` (`-d` would drop its line breaks when read from a file, and say nothing).
 */
export function curlCommand(
  url: string,
  batch: Omit<ExampleBatch, 'title'>,
  token = 'alice',
  headers: readonly string[] = [],
): string {
  const body = shellQuote(batch.body);
  const data = body.startsWith("'") ? `-d ${body}` : `--data-binary ${body}`;
  const auth = token === '' ? '' : ` -H ${shellQuote(`Authorization: Bearer ${token}`)}`;
  const more = [...headers, ...(batch.headers ?? [])]
    .map((header) => ` -H ${shellQuote(header)}`)
    .join('');
  // `-i` shows the answer's headers (Idempotent-Replayed) when the caller adds some.
  const show = headers.length > 0 ? ' -i' : '';
  return `curl -s${show} ${url}/batch${auth} -H ${shellQuote(`Content-Type: ${batch.contentType}`)}${more} ${data}`;
}

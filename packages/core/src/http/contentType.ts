import type { BatchFormat } from '../model/types.js';

/** A parsed media type: lower-case `type/subtype` and its parameters (lower-case names). */
export interface MediaType {
  type: string;
  params: Map<string, string>;
}

/**
 * Parses a `Content-Type` value leniently: parameters may be quoted (with backslash
 * escapes) or bare, separated by `;` with optional white space. Returns `undefined`
 * when there is no `type/subtype`.
 */
export function parseMediaType(value: string): MediaType | undefined {
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const slash = type.indexOf('/');
  if (slash <= 0 || slash === type.length - 1 || /[\s"]/.test(type)) return undefined;
  const params = new Map<string, string>();
  let i = semicolon === -1 ? value.length : semicolon + 1;
  while (i < value.length) {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === ';')) i++;
    const eq = value.indexOf('=', i);
    if (eq === -1) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let paramValue = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        paramValue += value[i];
        i++;
      }
      i++; // closing quote
      const next = value.indexOf(';', i);
      i = next === -1 ? value.length : next;
    } else {
      const next = value.indexOf(';', i);
      const end = next === -1 ? value.length : next;
      paramValue = value.slice(i, end).trim();
      i = end;
    }
    if (name !== '' && !params.has(name)) params.set(name, paramValue);
  }
  return { type, params };
}

/** The batch wire format a request `Content-Type` selects, or `undefined` for neither. */
export function formatOfContentType(
  contentType: string | undefined | null,
): BatchFormat | undefined {
  if (!contentType) return undefined;
  const media = parseMediaType(contentType);
  if (media === undefined) return undefined;
  if (media.type === 'multipart/mixed') return 'multipart';
  if (media.type === 'application/json') return 'json';
  return undefined;
}

/** True for `application/json` and any `+json` media type. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  // Asked once per answer, nearly always about the same value: the last one is remembered.
  if (contentType === lastJsonQuestion) return lastJsonAnswer;
  const media = parseMediaType(contentType);
  const answer =
    media !== undefined && (media.type === 'application/json' || media.type.endsWith('+json'));
  lastJsonQuestion = contentType;
  lastJsonAnswer = answer;
  return answer;
}

let lastJsonQuestion: string | undefined;
let lastJsonAnswer = false;

/** True for media types whose body is text: `text/*`, JSON, XML, forms, JavaScript, or a charset. */
export function isTextMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const media = parseMediaType(contentType);
  if (media === undefined) return false;
  const { type } = media;
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type.endsWith('+json') ||
    type === 'application/xml' ||
    type.endsWith('+xml') ||
    type === 'application/javascript' ||
    type === 'application/x-www-form-urlencoded' ||
    type === 'application/graphql' ||
    media.params.has('charset')
  );
}

/** The media type of a JSON Lines batch response (SPEC §3 "Streaming in completion order"). */
export const JSON_LINES_CONTENT_TYPE = 'application/jsonl';

const JSON_LINES_TYPES = new Set([JSON_LINES_CONTENT_TYPE, 'application/x-ndjson']);

/** Whether a `Content-Type` is JSON Lines (`application/jsonl` or `application/x-ndjson`). */
export function isJsonLinesMediaType(contentType: string | undefined | null): boolean {
  if (!contentType) return false;
  const media = parseMediaType(contentType);
  return media !== undefined && JSON_LINES_TYPES.has(media.type);
}

/**
 * Whether an `Accept` header asks for JSON Lines: it names `application/jsonl` or
 * `application/x-ndjson` with a quality above 0 (`*\/*` alone does not ask for it).
 */
export function acceptsJsonLines(accept: string | undefined | null): boolean {
  if (!accept) return false;
  for (const range of accept.split(',')) {
    const media = parseMediaType(range);
    if (media === undefined || !JSON_LINES_TYPES.has(media.type)) continue;
    const q = media.params.get('q');
    if (q === undefined || Number(q) > 0) return true;
  }
  return false;
}

import type { HeaderList } from '../model/types.js';
import { isToken } from './headerNames.js';

/** One preference of a `Prefer` header (RFC 7240 §2): its name in lower case, its value and parameters. */
export interface Preference {
  /** Lower case: preference names are case-insensitive. */
  name: string;
  /** `undefined` when none was given; an empty value (`return=""`) is none (RFC 7240 §2). */
  value: string | undefined;
  /** `; name=value` parameters, names in lower case, in order. */
  parameters: Array<[name: string, value: string | undefined]>;
}

/** The preferences the batch layer itself applies (SPEC §7). */
export interface BatchPreferences {
  /** `return=minimal`: answers < 400 carry their status and headers only. */
  returnMinimal: boolean;
  /** `respond-async` (SPEC §9): recognised, never passed on to sub-requests. */
  respondAsync: boolean;
}

/**
 * Splits `text` at `separator` where it is outside a quoted-string (a `\` escapes the next
 * character inside one). Linear; an unclosed quote runs to the end.
 */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === separator) {
      pieces.push(text.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** `token [ BWS "=" BWS word ]`, or `undefined` when it is not that. `word` is a token or a quoted-string. */
function nameAndValue(text: string): [name: string, value: string | undefined] | undefined {
  const equals = text.indexOf('=');
  const name = (equals === -1 ? text : text.slice(0, equals)).trim();
  if (!isToken(name)) return undefined;
  if (equals === -1) return [name.toLowerCase(), undefined];
  const word = text.slice(equals + 1).trim();
  let value: string;
  if (word.startsWith('"')) {
    const unquoted = unquote(word);
    if (unquoted === undefined) return undefined;
    value = unquoted;
  } else if (word === '' || isToken(word)) {
    value = word;
  } else {
    return undefined;
  }
  return [name.toLowerCase(), value === '' ? undefined : value];
}

/** The text of a whole quoted-string (RFC 9110 §5.6.4), or `undefined` when `word` is not one. */
function unquote(word: string): string | undefined {
  let out = '';
  for (let i = 1; i < word.length; i++) {
    const c = word[i]!;
    if (c === '"') return i === word.length - 1 ? out : undefined;
    if (c === '\\') {
      i++;
      if (i >= word.length) return undefined;
      out += word[i];
    } else out += c;
  }
  return undefined;
}

/** One list element of a `Prefer` header, or `undefined` when it cannot be read (it is then ignored). */
function parsePreference(element: string): Preference | undefined {
  const [head = '', ...rest] = splitOutsideQuotes(element, ';');
  const preference = nameAndValue(head);
  if (preference === undefined) return undefined;
  const parameters: Preference['parameters'] = [];
  for (const piece of rest) {
    if (piece.trim() === '') continue; // `*( OWS ";" [ OWS parameter ] )`: an empty one is allowed
    const parameter = nameAndValue(piece);
    if (parameter === undefined) return undefined;
    parameters.push(parameter);
  }
  return { name: preference[0], value: preference[1], parameters };
}

/**
 * The preferences of every `Prefer` field value given (RFC 7240): several per field or in
 * several fields, names case-insensitive, parameters and quoted values. What cannot be
 * read is ignored, never an error; a preference named twice counts once, the first time
 * (RFC 7240 §2).
 */
export function parsePrefer(values: readonly string[]): Preference[] {
  const preferences: Preference[] = [];
  const seen = new Set<string>();
  for (const value of values) {
    for (const element of splitOutsideQuotes(value, ',')) {
      if (element.trim() === '') continue;
      const preference = parsePreference(element);
      if (preference === undefined || seen.has(preference.name)) continue;
      seen.add(preference.name);
      preferences.push(preference);
    }
  }
  return preferences;
}

/** The values of every `Prefer` field of `headers`. */
function preferValues(headers: HeaderList): string[] {
  const values: string[] = [];
  for (const [name, value] of headers) if (name.toLowerCase() === 'prefer') values.push(value);
  return values;
}

/** What the batch request prefers that the batch layer applies (SPEC §7). */
export function readBatchPreferences(headers: HeaderList): BatchPreferences {
  const preferences = { returnMinimal: false, respondAsync: false };
  const values = preferValues(headers);
  if (values.length === 0) return preferences;
  for (const preference of parsePrefer(values)) {
    if (preference.name === 'return')
      preferences.returnMinimal = preference.value?.toLowerCase() === 'minimal';
    else if (preference.name === 'respond-async') preferences.respondAsync = true;
  }
  return preferences;
}

/** `respond-async` as a whole list element (any case), a cheap test before parsing. */
const MAY_HOLD_RESPOND_ASYNC = /respond-async/i;

/**
 * A `Prefer` field value as a sub-request inherits it (SPEC §7): without `respond-async`,
 * which belongs to the batch alone; every other element kept as it was sent (one that
 * cannot be read too: the app judges it). `undefined` when nothing is left.
 */
export function inheritablePrefer(value: string): string | undefined {
  if (!MAY_HOLD_RESPOND_ASYNC.test(value)) return value;
  const kept = splitOutsideQuotes(value, ',').filter((element) => {
    if (element.trim() === '') return false;
    return parsePreference(element)?.name !== 'respond-async';
  });
  return kept.length === 0 ? undefined : kept.map((element) => element.trim()).join(', ');
}

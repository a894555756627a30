import { EMPTY_BYTES, fromBase64, trimOws, utf8 } from '../http/bytes.js';
import { isJsonMediaType, isTextMediaType } from '../http/contentType.js';
import { isToken } from '../http/headerNames.js';
import { resolveAbsoluteTarget, validateTarget } from '../http/target.js';
import { BatchError, type BatchErrorDetail } from '../model/BatchError.js';
import type { HeaderList, ResolvedBatchLimits, SubRequest } from '../model/types.js';
import { isForbiddenKey, isPlainObject, mergeDefaults } from './mergeDefaults.js';

const TOP_LEVEL_MEMBERS = new Set(['requests', 'defaults']);
const REQUEST_MEMBERS = new Set([
  'method',
  'path',
  'url',
  'headers',
  'body',
  'bodyEncoding',
  'id',
  'dependsOn',
  'atomicityGroup',
]);
const DEFAULTS_MEMBERS = new Set(['method', 'path', 'url', 'headers', 'body', 'bodyEncoding']);
const MAX_REPORTED_ERRORS = 50;

class Problems {
  readonly list: BatchErrorDetail[] = [];
  add(pointer: string, detail: string): void {
    if (this.list.length < MAX_REPORTED_ERRORS) this.list.push({ pointer, detail });
  }
}

/** What a JSON batch is checked against besides its own content. */
export interface JsonBatchContext {
  limits: ResolvedBatchLimits;
  /** The batch request's `Host`, for absolute-URL targets. */
  host: string | undefined;
  /** A string body with a Content-Type neither JSON nor text is base64 (Microsoft Graph). */
  base64StringBodies?: boolean;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function checkMembers(
  value: Record<string, unknown>,
  allowed: Set<string>,
  at: string,
  problems: Problems,
  reported?: Set<string>,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key) && reported?.has(key) !== true) {
      problems.add(
        `${at}/${escapePointer(key)}`,
        `unknown member "${key}"; allowed: ${[...allowed].join(', ')}`,
      );
    }
  }
}

/** `url` is a synonym of `path`; both at once is ambiguous. */
function normaliseUrl(
  value: Record<string, unknown>,
  at: string,
  problems: Problems,
): Record<string, unknown> {
  if (!Object.hasOwn(value, 'url')) return value;
  if (Object.hasOwn(value, 'path')) {
    problems.add(`${at}/url`, 'give either "path" or its synonym "url", not both');
  }
  const { url, ...rest } = value;
  return { ...rest, path: url };
}

/** `value` without its `headers` member (a copy). */
function withoutHeaders(value: Record<string, unknown>): Record<string, unknown> {
  const { headers: _headers, ...rest } = value;
  return rest;
}

/** The pointer of the member that gave an item its path: its own `url`/`path`, else the defaults'. */
function memberPointer(raw: Record<string, unknown>, at: string, defaults: unknown): string {
  for (const [source, pointer] of [
    [raw, at],
    [defaults, '/defaults'],
  ] as const) {
    if (!isPlainObject(source)) continue;
    if (Object.hasOwn(source, 'url')) return `${pointer}/url`;
    if (Object.hasOwn(source, 'path')) return `${pointer}/path`;
  }
  return `${at}/path`;
}

/** Item headers first, then defaults headers whose name (any case) the item lacks. */
function mergeHeaders(
  own: unknown,
  fallback: unknown,
  at: string,
  problems: Problems,
  limits: ResolvedBatchLimits,
): HeaderList {
  const headers: HeaderList = [];
  const seen = new Set<string>();
  let bytes = 0;
  const addAll = (value: unknown, pointer: string, skipSeen: boolean) => {
    if (value === undefined) return;
    if (!isPlainObject(value)) {
      problems.add(pointer, 'must be an object of header names to string values');
      return;
    }
    for (const name of Object.keys(value)) {
      const lower = name.toLowerCase();
      // Defaults are merged: their __proto__ / constructor / prototype keys never are.
      if (skipSeen && (seen.has(lower) || isForbiddenKey(name))) continue;
      const where = `${pointer}/${escapePointer(name)}`;
      if (!isToken(name)) {
        problems.add(where, 'header name is not an HTTP token');
        continue;
      }
      const raw = value[name];
      const values = Array.isArray(raw) ? raw : [raw];
      values.forEach((item, index) => {
        const itemAt = Array.isArray(raw) ? `${where}/${index}` : where;
        if (typeof item !== 'string') {
          problems.add(itemAt, 'header value must be a string (or an array of strings)');
        } else if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(item)) {
          problems.add(itemAt, 'header value has a line break, control or non-Latin-1 character');
        } else {
          headers.push([name, trimOws(item)]);
          bytes += name.length + item.length + 4;
        }
      });
      seen.add(lower);
    }
  };
  addAll(own, `${at}/headers`, false);
  addAll(fallback, '/defaults/headers', true);
  if (bytes > limits.maxPartHeaderBytes) {
    throw BatchError.pointer(
      'part_headers_too_large',
      `${at}/headers`,
      `headers are larger than ${limits.maxPartHeaderBytes} bytes`,
    );
  }
  return headers;
}

function contentTypeOf(headers: HeaderList): string | undefined {
  for (const [name, value] of headers) if (name.toLowerCase() === 'content-type') return value;
  return undefined;
}

function encodeBody(
  body: unknown,
  bodyEncoding: unknown,
  headers: HeaderList,
  at: string,
  problems: Problems,
  base64StringBodies: boolean,
): Uint8Array {
  if (bodyEncoding !== undefined) {
    if (bodyEncoding !== 'base64') {
      problems.add(`${at}/bodyEncoding`, 'the only body encoding is "base64"');
      return EMPTY_BYTES;
    }
    const bytes = typeof body === 'string' ? fromBase64(body) : undefined;
    if (bytes === undefined) problems.add(`${at}/body`, 'must be a base64 string');
    return bytes ?? EMPTY_BYTES;
  }
  if (body === undefined || body === null) return EMPTY_BYTES;
  const contentType = contentTypeOf(headers);
  if (contentType === undefined) {
    headers.push(['Content-Type', 'application/json']);
    return utf8(JSON.stringify(body));
  }
  if (typeof body === 'string' && !isJsonMediaType(contentType)) {
    if (!base64StringBodies || isTextMediaType(contentType)) return utf8(body);
    const bytes = fromBase64(body);
    if (bytes === undefined)
      problems.add(`${at}/body`, `must be a base64 string (Content-Type ${contentType})`);
    return bytes ?? EMPTY_BYTES;
  }
  return utf8(JSON.stringify(body));
}

/**
 * `defaults.body`, encoded once per Content-Type and encoding and shared by every item
 * that takes it whole (SPEC §4 "Limits": never copied once per item).
 */
class SharedDefaultBody {
  readonly #value: unknown;
  readonly #encoded = new Map<string, Uint8Array>();

  constructor(value: unknown) {
    // Its __proto__ / constructor / prototype keys are never merged (SPEC §3).
    this.#value = isPlainObject(value) ? mergeDefaults(value, {}) : value;
  }

  get value(): unknown {
    return this.#value;
  }

  encode(
    bodyEncoding: unknown,
    headers: HeaderList,
    at: string,
    problems: Problems,
    base64StringBodies: boolean,
  ): Uint8Array {
    const contentType = contentTypeOf(headers);
    const key = `${String(bodyEncoding)}\n${contentType ?? ''}`;
    const known = this.#encoded.get(key);
    if (known === undefined) {
      const before = problems.list.length;
      const bytes = encodeBody(
        this.#value,
        bodyEncoding,
        headers,
        at,
        problems,
        base64StringBodies,
      );
      if (problems.list.length === before) this.#encoded.set(key, bytes);
      return bytes;
    }
    // What encodeBody adds to an item without a Content-Type.
    if (contentType === undefined && bodyEncoding === undefined && this.#value !== null)
      headers.push(['Content-Type', 'application/json']);
    return known;
  }
}

/** Bytes the headers of an item carry. */
function headerBytes(headers: HeaderList): number {
  let bytes = 0;
  for (const [name, value] of headers) bytes += name.length + value.length + 4;
  return bytes;
}

/**
 * Validates a parsed JSON batch (SPEC §3) and turns it into sub-requests: defaults merged
 * deeply without overwriting, `url` read as `path`, methods upper-cased, bodies encoded,
 * ids unique, the items of each `atomicityGroup` adjacent (a group's name is no item's
 * id), and `dependsOn` naming earlier ids or earlier (closed) atomicity groups only. A
 * `$<id>` target (SPEC §4 "References") is kept as it is. Every problem found is reported
 * at once, each with a JSON pointer.
 */
export function parseJsonBatch(document: unknown, context: JsonBatchContext): SubRequest[] {
  if (!isPlainObject(document)) {
    throw BatchError.pointer(
      'invalid_batch',
      '',
      'a JSON batch must be an object with a "requests" array',
    );
  }
  const { requests } = document;
  if (!Array.isArray(requests)) {
    throw BatchError.pointer('invalid_batch', '/requests', 'is required and must be an array');
  }
  const { maxRequests } = context.limits;
  if (requests.length > maxRequests) {
    throw BatchError.pointer(
      'too_many_requests_in_batch',
      '/requests',
      `batch holds ${requests.length} requests; at most ${maxRequests} are allowed`,
    );
  }
  const reader = new JsonBatchReader(document, context);
  requests.forEach((raw: unknown, index: number) => {
    reader.item(raw, index);
  });
  return reader.finish();
}

/** `defaults`, checked and split as items take it. */
interface Defaults {
  /** Everything but `headers` and `body` (merged into each item), or none. */
  rest: Record<string, unknown> | undefined;
  headers: unknown;
  body: SharedDefaultBody | undefined;
}

/** Reads the items of one JSON batch in order, collecting every problem. */
class JsonBatchReader {
  readonly #problems = new Problems();
  readonly #document: Record<string, unknown>;
  readonly #context: JsonBatchContext;
  readonly #defaults: Defaults;
  readonly #items: SubRequest[] = [];
  readonly #ids = new Set<string>();
  /** Atomicity groups whose items all came before the current one. */
  readonly #closedGroups = new Set<string>();
  /** Each group's first item, for errors. */
  readonly #firstOfGroup = new Map<string, number>();
  #openGroup: string | undefined;
  /** What the items carry in all so far (SPEC §4 "Limits": the merged batch). */
  #mergedBytes = 0;

  constructor(document: Record<string, unknown>, context: JsonBatchContext) {
    this.#document = document;
    this.#context = context;
    checkMembers(document, TOP_LEVEL_MEMBERS, '', this.#problems);
    this.#defaults = this.#readDefaults(document.defaults);
  }

  #readDefaults(value: unknown): Defaults {
    const problems = this.#problems;
    if (value === undefined) return { rest: undefined, headers: undefined, body: undefined };
    if (!isPlainObject(value)) {
      problems.add('/defaults', 'must be an object');
      return { rest: undefined, headers: undefined, body: undefined };
    }
    if (Object.hasOwn(value, 'atomicityGroup')) {
      problems.add(
        '/defaults/atomicityGroup',
        'is not a default: give "atomicityGroup" on each request of the group',
      );
    }
    checkMembers(value, DEFAULTS_MEMBERS, '/defaults', problems, new Set(['atomicityGroup']));
    const { headers, body, ...rest } = normaliseUrl(value, '/defaults', problems);
    return { rest, headers, body: body === undefined ? undefined : new SharedDefaultBody(body) };
  }

  /** Reads item `index` (`raw` as sent). */
  item(raw: unknown, index: number): void {
    const at = `/requests/${index}`;
    if (!isPlainObject(raw)) {
      this.#problems.add(at, 'must be an object');
      return;
    }
    checkMembers(raw, REQUEST_MEMBERS, at, this.#problems);
    const own = normaliseUrl(raw, at, this.#problems);
    const { rest } = this.#defaults;
    // Without defaults the item is read as it is (its `headers` member is read apart).
    const item = rest === undefined ? own : mergeDefaults(rest, withoutHeaders(own));
    // In this order, so that problems are reported in the order of the item's members.
    const method = this.#method(item.method, at);
    const target = this.#target(item.path, raw, at);
    const { limits } = this.#context;
    const headers = mergeHeaders(own.headers, this.#defaults.headers, at, this.#problems, limits);
    const body = this.#body(own, item.bodyEncoding, headers, at);
    const request: SubRequest = { method, target, headers, body };
    const group = this.#group(raw.atomicityGroup, index, at);
    if (group !== undefined) request.atomicityGroup = group;
    this.#idAndDependencies(request, item, group, at);
    if (request.id !== undefined) this.#ids.add(request.id);
    this.#items.push(request);
  }

  #method(value: unknown, at: string): string {
    const method = value ?? 'GET';
    if (typeof method !== 'string' || !isToken(method)) {
      this.#problems.add(`${at}/method`, 'must be an HTTP method token');
      return 'GET';
    }
    const upper = method.toUpperCase();
    if (upper === 'CONNECT') this.#problems.add(`${at}/method`, 'CONNECT cannot be batched');
    return upper;
  }

  #target(path: unknown, raw: Record<string, unknown>, at: string): string {
    const pointer = () => memberPointer(raw, at, this.#document.defaults);
    if (typeof path !== 'string') {
      this.#problems.add(
        pointer(),
        path === undefined ? 'is required (here or in defaults)' : 'must be a string',
      );
      return '';
    }
    const problem = validateTarget(path);
    if (problem !== undefined) {
      this.#problems.add(pointer(), problem);
      return '';
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path;
    const resolved = resolveAbsoluteTarget(path, this.#context.host);
    if (typeof resolved === 'string') return resolved;
    this.#problems.add(pointer(), resolved.problem);
    return '';
  }

  /** The body's bytes: `defaults.body` shared when the item has none; both bounded. */
  #body(
    own: Record<string, unknown>,
    bodyEncoding: unknown,
    headers: HeaderList,
    at: string,
  ): Uint8Array {
    const { limits } = this.#context;
    const shared = this.#defaults.body;
    const base64 = this.#context.base64StringBodies === true;
    let body: Uint8Array;
    if (shared !== undefined && !Object.hasOwn(own, 'body')) {
      body = shared.encode(bodyEncoding, headers, at, this.#problems, base64);
    } else {
      let value = own.body;
      // Objects merge key by key; the defaults' share is at most what it holds itself.
      if (shared !== undefined && isPlainObject(value) && isPlainObject(shared.value)) {
        value = mergeDefaults(shared.value as Record<string, unknown>, value);
      }
      body = encodeBody(value, bodyEncoding, headers, at, this.#problems, base64);
    }
    if (body.length > limits.maxItemBodyBytes) {
      throw BatchError.pointer(
        'item_body_too_large',
        `${at}/body`,
        `body is larger than ${limits.maxItemBodyBytes} bytes`,
      );
    }
    this.#mergedBytes += body.length + headerBytes(headers);
    if (this.#mergedBytes > limits.maxMergedBytes) {
      throw BatchError.pointer(
        'merged_batch_too_large',
        at,
        `the items up to this one carry more than ${limits.maxMergedBytes} bytes once defaults are merged`,
      );
    }
    return body;
  }

  /** SPEC §3, OData 4.01 JSON: the items of an atomicity group are adjacent. */
  #group(value: unknown, index: number, at: string): string | undefined {
    let group: string | undefined;
    if (value !== undefined) {
      if (typeof value !== 'string' || value === '') {
        this.#problems.add(`${at}/atomicityGroup`, 'must be a non-empty string');
      } else {
        group = value;
      }
    }
    if (group === this.#openGroup) return group;
    if (this.#openGroup !== undefined) this.#closedGroups.add(this.#openGroup);
    this.#openGroup = group;
    if (group === undefined) return group;
    if (this.#closedGroups.has(group)) {
      this.#problems.add(
        `${at}/atomicityGroup`,
        `the items of atomicity group "${group}" must be adjacent; it began at /requests/${this.#firstOfGroup.get(group)} and other items came between`,
      );
    } else {
      this.#firstOfGroup.set(group, index);
    }
    return group;
  }

  #idAndDependencies(
    request: SubRequest,
    item: Record<string, unknown>,
    group: string | undefined,
    at: string,
  ): void {
    const problems = this.#problems;
    const { id, dependsOn } = item;
    if (id !== undefined) {
      if (typeof id !== 'string' || id === '')
        problems.add(`${at}/id`, 'must be a non-empty string');
      else if (this.#ids.has(id)) problems.add(`${at}/id`, `duplicate id "${id}"`);
      else request.id = id;
    }
    if (dependsOn === undefined) return;
    if (!Array.isArray(dependsOn) || !dependsOn.every((name) => typeof name === 'string')) {
      problems.add(`${at}/dependsOn`, 'must be an array of ids');
      return;
    }
    dependsOn.forEach((name: string, position) => {
      if (this.#ids.has(name) || this.#closedGroups.has(name)) return;
      problems.add(
        `${at}/dependsOn/${position}`,
        name === group
          ? `"${name}" is this item's own atomicity group; name an earlier request or group`
          : `"${name}" is not the id of an earlier request, nor the name of an earlier atomicity group`,
      );
    });
    request.dependsOn = [...dependsOn];
  }

  /** The items, or the `400` naming every problem found. */
  finish(): SubRequest[] {
    const problems = this.#problems;
    // A group's name and a request's id must differ: `dependsOn` and `$<id>` name either.
    for (const [group, first] of this.#firstOfGroup) {
      if (this.#ids.has(group)) {
        problems.add(
          `/requests/${first}/atomicityGroup`,
          `"${group}" is also the id of a request; atomicity group names and ids must differ`,
        );
      }
    }
    if (problems.list.length > 0) {
      const first = problems.list[0] as { pointer: string; detail: string };
      const more = problems.list.length > 1 ? ` (and ${problems.list.length - 1} more)` : '';
      throw new BatchError(
        'invalid_batch',
        `${first.pointer}: ${first.detail}${more}`,
        problems.list,
      );
    }
    return this.#items;
  }
}

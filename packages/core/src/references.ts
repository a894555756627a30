/**
 * References (SPEC §4): a target `$<id>` or `$<id>/rest` stands for the resource an
 * earlier item created — its `Location` header. Nothing is evaluated: the id is a name,
 * looked up; the rest is appended.
 */

/** `$1/Orders?x=1` → `{ id: '1', rest: '/Orders?x=1' }`; `undefined` for any other target. */
export function parseReference(target: string): { id: string; rest: string } | undefined {
  if (target.charCodeAt(0) !== 0x24 /* $ */) return undefined;
  let end = 1;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) break;
    end++;
  }
  if (end === 1) return undefined;
  return { id: target.slice(1, end), rest: target.slice(end) };
}

/** The name a multipart item is referenced by: its Content-ID without `<…>`. */
export function contentIdName(contentId: string): string {
  const id = contentId.trim();
  return id.startsWith('<') && id.endsWith('>') ? id.slice(1, -1).trim() : id;
}

/**
 * The target a reference stands for: the path and query of `location` (resolved against
 * the referenced item's own target, as a relative `Location` is), then `rest`. `undefined`
 * when the Location names another origin than `host` — a reference never leaves the server.
 */
export function referencedTarget(
  location: string,
  referencedTarget: string,
  rest: string,
  host: string,
): string | undefined {
  let url: URL;
  try {
    url = new URL(location, `http://${host}${referencedTarget}`);
  } catch {
    return undefined;
  }
  if (url.host !== host.toLowerCase() || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    return undefined;
  const question = rest.indexOf('?');
  const restPath = question === -1 ? rest : rest.slice(0, question);
  const restQuery = question === -1 ? '' : rest.slice(question + 1);
  let path = url.pathname;
  if (restPath !== '' && path.endsWith('/')) path = path.slice(0, -1);
  const query = [url.search.slice(1), restQuery].filter((part) => part !== '').join('&');
  return `${path}${restPath}${query === '' ? '' : `?${query}`}`;
}

/**
 * References (SPEC §4), at run time: the target a `$<id>/rest` stands for, from the
 * `Location` the referenced item answered (`parseReference` splits the target).
 */

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

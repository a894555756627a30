/**
 * Target resolution (SPEC §4 "Targets"): every sub-request target is resolved against
 * the batch route's base — its path up to its last segment (`/v1` for `/v1/batch`).
 */

/** The base of a batch route: `/v1/batch` → `/v1`, `/batch` → `/`, `/odata/$batch` → `/odata`. */
export function baseOfBatchPath(batchPath: string): string {
  const path = stripQuery(batchPath);
  const slash = path.lastIndexOf(
    '/',
    path.length > 1 && path.endsWith('/') ? path.length - 2 : path.length,
  );
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** `target` without its query (and, should one be there, fragment). */
function stripQuery(target: string): string {
  let end = target.length;
  for (let i = 0; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x3f || c === 0x23) end = i;
  }
  return end === target.length ? target : target.slice(0, end);
}

/** True when `path` starts with `base` segment-wise (`/v1/x` yes, `/v10/x` no). */
function startsWithSegments(path: string, base: string): boolean {
  if (base === '/') return true;
  return path === base || path.startsWith(`${base}/`) || path.startsWith(`${base}?`);
}

/**
 * Resolves a target against `base`: a relative target (`People?$top=2`) is appended to
 * it; an absolute path that does not start with it gets it prepended; one that does is
 * kept. A base of `/` changes nothing but relative targets.
 */
export function resolveTarget(target: string, base: string): string {
  if (!target.startsWith('/')) return base === '/' ? `/${target}` : `${base}/${target}`;
  if (startsWithSegments(target, base)) return target;
  return base + target;
}

/** The path of a target, without its query string. */
export function pathOfTarget(target: string): string {
  return stripQuery(target);
}

/** A percent-escape of a printable ASCII character other than `/` (which stays a separator only when literal). */
const PRINTABLE_ESCAPE = /%(2[0-9A-Ea-e]|[3-6][0-9A-Fa-f]|7[0-9A-Ea-e])/g;

/**
 * A path in a form where two spellings of one route compare equal — the path a router
 * will see (SPEC §4 "No nesting"): `\` read as `/` (as URL parsers do), percent-escapes
 * of printable ASCII decoded once (`%2F` excepted: routers keep it inside a segment),
 * `.`/`..` segments (`%2e` included) and repeated or trailing slashes removed, lower
 * case. Used by the nesting guard, which errs on the side of refusing.
 */
export function comparablePath(path: string): string {
  // The batch route's own path comes once per batch, the same each time: kept.
  if (path === lastPath) return lastComparable;
  const comparable = computeComparablePath(path);
  lastPath = path;
  lastComparable = comparable;
  return comparable;
}

let lastPath: string | undefined;
let lastComparable = '/';

function computeComparablePath(path: string): string {
  const decoded = stripQuery(path)
    .replaceAll('\\', '/')
    .replace(PRINTABLE_ESCAPE, (match) => String.fromCharCode(Number.parseInt(match.slice(1), 16)));
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`.toLowerCase();
}

/**
 * A cheap test before `comparablePath`: false when `path` cannot be the route whose
 * comparable form is `route`. Without `%` and `.` segments, normalising only drops empty
 * segments and lowers case, so the last segments must already match (case aside).
 */
export function mayBeSamePath(path: string, route: string): boolean {
  if (path.includes('%') || path.includes('/.') || path.includes('\\') || path.includes('#'))
    return true;
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  const last = route.slice(route.lastIndexOf('/') + 1);
  if (end === 0) return last.length === 0;
  const start = path.lastIndexOf('/', end - 1) + 1;
  if (end - start !== last.length) return false;
  for (let i = 0; i < last.length; i++) {
    let c = path.charCodeAt(start + i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== last.charCodeAt(i)) return false;
  }
  return true;
}

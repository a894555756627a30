/** Request-target checks shared by both formats. */

/** Why `target` cannot be a sub-request target, or `undefined` when it can. */
export function validateTarget(target: string): string | undefined {
  if (target.length === 0) return 'request target is empty';
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      return 'request target has a space, control or non-ASCII character (percent-encode it)';
    }
  }
  if (target === '*') return 'asterisk-form targets cannot be batched';
  // RFC 9112 §3.2: a request target has no fragment, and routers drop one silently.
  if (target.includes('#')) return 'request target has a fragment (#…); a request target has none';
  return undefined;
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

function normaliseHost(host: string, protocol: string): string {
  const lower = host.toLowerCase();
  const port = DEFAULT_PORT[protocol];
  return port !== undefined && lower.endsWith(`:${port}`)
    ? lower.slice(0, -port.length - 1)
    : lower;
}

/**
 * Reduces an absolute-form target (`https://api.example.com/a?b`) to its origin form
 * (`/a?b`) when its authority is the batch request's own `host`.
 */
export function resolveAbsoluteTarget(
  target: string,
  host: string | undefined,
): string | { problem: string } {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { problem: `request target "${target.slice(0, 100)}" is not a valid URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { problem: `request target scheme ${url.protocol} is not http or https` };
  }
  if (
    host === undefined ||
    normaliseHost(url.host, url.protocol) !== normaliseHost(host, url.protocol)
  ) {
    return { problem: `request target names another host (${url.host})` };
  }
  return url.pathname + url.search;
}

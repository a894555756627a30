/** Keys that are never merged nor read from defaults: they would reach `Object.prototype`. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True for `__proto__`, `constructor` and `prototype`. */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** Sets an own data property, even one named `__proto__` (never the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * Merges `defaults` into `target` deeply without overwriting (SPEC §3): a value `target`
 * has always wins; where both hold plain objects they merge key by key; arrays and
 * scalars are never merged. Keys `__proto__`, `constructor` and `prototype` of `defaults`
 * are never merged nor read; `target`'s own data is kept whole. Returns a new object;
 * neither input is changed.
 */
export function mergeDefaults<T extends Record<string, unknown>>(
  defaults: Record<string, unknown> | undefined,
  target: T,
): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(target)) setOwn(out, key, target[key]);
  if (defaults === undefined) return out as T;
  for (const key of Object.keys(defaults)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const fallback = defaults[key];
    if (!Object.hasOwn(out, key)) {
      out[key] = isPlainObject(fallback) ? mergeDefaults(fallback, {}) : fallback;
    } else {
      const own = out[key];
      if (isPlainObject(own) && isPlainObject(fallback)) out[key] = mergeDefaults(fallback, own);
    }
  }
  return out as T;
}

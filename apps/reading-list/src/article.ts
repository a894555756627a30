/** One article of a reading list (the Kinto documentation's example). */
export interface Article {
  id: number;
  title: string;
  url: string;
  read_position: number;
  /** Milliseconds since the epoch of the last change; strictly increasing. */
  last_modified: number;
}

/** A problem with a request body, in RFC 9457 `errors` form. */
export interface FieldProblem {
  pointer: string;
  detail: string;
}

/** The outcome of a write: the article, or why it was refused. */
export type WriteResult =
  | { ok: true; article: Article; created?: boolean }
  | { ok: false; status: 400 | 404 | 412 | 507; detail: string; errors?: FieldProblem[] };

const FIELDS = new Set(['title', 'url', 'read_position']);

/**
 * Checks an article body: `title` and `url` non-empty strings (both required unless
 * `partial`), `read_position` a non-negative integer, no other member.
 */
export function validateArticle(body: unknown, partial: boolean): FieldProblem[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return [{ pointer: '', detail: 'the body must be a JSON object' }];
  }
  const record = body as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  for (const key of Object.keys(record)) {
    if (!FIELDS.has(key)) problems.push({ pointer: `/${key}`, detail: `unknown member "${key}"` });
  }
  for (const key of ['title', 'url'] as const) {
    const value = record[key];
    if (value === undefined) {
      if (!partial) problems.push({ pointer: `/${key}`, detail: 'is required' });
    } else if (typeof value !== 'string' || value.trim() === '') {
      problems.push({ pointer: `/${key}`, detail: 'must be a non-empty string' });
    }
  }
  const position = record.read_position;
  if (position !== undefined && (!Number.isInteger(position) || (position as number) < 0)) {
    problems.push({ pointer: '/read_position', detail: 'must be a non-negative integer' });
  }
  return problems;
}

/** The strong ETag of an article's current version. */
export function etagOf(article: Article): string {
  return `"${article.last_modified}"`;
}

/** Preconditions of a write (`If-Match`, `If-None-Match`). */
export interface Preconditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
}

/** Why a write's preconditions fail against the article as it is, or `undefined` when they hold. */
export function preconditionFailure(
  existing: Article | undefined,
  conditions: Preconditions,
): string | undefined {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifNoneMatch !== undefined) {
    const tags = ifNoneMatch.split(',').map((tag) => tag.trim());
    if (existing !== undefined && (tags.includes('*') || tags.includes(etagOf(existing)))) {
      return 'If-None-Match: the article exists';
    }
  }
  if (ifMatch !== undefined) {
    const tags = ifMatch.split(',').map((tag) => tag.trim());
    if (existing === undefined || !(tags.includes('*') || tags.includes(etagOf(existing)))) {
      return 'If-Match: the article has changed (or does not exist)';
    }
  }
  return undefined;
}

/**
 * The article id a path segment names: a positive safe integer written without a sign or
 * leading zero (`undefined` for anything else: such a path names no article). One rule for
 * every app, so that ids the store hands out and accepts stay safe integers.
 */
export function parseArticleId(segment: string): number | undefined {
  if (!/^[1-9]\d{0,15}$/.test(segment)) return undefined;
  const id = Number(segment);
  return Number.isSafeInteger(id) ? id : undefined;
}

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
  | { ok: false; status: 400 | 404 | 412; detail: string; errors?: FieldProblem[] };

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

function preconditionFailure(
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
 * The example API's storage: in memory, one reading list per owner (the bearer token),
 * ids counting up from 1 across owners.
 */
export class ArticleStore {
  #nextId = 1;
  #lastModified = 0;
  readonly #owners = new Map<string, Map<number, Article>>();

  #list(owner: string): Map<number, Article> {
    let articles = this.#owners.get(owner);
    if (articles === undefined) {
      articles = new Map();
      this.#owners.set(owner, articles);
    }
    return articles;
  }

  #now(): number {
    this.#lastModified = Math.max(Date.now(), this.#lastModified + 1);
    return this.#lastModified;
  }

  /** The owner's articles, in id order. */
  list(owner: string): Article[] {
    return [...this.#list(owner).values()].sort((a, b) => a.id - b.id);
  }

  get(owner: string, id: number): Article | undefined {
    return this.#list(owner).get(id);
  }

  create(owner: string, body: unknown): WriteResult {
    const errors = validateArticle(body, false);
    if (errors.length > 0) return { ok: false, status: 400, detail: 'invalid article', errors };
    const { title, url, read_position } = body as {
      title: string;
      url: string;
      read_position?: number;
    };
    const article: Article = {
      id: this.#nextId++,
      title,
      url,
      read_position: read_position ?? 0,
      last_modified: this.#now(),
    };
    this.#list(owner).set(article.id, article);
    return { ok: true, article, created: true };
  }

  /** `PUT`: replaces the article (or creates it under that id when absent). */
  replace(owner: string, id: number, body: unknown, conditions: Preconditions = {}): WriteResult {
    const existing = this.get(owner, id);
    const failure = preconditionFailure(existing, conditions);
    if (failure !== undefined) return { ok: false, status: 412, detail: failure };
    const errors = validateArticle(body, false);
    if (errors.length > 0) return { ok: false, status: 400, detail: 'invalid article', errors };
    const { title, url, read_position } = body as {
      title: string;
      url: string;
      read_position?: number;
    };
    const article: Article = {
      id,
      title,
      url,
      read_position: read_position ?? 0,
      last_modified: this.#now(),
    };
    this.#list(owner).set(id, article);
    if (id >= this.#nextId) this.#nextId = id + 1;
    return { ok: true, article, created: existing === undefined };
  }

  /** `PATCH`: merges the given members into the article. */
  patch(owner: string, id: number, body: unknown, conditions: Preconditions = {}): WriteResult {
    const existing = this.get(owner, id);
    const failure = preconditionFailure(existing, conditions);
    if (failure !== undefined) return { ok: false, status: 412, detail: failure };
    if (existing === undefined)
      return { ok: false, status: 404, detail: `article ${id} not found` };
    const errors = validateArticle(body, true);
    if (errors.length > 0) return { ok: false, status: 400, detail: 'invalid article', errors };
    const article: Article = {
      ...existing,
      ...(body as Partial<Article>),
      id,
      last_modified: this.#now(),
    };
    this.#list(owner).set(id, article);
    return { ok: true, article };
  }

  remove(owner: string, id: number, conditions: Preconditions = {}): WriteResult {
    const existing = this.get(owner, id);
    const failure = preconditionFailure(existing, conditions);
    if (failure !== undefined) return { ok: false, status: 412, detail: failure };
    if (existing === undefined)
      return { ok: false, status: 404, detail: `article ${id} not found` };
    this.#list(owner).delete(id);
    return { ok: true, article: existing };
  }
}

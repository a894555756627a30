import { AsyncLocalStorage } from 'node:async_hooks';
import { AsyncLock } from './AsyncLock.js';
import {
  type Article,
  type Preconditions,
  preconditionFailure,
  validateArticle,
  type WriteResult,
} from './article.js';
import { type Connection, IN_MEMORY, isInMemory, openReader, openWriter } from './database.js';

export type { Article, FieldProblem, Preconditions, WriteResult } from './article.js';
export { etagOf, validateArticle } from './article.js';

/** Options of `new ArticleStore()`. */
export interface ArticleStoreOptions {
  /**
   * The SQLite database: a file (created with its folder when missing; it keeps the
   * articles across restarts), or `':memory:'` (a fresh, empty store, gone when closed).
   * @default ':memory:'
   */
  database?: string;
  /**
   * Milliseconds every write waits before it starts: a slow database, for demonstrations and
   * for the tests that must catch a batch while it runs (`WRITE_DELAY_MS` of `pnpm start`).
   * @default 0
   */
  writeDelayMs?: number;
}

/** The transaction a group's sub-requests run in (found through `AsyncLocalStorage`). */
interface OpenTransaction {
  /** False once it committed or rolled back: a late statement must not run outside it. */
  open: boolean;
  /** Savepoints of nested `transaction()` calls so far (their names). */
  savepoints: number;
}

/** The statements of one connection, prepared once. */
class Statements {
  readonly list;
  readonly get;
  constructor(db: Connection) {
    this.list = db.prepare('SELECT * FROM articles WHERE owner = ? ORDER BY id');
    this.get = db.prepare('SELECT * FROM articles WHERE owner = ? AND id = ?');
  }
}

class WriteStatements extends Statements {
  readonly ownerIds;
  readonly nextId;
  readonly seenId;
  readonly stamp;
  readonly put;
  readonly remove;
  constructor(db: Connection) {
    super(db);
    this.ownerIds = db.prepare(
      `INSERT INTO owner_ids (owner, last_id) SELECT ?, value FROM counters WHERE name = 'last_id'
       ON CONFLICT (owner) DO NOTHING`,
    );
    // Ids stay safe integers: past Number.MAX_SAFE_INTEGER there is no next id (no row).
    this.nextId = db.prepare(
      `UPDATE owner_ids SET last_id = last_id + 1 WHERE owner = ? AND last_id < ${Number.MAX_SAFE_INTEGER}
       RETURNING last_id AS value`,
    );
    this.seenId = db.prepare('UPDATE owner_ids SET last_id = max(last_id, ?) WHERE owner = ?');
    this.stamp = db.prepare(
      "UPDATE counters SET value = max(value + 1, ?) WHERE name = 'last_modified' RETURNING value",
    );
    this.put = db.prepare(
      `INSERT OR REPLACE INTO articles (owner, id, title, url, read_position, last_modified)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.remove = db.prepare('DELETE FROM articles WHERE owner = ? AND id = ?');
  }
}

/** An article row as the API shows it (libsql adds a `_metadata` member to rows). */
function toArticle(row: unknown): Article | undefined {
  if (row === undefined) return undefined;
  const { id, title, url, read_position, last_modified } = row as Article;
  return { id, title, url, read_position, last_modified };
}

function counterValue(row: unknown): number {
  return (row as { value: number }).value;
}

type ArticleBody = { title: string; url: string; read_position?: number };

/**
 * The example API's storage: SQLite (embedded, through libsql), one reading list per owner
 * (the bearer token), ids counting up from 1 across owners and never reused.
 *
 * `transaction(run)` is the batch's transaction hook: an atomicity group's sub-requests run
 * inside one SQLite transaction, and every store call they make finds it through
 * `AsyncLocalStorage`. Everything else waits or looks away while it is open:
 *
 * - a write from outside it (another request, another batch) waits on an async lock until
 *   the transaction committed or rolled back, then runs — never inside it, never lost;
 * - a read from outside it reads a second, read-only connection (WAL), which sees committed
 *   data only; in memory there is one connection, and such a read waits on the lock too.
 */
export class ArticleStore {
  /** The database file, or `':memory:'`. */
  readonly database: string;
  readonly #writer: Connection;
  readonly #reader: Connection | undefined;
  readonly #write: WriteStatements;
  readonly #read: Statements | undefined;
  /** Held by each write from outside a transaction, and by each transaction, while it runs. */
  readonly #lock = new AsyncLock();
  readonly #transaction = new AsyncLocalStorage<OpenTransaction>();
  #closing: Promise<void> | undefined;
  #closed = false;

  readonly #writeDelayMs: number;

  constructor(options: ArticleStoreOptions = {}) {
    this.database = options.database ?? IN_MEMORY;
    this.#writeDelayMs = options.writeDelayMs ?? 0;
    this.#writer = openWriter(this.database);
    this.#write = new WriteStatements(this.#writer);
    if (!isInMemory(this.database)) {
      this.#reader = openReader(this.database);
      this.#read = new Statements(this.#reader);
    }
  }

  /**
   * Runs `run` inside one SQLite transaction: BEGIN, `run()`, then COMMIT when it resolves,
   * ROLLBACK when it rejects (and the rejection is passed on). Every store call made in
   * `run`'s asynchronous context — the sub-requests of a batch's atomicity group, each
   * through the app's whole stack — runs inside the transaction and sees its writes; every
   * other call waits or reads committed data only (see the class). One transaction at a
   * time: the next waits until this one is over. Called inside an open transaction, it
   * runs `run` in a savepoint of it.
   *
   * ```ts
   * batch(app, { transaction: (run) => store.transaction(run) })
   * ```
   */
  async transaction<T>(run: () => Promise<T>): Promise<T> {
    const outer = this.#transaction.getStore();
    if (outer !== undefined) return this.#savepoint(this.#current(outer), run);
    return this.#lock.run(async () => {
      this.#assertOpen();
      const transaction: OpenTransaction = { open: true, savepoints: 0 };
      this.#writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.#transaction.run(transaction, run);
        transaction.open = false;
        this.#writer.exec('COMMIT');
        return result;
      } catch (error) {
        transaction.open = false;
        if (this.#writer.inTransaction) this.#writer.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /** Whether the caller runs inside an open transaction of this store. */
  get inTransaction(): boolean {
    return this.#transaction.getStore()?.open === true;
  }

  /**
   * Closes the database once the open transaction and the writes queued before this call
   * are done. A file is checkpointed first: everything is in the database file itself, its
   * `-wal` file left empty. Every call after it rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#lock.run(() => {
      this.#closed = true;
      try {
        if (this.#reader !== undefined)
          this.#writer.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
      } finally {
        this.#reader?.close();
        this.#writer.close();
      }
    });
    return this.#closing;
  }

  /** The owner's articles, in id order. */
  list(owner: string): Promise<Article[]> {
    return this.#reading((statements) =>
      statements.list.all(owner).map((row) => toArticle(row) as Article),
    );
  }

  get(owner: string, id: number): Promise<Article | undefined> {
    return this.#reading((statements) => toArticle(statements.get.get(owner, id)));
  }

  create(owner: string, body: unknown): Promise<WriteResult> {
    const errors = validateArticle(body, false);
    if (errors.length > 0) {
      return Promise.resolve({ ok: false, status: 400, detail: 'invalid article', errors });
    }
    const { title, url, read_position = 0 } = body as ArticleBody;
    return this.#writing((s) => {
      s.ownerIds.run(owner);
      const next = s.nextId.get(owner);
      if (next === undefined) {
        return { ok: false, status: 507, detail: 'no article ids are left for this owner' };
      }
      const id = counterValue(next);
      const article = { id, title, url, read_position, last_modified: this.#stamp(s) };
      s.put.run(owner, id, title, url, read_position, article.last_modified);
      return { ok: true, article, created: true };
    });
  }

  /** `PUT`: replaces the article (or creates it under that id when absent). */
  replace(
    owner: string,
    id: number,
    body: unknown,
    conditions: Preconditions = {},
  ): Promise<WriteResult> {
    return this.#writingArticle(owner, id, conditions, (s, existing) => {
      const errors = validateArticle(body, false);
      if (errors.length > 0) return { ok: false, status: 400, detail: 'invalid article', errors };
      const { title, url, read_position = 0 } = body as ArticleBody;
      const article = { id, title, url, read_position, last_modified: this.#stamp(s) };
      s.put.run(owner, id, title, url, read_position, article.last_modified);
      s.ownerIds.run(owner);
      s.seenId.run(id, owner);
      return { ok: true, article, created: existing === undefined };
    });
  }

  /** `PATCH`: merges the given members into the article. */
  patch(
    owner: string,
    id: number,
    body: unknown,
    conditions: Preconditions = {},
  ): Promise<WriteResult> {
    return this.#writingArticle(owner, id, conditions, (s, existing) => {
      if (existing === undefined)
        return { ok: false, status: 404, detail: `article ${id} not found` };
      const errors = validateArticle(body, true);
      if (errors.length > 0) return { ok: false, status: 400, detail: 'invalid article', errors };
      const { title, url, read_position } = { ...existing, ...(body as Partial<ArticleBody>) };
      const article = { id, title, url, read_position, last_modified: this.#stamp(s) };
      s.put.run(owner, id, title, url, read_position, article.last_modified);
      return { ok: true, article };
    });
  }

  remove(owner: string, id: number, conditions: Preconditions = {}): Promise<WriteResult> {
    return this.#writingArticle(owner, id, conditions, (s, existing) => {
      if (existing === undefined)
        return { ok: false, status: 404, detail: `article ${id} not found` };
      s.remove.run(owner, id);
      return { ok: true, article: existing };
    });
  }

  /**
   * A write of article `id` in one transaction: `write` runs with the article as it is (if
   * any) once its preconditions hold; `412` when they do not.
   */
  #writingArticle(
    owner: string,
    id: number,
    conditions: Preconditions,
    write: (s: WriteStatements, existing: Article | undefined) => WriteResult,
  ): Promise<WriteResult> {
    return this.#writing((s) => {
      const existing = toArticle(s.get.get(owner, id));
      const failure = preconditionFailure(existing, conditions);
      if (failure !== undefined) return { ok: false, status: 412, detail: failure };
      return write(s, existing);
    });
  }

  /** The next version stamp: now in milliseconds, or one past the last, whichever is later. */
  #stamp(s: WriteStatements): number {
    return counterValue(s.stamp.get(Date.now()));
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('the article store is closed');
  }

  /** The caller's transaction, which must still be open. */
  #current(transaction: OpenTransaction): OpenTransaction {
    if (!transaction.open) {
      // A sub-request still running after its group's transaction ended (it timed out):
      // its statements would run outside the transaction, or inside the next one.
      throw new Error('the transaction this request ran in is over');
    }
    return transaction;
  }

  /** A read: in the caller's transaction, else from committed data (or after the lock). */
  async #reading<T>(read: (statements: Statements) => T): Promise<T> {
    const transaction = this.#transaction.getStore();
    if (transaction !== undefined) {
      this.#current(transaction);
      return read(this.#write);
    }
    const committed = this.#read;
    if (committed === undefined) {
      // In memory: one connection, so wait until no transaction is open on it.
      return this.#lock.run(() => {
        this.#assertOpen();
        return read(this.#write);
      });
    }
    this.#assertOpen();
    return read(committed);
  }

  /**
   * A write (several statements, all or nothing): in the caller's transaction, else in a
   * transaction of its own once the lock is free.
   */
  async #writing(write: (statements: WriteStatements) => WriteResult): Promise<WriteResult> {
    if (this.#writeDelayMs > 0)
      await new Promise((resolve) => setTimeout(resolve, this.#writeDelayMs));
    const transaction = this.#transaction.getStore();
    if (transaction !== undefined) {
      this.#current(transaction);
      return this.#atomically(write);
    }
    return this.#lock.run(() => {
      this.#assertOpen();
      return this.#atomically(write);
    });
  }

  /** Runs `write` in a transaction, or in a savepoint of the one open on the connection. */
  #atomically(write: (statements: WriteStatements) => WriteResult): WriteResult {
    const db = this.#writer;
    const nested = db.inTransaction;
    db.exec(nested ? 'SAVEPOINT write' : 'BEGIN IMMEDIATE');
    try {
      const result = write(this.#write);
      db.exec(nested ? 'RELEASE write' : 'COMMIT');
      return result;
    } catch (error) {
      if (nested) db.exec('ROLLBACK TO write; RELEASE write');
      else if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  /** A nested `transaction()`: a savepoint of the open transaction. */
  async #savepoint<T>(transaction: OpenTransaction, run: () => Promise<T>): Promise<T> {
    const name = `nested_${++transaction.savepoints}`;
    this.#writer.exec(`SAVEPOINT ${name}`);
    try {
      const result = await run();
      this.#current(transaction);
      this.#writer.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      if (transaction.open) this.#writer.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw error;
    }
  }
}

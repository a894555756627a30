import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'libsql';

/** One SQLite connection (libsql's better-sqlite3-compatible, synchronous API). */
export type Connection = Database.Database;

/** The database name that keeps everything in memory, gone when the store closes. */
export const IN_MEMORY = ':memory:';

/** Whether `database` names an in-memory database rather than a file. */
export function isInMemory(database: string): boolean {
  return database === IN_MEMORY || database === '' || database.startsWith('file::memory:');
}

/** The schema's version, kept in SQLite's `user_version`; a newer file is refused. */
const SCHEMA_VERSION = 2;

/**
 * Version 2: ids count per owner (one owner's `PUT /articles/<huge id>` moves nobody else's
 * count). `counters.last_id` stays as the floor of an owner's first count: 0 in a new
 * file, the last id version 1 gave in a file made by it — so no id is ever given twice.
 */
const OWNER_IDS = `
  CREATE TABLE owner_ids (owner TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID;
  PRAGMA user_version = ${SCHEMA_VERSION};
`;

const SCHEMA = `
  CREATE TABLE articles (
    owner TEXT NOT NULL,
    id INTEGER NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    read_position INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    PRIMARY KEY (owner, id)
  ) WITHOUT ROWID;
  -- last_id: where each owner's count of ids starts (owner_ids, schema version 2);
  -- last_modified: the newest version stamp (strictly increasing, so ETags never repeat).
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO counters (name, value) VALUES ('last_id', 0), ('last_modified', 0);
`;

/** Reads a one-column answer (libsql adds a `_metadata` member to every row). */
function scalar(db: Connection, sql: string): unknown {
  const row = db.prepare(sql).get() as Record<string, unknown> | undefined;
  return row === undefined ? undefined : Object.values(row)[0];
}

/**
 * Opens the connection the store writes through (and, in memory, reads through too):
 * creates the file, its folder and the schema when missing. A file is put in WAL mode,
 * so that a second, read-only connection reads the last committed data while a
 * transaction is open on this one.
 */
export function openWriter(database: string): Connection {
  const inMemory = isInMemory(database);
  if (!inMemory) mkdirSync(dirname(database), { recursive: true });
  const db = new Database(database);
  try {
    // Another process holding the file's write lock is waited for, not failed at once.
    db.exec('PRAGMA busy_timeout = 5000');
    if (!inMemory) {
      db.exec('PRAGMA journal_mode = WAL');
      // WAL + NORMAL: a commit survives the process crashing (not the machine losing power).
      db.exec('PRAGMA synchronous = NORMAL');
    }
    const version = Number(scalar(db, 'PRAGMA user_version'));
    if (version === 0) {
      db.exec(`BEGIN IMMEDIATE; ${SCHEMA} ${OWNER_IDS} COMMIT;`);
    } else if (version === 1) {
      db.exec(`BEGIN IMMEDIATE; ${OWNER_IDS} COMMIT;`);
    } else if (version !== SCHEMA_VERSION) {
      throw new Error(
        `${database}: schema version ${version}, this reading list knows ${SCHEMA_VERSION}`,
      );
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Opens the read-only connection of a file database (WAL: it sees committed data only). */
export function openReader(database: string): Connection {
  const db = new Database(database, { readonly: true });
  db.exec('PRAGMA busy_timeout = 5000');
  return db;
}

/**
 * The SQLite file an example app keeps its articles in: `DATABASE` when it is set
 * (`:memory:` keeps nothing), else `data/reading-list.db` in the app's folder. That
 * folder is made with a `.gitignore` of its own, so the data never shows in `git status`.
 */
export function databasePath(appDir: string | URL, env = process.env.DATABASE): string {
  if (env !== undefined && env.trim() !== '') return env;
  const dir = join(typeof appDir === 'string' ? appDir : fileURLToPath(appDir), 'data');
  mkdirSync(dir, { recursive: true });
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore)) {
    writeFileSync(ignore, "# The reading list's SQLite files: local data, not source.\n*\n");
  }
  return join(dir, 'reading-list.db');
}

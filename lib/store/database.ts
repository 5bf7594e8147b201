import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";
import { StoreError } from "./errors.js";

/** Where the store lives unless `--store` says otherwise (relative to the project root). */
export const DEFAULT_STORE_PATH = ".fabstir/store.db";

/**
 * SQLite's header `application_id` of a Fabstir store ("FABS"): it tells a Fabstir store from any
 * other SQLite file without trusting table names.
 */
export const STORE_APPLICATION_ID = 0x46414253;

const SQLITE_MAGIC = "SQLite format 3\0";

export interface OpenStoreOptions {
  /** Open without writing anything (no directory, no file, no WAL switch); the file must exist. */
  readOnly?: boolean;
}

/**
 * Reads the 100-byte SQLite header of an existing, non-empty file and refuses anything that is not
 * a Fabstir store, before SQLite opens it (opening a foreign database in WAL mode would write to it).
 * The application_id is written before the switch to WAL (see `initialize`), so it is always in
 * the main file's header, even after a crash.
 */
function checkHeader(file: string): void {
  const header = Buffer.alloc(100);
  const fd = openSync(file, "r");
  let read: number;
  try {
    read = readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (read < 100 || header.toString("latin1", 0, 16) !== SQLITE_MAGIC) {
    throw new StoreError(`${file} is not a Fabstir store (not an SQLite database); pass another --store path`);
  }
  const applicationId = header.readUInt32BE(68);
  if (applicationId !== STORE_APPLICATION_ID) {
    throw new StoreError(
      `${file} is an SQLite database but not a Fabstir store (application_id 0x${applicationId.toString(16)}); pass another --store path`,
    );
  }
}

function initialize(db: DatabaseSync): void {
  db.exec(`PRAGMA application_id = ${STORE_APPLICATION_ID}`);
  db.exec(`CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
}

/**
 * Opens the store at `file`, creating it (and its directory) at schema version 0 when it does not
 * exist or is empty; WAL mode, so readers never block the one writer. Refuses any other file.
 */
export function openStore(file: string, options: OpenStoreOptions = {}): DatabaseSync {
  const exists = existsSync(file) && statSync(file).size > 0;
  if (exists) checkHeader(file);
  if (options.readOnly) {
    if (!exists) throw new StoreError(`no store at ${file}`);
    // A reader of a WAL database creates the -wal and -shm files. When there is no WAL (the last
    // writer closed cleanly, so everything is in the main file), open it immutable: nothing at all
    // is created or written. A WAL that exists may hold commits, so it is read normally.
    if (existsSync(`${file}-wal`)) return new DatabaseSync(file, { readOnly: true });
    const url = pathToFileURL(path.resolve(file));
    url.searchParams.set("immutable", "1");
    return new DatabaseSync(url, { readOnly: true });
  }
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DatabaseSync(file);
  try {
    // Another process may wait for the write lock (BEGIN IMMEDIATE) instead of failing at once.
    db.exec("PRAGMA busy_timeout = 5000");
    if (!exists) initialize(db);
    db.exec("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL is still crash-safe (a commit can be lost on power loss, never torn).
    db.exec("PRAGMA synchronous = NORMAL");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** A row of the schema-version table. */
export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  applied_at: string;
}

export function appliedMigrations(db: DatabaseSync): AppliedMigration[] {
  return db
    .prepare("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
    .all() as unknown as AppliedMigration[];
}

/** The store's schema version: its highest applied migration, 0 for a new store. */
export function storeVersion(db: DatabaseSync): number {
  const row = db.prepare("SELECT MAX(version) AS version FROM schema_migrations").get() as {
    version: number | null;
  };
  return row.version ?? 0;
}

/**
 * Runs `body` in one write transaction (BEGIN IMMEDIATE takes the write lock up front, so two
 * writers cannot interleave); any error rolls everything back and is rethrown.
 */
export function inWriteTransaction<T>(db: DatabaseSync, body: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  let result: T;
  try {
    result = body();
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
  db.exec("COMMIT");
  return result;
}

import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  type Stats,
} from "node:fs";
import path from "node:path";
import { DatabaseSync, type DatabaseSyncOptions, type StatementSync } from "node:sqlite";
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
  /**
   * Also run SQLite's `quick_check` of every page before a read-only open returns (an open for
   * writing always does). Without it a read-only open checks the structure only, in constant time.
   */
  fullCheck?: boolean;
}

/** What to do with a store file that is damaged. */
const DAMAGED_ADVICE =
  "restore it from a backup, or move it away to start a new store (re-import the jobs), or pass another --store path";

/** The refusal of a damaged store, saying what is wrong and what to do. */
function damaged(file: string, detail: string): StoreError {
  return new StoreError(`${file} is damaged (${detail}); ${DAMAGED_ADVICE}`);
}

/** SQLite's result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB. */
const DAMAGE_CODES = new Set([11, 26]);

/** Whether `error` is SQLite finding the file damaged (by its result code, or its message). */
function isDamage(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown }).errcode;
  if (typeof errcode === "number" && DAMAGE_CODES.has(errcode & 0xff)) return true;
  return /malformed|not a database|corrupt|disk image/i.test(error instanceof Error ? error.message : String(error));
}

/** A refusal for an error of the file system or of SQLite about `file`, with what to do. */
function storeErrorOf(error: unknown, file: string, doing: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "EACCES" || code === "EPERM" || code === "EROFS" || /readonly database/i.test(message)) {
    return new StoreError(
      `${file} cannot be ${doing}: permission denied or read-only (${message}); make it and its directory writable, or use a command that only reads`,
    );
  }
  if (code === "ENOTDIR" || code === "EISDIR" || code === "ENOENT" || code === "EEXIST") {
    return new StoreError(`${file} cannot be ${doing}: ${message}; pass a --store path to a file in a directory`);
  }
  if (isDamage(error)) return damaged(file, message);
  return new StoreError(`${file} cannot be ${doing}: ${message}; check the file, or pass another --store path`);
}

/** The file's status, undefined when nothing is there; other errors (permissions) are refusals. */
function statOf(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    throw storeErrorOf(error, file, "read");
  }
}

/**
 * Reads the 100-byte SQLite header of an existing, non-empty file and refuses anything that is not
 * a Fabstir store, before SQLite opens it (opening a foreign database in WAL mode would write to it).
 * The application_id is written before the switch to WAL (see `initialize`), so it is always in
 * the main file's header, even after a crash. A file shorter than the pages its header counts was
 * truncated (checked only without a WAL file, whose frames the header does not count yet).
 */
function checkHeader(file: string, size: number): void {
  const header = Buffer.alloc(100);
  let read: number;
  try {
    const fd = openSync(file, "r");
    try {
      read = readSync(fd, header, 0, 100, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw storeErrorOf(error, file, "read");
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
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw new StoreError(`${file} is damaged (page size ${rawPageSize} in its header); ${DAMAGED_ADVICE}`);
  }
  const pages = header.readUInt32BE(28);
  // The in-header page count is valid when "version-valid-for" equals the change counter.
  const countValid = header.readUInt32BE(92) === header.readUInt32BE(24);
  if (countValid && !existsSync(`${file}-wal`) && size < pages * pageSize) {
    throw new StoreError(
      `${file} is damaged: truncated to ${size} bytes, its header counts ${pages} pages of ${pageSize}; ${DAMAGED_ADVICE}`,
    );
  }
}

/**
 * A store connection on which SQLite finding the file damaged (a corrupt page, not a database) is
 * the same StoreError a damaged store gets at open, not a raw SQLite error: a read-only open checks
 * the structure only, so damage deeper in the file is found by the first read that reaches it.
 * Statements are wrapped; every other error (a bug, a busy lock) passes through unchanged.
 */
class StoreDatabase extends DatabaseSync {
  readonly #file: string;

  constructor(file: string, location: string | URL, options?: DatabaseSyncOptions) {
    super(location, options ?? {});
    this.#file = file;
  }

  override exec(sql: string): void {
    try {
      super.exec(sql);
    } catch (error) {
      throw isDamage(error) ? damaged(this.#file, (error as Error).message) : error;
    }
  }

  override prepare(sql: string, options?: StatementOptions): StatementSync {
    try {
      return guarded(options === undefined ? super.prepare(sql) : super.prepare(sql, options), this.#file);
    } catch (error) {
      throw isDamage(error) ? damaged(this.#file, (error as Error).message) : error;
    }
  }
}

type StatementOptions = Parameters<DatabaseSync["prepare"]>[1];

/**
 * `target` (a statement, or the iterator its `iterate` returns) with every method turning a damage
 * error into the StoreError; an object a method returns is wrapped the same way.
 */
function guarded<T extends object>(target: T, file: string): T {
  const proxy: T = new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(object, args);
        } catch (error) {
          throw isDamage(error) ? damaged(file, (error as Error).message) : error;
        }
        if (result === object) return proxy;
        return key === "iterate" ? guarded(result as object, file) : result;
      };
    },
  });
  return proxy;
}

/** A read-only connection that creates nothing next to `file` when it has no WAL file. */
function openReader(file: string): DatabaseSync {
  if (existsSync(`${file}-wal`)) return new StoreDatabase(file, file, { readOnly: true });
  const url = pathToFileURL(path.resolve(file));
  url.searchParams.set("immutable", "1");
  return new StoreDatabase(file, url, { readOnly: true });
}

/**
 * The store's structure, in constant time whatever its size: the schema (SQLite's page 1 and the
 * pages it names) parses, the schema-version table passes `quick_check` and reads, and a store at
 * version 1 or above has its jobs table. A damaged store is refused with what to do.
 */
function checkStructure(db: DatabaseSync, file: string): void {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]).map(
      (row) => row.name,
    ),
  );
  if (!tables.has("schema_migrations")) throw damaged(file, "it has no schema_migrations table");
  refuseProblems(db.prepare("PRAGMA quick_check(schema_migrations)").all() as unknown as QuickCheckRow[], file);
  const { version } = db.prepare("SELECT MAX(version) AS version FROM schema_migrations").get() as {
    version: number | null;
  };
  if ((version ?? 0) > 0 && !tables.has("jobs")) {
    throw damaged(file, `it is at schema version ${version} and has no jobs table`);
  }
}

interface QuickCheckRow {
  quick_check: string;
}

function refuseProblems(rows: readonly QuickCheckRow[], file: string): void {
  const problems = rows.map((row) => row.quick_check).filter((line) => line !== "ok");
  if (problems.length > 0) throw damaged(file, problems.slice(0, 3).join("; "));
}

/**
 * SQLite's `quick_check` of the whole store: every page and index, linear in the file's size (about
 * 1 ms per MiB when cached). Run before every write (`openStore` for writing, a dry-run migration)
 * and on request; a damaged store is refused with what to do.
 */
export function checkStoreContents(db: DatabaseSync, file: string): void {
  refuseProblems(db.prepare("PRAGMA quick_check").all() as unknown as QuickCheckRow[], file);
}

/** A checked read-only connection to the existing store `file`; refusals are StoreErrors. */
function openChecked(file: string, full: boolean): DatabaseSync {
  let reader: DatabaseSync | undefined;
  try {
    reader = openReader(file);
    if (full) checkStoreContents(reader, file);
    checkStructure(reader, file);
    return reader;
  } catch (error) {
    reader?.close();
    throw storeErrorOf(error, file, "read");
  }
}

function initialize(db: DatabaseSync): void {
  // One transaction: a crash leaves an empty file (a new store next time), never a marked file
  // without its version table.
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`PRAGMA application_id = ${STORE_APPLICATION_ID}`);
    db.exec(`CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/**
 * Opens the store at `file`, creating it (and its directory) at schema version 0 when it does not
 * exist or is empty; WAL mode, so readers never block the one writer. Refuses, with a StoreError
 * saying what to do and before writing anything, any other file: a directory, a foreign or
 * damaged SQLite file (wrong application_id, truncated, a broken schema, pages that fail
 * `quick_check`), a file that cannot be read, or, for writing, a read-only one (its mode has no
 * write bit: respected even by root, who could write it anyway).
 *
 * What is checked when: the header and the structure on every open (constant time); every page
 * (`quick_check`, linear in the file) before a write, and for reading only with `fullCheck`, so
 * that a command that reads a few rows does not read the whole store. Damage a read-only open did
 * not look for is refused by the read that meets it, with the same StoreError (StoreDatabase).
 */
export function openStore(file: string, options: OpenStoreOptions = {}): DatabaseSync {
  if (file === ":memory:") return openWriter(file, false);
  const stat = statOf(file);
  if (stat !== undefined && !stat.isFile()) {
    const what = stat.isDirectory() ? "a directory" : "not a regular file";
    throw new StoreError(`${file} is ${what}, not a Fabstir store; pass the path of a store file (or a new one)`);
  }
  const exists = stat !== undefined && stat.size > 0;
  if (exists) checkHeader(file, stat.size);
  if (options.readOnly) {
    if (!exists) throw new StoreError(`no store at ${file}`);
    // A reader of a WAL database creates the -wal and -shm files. When there is no WAL (the last
    // writer closed cleanly, so everything is in the main file), open it immutable: nothing at all
    // is created or written. A WAL that exists may hold commits, so it is read normally.
    return openChecked(file, options.fullCheck ?? false);
  }
  // Every page is checked before anything writes, through a reader that writes nothing.
  if (exists) openChecked(file, true).close();
  if (stat !== undefined) {
    if ((stat.mode & 0o222) === 0) {
      throw new StoreError(
        `${file} is read-only (mode ${(stat.mode & 0o777).toString(8)}); make it writable (chmod u+w) to change the store, or use a command that only reads`,
      );
    }
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw storeErrorOf(error, file, "written");
    }
  }
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  } catch (error) {
    throw storeErrorOf(error, file, "created");
  }
  return openWriter(file, exists);
}

function openWriter(file: string, exists: boolean): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = file === ":memory:" ? new DatabaseSync(file) : new StoreDatabase(file, file);
  } catch (error) {
    throw storeErrorOf(error, file, "opened");
  }
  try {
    // Another process may wait for the write lock (BEGIN IMMEDIATE) instead of failing at once.
    db.exec("PRAGMA busy_timeout = 5000");
    if (!exists) initialize(db);
    db.exec("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL is still crash-safe (a commit can be lost on power loss, never torn).
    db.exec("PRAGMA synchronous = NORMAL");
  } catch (error) {
    db.close();
    throw storeErrorOf(error, file, "opened");
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

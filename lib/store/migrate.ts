import type { DatabaseSync } from "node:sqlite";
import { canonicalJson } from "./canonical.js";
import {
  appliedMigrations,
  checkStoreContents,
  inWriteTransaction,
  storeVersion,
  type AppliedMigration,
} from "./database.js";
import { StoreError } from "./errors.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";
import type { AnyRecord } from "./migrations/types.js";
import { indexColumns, parseRecord, type JobRecord } from "./records.js";

export interface MigrateOptions {
  /** Plan and convert in memory, report, write nothing. */
  dryRun?: boolean;
  /** The migrations to use (default: lib/store/migrations). */
  migrations?: readonly Migration[];
  /** The time written to applied_at (default: now). */
  now?: () => Date;
  /** How many records a step reads, converts and rewrites at a time (default DEFAULT_PAGE_SIZE). */
  pageSize?: number;
}

/**
 * Records per page: large enough that the per-page queries cost nothing next to the conversion
 * (zod before and after), small enough that a page's records are a few hundred KiB.
 */
export const DEFAULT_PAGE_SIZE = 500;

export interface StepReport {
  version: number;
  name: string;
  direction: "up" | "down";
  /** The store version before and after the step. */
  from: number;
  to: number;
  records: number;
}

export interface MigrateResult {
  from: number;
  to: number;
  dryRun: boolean;
  steps: StepReport[];
}

/** A stored job: its id and its canonical JSON text. */
interface Row {
  id: string;
  record: string;
}

function checkRegistry(migrations: readonly Migration[]): void {
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1) {
      throw new StoreError(
        `schema migrations: expected version ${i + 1} at position ${i + 1}, found ${migration.version} (${migration.name}); versions must be 1, 2, 3, … without gaps`,
      );
    }
  });
}

/**
 * Refuses a store whose applied migrations are not exactly 1..current of `migrations` with the
 * same names and checksums: an edited, already-applied migration would make the records disagree
 * with the code that claims to have written them.
 */
export function verifyApplied(applied: readonly AppliedMigration[], migrations: readonly Migration[]): void {
  applied.forEach((row, i) => {
    if (row.version !== i + 1) {
      throw new StoreError(
        `schema_migrations: version ${i + 1} is missing (found ${row.version}); the store is damaged`,
      );
    }
    const migration = migrations[i];
    if (migration === undefined) {
      throw new StoreError(
        `the store has schema version ${row.version} (${row.name}), which this toolkit does not know; use the toolkit that wrote it`,
      );
    }
    if (migration.name !== row.name || migration.checksum !== row.checksum) {
      throw new StoreError(
        `applied migration ${row.version} (${row.name}) was edited after it was applied: stored checksum ${row.checksum}, ` +
          `${migration.name} now ${migration.checksum}; restore it as applied and put the change in a new migration`,
      );
    }
  });
}

/** `migration` up on one record: a retained next-version record comes back as it was. */
function stepUp(migration: Migration, record: AnyRecord): AnyRecord {
  const { _retained, ...rest } = record;
  if (_retained !== undefined) return _retained as AnyRecord;
  return migration.up(rest);
}

/** `migration` down on one record: whatever the older shape cannot hold is retained whole. */
function stepDown(migration: Migration, record: AnyRecord): AnyRecord {
  const older = migration.down(record);
  if (canonicalJson(migration.up(older)) === canonicalJson(record)) return older;
  return { ...older, _retained: record };
}

/**
 * Parses and validates a stored or converted version-`version` record, including that its
 * `_retained` record still agrees with it (it was not edited after the down migration that wrote it).
 */
function validate(version: number, value: unknown, label: string, migrations: readonly Migration[]): AnyRecord {
  const record = parseRecord(version, value, label) as unknown as AnyRecord;
  const next = migrations[version];
  if (record._retained !== undefined && next !== undefined) {
    if (canonicalJson(stepDown(next, record._retained as AnyRecord)) !== canonicalJson(record)) {
      throw new StoreError(
        `${label}: _retained: does not agree with the record (edited after a down migration); remove _retained to accept losing it`,
      );
    }
  }
  return record;
}

/** A converted row: its canonical JSON and the indexed columns the jobs table keeps beside it. */
interface ConvertedRow extends Row {
  columns: ReturnType<typeof indexColumns>;
}

/** One step on one stored row: validated before and after; errors name the job. */
function convertRow(row: Row, migration: Migration, up: boolean, migrations: readonly Migration[]): ConvertedRow {
  const from = up ? migration.version - 1 : migration.version;
  const to = up ? migration.version : migration.version - 1;
  const label = `job ${row.id}`;
  let value: unknown;
  try {
    value = JSON.parse(row.record);
  } catch {
    throw new StoreError(`${label}: the stored record is not JSON; the store is damaged`);
  }
  const before = validate(from, value, `${label} (before ${migration.name} ${up ? "up" : "down"})`, migrations);
  let after: AnyRecord;
  try {
    after = up ? stepUp(migration, before) : stepDown(migration, before);
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(`${label}: ${migration.name} ${up ? "up" : "down"}: ${(error as Error).message}`);
  }
  const record = validate(to, after, `${label} (after ${migration.name} ${up ? "up" : "down"})`, migrations);
  return { id: row.id, record: canonicalJson(after), columns: indexColumns(record as unknown as JobRecord) };
}

/** Going down to version 0 drops the jobs table: refused while it holds any record. */
function refuseDeleting(records: number): void {
  if (records > 0) {
    throw new StoreError(
      `version 0 has no jobs table and the store holds ${records} job record(s); going down to 0 would delete them`,
    );
  }
}

function countRows(db: DatabaseSync): number {
  return (db.prepare("SELECT COUNT(*) AS n FROM jobs").get() as { n: number }).n;
}

/**
 * Calls `body` with each page of at most `pageSize` stored rows, in id order (keyset: each page
 * starts after the last id of the one before, so rows rewritten in place are neither skipped nor
 * read twice); `body` may update the rows it was given before the next page is read. Returns how
 * many rows there were. Only one page is in memory at a time.
 */
function forEachPage(db: DatabaseSync, pageSize: number, body: (rows: Row[]) => void): number {
  const first = db.prepare("SELECT id, record FROM jobs ORDER BY id LIMIT ?");
  const next = db.prepare("SELECT id, record FROM jobs WHERE id > ? ORDER BY id LIMIT ?");
  let total = 0;
  for (let rows = first.all(pageSize) as unknown as Row[]; rows.length > 0;) {
    body(rows);
    total += rows.length;
    if (rows.length < pageSize) break;
    rows = next.all(rows[rows.length - 1]!.id, pageSize) as unknown as Row[];
  }
  return total;
}

/** The target as a version number, or a StoreError naming the versions that exist. */
export function parseTargetVersion(text: string, latest = MIGRATIONS.length): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text.trim())) {
    throw new StoreError(`--to must be a schema version number, 0 to ${latest} (got "${text}")`);
  }
  return Number(text.trim());
}

/**
 * Brings the store to schema version `target`, one migration at a time, each in its own
 * transaction (BEGIN IMMEDIATE … COMMIT): an error or crash inside a step leaves the version
 * before it. A version that does not exist is an error, never skipped. Inside a step the records
 * are read, converted and rewritten a page at a time, so memory does not grow with the store.
 */
export function migrateTo(db: DatabaseSync, target: number, options: MigrateOptions = {}): MigrateResult {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? (() => new Date());
  const dryRun = options.dryRun ?? false;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new StoreError(`the migration page size must be a whole number of records above 0 (got ${pageSize})`);
  }
  checkRegistry(migrations);
  if (!Number.isSafeInteger(target) || target < 0 || target > migrations.length) {
    throw new StoreError(
      `schema version ${target} does not exist: the versions are 0 (empty store) to ${migrations.length}; a missing version is never skipped`,
    );
  }
  verifyApplied(appliedMigrations(db), migrations);
  const from = storeVersion(db);
  const path: { migration: Migration; up: boolean; from: number; to: number }[] = [];
  for (let version = from; version !== target;) {
    const up = target > version;
    const next = up ? version + 1 : version - 1;
    path.push({ migration: migrations[up ? version : version - 1]!, up, from: version, to: next });
    version = next;
  }
  const report = (step: (typeof path)[number], records: number): StepReport => ({
    version: step.migration.version,
    name: step.migration.name,
    direction: step.up ? "up" : "down",
    from: step.from,
    to: step.to,
    records,
  });
  if (dryRun) {
    // What the real run would refuse first: a damaged file (it opens read-write, which checks
    // every page), then the records, each taken through every step at once so that only one
    // page is ever in memory.
    checkStoreContents(db, db.location() ?? "the store");
    const converting = path.filter((step) => step.to > 0);
    const records =
      from === 0
        ? 0
        : forEachPage(db, pageSize, (rows) => {
            for (const row of rows) {
              converting.reduce<Row>((current, step) => convertRow(current, step.migration, step.up, migrations), row);
            }
          });
    if (target === 0) refuseDeleting(records);
    return { from, to: target, dryRun, steps: path.map((step) => report(step, records)) };
  }
  const steps: StepReport[] = [];
  for (const step of path) {
    const { migration, up } = step;
    const records = inWriteTransaction(db, () => {
      // Read inside the transaction: the step converts exactly what it commits over.
      if (storeVersion(db) !== step.from) throw new StoreError("the store changed version during the migration");
      if (step.to === 0) refuseDeleting(countRows(db));
      if (up) for (const statement of migration.ddl?.up ?? []) db.exec(statement);
      let converted = 0;
      if (step.from > 0 && step.to > 0) {
        const update = db.prepare("UPDATE jobs SET user = ?, created = ?, status = ?, record = ? WHERE id = ?");
        converted = forEachPage(db, pageSize, (rows) => {
          const page = rows.map((row) => convertRow(row, migration, up, migrations));
          for (const { id, record, columns } of page) {
            update.run(columns.user, columns.created, columns.status, record, id);
          }
        });
      }
      if (!up) for (const statement of migration.ddl?.down ?? []) db.exec(statement);
      if (up) {
        db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)").run(
          migration.version,
          migration.name,
          migration.checksum,
          now().toISOString(),
        );
      } else {
        db.prepare("DELETE FROM schema_migrations WHERE version = ?").run(migration.version);
      }
      return converted;
    });
    steps.push(report(step, records));
  }
  return { from, to: target, dryRun, steps };
}

/** What `schema:status` prints: the version, each migration's state and the record count. */
export interface StoreStatus {
  version: number;
  latest: number;
  records: number;
  migrations: {
    version: number;
    name: string;
    checksum: string;
    state: "applied" | "pending" | "edited";
    appliedAt?: string;
  }[];
}

export function storeStatus(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): StoreStatus {
  const applied = appliedMigrations(db);
  const version = storeVersion(db);
  const records = version === 0 ? 0 : countRows(db);
  const rows: StoreStatus["migrations"] = migrations.map((migration) => {
    const row = applied.find((entry) => entry.version === migration.version);
    if (row === undefined)
      return { version: migration.version, name: migration.name, checksum: migration.checksum, state: "pending" };
    const state = row.checksum === migration.checksum && row.name === migration.name ? "applied" : "edited";
    return { version: row.version, name: row.name, checksum: row.checksum, state, appliedAt: row.applied_at };
  });
  return { version, latest: migrations.length, records, migrations: rows };
}

/**
 * One record from schema version `from` to `to` exactly as `migrateTo` converts the store's
 * records (validated before and after each step); returns its canonical JSON.
 */
export function migrateRecord(
  value: unknown,
  from: number,
  to: number,
  migrations: readonly Migration[] = MIGRATIONS,
): string {
  checkRegistry(migrations);
  for (const version of [from, to]) {
    if (!Number.isSafeInteger(version) || version < 1 || version > migrations.length) {
      throw new StoreError(`schema version ${version} has no job records: the versions are 1 to ${migrations.length}`);
    }
  }
  const id = typeof value === "object" && value !== null ? String((value as { id?: unknown }).id) : "?";
  let row: Row = { id, record: canonicalJson(value) };
  for (let version = from; version !== to; version += to > version ? 1 : -1) {
    const up = to > version;
    row = convertRow(row, migrations[up ? version : version - 1]!, up, migrations);
  }
  if (from === to) validate(from, value, `job ${id}`, migrations);
  return row.record;
}

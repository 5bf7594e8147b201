import type { DatabaseSync } from "node:sqlite";
import { canonicalJson } from "./canonical.js";
import { appliedMigrations, inWriteTransaction, storeVersion, type AppliedMigration } from "./database.js";
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
}

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

/** One step on every row, in memory: validated before and after, errors name the job. */
function convert(rows: readonly Row[], migration: Migration, up: boolean, migrations: readonly Migration[]): Row[] {
  const from = up ? migration.version - 1 : migration.version;
  const to = up ? migration.version : migration.version - 1;
  if (to === 0 && rows.length > 0) {
    throw new StoreError(
      `version 0 has no jobs table and the store holds ${rows.length} job record(s); going down to 0 would delete them`,
    );
  }
  return rows.map((row) => {
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
    validate(to, after, `${label} (after ${migration.name} ${up ? "up" : "down"})`, migrations);
    return { id: row.id, record: canonicalJson(after) };
  });
}

function readRows(db: DatabaseSync, version: number): Row[] {
  if (version === 0) return [];
  return db.prepare("SELECT id, record FROM jobs ORDER BY id").all() as unknown as Row[];
}

function writeRows(db: DatabaseSync, rows: readonly Row[]): void {
  const update = db.prepare("UPDATE jobs SET user = ?, created = ?, status = ?, record = ? WHERE id = ?");
  for (const row of rows) {
    const columns = indexColumns(JSON.parse(row.record) as JobRecord);
    update.run(columns.user, columns.created, columns.status, row.record, row.id);
  }
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
 * before it. A version that does not exist is an error, never skipped.
 */
export function migrateTo(db: DatabaseSync, target: number, options: MigrateOptions = {}): MigrateResult {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? (() => new Date());
  const dryRun = options.dryRun ?? false;
  checkRegistry(migrations);
  if (!Number.isSafeInteger(target) || target < 0 || target > migrations.length) {
    throw new StoreError(
      `schema version ${target} does not exist: the versions are 0 (empty store) to ${migrations.length}; a missing version is never skipped`,
    );
  }
  verifyApplied(appliedMigrations(db), migrations);
  const from = storeVersion(db);
  const steps: StepReport[] = [];
  // A dry run converts the records in memory from one step to the next and never writes.
  let rows = dryRun ? readRows(db, from) : [];
  for (let version = from; version !== target;) {
    const up = target > version;
    const migration = migrations[up ? version : version - 1]!;
    const next = up ? version + 1 : version - 1;
    if (dryRun) {
      rows = convert(rows, migration, up, migrations);
    } else {
      inWriteTransaction(db, () => {
        // Re-read inside the transaction: the step converts exactly what it commits over.
        if (storeVersion(db) !== version) throw new StoreError("the store changed version during the migration");
        const converted = convert(readRows(db, version), migration, up, migrations);
        rows = converted;
        if (up) for (const statement of migration.ddl?.up ?? []) db.exec(statement);
        if (next > 0) writeRows(db, converted);
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
      });
    }
    steps.push({
      version: migration.version,
      name: migration.name,
      direction: up ? "up" : "down",
      from: version,
      to: next,
      records: rows.length,
    });
    version = next;
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
  const records = version === 0 ? 0 : (db.prepare("SELECT COUNT(*) AS n FROM jobs").get() as { n: number }).n;
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
  let rows: Row[] = [{ id, record: canonicalJson(value) }];
  for (let version = from; version !== to; version += to > version ? 1 : -1) {
    const up = to > version;
    rows = convert(rows, migrations[up ? version : version - 1]!, up, migrations);
  }
  if (from === to) validate(from, value, `job ${id}`, migrations);
  return rows[0]!.record;
}

import type { DatabaseSync } from "node:sqlite";
import { canonicalJson } from "./canonical.js";
import { inWriteTransaction, storeVersion } from "./database.js";
import { StoreError } from "./errors.js";
import { LATEST_VERSION } from "./migrations/index.js";
import { indexColumns, parseRecord, type JobRecord } from "./records.js";

function requireJobsTable(db: DatabaseSync): number {
  const version = storeVersion(db);
  if (version === 0) {
    throw new StoreError(
      `the store is at schema version 0 (no jobs table); run \`npx hardhat schema:migrate --to ${LATEST_VERSION}\``,
    );
  }
  return version;
}

export interface InsertOptions {
  /** Where the records came from, for error messages (e.g. the input file); default "records". */
  source?: string;
  /** The schema version the records are in; refused unless the store is at it (default: the store's). */
  version?: number;
}

/**
 * Inserts job records, all or none, in one transaction. Each must be a valid record of the store's
 * schema version; a duplicate id (within `records` or already stored) is refused. The error names
 * the record's position and id and the JSON path. Returns how many were inserted.
 */
export function insertJobs(db: DatabaseSync, records: readonly unknown[], options: InsertOptions = {}): number {
  const source = options.source ?? "records";
  return inWriteTransaction(db, () => {
    const version = requireJobsTable(db);
    if (options.version !== undefined && options.version !== version) {
      throw new StoreError(
        `${source} holds version-${options.version} job records but the store is at version ${version}; run \`npx hardhat schema:migrate --to ${options.version}\` first`,
      );
    }
    const exists = db.prepare("SELECT 1 FROM jobs WHERE id = ?");
    const insert = db.prepare("INSERT INTO jobs (id, user, created, status, record) VALUES (?, ?, ?, ?, ?)");
    const seen = new Map<string, number>();
    records.forEach((value, i) => {
      const idText =
        typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string"
          ? ` (job ${(value as { id: string }).id})`
          : "";
      const record = parseRecord(version, value, `${source}[${i}]${idText}`);
      const first = seen.get(record.id);
      if (first !== undefined)
        throw new StoreError(`${source}[${i}]: duplicate job id ${record.id} (also at [${first}])`);
      seen.set(record.id, i);
      if (exists.get(record.id) !== undefined) {
        throw new StoreError(`${source}[${i}]: job ${record.id} is already in the store`);
      }
      const columns = indexColumns(record);
      insert.run(columns.id, columns.user, columns.created, columns.status, canonicalJson(record));
    });
    return records.length;
  });
}

export interface UserJobs {
  /** The schema version the records are in. */
  version: number;
  jobs: JobRecord[];
}

/** A user's jobs (address in any case), oldest first, ties by id. */
export function jobsOfUser(db: DatabaseSync, user: string, limit?: number): UserJobs {
  const version = requireJobsTable(db);
  if (!/^0x[0-9a-fA-F]{40}$/.test(user))
    throw new StoreError(`--user must be a 0x-prefixed 20-byte address (got "${user}")`);
  const rows = db
    .prepare(`SELECT id, record FROM jobs WHERE user = ? ORDER BY created, id${limit === undefined ? "" : " LIMIT ?"}`)
    .all(...(limit === undefined ? [user.toLowerCase()] : [user.toLowerCase(), limit])) as {
    id: string;
    record: string;
  }[];
  return { version, jobs: rows.map(parseStored) };
}

/** A stored record's JSON; text that is not JSON is a damaged store, refused like one, not a crash. */
function parseStored(row: { id: string; record: string }): JobRecord {
  try {
    return JSON.parse(row.record) as JobRecord;
  } catch {
    throw new StoreError(`job ${row.id}: the stored record is not JSON; the store is damaged`);
  }
}

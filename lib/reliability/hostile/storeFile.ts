import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { openStore, STORE_APPLICATION_ID, storeVersion } from "../../store/database.js";
import { StoreError } from "../../store/errors.js";
import { insertJobs } from "../../store/jobs.js";
import { migrateTo } from "../../store/migrate.js";
import { HostileFailure, type HostileKind } from "./core.js";
import { VALID_RECORD } from "./store.js";

/**
 * The store file itself (issue 10, gaps): `openStore` on a damaged or wrong file, read-only and
 * read-write, as every store command opens it. A case passes when the open succeeds and the store
 * reads back (version and every job record), or when it is refused with a StoreError that leaves
 * the file's bytes and its directory's listing exactly as they were: no raw SQLite or file-system
 * error, no partial write, no stray -wal/-shm file.
 */

/** How a valid store file (closed cleanly, several pages of jobs) is damaged. */
export type StoreDamage =
  | { kind: "truncate"; at: number }
  | { kind: "overwrite"; at: number; bytes: Uint8Array }
  | { kind: "header"; at: number; bytes: Uint8Array }
  | { kind: "append"; bytes: Uint8Array }
  | { kind: "zero bytes" }
  | { kind: "random"; bytes: Uint8Array }
  | { kind: "foreign"; applicationId: number }
  | { kind: "directory" }
  | { kind: "read-only" };

export const storeDamage: fc.Arbitrary<StoreDamage> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("overwrite" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 4096 }),
  }),
  fc.record({
    kind: fc.constant("header" as const),
    at: fc.nat({ max: 99 }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant("append" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8192 }) }),
  fc.constant({ kind: "zero bytes" as const }),
  fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8192 }) }),
  fc.record({
    kind: fc.constant("foreign" as const),
    applicationId: fc.oneof(fc.constant(0), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  }),
  fc.constant({ kind: "directory" as const }),
  fc.constant({ kind: "read-only" as const }),
);

let validStore: Buffer | undefined;

/** A valid store's bytes: version 3, enough jobs for several pages, closed (no WAL left). */
async function validStoreBytes(dir: string): Promise<Buffer> {
  if (validStore !== undefined) return validStore;
  await mkdir(dir);
  const file = path.join(dir, "valid.db");
  const db = openStore(file);
  try {
    migrateTo(db, 3);
    insertJobs(
      db,
      Array.from({ length: 40 }, (_, i) => ({ ...VALID_RECORD, id: `${VALID_RECORD.id}-${i}` })),
    );
  } finally {
    db.close();
  }
  validStore = await readFile(file);
  return validStore;
}

/** Writes the damaged store at `file`. */
async function writeDamaged(file: string, damage: StoreDamage, valid: Buffer): Promise<void> {
  const bytes = Buffer.from(valid);
  switch (damage.kind) {
    case "truncate":
      return writeFile(file, bytes.subarray(0, damage.at % bytes.length));
    case "overwrite": {
      const at = 100 + (damage.at % (bytes.length - 100));
      Buffer.from(damage.bytes).copy(bytes, at);
      return writeFile(file, bytes);
    }
    case "header":
      Buffer.from(damage.bytes).copy(bytes, damage.at, 0, Math.min(damage.bytes.length, 100 - damage.at));
      return writeFile(file, bytes);
    case "append":
      return writeFile(file, Buffer.concat([bytes, Buffer.from(damage.bytes)]));
    case "zero bytes":
      return writeFile(file, "");
    case "random":
      // The store's own first 100 bytes (magic and application_id pass), then noise.
      return writeFile(file, Buffer.concat([bytes.subarray(0, 100), Buffer.from(damage.bytes)]));
    case "foreign": {
      const other = new DatabaseSync(file);
      const id = damage.applicationId === STORE_APPLICATION_ID ? 0 : damage.applicationId;
      other.exec(`PRAGMA application_id = ${id}`);
      other.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT)");
      other.exec("CREATE TABLE notes (body TEXT)");
      other.close();
      return;
    }
    case "directory":
      await mkdir(file);
      return writeFile(path.join(file, "inside"), "x");
    case "read-only":
      await writeFile(file, bytes);
      return chmod(file, 0o444);
  }
}

/** The file's bytes (undefined for a directory) and the directory's listing. */
async function state(file: string): Promise<string> {
  let bytes: string;
  try {
    bytes = (await readFile(file)).toString("base64");
  } catch {
    bytes = "(not a file)";
  }
  const listing = (await readdir(path.dirname(file))).sort();
  return JSON.stringify({ bytes, listing });
}

export function storeFileKind(): HostileKind<StoreDamage> {
  return {
    name: "store file",
    arbitrary: storeDamage,
    refusals: [StoreError],
    show: (damage) => JSON.stringify(damage, (_, v: unknown) => (v instanceof Uint8Array ? `${v.length} bytes` : v)),
    async read(damage, dir) {
      const valid = await validStoreBytes(path.join(dir, "valid"));
      const store = path.join(dir, "store");
      await mkdir(store);
      const file = path.join(store, "store.db");
      await writeDamaged(file, damage, valid);
      // Read-only first (it must never write), then read-write as the import and migrate tasks do.
      for (const readOnly of [true, false]) {
        const before = await state(file);
        let db: DatabaseSync;
        try {
          db = openStore(file, { readOnly });
        } catch (error) {
          if ((await state(file)) !== before)
            throw new HostileFailure(`partial write: a refused ${readOnly ? "read-only " : ""}open changed the store`);
          if (readOnly) {
            if (error instanceof StoreError) continue;
          }
          throw error;
        }
        try {
          // An accepted store must read back: its version and every record.
          const version = storeVersion(db);
          if (version > 0) db.prepare("SELECT id, record FROM jobs ORDER BY id").all();
        } finally {
          db.close();
        }
      }
    },
  };
}

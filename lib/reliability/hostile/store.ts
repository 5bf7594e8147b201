import path from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { openStore, storeVersion } from "../../store/database.js";
import { StoreError } from "../../store/errors.js";
import { insertJobs } from "../../store/jobs.js";
import { migrateTo } from "../../store/migrate.js";
import type { JobRecordV3 } from "../../store/records.js";
import { HostileFailure, type HostileKind } from "./core.js";
import { hostileJson } from "./mutate.js";

/**
 * The off-chain store (lib/store/): job records inserted (all or none, as `platform:import
 * --apply` does through insertJobs) and stored records migrated down and up (`schema:migrate`).
 * A refusal must leave the store's rows and version exactly as they were.
 */

export const VALID_RECORD: JobRecordV3 = {
  id: "openai/0x70997970c51812dc3a010c7d01b50e0d17dc79c8/request-1",
  user: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  model: "llama-3.1-8b-instruct",
  promptHash: `0x${"ab".repeat(32)}`,
  status: "completed",
  payment: { amount: "1000", token: "ETH", usdValue: "0.3" },
  metadata: { createdAt: "2025-01-31T12:00:00.000Z", updatedAt: "2025-01-31T12:00:00.000Z", schemaVersion: 3 },
};
const EXISTING = { ...VALID_RECORD, id: "openai/0x70997970c51812dc3a010c7d01b50e0d17dc79c8/request-0" };

/** Everything a refusal must not change: the version and every row. */
function contents(db: DatabaseSync): string {
  const rows = db.prepare("SELECT id, user, created, status, record FROM jobs ORDER BY id").all();
  return JSON.stringify({ version: storeVersion(db), rows });
}

function freshStore(dir: string): DatabaseSync {
  const db = openStore(path.join(dir, "store.db"));
  migrateTo(db, 3);
  insertJobs(db, [EXISTING]);
  return db;
}

export function storeInsertKind(): HostileKind<Buffer> {
  return {
    name: "store insert",
    arbitrary: hostileJson([VALID_RECORD, { ...VALID_RECORD, id: `${VALID_RECORD.id}-2` }]),
    refusals: [StoreError],
    async read(bytes, dir) {
      let records: unknown;
      try {
        records = JSON.parse(Buffer.from(bytes).toString("utf8"));
      } catch {
        return; // The tools hand insertJobs parsed values only: unparseable text never reaches it.
      }
      const db = freshStore(dir);
      try {
        const before = contents(db);
        try {
          insertJobs(db, Array.isArray(records) ? records : [records], { source: "input", version: 3 });
        } catch (error) {
          if (contents(db) !== before)
            throw new HostileFailure("partial write: the store changed although the records were refused");
          throw error;
        }
      } finally {
        db.close();
      }
    },
  };
}

export function schemaMigrateKind(): HostileKind<Buffer> {
  return {
    name: "schema migrate",
    arbitrary: hostileJson(VALID_RECORD),
    refusals: [StoreError],
    async read(bytes, dir) {
      const db = freshStore(dir);
      try {
        // A stored record damaged on disk (or by hand): written past the validation on purpose.
        db.prepare("INSERT INTO jobs (id, user, created, status, record) VALUES (?, ?, ?, ?, ?)").run(
          "damaged",
          VALID_RECORD.user.toLowerCase(),
          0,
          "completed",
          Buffer.from(bytes).toString("utf8"),
        );
        for (const target of [1, 3]) {
          const before = contents(db);
          try {
            migrateTo(db, target, { now: () => new Date(0) });
          } catch (error) {
            if (contents(db) !== before)
              throw new HostileFailure(`partial write: migrating to ${target} was refused but the store changed`);
            throw error;
          }
        }
      } finally {
        db.close();
      }
    },
  };
}

import type { AnyRecord, MigrationModule } from "./types.js";

/** Version 1: the jobs table, records in the guide's original shape (lib/store/records.ts). */
export const migration: MigrationModule = {
  version: 1,
  name: "jobs-table",
  source: import.meta.url,
  // Version 0 has no records, so there is nothing to convert; the runner refuses to go down to 0
  // while the table holds any (DROP TABLE would lose them).
  up: (record: AnyRecord) => record,
  down: (record: AnyRecord) => record,
  ddl: {
    up: [
      `CREATE TABLE jobs (
        id TEXT PRIMARY KEY NOT NULL,
        user TEXT NOT NULL,
        created INTEGER NOT NULL,
        status TEXT NOT NULL,
        record TEXT NOT NULL
      ) STRICT`,
      "CREATE INDEX jobs_by_user ON jobs (user, created, id)",
    ],
    down: ["DROP INDEX jobs_by_user", "DROP TABLE jobs"],
  },
};

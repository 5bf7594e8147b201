import { migration as jobsTable } from "./m0001_jobs_table.js";
import { migration as metadata } from "./m0002_metadata.js";
import { migration as payment } from "./m0003_payment.js";
import { withChecksum, type Migration } from "./types.js";

/** Every schema migration, in version order. Append new ones; never edit an applied one. */
export const MIGRATIONS: readonly Migration[] = [jobsTable, metadata, payment].map(withChecksum);

export const LATEST_VERSION = MIGRATIONS.length;

export type { Migration, MigrationModule } from "./types.js";
export { checksumOfSource, withChecksum } from "./types.js";

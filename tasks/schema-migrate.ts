import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { existsSync } from "node:fs";
import { DEFAULT_STORE_PATH, openStore } from "../lib/store/database.js";
import { StoreError } from "../lib/store/errors.js";
import { migrateTo, parseTargetVersion, storeStatus } from "../lib/store/migrate.js";

interface SchemaArguments {
  to?: string;
  dryRun?: boolean;
  check?: boolean;
  store: string;
}

function storePath(args: SchemaArguments, hre: HardhatRuntimeEnvironment): string {
  return path.resolve(hre.config.paths.root, args.store === "" ? DEFAULT_STORE_PATH : args.store);
}

/** Runs `body`, printing a StoreError as one line with exit code 1 (nothing was written). */
function refusing(body: () => void): void {
  try {
    body();
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    console.error(`Error: ${error.message}`);
    process.exitCode = 1;
  }
}

export default async function schemaMigrateAction(
  args: SchemaArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  refusing(() => {
    if (args.to === undefined || args.to === "")
      throw new StoreError("pass --to <version> (the schema version to reach)");
    const target = parseTargetVersion(args.to);
    const file = storePath(args, hre);
    const dryRun = args.dryRun ?? false;
    // A dry run on a store that does not exist yet plans from an empty in-memory one: nothing is created.
    const fresh = !existsSync(file);
    const db = dryRun && fresh ? openStore(":memory:") : openStore(file, { readOnly: dryRun });
    try {
      const result = migrateTo(db, target, { dryRun });
      const prefix = dryRun ? "would apply" : "applied";
      for (const step of result.steps) {
        console.log(
          `${prefix} ${step.direction} ${step.version} ${step.name}: version ${step.from} → ${step.to}, ${step.records} job record(s)`,
        );
      }
      const relative = path.relative(hre.config.paths.root, file);
      const where = relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
      if (result.steps.length === 0) console.log(`${where}: already at schema version ${result.to}`);
      else if (dryRun)
        console.log(`${where}: dry run, nothing written (would go from version ${result.from} to ${result.to})`);
      else console.log(`${where}: schema version ${result.from} → ${result.to}`);
    } finally {
      db.close();
    }
  });
}

export async function schemaStatusAction(args: SchemaArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  refusing(() => {
    const file = storePath(args, hre);
    if (!existsSync(file))
      throw new StoreError(`no store at ${file}; \`npx hardhat schema:migrate --to <version>\` creates it`);
    // --check reads every page (SQLite's quick_check, linear in the file); without it the open is cheap.
    const db = openStore(file, { readOnly: true, fullCheck: args.check ?? false });
    try {
      const status = storeStatus(db);
      console.log(`schema version ${status.version} of ${status.latest}, ${status.records} job record(s)`);
      if (args.check === true) console.log("every page checked (quick_check): ok");
      for (const m of status.migrations) {
        console.log(`  ${m.version} ${m.name} ${m.state}${m.appliedAt ? ` ${m.appliedAt}` : ""} ${m.checksum}`);
      }
      if (status.migrations.some((m) => m.state === "edited")) process.exitCode = 1;
    } finally {
      db.close();
    }
  });
}

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runMigrateTask, type MigrateArguments } from "./migrate-shared.js";

export default async function migratePlanAction(
  args: Record<string, unknown>,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runMigrateTask(
    ["check", "nodes", "jobs", "escrow"],
    { ...(args as unknown as MigrateArguments), dryRun: true },
    hre,
  );
}

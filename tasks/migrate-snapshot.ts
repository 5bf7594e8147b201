import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runMigrateTask, type MigrateArguments } from "./migrate-shared.js";

export default async function migrateSnapshotAction(
  args: Record<string, unknown>,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runMigrateTask(["snapshot"], { ...(args as unknown as MigrateArguments) }, hre);
}

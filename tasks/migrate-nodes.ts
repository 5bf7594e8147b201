import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runMigrateTask, type MigrateArguments } from "./migrate-shared.js";

export default async function migrateNodesAction(
  args: Record<string, unknown>,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runMigrateTask(["nodes"], { ...(args as unknown as MigrateArguments) }, hre);
}

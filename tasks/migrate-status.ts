import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runMigrateTask, type MigrateArguments } from "./migrate-shared.js";

export default async function migrateStatusAction(
  args: Record<string, unknown>,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runMigrateTask(["status"], { ...(args as unknown as MigrateArguments) }, hre);
}

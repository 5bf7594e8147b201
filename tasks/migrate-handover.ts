import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runMigrateTask, type MigrateArguments } from "./migrate-shared.js";

export default async function migrateHandoverAction(
  args: Record<string, unknown>,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runMigrateTask(["handover"], { ...(args as unknown as MigrateArguments) }, hre);
}

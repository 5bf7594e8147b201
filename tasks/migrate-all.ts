import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ALL_STEPS } from "../lib/migration/engine.js";
import { runMigrateTask, type MigrateArguments } from "./migrate-shared.js";

export default async function migrateAllAction(
  args: Record<string, unknown>,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runMigrateTask(ALL_STEPS, { ...(args as unknown as MigrateArguments) }, hre);
}

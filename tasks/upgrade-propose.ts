import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { upgradesPreparer } from "../deploy/preparer.js";
import {
  checkProposeOptions,
  isProposeRefusal,
  runPropose,
  type ProposeOptions,
} from "../lib/governance/proposeCommand.js";
import { openTaskContext } from "./context.js";

/** Options in, files and lines out: the logic is lib/governance/proposeCommand.ts. */
export default async function upgradeProposeAction(
  args: ProposeOptions,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  try {
    // What needs no chain is checked before the network is opened (and the project built).
    await checkProposeOptions(args);
    const ctx = await openTaskContext(hre);
    const env = { ethers: ctx.ethers, upgrades: ctx.upgrades, signer: ctx.deployer, artifacts: hre.artifacts };
    await runPropose(args, {
      ctx,
      inProcess: ctx.connection.networkConfig.type === "edr-simulated",
      preparer: upgradesPreparer(env),
      root: hre.config.paths.root,
      print: (text) => console.log(text),
      warn: (line) => console.error(line),
    });
  } catch (error) {
    if (!isProposeRefusal(error)) throw error;
    console.error(`Error: ${error.message}`);
    process.exitCode = 1;
  }
}

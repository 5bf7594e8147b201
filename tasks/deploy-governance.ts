import { configVariable } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { FAB_TOKEN_VARIABLE, runDeployGovernance, type DeployGovernanceArguments } from "../deploy/governanceSetup.js";
import { openTaskContext } from "./context.js";

/**
 * `FAB_TOKEN_ADDRESS` as Hardhat resolves configuration variables: the environment variable
 * first, then the configuration-variable plugins (hardhat-keystore:
 * `npx hardhat keystore set FAB_TOKEN_ADDRESS`). Undefined when neither has it.
 */
export async function configuredFabToken(hre: HardhatRuntimeEnvironment): Promise<string | undefined> {
  const fromEnvironment = process.env[FAB_TOKEN_VARIABLE];
  if (fromEnvironment !== undefined) return fromEnvironment === "" ? undefined : fromEnvironment;
  const value = await hre.hooks.runHandlerChain(
    "configurationVariables",
    "fetchValue",
    [configVariable(FAB_TOKEN_VARIABLE, { default: "" })],
    // The end of the chain: no plugin knew the variable.
    async (_context, variable) => process.env[variable.name] ?? variable.default ?? "",
  );
  return value === "" ? undefined : value;
}

export default async function deployGovernanceAction(
  args: DeployGovernanceArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  const ctx = await openTaskContext(hre);
  const result = await runDeployGovernance({ ...ctx, log: console.log }, args, () => configuredFabToken(hre));
  if (result.handedOver.length > 0) console.log(`placed under the timelock: ${result.handedOver.join(", ")}`);
  // Read back from the chain: on a re-run the recorded contracts keep the settings they were deployed with.
  const governor = await ctx.ethers.getContractAt("FabstirGovernor", result.governor);
  const timelock = await ctx.ethers.getContractAt("FabstirTimelock", result.timelock);
  console.log(
    `governor settings: token ${await governor.token()} (${await governor.CLOCK_MODE()}), voting delay ${await governor.votingDelay()}, voting period ${await governor.votingPeriod()}, proposal threshold ${await governor.proposalThreshold()}, quorum ${await governor["quorumNumerator()"]()} %, late-quorum vote extension ${await governor.lateQuorumVoteExtension()}, timelock min delay ${await timelock.getMinDelay()} s`,
  );
  console.log(JSON.stringify(ctx.store.record, null, 2));
}

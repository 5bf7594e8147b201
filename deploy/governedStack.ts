import { DEFAULT_GOVERNANCE_PARAMETERS, deployGovernance, type GovernanceStack } from "./governance.js";
import type { DeployContext } from "./steps.js";
import { DEFAULT_V1_PARAMETERS, deployV1, type V1Stack } from "./v1.js";
import { deployV2, type V2Stack } from "./v2.js";

export interface GovernedStack {
  governance: GovernanceStack;
  v1: V1Stack;
  v2: V2Stack;
}

/**
 * The governed shape of a chain, as on Base, for development chains: the Governor and its
 * self-administered timelock (the deployer holds the FAB supply, delegated to itself), V1 and V2
 * with the timelock as their only admin, upgrader and pauser, and V2 in its migration window with
 * the timelock as migrator, so that a proposal finalizes it. The deployer keeps no role.
 * `beforeV2` runs on V1 before V2 is deployed (to seed it: V2 lists V1's tokens).
 */
export async function deployGovernedStack(
  ctx: DeployContext,
  options: { treasury: string; beforeV2?: (v1: V1Stack) => Promise<void> },
): Promise<GovernedStack> {
  const deployer = await ctx.deployer.getAddress();
  const governance = await deployGovernance(ctx, { ...DEFAULT_GOVERNANCE_PARAMETERS, holder: deployer });
  if ((await governance.token.delegates(deployer)) !== deployer) {
    await (await governance.token.delegate(deployer)).wait();
  }
  const timelock = await governance.timelock.getAddress();
  const v1 = await deployV1(ctx, { ...DEFAULT_V1_PARAMETERS, admin: timelock, treasury: options.treasury });
  await options.beforeV2?.(v1);
  const tokens = (await v1.escrow.tokens()).filter((token) => BigInt(token) !== 0n);
  const v2 = await deployV2(ctx, {
    ...DEFAULT_V1_PARAMETERS,
    admin: timelock,
    migrator: timelock,
    treasury: options.treasury,
    tokens,
  });
  return { governance, v1, v2 };
}

import { DEFAULT_GOVERNANCE_PARAMETERS, deployGovernance, type GovernanceStack } from "../../deploy/governance.js";
import { DEFAULT_V1_PARAMETERS, deployV1, type V1Stack } from "../../deploy/v1.js";
import { deployV2, type V2Stack } from "../../deploy/v2.js";
import { DeploymentStore } from "../../lib/deployments.js";
import { ethers, upgradesApi } from "./fixtures.js";
import type { TestDeployContext } from "./migrationStack.js";

export interface GovernedFixture {
  governance: GovernanceStack;
  v1: V1Stack;
  v2: V2Stack;
  signers: Awaited<ReturnType<typeof ethers.getSigners>>;
  /** The deploy context (signer 0 deploys; its record holds every address). */
  ctx: TestDeployContext;
}

/**
 * Both generations under governance as on Base: the Governor and its self-administered timelock
 * (signer 0 holds the FAB supply and has delegated it to itself), V1 and V2 with the timelock as
 * their only admin, upgrader and pauser, V2 in its migration window with the timelock as migrator
 * (so a proposal can finalize it). Signer 1 is the treasury. The deployer holds no role anywhere.
 * Use as `await networkHelpers.loadFixture(governedStack)`.
 */
export async function governedStack(): Promise<GovernedFixture> {
  const signers = await ethers.getSigners();
  const [deployer, treasury] = signers;
  if (deployer === undefined || treasury === undefined) throw new Error("the test chain needs at least two accounts");
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const ctx = {
    ethers,
    upgrades: upgradesApi,
    deployer,
    store: await DeploymentStore.open(chainId, undefined),
    chainId,
  };
  const governance = await deployGovernance(ctx, { ...DEFAULT_GOVERNANCE_PARAMETERS, holder: deployer.address });
  await (await governance.token.delegate(deployer.address)).wait();
  const timelock = await governance.timelock.getAddress();
  const v1 = await deployV1(ctx, { ...DEFAULT_V1_PARAMETERS, admin: timelock, treasury: treasury.address });
  const v2 = await deployV2(ctx, {
    ...DEFAULT_V1_PARAMETERS,
    admin: timelock,
    migrator: timelock,
    treasury: treasury.address,
    tokens: [await v1.usdc.getAddress()],
  });
  return { governance, v1, v2, signers, ctx };
}

import type { GovernanceStack } from "../../deploy/governance.js";
import { deployGovernedStack } from "../../deploy/governedStack.js";
import type { V1Stack } from "../../deploy/v1.js";
import type { V2Stack } from "../../deploy/v2.js";
import { deployContext, ethers } from "./fixtures.js";
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
 * Both generations under governance as on Base (deploy/governedStack.ts): signer 0 deploys, holds
 * the FAB supply delegated to itself and no role anywhere; signer 1 is the treasury. Use as
 * `await networkHelpers.loadFixture(governedStack)`.
 */
export async function governedStack(): Promise<GovernedFixture> {
  const signers = await ethers.getSigners();
  const [deployer, treasury] = signers;
  if (deployer === undefined || treasury === undefined) throw new Error("the test chain needs at least two accounts");
  const ctx = await deployContext(deployer);
  const stack = await deployGovernedStack(ctx, { treasury: treasury.address });
  return { ...stack, signers, ctx };
}

import { getAddress, isAddress, ZeroAddress } from "ethers";
import { handOverAdmin } from "../../../deploy/steps.js";
import { MigrationStepError, stamp, type StepContext } from "./context.js";

/**
 * Hands V2 to governance: DEFAULT_ADMIN, UPGRADER and PAUSER go to `governance`, then the
 * operator renounces its own (admin last, since it is what allows the grants).
 */
export async function runHandover(ctx: StepContext, governance: string): Promise<{ governance: string }> {
  const operator = await checkGovernance(ctx, governance);
  const { v2 } = ctx.contracts;
  const contracts = [v2.registry, v2.escrow, v2.marketplace];
  // Checked for all three before the first grant: a contract the operator can no longer grant on
  // would otherwise stop the run half-way, with the other contracts already handed over.
  for (const contract of contracts) {
    const roles = [await contract.DEFAULT_ADMIN_ROLE(), await contract.UPGRADER_ROLE(), await contract.PAUSER_ROLE()];
    let missing = false;
    for (const role of roles) if (!(await contract.hasRole(role, governance))) missing = true;
    if (missing && !(await contract.hasRole(roles[0]!, operator))) {
      throw new MigrationStepError(
        "handover",
        `The operator ${operator} lacks DEFAULT_ADMIN_ROLE on ${await contract.getAddress()}, where ${getAddress(governance)} does not hold every governing role yet: nothing was sent.`,
      );
    }
  }
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "handover", total: 3, unit: "contracts" });
  const granted: string[] = [];
  await handOverAdmin(contracts, getAddress(governance), operator, (message) => granted.push(message));
  ctx.reporter({ type: "step-finished", at: stamp(ctx), step: "handover", summary: { governance, granted } });
  return { governance: getAddress(governance) };
}

/**
 * Refuses a governance address the handover cannot use (malformed, zero, or the operator itself);
 * returns the operator. `runMigration` calls it before any step sends a transaction.
 */
export async function checkGovernance(ctx: StepContext, governance: string): Promise<string> {
  if (!isAddress(governance) || getAddress(governance) === ZeroAddress) {
    throw new MigrationStepError("handover", `--governance must be a nonzero address, got "${governance}".`);
  }
  const operator = await ctx.signer.getAddress();
  if (getAddress(governance) === getAddress(operator)) {
    throw new MigrationStepError("handover", "the governance address is the operator itself: nothing to hand over.");
  }
  return operator;
}

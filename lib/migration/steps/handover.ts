import { getAddress, isAddress, ZeroAddress } from "ethers";
import { handOverAdmin } from "../../../deploy/steps.js";
import { MigrationStepError, stamp, type StepContext } from "./context.js";

/**
 * Hands V2 to governance: DEFAULT_ADMIN, UPGRADER and PAUSER go to `governance`, then the
 * operator renounces its own (admin last, since it is what allows the grants).
 */
export async function runHandover(ctx: StepContext, governance: string): Promise<{ governance: string }> {
  if (!isAddress(governance) || getAddress(governance) === ZeroAddress) {
    throw new MigrationStepError("handover", `--governance must be a nonzero address, got "${governance}".`);
  }
  const operator = await ctx.signer.getAddress();
  if (getAddress(governance) === getAddress(operator)) {
    throw new MigrationStepError("handover", "the governance address is the operator itself: nothing to hand over.");
  }
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "handover", total: 3, unit: "contracts" });
  const { v2 } = ctx.contracts;
  const granted: string[] = [];
  await handOverAdmin([v2.registry, v2.escrow, v2.marketplace], getAddress(governance), operator, (message) =>
    granted.push(message),
  );
  ctx.reporter({ type: "step-finished", at: stamp(ctx), step: "handover", summary: { governance, granted } });
  return { governance: getAddress(governance) };
}

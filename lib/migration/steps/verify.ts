import type { LoadedSnapshot } from "../../snapshot.js";
import { compareStates, readV2State, type V2State } from "../../v2State.js";
import type { VerifyStepSummary } from "../events.js";
import { verifyStepSummary } from "../summary.js";
import { deploymentBlock, stamp, type StepContext } from "./context.js";

export interface VerifyOptions {
  /** Where V2's migration events start (default: the block V2's marketplace was deployed in). */
  fromBlock?: number;
}

/** The first block V2's migration events can be in: the earliest of the three deployments. */
export async function v2FromBlock(ctx: StepContext): Promise<number> {
  const { addresses } = ctx.contracts;
  const blocks = await Promise.all(
    [addresses.NodeRegistryV2, addresses.PaymentEscrowV2, addresses.JobMarketplaceV2].map((address) =>
      deploymentBlock(ctx.provider, address),
    ),
  );
  return Math.min(...blocks);
}

/**
 * The three-way check: V1 at the pinned block (the verified snapshot), V2's on-chain commitments
 * and counts, and V2 read back from its records must agree, along with totals, balances and the
 * business rules (`compareStates`). Emits a `VerifyStepSummary`; `verified` is its verdict.
 */
export async function runVerify(
  ctx: StepContext,
  snapshot: LoadedSnapshot,
  options: VerifyOptions = {},
): Promise<{ summary: VerifyStepSummary; v2: V2State }> {
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "verify", total: 1, unit: "check" });
  const fromBlock = options.fromBlock ?? (await v2FromBlock(ctx));
  const v2 = await readV2State(ctx.contracts.v2, { blockTag: "latest", fromBlock });
  const findings = compareStates(snapshot.state, v2);
  const summary = verifyStepSummary(snapshot.state, v2, findings);
  for (const finding of findings.slice(0, 20)) {
    ctx.reporter({ type: "warning", at: stamp(ctx), step: "verify", message: finding.message });
  }
  ctx.reporter({ type: "step-finished", at: stamp(ctx), step: "verify", summary: { ...summary } });
  return { summary, v2 };
}

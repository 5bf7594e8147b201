import { getAddress, isAddress, ZeroAddress } from "ethers";
import { adminHandoverChanges, roleChangeDone } from "../../../deploy/steps.js";
import { MigrationStepError, stamp, transact, type StepContext } from "./context.js";

/** The handover step's `step-finished` summary: the transactions this run sent, in their order. */
export interface HandoverStepSummary {
  governance: string;
  transactions: { call: string; txHash: string }[];
}

/**
 * Hands V2 to governance: DEFAULT_ADMIN, UPGRADER and PAUSER go to `governance`, then the
 * operator renounces its own (admin last, since it is what allows the grants), contract by
 * contract in deploy/steps.ts `adminHandoverChanges` order. Each grant and renounce is a single
 * call (`transact`): under the fee cap, journaled, followed, and skipped when `hasRole` shows it
 * done, so a run stopped half-way is finished by running the step again.
 */
export async function runHandover(
  ctx: StepContext,
  governance: string,
  options: { confirmations?: number } = {},
): Promise<HandoverStepSummary> {
  const operator = await checkGovernance(ctx, governance);
  const admin = getAddress(governance);
  const { v2 } = ctx.contracts;
  const named = [
    ["registry", v2.registry],
    ["escrow", v2.escrow],
    ["marketplace", v2.marketplace],
  ] as const;
  const contracts = named.map(([, contract]) => contract);
  const changes = await adminHandoverChanges(contracts, admin, operator);
  // Checked for all three before the first grant: a contract the operator can no longer grant on
  // would otherwise stop the run half-way, with the other contracts already handed over.
  for (const contract of contracts) {
    const grants = changes.filter((change) => change.contract === contract && change.fn === "grantRole");
    let missing = false;
    for (const grant of grants) if (!(await roleChangeDone(grant))) missing = true;
    const adminRole = grants.find((grant) => grant.roleName === "DEFAULT_ADMIN_ROLE")!.role;
    if (missing && !(await contract.hasRole(adminRole, operator))) {
      throw new MigrationStepError(
        "handover",
        `The operator ${operator} lacks DEFAULT_ADMIN_ROLE on ${await contract.getAddress()}, where ${admin} does not hold every governing role yet: nothing was sent. Run the handover with the key that administers it, or hand it over by a governance proposal.`,
      );
    }
  }
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "handover", total: contracts.length, unit: "contracts" });
  const summary: HandoverStepSummary = { governance: admin, transactions: [] };
  const perContract = changes.length / contracts.length;
  for (const [i, change] of changes.entries()) {
    const name = named.find(([, contract]) => contract === change.contract)![0];
    const what =
      change.fn === "grantRole"
        ? `granting ${change.roleName} on the V2 ${name} to ${admin}`
        : `renouncing the operator's ${change.roleName} on the V2 ${name}`;
    const receipt = await transact(ctx, "handover", what, change.contract, change.fn, [change.role, change.account], {
      confirmations: options.confirmations,
      done: () => roleChangeDone(change),
    });
    if (receipt !== null) summary.transactions.push({ call: what, txHash: receipt.hash });
    if ((i + 1) % perContract === 0) {
      const done = (i + 1) / perContract;
      ctx.reporter({ type: "progress", at: stamp(ctx), step: "handover", done, total: contracts.length });
    }
  }
  ctx.reporter({ type: "step-finished", at: stamp(ctx), step: "handover", summary: { ...summary } });
  return summary;
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

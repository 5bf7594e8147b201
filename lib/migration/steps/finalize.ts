import type { LoadedSnapshot } from "../../snapshot.js";
import { finalizeExpectations } from "../../v2State.js";
import type { FinalizeStepSummary, FinalizedContract } from "../events.js";
import { MigrationStepError, describeError, stamp, transact, type StepContext } from "./context.js";

/**
 * `finalizeMigration` on each V2 contract with what the snapshot says it must hold: the contract
 * checks commitment, count and funds on-chain and opens to users. A contract finalized by an
 * earlier run is skipped. With `dryRun`, each call is only estimated (a mismatch shows as its
 * decoded error).
 */
export async function runFinalize(
  ctx: StepContext,
  snapshot: LoadedSnapshot,
  options: { dryRun?: boolean; confirmations?: number } = {},
): Promise<FinalizeStepSummary> {
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "finalize", total: 3, unit: "contracts" });
  const { v2 } = ctx.contracts;
  const expected = finalizeExpectations(snapshot.state, await v2.escrow.migrationTokens());
  const summary: FinalizeStepSummary = { contracts: [] };
  const order: [FinalizedContract, typeof v2.registry | typeof v2.marketplace | typeof v2.escrow][] = [
    ["registry", v2.registry],
    ["marketplace", v2.marketplace],
    ["escrow", v2.escrow],
  ];
  for (const [i, [name, contract]] of order.entries()) {
    const [commitment, count] = expected[name];
    const onChain = async () => ({
      contract: name,
      commitment: await contract.migrationCommitment(),
      count: Number(await contract.migratedCount()),
      txHash: null,
      gasUsed: "0",
    });
    if (options.dryRun === true) {
      if (await contract.migrationFinalized()) {
        summary.contracts.push(await onChain());
      } else {
        try {
          await contract.finalizeMigration.estimateGas(...expected[name]);
        } catch (error) {
          ctx.reporter({
            type: "warning",
            at: stamp(ctx),
            step: "finalize",
            message: `finalizing the ${name} would revert now: ${describeError(error)}`,
          });
        }
        continue;
      }
    } else {
      // Finalized already (an earlier run, or governance): nothing is sent. A finalize an
      // earlier run sent before it stopped is found in the journal and followed first.
      const receipt = await transact(
        ctx,
        "finalize",
        `finalizing the V2 ${name}`,
        contract,
        "finalizeMigration",
        [...expected[name]],
        { confirmations: options.confirmations, done: () => contract.migrationFinalized() },
      );
      summary.contracts.push(
        receipt === null
          ? await onChain()
          : { contract: name, commitment, count, txHash: receipt.hash, gasUsed: receipt.gasUsed.toString() },
      );
    }
    ctx.reporter({ type: "progress", at: stamp(ctx), step: "finalize", done: i + 1, total: order.length });
  }
  if (options.dryRun !== true && summary.contracts.length !== order.length) {
    throw new MigrationStepError("finalize", "not every V2 contract was finalized.");
  }
  ctx.reporter({ type: "step-finished", at: stamp(ctx), step: "finalize", summary: { ...summary } });
  return summary;
}

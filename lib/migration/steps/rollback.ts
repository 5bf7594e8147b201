import type { BaseContract } from "ethers";
import { ensureMulticall3 } from "../../multicall.js";
import type { LoadedSnapshot } from "../../snapshot.js";
import { readV1State } from "../../v1State.js";
import { MigrationStepError, stamp, transact, type StepContext } from "./context.js";
import { v1Readers } from "./snapshot.js";

export interface RollbackOptions {
  /** Reopen V1 afterwards (needs PAUSER_ROLE; V1.1 refuses while anything is still in V2). */
  unpause?: boolean;
  confirmations?: number;
}

export interface RollbackResult {
  /** Batches taken back, per V2 contract. */
  batches: { nodes: number; jobs: number; escrow: number };
  /** V1 read again equals the snapshot (commitments, counts, stake and free totals). */
  restored: boolean;
  differences: string[];
  unpaused: boolean;
}

/**
 * Takes every batch back, most recent first (escrow, history, nodes: the reverse of the copy
 * order; within a contract the last batch first, which is all V2 allows): funds return to V1.1,
 * which restores its accounting. Then reads V1 again and compares it with the snapshot.
 */
export async function runRollback(
  ctx: StepContext,
  snapshot: LoadedSnapshot,
  options: RollbackOptions = {},
): Promise<RollbackResult> {
  const { v1, v2 } = ctx.contracts;
  const counts = {
    nodes: Number(await v2.registry.migrationBatchCount()),
    jobs: Number(await v2.marketplace.migrationBatchCount()),
    escrow: Number(await v2.escrow.migrationBatchCount()),
  };
  const total = counts.nodes + counts.jobs + counts.escrow;
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "rollback", total, unit: "batches" });
  for (const [name, contract] of [
    ["NodeRegistryV2", v2.registry],
    ["JobMarketplaceV2", v2.marketplace],
    ["PaymentEscrowV2", v2.escrow],
  ] as const) {
    if (await contract.migrationFinalized()) {
      throw new MigrationStepError("rollback", `${name} is finalized: its migration can no longer be rolled back.`);
    }
  }
  let done = 0;
  const confirmations = options.confirmations;
  /**
   * Takes `batches` batches back, last first: `args(batch)` gives the call's arguments. Batch
   * `batch` is back once the V2 contract `holder` counts no more than `batch` batches.
   */
  const undo = async (
    what: string,
    batches: number,
    contract: BaseContract,
    holder: { migrationBatchCount(): Promise<bigint> },
    fn: string,
    args: (batch: number) => Promise<unknown[]> | unknown[],
  ) => {
    for (let batch = batches - 1; batch >= 0; batch--) {
      // The arguments are read only if the batch is still in V2 (a resumed run's pending
      // rollback may take it back first, and then there is nothing to read).
      await transact(ctx, "rollback", `rolling back ${what} batch ${batch}`, contract, fn, async () => args(batch), {
        confirmations,
        done: async () => (await holder.migrationBatchCount()) <= BigInt(batch),
      });
      done++;
      ctx.reporter({ type: "progress", at: stamp(ctx), step: "rollback", done, total });
    }
  };

  const deposits = snapshot.state.deposits.records;
  await undo("deposit", counts.escrow, v1.escrow, v2.escrow, "rollbackDeposits", async (batch) => {
    const { start } = await v2.escrow.migrationBatch(batch);
    const end = Number(await v2.escrow.migratedCount());
    // The batch's records, in order, as V1 held them at the snapshot (V2 checks them against its commitment).
    return [deposits.slice(Number(start), end)];
  });
  await undo("history", counts.jobs, v2.marketplace, v2.marketplace, "returnLastBatch", () => []);
  await undo("node", counts.nodes, v1.registry, v2.registry, "rollbackNodes", () => []);

  await ensureMulticall3(ctx.provider, { devChain: ctx.devChain });
  const now = await readV1State(v1Readers(ctx.contracts), { blockTag: "latest" });
  const was = snapshot.state;
  const differences: string[] = [];
  for (const kind of ["nodes", "jobs", "deposits"] as const) {
    if (now[kind].commitment !== was[kind].commitment || now[kind].count !== was[kind].count) {
      differences.push(
        `V1's ${kind} (${now[kind].count}, ${now[kind].commitment}) differ from the snapshot's (${was[kind].count}, ${was[kind].commitment}).`,
      );
    }
  }
  if (now.nodes.totalStake !== was.nodes.totalStake)
    differences.push(`V1's total stake is ${now.nodes.totalStake}, the snapshot's ${was.nodes.totalStake}.`);
  if (now.deposits.totals.join() !== was.deposits.totals.join())
    differences.push(
      `V1's free totals are ${now.deposits.totals.join(", ")}, the snapshot's ${was.deposits.totals.join(", ")}.`,
    );
  for (const message of differences) ctx.reporter({ type: "warning", at: stamp(ctx), step: "rollback", message });

  let unpaused = false;
  if (options.unpause === true) {
    if (differences.length > 0) {
      throw new MigrationStepError(
        "rollback",
        "V1 does not equal its snapshot: it stays paused. Investigate before reopening it.",
      );
    }
    for (const [name, contract] of [
      ["NodeRegistryV1", v1.registry],
      ["PaymentEscrowV1", v1.escrow],
      ["JobMarketplaceV1", v1.marketplace],
    ] as const) {
      if (await contract.paused())
        await transact(ctx, "rollback", `unpausing ${name}`, contract, "unpause", [], {
          confirmations,
          done: async () => !(await contract.paused()),
        });
    }
    unpaused = true;
  }
  const result = { batches: counts, restored: differences.length === 0, differences, unpaused };
  ctx.reporter({ type: "step-finished", at: stamp(ctx), step: "rollback", summary: { ...result } });
  return result;
}

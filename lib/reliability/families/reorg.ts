import { SeededRandom } from "../../fixtures/random.js";
import type { RpcProvider } from "../../transactions.js";
import type { Miner } from "../miner.js";
import type { TrialResult } from "../trial.js";
import {
  BatchTracker,
  CONFIRMATIONS,
  DEV_OPERATOR,
  pendingTransactionOf,
  runInjectedTrial,
  sleep,
  waitFor,
  warningsMatching,
  type FamilyContext,
  type TrialFindings,
} from "./context.js";

/**
 * The reorg family (issue 10): `migrate:all --confirmations 3` on harness-mined blocks while the
 * harness, on anvil directly, either reorganises the last 1 to 3 blocks (`anvil_reorg`, with or
 * without a replacement transaction) after a batch's receipt was seen and before it has its
 * confirmations, or drops a batch from the pool while it is pending (`anvil_dropTransaction`).
 * anvil does not return reorganised transactions to its pool, so in both cases the batch is gone
 * unless the engine broadcasts its journaled bytes again; the trial passes when the run ends
 * with the reference's outcome and the engine said it resent each time.
 */

export type ReorgKind = "reorg" | "reorg-replaced" | "drop";
const KINDS: readonly ReorgKind[] = ["reorg-replaced", "drop", "reorg"];
/** anvil's last development account: signs the replacement transactions of a reorg (never the operator). */
const BYSTANDER = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
/** What the engine's resend warnings say (lib/migration/sender.ts `follow`). */
export const RESEND_WARNING = /disappeared in a reorg|no longer knows/;

export interface ReorgPlan {
  kind: ReorgKind;
  /**
   * A batch, or the V2 registry's finalize (a single call: `sendOne`, same journal and follow-up;
   * found in anvil's pool, as it has no `batch-sent` line). Full mode aims its last trial there.
   */
  target: "batch" | "finalize";
  /** The batch (1-based, in sending order) the fault hits. */
  batch: number;
  /** Blocks reorganised (reorg kinds). */
  depth: number;
  /** How long the harness holds the chain with the receipt short of its confirmations. */
  holdMs: number;
}

/** The plans of `trials` trials: quick takes one of each kind; depths, batches and holds are seeded. */
export function reorgPlans(trials: number, batches: number, seed: string): ReorgPlan[] {
  const random = new SeededRandom(`reorg:${seed}`);
  return Array.from({ length: trials }, (_, i) => ({
    kind: KINDS[i % KINDS.length]!,
    target: trials > KINDS.length && i === trials - 1 ? ("finalize" as const) : ("batch" as const),
    batch: random.int(1, batches),
    // Up to CONFIRMATIONS: the receipt must still be short of its confirmations when it goes.
    depth: random.int(1, CONFIRMATIONS),
    holdMs: random.int(1_200, 2_500),
  }));
}

async function blockTxCount(provider: RpcProvider, n: number): Promise<number> {
  return (await provider.getBlock(n))?.transactions.length ?? 0;
}

/**
 * With the chain held still and the batch in the pool: mines it (and one more block for depth
 * ≥ 2, still short of the confirmations), waits for the engine to read the receipt, then
 * reorganises. Returns the depth used: never so deep that an earlier, already confirmed
 * transaction of the run would go too (the engine rightly trusts those).
 */
async function reorgAfterReceipt(
  provider: RpcProvider,
  miner: Miner,
  txHash: string,
  plan: ReorgPlan,
): Promise<number> {
  await miner.mineNow();
  const receipt = await provider.getTransactionReceipt(txHash);
  if (receipt === null) throw new Error(`batch ${txHash} was not mined in the block the harness mined`);
  if (plan.depth >= 2) await miner.mineNow();
  const latest = await provider.getBlockNumber();
  // The engine polls its receipt every second: hold the chain so it sees it, short of 3 confirmations.
  await sleep(plan.holdMs);
  let depth = Math.max(plan.depth, latest - receipt.blockNumber + 1);
  while (depth > latest - receipt.blockNumber + 1 && (await blockTxCount(provider, latest - depth + 1)) > 0) depth--;
  const replacements = plan.kind === "reorg-replaced" ? [[{ from: BYSTANDER, to: BYSTANDER, value: "0x1" }, 0]] : [];
  await provider.send("anvil_reorg", [depth, replacements]);
  if ((await provider.getTransactionReceipt(txHash)) !== null) throw new Error(`batch ${txHash} survived the reorg`);
  return depth;
}

/** Drops the pending batch, then holds the chain until the engine has broadcast it again. */
async function dropWhilePending(provider: RpcProvider, txHash: string): Promise<void> {
  // anvil answers with the hash it dropped (null when the pool did not hold it). From here the
  // engine may resend at any poll, so the pool is not asked in between.
  const dropped = (await provider.send("anvil_dropTransaction", [txHash])) as string | null;
  if (dropped === null || dropped.toLowerCase() !== txHash.toLowerCase()) {
    throw new Error(`anvil did not drop ${txHash} (not in its pool)`);
  }
  await waitFor(async () => (await provider.getTransaction(txHash)) !== null, `the engine to resend ${txHash}`);
}

export async function runReorgTrial(fctx: FamilyContext, plan: ReorgPlan): Promise<TrialResult> {
  const provider = fctx.chain.provider;
  const tracker = new BatchTracker(plan.batch);
  let depthUsed = 0;
  let injected = 0;
  let injection: Promise<void> | undefined;
  const failures: string[] = [];
  const what = plan.target === "finalize" ? "the registry's finalize" : `batch ${plan.batch}`;
  const label =
    plan.kind === "drop"
      ? `drop ${what} while pending`
      : `reorg depth ${plan.depth} after ${what}'s receipt${plan.kind === "reorg-replaced" ? " (+1 replacement tx)" : ""}`;
  fctx.log(`Reorg trial: ${label}…`);
  const result = await runInjectedTrial(fctx, {
    family: "reorg",
    label,
    extraArgs: [],
    onLine(line, miner) {
      let { holdNow, sentNow } = tracker.see(line);
      if (plan.target === "finalize") {
        // Nothing the engine does from the finalize step's start to its first send needs a block.
        holdNow = sentNow = line.type === "step-started" && line.step === "finalize";
      }
      if (holdNow) void miner.pause();
      if (!sentNow) return;
      injection = (async () => {
        try {
          await miner.pause();
          const txHash =
            plan.target === "finalize" ? await pendingTransactionOf(provider, DEV_OPERATOR) : String(line.txHash);
          if (plan.kind === "drop") await dropWhilePending(provider, txHash);
          else depthUsed = await reorgAfterReceipt(provider, miner, txHash, plan);
          injected++;
        } catch (error) {
          failures.push(`the injection failed: ${(error as Error).message}`);
        } finally {
          miner.resume();
        }
      })();
    },
    async finish(run): Promise<TrialFindings> {
      await injection;
      const problems = [...failures];
      if (injected === 0 && failures.length === 0) problems.push(`${what} was never sent: nothing injected.`);
      const resends = warningsMatching(run, RESEND_WARNING).length;
      if (injected > 0 && resends < injected) {
        problems.push(`the engine reported ${resends} resend(s) for ${injected} injected fault(s).`);
      }
      return {
        problems,
        faults: injected,
        engineRetries: resends,
        counters: plan.kind === "drop" ? { drops: injected, resends } : { reorgs: injected, resends },
      };
    },
  });
  if (depthUsed !== 0 && depthUsed !== plan.depth) result.label += ` (depth ${depthUsed} used)`;
  return result;
}

import { HDNodeWallet, Transaction, toQuantity } from "ethers";
import { SeededRandom } from "../../fixtures/random.js";
import type { RpcProvider } from "../../transactions.js";
import { jsonLines } from "../processes.js";
import type { Miner } from "../miner.js";
import type { TrialResult } from "../trial.js";
import {
  BatchTracker,
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
 * The nonce-and-fee family (issue 10), on harness-mined blocks:
 * - `nonce`: while a batch is pending, the harness sends another transaction from the operator's
 *   own key at the batch's nonce, with higher fees, so it replaces the batch in the pool and is
 *   mined instead. The engine must notice (its rebroadcast hears "nonce too low"), drop the
 *   journal entry, re-plan the batch at the chain's cursor with a new nonce and finish, with
 *   nothing duplicated.
 * - `fee`: right after a batch is mined, the base fee is held above `--max-fee-per-gas` (anvil's
 *   `anvil_setNextBlockBaseFeePerGas` before every block) until the engine has said it waits and
 *   polled again, then lowered. No batch may be mined in a block whose base fee is above the cap,
 *   and no batch may offer more than the cap.
 */

export type NonceFeeKind = "nonce" | "fee";
const KINDS: readonly NonceFeeKind[] = ["nonce", "fee"];
/** anvil's development mnemonic: its first account is the operator `migrate:all` signs with on a dev chain. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const GWEI = 10n ** 9n;
/** `--max-fee-per-gas` of the fee trials, and the base fee held above it. */
export const FEE_CAP = 10n * GWEI;
const SPIKE_BASE_FEE = 3n * FEE_CAP;
/** What the engine's warnings say (lib/migration/sender.ts `feesUnderCap`, steps/copy.ts `replan`). */
export const FEE_WAIT_WARNING = /above --max-fee-per-gas/;
export const NONCE_REPLAN_WARNING = /was taken by another transaction/;

export interface NonceFeePlan {
  kind: NonceFeeKind;
  /**
   * A batch, or the finalize step (single calls through `sendOne`): the registry's finalize
   * loses its nonce, or the base fee rises above the cap as verify starts, before any finalize
   * is signed. Full mode aims its last two trials (one of each kind) there.
   */
  target: "batch" | "finalize";
  /** The batch (1-based) the conflict hits, or after which the fee rises (a next batch must exist). */
  batch: number;
  /** How long the base fee stays high after the engine said it waits. */
  holdMs: number;
}

export function nonceFeePlans(trials: number, batches: number, seed: string): NonceFeePlan[] {
  const random = new SeededRandom(`nonce-fee:${seed}`);
  return Array.from({ length: trials }, (_, i) => ({
    kind: KINDS[i % KINDS.length]!,
    target: trials > KINDS.length && i >= trials - KINDS.length ? ("finalize" as const) : ("batch" as const),
    batch: random.int(1, Math.max(1, batches - 1)),
    holdMs: random.int(1_200, 3_000),
  }));
}

/**
 * Replaces the pending batch with a self-transfer from the operator's key at the same nonce
 * (fees tripled: anvil accepts a replacement that pays at least 10% more), and mines it.
 */
async function takeNonce(provider: RpcProvider, miner: Miner, txHash: string): Promise<string> {
  const batch = await provider.getTransaction(txHash);
  if (batch === null) throw new Error(`batch ${txHash} is not in the pool`);
  const operator = HDNodeWallet.fromPhrase(DEV_MNEMONIC);
  if (batch.from !== operator.address) throw new Error(`the batch is from ${batch.from}, not the dev operator`);
  const tip = (batch.maxPriorityFeePerGas ?? GWEI) * 3n + 1n;
  const raw = await operator.signTransaction({
    type: 2,
    chainId: batch.chainId,
    nonce: batch.nonce,
    to: operator.address,
    value: 0n,
    gasLimit: 21_000n,
    maxPriorityFeePerGas: tip,
    maxFeePerGas: (batch.maxFeePerGas ?? GWEI) * 3n + tip,
  });
  const other = (await provider.send("eth_sendRawTransaction", [raw])) as string;
  await miner.mineNow();
  if ((await provider.getTransactionReceipt(other)) === null) throw new Error(`the conflicting ${other} was not mined`);
  if ((await provider.getTransactionReceipt(txHash)) !== null) throw new Error(`batch ${txHash} was mined anyway`);
  return Transaction.from(raw).hash as string;
}

export async function runNonceFeeTrial(fctx: FamilyContext, plan: NonceFeePlan): Promise<TrialResult> {
  const provider = fctx.chain.provider;
  const tracker = new BatchTracker(plan.batch);
  const failures: string[] = [];
  let injected = 0;
  let injection: Promise<void> | undefined;
  let spiking = false;
  let lowered = false;
  let normalBaseFee = GWEI;
  let waitWarned = false;
  const finalize = plan.target === "finalize";
  const label =
    plan.kind === "nonce"
      ? `another transaction takes ${finalize ? "the registry's finalize" : `batch ${plan.batch}`}'s nonce`
      : `base fee ${SPIKE_BASE_FEE / GWEI} gwei > --max-fee-per-gas ${FEE_CAP / GWEI} gwei ${finalize ? "before finalize" : `after batch ${plan.batch}`}`;
  fctx.log(`Nonce-fee trial: ${label}…`);
  const setNext = (fee: bigint) => provider.send("anvil_setNextBlockBaseFeePerGas", [toQuantity(fee)]);
  return runInjectedTrial(fctx, {
    family: "nonce-fee",
    label,
    extraArgs: plan.kind === "fee" ? ["--max-fee-per-gas", FEE_CAP.toString()] : [],
    minerOptions: {
      async beforeMine() {
        if (spiking) await setNext(SPIKE_BASE_FEE);
        else if (lowered) {
          await setNext(normalBaseFee);
          lowered = false;
        }
      },
    },
    onLine(line, miner) {
      if (line.type === "warning" && FEE_WAIT_WARNING.test(String(line.message))) waitWarned = true;
      let { holdNow, sentNow } = tracker.see(line);
      if (finalize) {
        // Nonce: from the finalize step's start to its first send no block is needed. Fee: verify
        // only reads, so a base fee raised as it starts is what finalize's first fee read sees.
        const at = plan.kind === "nonce" ? "finalize" : "verify";
        holdNow = sentNow = line.type === "step-started" && line.step === at;
      }
      if (holdNow) void miner.pause();
      if (!sentNow) return;
      injection = (async () => {
        try {
          await miner.pause();
          if (plan.kind === "nonce") {
            const txHash = finalize ? await pendingTransactionOf(provider, DEV_OPERATOR) : String(line.txHash);
            await takeNonce(provider, miner, txHash);
          } else {
            // The batch is mined at the normal fee; every block after it, until the engine has
            // waited, carries a base fee above the cap.
            normalBaseFee = (await provider.getBlock("latest"))?.baseFeePerGas ?? GWEI;
            await miner.mineNow();
            spiking = true;
            await miner.mineNow();
            miner.resume();
            await waitFor(() => waitWarned, "the engine's fee warning");
            await sleep(plan.holdMs);
            spiking = false;
            lowered = true;
          }
          injected++;
        } catch (error) {
          failures.push(`the injection failed: ${(error as Error).message}`);
        } finally {
          spiking = false;
          miner.resume();
        }
      })();
    },
    async finish(run): Promise<TrialFindings> {
      await injection;
      const problems = [...failures];
      if (injected === 0 && failures.length === 0)
        problems.push(`${finalize ? "finalize" : `batch ${plan.batch}`} was never sent: nothing injected.`);
      if (plan.kind === "nonce") {
        const replans = warningsMatching(run, NONCE_REPLAN_WARNING).length;
        if (injected > 0 && replans < injected) {
          problems.push(`the engine reported ${replans} re-plan(s) for ${injected} taken nonce(s).`);
        }
        return { problems, faults: injected, engineRetries: replans, counters: { nonceConflicts: injected, replans } };
      }
      const waits = warningsMatching(run, FEE_WAIT_WARNING).length;
      if (injected > 0 && waits === 0)
        problems.push("the base fee rose above the cap but the engine never said it waits.");
      // No batch may offer more than the cap, nor be mined in a block whose base fee is above it.
      // The finalize step's transactions too: they go through the same sender.
      let aboveCap = 0;
      const hashes: string[] = [];
      for (const line of jsonLines(run.stdout)) {
        if (line.type === "batch-confirmed") hashes.push(String(line.txHash));
        if (line.type === "step-finished" && line.step === "finalize") {
          const rows = (line.summary as { contracts?: { txHash: string | null }[] }).contracts ?? [];
          for (const row of rows) if (row.txHash !== null) hashes.push(row.txHash);
        }
      }
      for (const hash of hashes) {
        const tx = await provider.getTransaction(hash);
        const block = tx?.blockNumber == null ? null : await provider.getBlock(tx.blockNumber);
        if ((tx?.maxFeePerGas ?? 0n) > FEE_CAP || (block?.baseFeePerGas ?? 0n) > FEE_CAP) aboveCap++;
      }
      if (aboveCap > 0) problems.push(`${aboveCap} transaction(s) offered or paid more than --max-fee-per-gas.`);
      return { problems, faults: injected, engineRetries: waits, counters: { feeSpikes: injected, waits, aboveCap } };
    },
  });
}

import type { RpcProvider } from "../transactions.js";
import { readV1State, type V1Contracts, type V1State } from "../v1State.js";
import { readV2State, type V2Contracts } from "../v2State.js";
import { holdingsAfter, type HoldingContracts } from "./holdings.js";
import { checkOutcome, type Commitments, type Holdings, type Outcome } from "./outcome.js";

/**
 * One seeded chain shared by every trial: V1 seeded, frozen, drained, V2 deployed and the
 * migration opened once, then `evm_snapshot`; each trial starts from `evm_revert` to it, so all
 * trials (and the reference run) migrate the identical state. The harness reads the chain
 * directly (never through the fault proxy).
 */

export type Family = "reference" | "crash" | "rpc" | "reorg" | "nonce-fee";

export interface TrialResult {
  family: Family;
  /** What the trial did, e.g. `between-batches:3` or `kill after 1234 ms`. */
  label: string;
  outcome: Outcome;
  /** Retries the engine reported (its `RPC retry:` warnings). */
  engineRetries: number;
  /** Faults the proxy injected (RPC family); reorgs, drops, taken nonces, fee spikes (chain families). */
  faults: number;
  /** What a chain family injected and saw, by name (e.g. `reorgs`, `resends`, `waits`). */
  counters?: Record<string, number>;
  ms: number;
}

export interface SeededChain {
  provider: RpcProvider;
  v1: V1Contracts;
  v2: V2Contracts;
  holding: HoldingContracts;
  /** V1 at the pinned block, before anything moved. */
  state: V1State;
  before: Holdings;
  v2FromBlock: number;
  /** The `migrate:*` options naming the six proxies. */
  addressArgs: string[];
  snapshotId: string;
}

/** Back to the seeded state; takes a fresh snapshot (a revert consumes it). */
export async function resetChain(chain: SeededChain): Promise<void> {
  const ok = (await chain.provider.send("evm_revert", [chain.snapshotId])) as boolean;
  if (!ok) throw new Error(`evm_revert(${chain.snapshotId}) failed: the trials cannot start from the seeded state.`);
  chain.snapshotId = (await chain.provider.send("evm_snapshot", [])) as string;
}

/** Reads V2 and both generations' holdings and judges them against V1's pinned state. */
export async function judge(chain: SeededChain, reference: Commitments | undefined): Promise<Outcome> {
  const v2 = await readV2State(chain.v2, { blockTag: "latest", fromBlock: chain.v2FromBlock });
  const after = await holdingsAfter(chain.holding, chain.state);
  return checkOutcome({
    v1: chain.state,
    v2,
    before: chain.before,
    after,
    ...(reference === undefined ? {} : { reference }),
  });
}

/** V1 read again at its pinned block: the seeded state the trials compare with. */
export async function pinnedState(v1: V1Contracts): Promise<V1State> {
  return readV1State(v1, { blockTag: "latest" });
}

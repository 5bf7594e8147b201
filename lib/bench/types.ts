/** What the benchmark measures: the stable shape of `npm run bench -- --json` (issue 6). */

export const COMPONENTS = ["nodes", "jobs", "escrow"] as const;
export type Component = (typeof COMPONENTS)[number];
export const ARMS = ["guide", "toolkit"] as const;
export type Arm = (typeof ARMS)[number];

/** One component (nodes, jobs or escrow) migrated by one arm. */
export interface ComponentFigures {
  /** Records moved: nodes, historical jobs, (user, token) balances. */
  records: number;
  /** Transactions mined (failed ones not included). */
  txs: number;
  /** Transactions that could not run: a batch whose estimate or execution exceeds 2^24 gas. */
  failedTxs: number;
  /** Sum of the receipts' gasUsed. */
  gas: number;
  /** `gas / records`, rounded up. */
  gasPerRecord: number;
  /** The physical floor per record (lib/bench/floor.ts). */
  floorGasPerRecord: number;
  /** The largest mined transaction's gasUsed. */
  maxTxGas: number;
  /**
   * Mean of each batch's fill of the limit that bound it, `max(gas / target, calldata bytes /
   * 128 KiB)` (the planner's two limits: 85% of 2^24 gas, and the transaction size), last batch
   * excluded; null with fewer than two batches.
   */
  meanFill: number | null;
  /** The same mean over the gas fill alone (`gas / target`): how full of gas the batches are. */
  meanGasFill: number | null;
  /** Sum of the receipts' OP-stack L1 data fee, in wei (a decimal string: it exceeds 2^53). */
  l1FeeWei: string;
  wallMs: number;
}

export type ArmFigures = Record<Component, ComponentFigures>;

export interface ReadFigures {
  /** JSON-RPC requests the V1 snapshot read made (counted at the provider). */
  roundTrips: number;
  snapshotMs: number;
}

export interface HashingFigures {
  /** Records folded into their commitments per second (lib/commitment.ts). */
  recordsPerSecond: number;
}

export interface BenchFigures {
  arms: Record<Arm, ArmFigures>;
  read: ReadFigures;
  hashing: HashingFigures;
}

export interface TargetCheck {
  /** What the target says, in words. */
  rule: string;
  value: number | null;
  limit: number;
  /** null when the figure does not exist at this size (a component with a single batch has no fill). */
  pass: boolean | null;
}

export interface BenchSizes {
  nodes: number;
  jobs: number;
  users: number;
}

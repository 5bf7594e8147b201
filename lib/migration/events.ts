/**
 * What the migration engine reports while it runs. Nothing in lib/ prints: steps emit these
 * events to a `MigrationReporter`, which the CLI renders as a progress bar (terminal), plain lines
 * or JSON lines (`--json`), and which the dashboard streams. Every event carries the time it
 * happened (ms since the epoch), so renderers compute rates and ETAs without a clock of their own.
 */

/** The steps of a migration, in the order `migrate:all` runs them. */
export type StepName =
  "check" | "snapshot" | "nodes" | "jobs" | "escrow" | "verify" | "finalize" | "handover" | "rollback" | "status";

/** The order steps run in, whatever order they are asked in. */
export const STEP_ORDER: readonly StepName[] = [
  "check",
  "snapshot",
  "nodes",
  "jobs",
  "escrow",
  "verify",
  "finalize",
  "handover",
  "rollback",
  "status",
];

/** A step that moves records in batches. */
export type CopyStep = "nodes" | "jobs" | "escrow";

/** The steps that send single (non-batch) transactions through the sender (`sendOne`). */
export type CallStep = Extract<StepName, "check" | "finalize" | "handover" | "rollback">;

export type MigrationEvent =
  | { type: "step-started"; at: number; step: StepName; total: number; unit: string }
  | {
      type: "batch-planned";
      at: number;
      step: CopyStep;
      start: number;
      size: number;
      gasEstimate: string;
      /** The fill of the planner's target, in [0, 1]. */
      fill: number;
      /** The batch's calldata, in bytes (the planner's other limit: 128 KiB per transaction). */
      calldataBytes: number;
    }
  | {
      type: "batch-sent";
      at: number;
      step: CopyStep;
      start: number;
      size: number;
      txHash: string;
      nonce: number;
    }
  | {
      type: "batch-confirmed";
      at: number;
      step: CopyStep;
      start: number;
      size: number;
      txHash: string;
      blockNumber: number;
      gasUsed: string;
      /** The OP-stack L1 data fee paid, in wei ("0" elsewhere). */
      l1FeeWei: string;
    }
  /**
   * A single call (finalize, rollback, unpause, model names, a handover grant or renounce) was
   * signed, journaled and broadcast. Not a batch: it moves no progress count.
   */
  | {
      type: "call-sent";
      at: number;
      step: CallStep;
      /** What it does, as its journal entry says ("finalizing the V2 registry"). */
      call: string;
      /** The contract called. */
      contract: string;
      txHash: string;
      nonce: number;
    }
  /** A single call's receipt has its confirmations (also one followed after a restart). */
  | {
      type: "call-confirmed";
      at: number;
      step: CallStep;
      call: string;
      contract: string;
      txHash: string;
      blockNumber: number;
      gasUsed: string;
      /** The OP-stack L1 data fee paid, in wei ("0" elsewhere). */
      l1FeeWei: string;
    }
  | { type: "progress"; at: number; step: StepName; done: number; total: number }
  | { type: "warning"; at: number; step: StepName; message: string }
  | { type: "step-finished"; at: number; step: StepName; summary: Record<string, unknown> }
  | { type: "error"; at: number; step: StepName; message: string };

export type MigrationReporter = (event: MigrationEvent) => void;

// ---------------------------------------------------------------- step-finished summaries
// `step-finished` carries a free-form `summary`; the two below have a fixed shape because the run
// summary (lib/migration/summary.ts) and the report read them. Other steps may put anything
// JSON-serializable there. Copy steps need none: their figures come from the batch events.

/** The record sets the verify step compares. */
export type VerifiedKind = "nodes" | "jobs" | "deposits";

/** One figure three ways: V1 at the pinned block, V2's own views, and V2 read back from its records. */
export interface ThreeWay<T> {
  v1: T;
  v2OnChain: T;
  v2ReadBack: T;
}

/**
 * The verify step's `step-finished` summary. `findings` are the messages of lib/v2State.ts
 * `compareStates`; `verified` is the step's verdict (no findings). The run summary reports a
 * migration as verified only when this flag is set and every three-way row agrees as well.
 */
export interface VerifyStepSummary {
  /** The pinned block V1 was read at. */
  v1Block: number;
  /** The block V2 was read back at. */
  v2Block: number;
  commitments: Record<VerifiedKind, ThreeWay<string>>;
  counts: Record<VerifiedKind, ThreeWay<number>>;
  findings: string[];
  verified: boolean;
}

/** The V2 contracts that `finalizeMigration` closes. */
export type FinalizedContract = "registry" | "marketplace" | "escrow";

/**
 * The finalize step's `step-finished` summary: one entry per V2 contract that is finalized at the
 * end of the step, with the commitment and count it accepted. `txHash` is null (and `gasUsed`
 * "0") for a contract an earlier run had already finalized.
 */
export interface FinalizeStepSummary {
  contracts: {
    contract: FinalizedContract;
    commitment: string;
    count: number;
    txHash: string | null;
    gasUsed: string;
  }[];
}

/**
 * For the `default` of a switch over event types: a type no case handles fails to compile. At
 * run time nothing happens (an event of a newer tool, read back from its `--json` lines, is skipped).
 */
export function exhaustive(_event: never): void {}

/** A reporter that drops everything: the default for library callers that do not listen. */
export const silentReporter: MigrationReporter = () => {};

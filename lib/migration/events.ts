/**
 * What the migration engine reports while it runs. Nothing in lib/ prints: steps emit these
 * events to a `MigrationReporter`, which the CLI renders as a progress bar (terminal), plain lines
 * or JSON lines (`--json`), and which the dashboard streams. Every event carries the time it
 * happened (ms since the epoch), so renderers compute rates and ETAs without a clock of their own.
 */

/** The steps of a migration, in the order `migrate:all` runs them. */
export type StepName =
  "check" | "snapshot" | "nodes" | "jobs" | "escrow" | "verify" | "finalize" | "handover" | "rollback" | "status";

/** A step that moves records in batches. */
export type CopyStep = "nodes" | "jobs" | "escrow";

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
  | { type: "progress"; at: number; step: StepName; done: number; total: number }
  | { type: "warning"; at: number; step: StepName; message: string }
  | { type: "step-finished"; at: number; step: StepName; summary: Record<string, unknown> }
  | { type: "error"; at: number; step: StepName; message: string };

export type MigrationReporter = (event: MigrationEvent) => void;

/** A reporter that drops everything: the default for library callers that do not listen. */
export const silentReporter: MigrationReporter = () => {};

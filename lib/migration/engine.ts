import { existsSync } from "node:fs";
import type { LoadedSnapshot } from "../snapshot.js";
import { MigrationInputError } from "./contracts.js";
import {
  STEP_ORDER,
  type CopyStep,
  type FinalizeStepSummary,
  type MigrationReporter,
  type StepName,
  type VerifyStepSummary,
} from "./events.js";
import { plannerLimits } from "./planner.js";
import { prepareModels, runCheck, type CheckResult } from "./steps/check.js";
import type { StepContext } from "./steps/context.js";
import { MigrationStepError } from "./steps/context.js";
import { runCopyStep, type CopyInputs, type CopyOptions, type CopyResult } from "./steps/copy.js";
import { runFinalize } from "./steps/finalize.js";
import { checkGovernance, runHandover } from "./steps/handover.js";
import { runRollback, type RollbackResult } from "./steps/rollback.js";
import { loadSnapshot, takeSnapshot } from "./steps/snapshot.js";
import { runStatus, type MigrationStatus } from "./steps/status.js";
import { runVerify } from "./steps/verify.js";

/**
 * The migration as one call: the steps in their order, each a function of lib/migration/steps,
 * sharing one context and one event stream. `migrate:all` runs check, snapshot, the three copy
 * steps, verify and finalize; the single-step tasks run one of them through the same function.
 */

export { STEP_ORDER } from "./events.js";
export const ALL_STEPS: readonly StepName[] = ["check", "snapshot", "nodes", "jobs", "escrow", "verify", "finalize"];
const COPY_STEPS: readonly CopyStep[] = ["nodes", "jobs", "escrow"];
/** Steps that need V1's snapshot (loaded from `snapshotFile` when this run does not take it). */
const NEEDS_SNAPSHOT: readonly StepName[] = ["nodes", "jobs", "verify", "finalize", "rollback"];

export interface RunOptions extends CopyOptions {
  steps?: readonly StepName[];
  /** The V1 snapshot: written by the snapshot step, read (and verified) by the others. */
  snapshotFile?: string;
  reporter?: MigrationReporter;
  /** Where V2's migration events start (verify); found from V2's deployment by default. */
  fromBlock?: number;
  /** The handover step's new holder of V2's governing roles. */
  governance?: string;
  /** The rollback step reopens V1 afterwards. */
  unpause?: boolean;
}

export interface RunResult {
  check?: CheckResult;
  snapshot?: LoadedSnapshot;
  copies: CopyResult[];
  verify?: VerifyStepSummary;
  finalize?: FinalizeStepSummary;
  rollback?: RollbackResult;
  status?: MigrationStatus;
  /** With `dryRun`: what the copy steps would cost at most, in wei (gas and L1 data fee). */
  estimatedCostWei: bigint;
}

/** Refuses out-of-range options before anything is read or sent. */
export function checkRunOptions(options: RunOptions): void {
  const steps = options.steps ?? ALL_STEPS;
  for (const step of steps) {
    if (!STEP_ORDER.includes(step)) throw new MigrationInputError(`Unknown step "${step}".`);
  }
  if (options.batchSize !== undefined && (!Number.isSafeInteger(options.batchSize) || options.batchSize < 0)) {
    throw new MigrationInputError(`--batch-size must be a whole number (0 = automatic), got ${options.batchSize}.`);
  }
  if (
    options.confirmations !== undefined &&
    (!Number.isSafeInteger(options.confirmations) || options.confirmations < 1 || options.confirmations > 1000)
  ) {
    throw new MigrationInputError(`--confirmations must be from 1 to 1000, got ${options.confirmations}.`);
  }
  try {
    plannerLimits(options.maxGasPerTx === undefined ? {} : { maxGasPerTx: options.maxGasPerTx });
  } catch (error) {
    throw new MigrationInputError((error as Error).message);
  }
  if (
    steps.some((step) => NEEDS_SNAPSHOT.includes(step) || step === "snapshot") &&
    options.snapshotFile === undefined
  ) {
    throw new MigrationInputError("These steps need a snapshot file (--snapshot).");
  }
  if (steps.includes("handover") && (options.governance === undefined || options.governance === "")) {
    throw new MigrationInputError("The handover step needs --governance (the address that receives V2's roles).");
  }
}

export async function runMigration(ctx: StepContext, options: RunOptions = {}): Promise<RunResult> {
  checkRunOptions(options);
  const steps = new Set(options.steps ?? ALL_STEPS);
  const dryRun = options.dryRun === true;
  // Bad input is refused before the first transaction of any step, not when its step comes.
  if (steps.has("handover")) await checkGovernance(ctx, options.governance!);
  const step: StepContext = {
    ...ctx,
    ...(options.reporter === undefined ? {} : { reporter: options.reporter }),
    // Single calls (finalize, rollback, model names) are sent as the batches are.
    sending: {
      ...ctx.sending,
      ...(options.journalDir === undefined ? {} : { journalDir: options.journalDir }),
      ...(options.maxFeePerGas === undefined ? {} : { maxFeePerGas: options.maxFeePerGas }),
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      ...(options.receiptTimeoutMs === undefined ? {} : { receiptTimeoutMs: options.receiptTimeoutMs }),
    },
  };
  const result: RunResult = { copies: [], estimatedCostWei: 0n };

  const needsSnapshot = [...steps].some((name) => NEEDS_SNAPSHOT.includes(name));
  let snapshot: LoadedSnapshot | undefined;
  // A snapshot to load is verified before the first transaction: a bad file stops everything.
  if (needsSnapshot && !steps.has("snapshot")) snapshot = await loadSnapshot(step.contracts, options.snapshotFile!);

  const copying = COPY_STEPS.some((name) => steps.has(name));
  if (steps.has("check") || copying) {
    // The copy steps always check first: nothing is sent against a half-open migration.
    result.check = await runCheck(step, snapshot?.header, { finalizing: steps.has("finalize") });
  }
  if (steps.has("snapshot")) {
    // Once anything has moved, V1 no longer holds what it held: the snapshot taken before the
    // first batch is the reference, and it is kept, never retaken.
    if (await migrationStarted(step)) {
      if (!existsSync(options.snapshotFile!)) {
        throw new MigrationStepError(
          "snapshot",
          `The migration has started, so V1 can no longer be snapshotted as it was; the snapshot taken before it (${options.snapshotFile}) is needed: pass it with --snapshot.`,
        );
      }
      snapshot = await loadSnapshot(step.contracts, options.snapshotFile!);
      step.reporter({
        type: "warning",
        at: Date.now(),
        step: "snapshot",
        message: `the migration has started: using the snapshot taken before it (${options.snapshotFile}).`,
      });
    } else {
      snapshot = await takeSnapshot(step, options.snapshotFile!);
    }
    result.snapshot = snapshot;
  } else if (snapshot !== undefined) {
    result.snapshot = snapshot;
  }

  if (copying) {
    const missing = snapshot === undefined ? [] : await missingModels(step, snapshot);
    if (missing.length > 0 && !dryRun) await prepareModels(step, missing);
    if (missing.length > 0 && dryRun) {
      step.reporter({
        type: "warning",
        at: Date.now(),
        step: "check",
        message: `${missing.length} model names are not registered in V2 yet: a real run registers them first.`,
      });
    }
    if (!dryRun) await checkFunds(step, options, snapshot);
  }
  for (const name of COPY_STEPS) {
    if (!steps.has(name)) continue;
    const copy = await runCopyStep(step, name, options, copyInputs(snapshot));
    result.copies.push(copy);
    if (copy.plan !== null) result.estimatedCostWei += BigInt(copy.plan.costWei);
  }
  if (steps.has("verify") && !dryRun) {
    result.verify = (
      await runVerify(step, snapshot!, options.fromBlock === undefined ? {} : { fromBlock: options.fromBlock })
    ).summary;
    if (!result.verify.verified) {
      throw new MigrationStepError(
        "verify",
        `V2 does not match V1's snapshot (${result.verify.findings.length} finding(s)): ${result.verify.findings.slice(0, 3).join(" ")}`,
      );
    }
  }
  if (steps.has("finalize")) {
    result.finalize = await runFinalize(step, snapshot!, {
      dryRun,
      ...(options.confirmations === undefined ? {} : { confirmations: options.confirmations }),
    });
  }
  if (steps.has("handover") && !dryRun) {
    await runHandover(
      step,
      options.governance!,
      options.confirmations === undefined ? {} : { confirmations: options.confirmations },
    );
  }
  if (steps.has("rollback") && !dryRun) {
    result.rollback = await runRollback(step, snapshot!, {
      ...(options.unpause === undefined ? {} : { unpause: options.unpause }),
      ...(options.confirmations === undefined ? {} : { confirmations: options.confirmations }),
    });
  }
  if (steps.has("status")) result.status = await runStatus(step, options);
  return result;
}

/** Whether any batch has gone to V2 (or V1.1's user cursor has moved past users without balances). */
async function migrationStarted(ctx: StepContext): Promise<boolean> {
  const { v1, v2, opened } = ctx.contracts;
  for (const contract of [v2.registry, v2.marketplace, v2.escrow]) {
    if ((await contract.migratedCount()) !== 0n) return true;
  }
  return opened && (await v1.escrow.migrationUserCursor()) !== 0n;
}

/** The records the copy steps carry as calldata: the snapshot's nodes and jobs. */
function copyInputs(snapshot: LoadedSnapshot | undefined): CopyInputs {
  if (snapshot === undefined) return {};
  return { nodes: snapshot.state.nodes.records, jobs: snapshot.state.jobs.records };
}

async function missingModels(ctx: StepContext, snapshot: LoadedSnapshot): Promise<string[]> {
  const { id } = await import("ethers");
  const missing: string[] = [];
  for (const name of snapshot.header.modelNames) {
    if ((await ctx.contracts.v2.registry.modelName(id(name))) === "") missing.push(name);
  }
  return missing;
}

/**
 * The operator's balance must cover the copy steps' estimated cost (a dry run of each, quiet),
 * so that a migration does not stop half-way for want of gas money.
 */
async function checkFunds(ctx: StepContext, options: RunOptions, snapshot: LoadedSnapshot | undefined): Promise<void> {
  const quiet: StepContext = { ...ctx, reporter: () => {} };
  let cost = 0n;
  for (const name of COPY_STEPS) {
    if (!(options.steps ?? ALL_STEPS).includes(name)) continue;
    if (name !== "escrow" && snapshot === undefined) continue;
    const plan = await runCopyStep(quiet, name, { ...options, dryRun: true }, copyInputs(snapshot));
    cost += BigInt(plan.plan?.costWei ?? "0");
  }
  const balance = await ctx.provider.getBalance(await ctx.signer.getAddress());
  if (balance < cost) {
    throw new MigrationStepError(
      "check",
      `The operator holds ${balance} wei but the migration may cost up to ${cost} wei (gas at the current fee cap, L1 data fee included): fund it first.`,
    );
  }
}

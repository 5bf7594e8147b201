import { dataLength } from "ethers";
import { encodeNodeRecord, type JobRecord, type NodeRecord } from "../../commitment.js";
import { crashPoint } from "../crashPoints.js";
import type { CopyStep } from "../events.js";
import {
  estimateCost,
  estimateDuration,
  measureBlockTiming,
  planBatch,
  type BatchPlan,
  type BlockTiming,
} from "../planner.js";
import {
  BatchRevertedError,
  MAX_NONCE_REPLANS,
  NonceTakenError,
  resumeJournal,
  sendBatch,
  type SenderOptions,
} from "../sender.js";
import {
  MIGRATION_INTERFACES,
  MigrationStepError,
  describeError,
  stamp,
  stepSender,
  type StepContext,
} from "./context.js";

/**
 * The one copy loop behind nodes, jobs and escrow: read the on-chain cursor, finish what the
 * journal holds, then plan a batch from real estimates at the cursor, send it, and read the
 * cursor again, until every record is across. The chain's cursor is the truth: a batch already
 * mined is never planned again, and a replay would revert `UnexpectedCursor` anyway.
 */

/** Base's block time, for a time estimate where the chain has no history to measure. */
const FALLBACK_BLOCK_TIME_SECONDS = 2;
/** Times one step re-plans a batch whose nonce another transaction of the same key took. */
export { MAX_NONCE_REPLANS } from "../sender.js";

export interface CopyOptions {
  dryRun?: boolean;
  /** `--batch-size`: 0 or undefined lets the planner choose. */
  batchSize?: number;
  maxGasPerTx?: bigint;
  confirmations?: number;
  /** The journal root (`journal/` by default). */
  journalDir?: string;
  maxFeePerGas?: bigint;
  pollIntervalMs?: number;
  receiptTimeoutMs?: number;
  /**
   * Awaited before each batch is planned (the dashboard's pause: the batch in flight has been
   * confirmed, none is sent until it resolves). Rejecting stops the step with nothing in flight;
   * the rejection is what `runMigration` throws. Not consulted by a dry run.
   */
  beforeBatch?: (step: CopyStep, cursor: number) => Promise<void>;
}

/** The records the operator carries as calldata (from the snapshot): the nodes and jobs steps need them. */
export interface CopyInputs {
  nodes?: readonly NodeRecord[];
  jobs?: readonly JobRecord[];
}

/** A batch's calldata around its records: selector, cursor, the array's offset and its length. */
const BATCH_HEAD_BYTES = 4 + 3 * 32;

/**
 * The calldata bytes of `migrateNodes(cursor, nodes[cursor, cursor + size))`, without encoding
 * the batch: each record adds its canonical encoding (`abi.encode(record)`, whose first word is
 * the record's offset in the array), summed once here so the planner's search costs nothing.
 */
export function nodeBatchBytes(nodes: readonly NodeRecord[]): (cursor: number, size: number) => number {
  const upTo = new Array<number>(nodes.length + 1);
  upTo[0] = 0;
  for (let i = 0; i < nodes.length; i++) upTo[i + 1] = upTo[i]! + encodeNodeRecord(nodes[i]!).length;
  return (cursor, size) => BATCH_HEAD_BYTES + upTo[cursor + size]! - upTo[cursor]!;
}

/** What one copy step sends: a call of one contract, advancing one cursor. */
interface CopyAdapter {
  step: CopyStep;
  unit: string;
  /** The contract called (and journaled). */
  to: string;
  total: number;
  cursor(): Promise<number>;
  data(cursor: number, size: number): string;
  /** Calldata grows with the batch only when the records travel in it (nodes, history). */
  calldataBytes?(cursor: number, size: number): number;
}

/** A dry run's estimate for the whole step, extrapolated from its first real batch estimate. */
export interface CopyPlan {
  remaining: number;
  batches: number;
  firstBatch: { size: number; gasEstimate: string; limitedBy: string; fill: number } | null;
  gas: string;
  executionFeeWei: string;
  l1FeeWei: string;
  costWei: string;
  seconds: number;
}

export interface CopyResult {
  step: CopyStep;
  unit: string;
  total: number;
  /** The cursor when the step started (after the journal was resumed) and when it ended. */
  startCursor: number;
  cursor: number;
  batches: number;
  gasUsed: bigint;
  plan: CopyPlan | null;
}

async function adapterFor(ctx: StepContext, step: CopyStep, inputs: CopyInputs): Promise<CopyAdapter> {
  const { v1, v2 } = ctx.contracts;
  if (!ctx.contracts.opened) {
    throw new MigrationStepError(
      step,
      "The migration is not open: V1's registry and escrow must run V1.1 (governance pauses V1 and upgrades them).",
    );
  }
  switch (step) {
    case "nodes": {
      // The snapshot's records: V1.1 checks each one's operator and stake against V1, and the
      // rest is held to the snapshot's commitment at finalize.
      const nodes = inputs.nodes;
      if (nodes === undefined) throw new MigrationStepError(step, "The nodes step needs the V1 snapshot (--snapshot).");
      const total = Number(await v1.registry.nodeCount());
      if (total !== nodes.length) {
        throw new MigrationStepError(
          step,
          `V1 lists ${total} nodes but the snapshot holds ${nodes.length}: V1 changed after the snapshot (is it paused?). Take the snapshot again before the first batch.`,
        );
      }
      return {
        step,
        unit: "nodes",
        to: ctx.contracts.addresses.NodeRegistryV1,
        total,
        cursor: async () => Number(await v2.registry.migratedCount()),
        data: (cursor, size) =>
          v1.registry.interface.encodeFunctionData("migrateNodes", [cursor, nodes.slice(cursor, cursor + size)]),
        calldataBytes: nodeBatchBytes(nodes),
      };
    }
    case "escrow":
      // Counted in users: V1.1 walks users, each holding up to one record per token.
      return {
        step,
        unit: "users",
        to: ctx.contracts.addresses.PaymentEscrowV1,
        total: Number(await v1.escrow.userCount()),
        cursor: async () => Number(await v1.escrow.migrationUserCursor()),
        data: (cursor, size) => v1.escrow.interface.encodeFunctionData("migrateDeposits", [cursor, size]),
      };
    case "jobs": {
      const jobs = inputs.jobs;
      if (jobs === undefined) throw new MigrationStepError(step, "The jobs step needs the V1 snapshot (--snapshot).");
      const data = (cursor: number, size: number) =>
        v2.marketplace.interface.encodeFunctionData("importHistoricalJobs", [
          cursor,
          jobs.slice(cursor, cursor + size),
        ]);
      // A job record is a static tuple: calldata grows by the same bytes per record. Measured
      // once from two real encodings, so the planner's search does not encode thousands of jobs.
      const bytesOf = (hex: string) => (hex.length - 2) / 2;
      const one = jobs.length > 0 ? bytesOf(data(0, 1)) : 0;
      const perRecord = jobs.length > 1 ? bytesOf(data(0, 2)) - one : 0;
      return {
        step,
        unit: "jobs",
        to: ctx.contracts.addresses.JobMarketplaceV2,
        total: jobs.length,
        cursor: async () => Number(await v2.marketplace.migratedCount()),
        data,
        calldataBytes: (_cursor, size) => one + (size - 1) * perRecord,
      };
    }
  }
}

async function blockTiming(ctx: StepContext): Promise<BlockTiming> {
  try {
    const timing = await measureBlockTiming(ctx.provider);
    // An automining chain mines on demand: its "block time" says nothing about a real one.
    if (timing.blockTimeSeconds > 0) return timing;
    return { ...timing, blockTimeSeconds: FALLBACK_BLOCK_TIME_SECONDS };
  } catch {
    const latest = await ctx.provider.getBlock("latest");
    return {
      blockTimeSeconds: FALLBACK_BLOCK_TIME_SECONDS,
      blockGasLimit: latest?.gasLimit ?? 0n,
      sampledBlocks: 0,
    };
  }
}

/** Runs one copy step to the end (or, with `dryRun`, plans it and sends nothing). */
export async function runCopyStep(
  ctx: StepContext,
  step: CopyStep,
  options: CopyOptions = {},
  inputs: CopyInputs = {},
): Promise<CopyResult> {
  const adapter = await adapterFor(ctx, step, inputs);
  const from = await ctx.signer.getAddress();
  const batchSize = options.batchSize === undefined || options.batchSize === 0 ? undefined : options.batchSize;
  ctx.reporter({ type: "step-started", at: stamp(ctx), step, total: adapter.total, unit: adapter.unit });

  const sender: SenderOptions = await stepSender(ctx, adapter.to, options);
  const { journal } = sender;

  let replans = 0;
  /**
   * Another transaction of the operator's key was mined at the batch's nonce: reconcile the
   * journal with the chain (which drops the entry as lost or superseded: its bytes can never be
   * mined), then continue from the chain's cursor with a fresh nonce.
   */
  const replan = async (error: NonceTakenError): Promise<void> => {
    if (++replans > MAX_NONCE_REPLANS) throw error;
    ctx.reporter({
      type: "warning",
      at: stamp(ctx),
      step,
      message: `nonce ${error.entry.nonce} was taken by another transaction of ${error.entry.from}, so ${error.entry.txHash} can never be mined: re-planning the batch at cursor ${error.entry.cursor} with a new nonce.`,
    });
    await resumeOrReplan();
  };
  const resumeOrReplan = async (): Promise<void> => {
    try {
      await resumeJournal(sender, await adapter.cursor());
    } catch (error) {
      if (!(error instanceof NonceTakenError)) throw error;
      await replan(error);
    }
  };

  if (journal.entries.length > 0) {
    if (options.dryRun === true) {
      ctx.reporter({
        type: "warning",
        at: stamp(ctx),
        step,
        message: `the journal ${journal.file} holds ${journal.entries.length} unconfirmed batch(es): a real run resumes them first.`,
      });
    } else {
      await resumeOrReplan();
    }
  }
  const startCursor = await adapter.cursor();
  let cursor = startCursor;
  ctx.reporter({ type: "progress", at: stamp(ctx), step, done: cursor, total: adapter.total });

  const estimateAt = (at: number) => (size: number) =>
    ctx.provider.estimateGas({ from, to: adapter.to, data: adapter.data(at, size) });
  const planAt = (at: number, hint: bigint | undefined): Promise<BatchPlan> =>
    planBatch({
      estimate: estimateAt(at),
      remaining: adapter.total - at,
      ...(adapter.calldataBytes === undefined ? {} : { calldataBytes: (size) => adapter.calldataBytes!(at, size) }),
      ...(hint === undefined ? {} : { hintGasPerRecord: hint }),
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(options.maxGasPerTx === undefined ? {} : { maxGasPerTx: options.maxGasPerTx }),
    });
  const planned = (at: number, plan: BatchPlan) =>
    ctx.reporter({
      type: "batch-planned",
      at: stamp(ctx),
      step,
      start: at,
      size: plan.size,
      gasEstimate: plan.gasEstimate.toString(),
      fill: Math.min(1, plan.fill),
      calldataBytes: dataLength(adapter.data(at, plan.size)),
    });

  // ------------------------------------------------------------ dry run: one real estimate, extrapolated
  if (options.dryRun === true) {
    const plan = await dryRunPlan(ctx, adapter, cursor, options, planAt, planned);
    ctx.reporter({ type: "step-finished", at: stamp(ctx), step, summary: { dryRun: true, cursor, ...plan } });
    return { step, unit: adapter.unit, total: adapter.total, startCursor, cursor, batches: 0, gasUsed: 0n, plan };
  }

  // ------------------------------------------------------------ the loop
  let batches = 0;
  let gasUsed = 0n;
  let hint: bigint | undefined;
  while (cursor < adapter.total) {
    if (options.beforeBatch !== undefined) await options.beforeBatch(step, cursor);
    const plan = await planAt(cursor, hint);
    planned(cursor, plan);
    try {
      const sent = await sendBatch(sender, {
        step,
        data: adapter.data(cursor, plan.size),
        cursor,
        size: plan.size,
        gasLimit: plan.gasLimit,
      });
      gasUsed += sent.gasUsed;
    } catch (error) {
      if (error instanceof NonceTakenError) {
        await replan(error);
        cursor = await adapter.cursor();
        hint = plan.gasPerRecord;
        continue;
      }
      const message = error instanceof BatchRevertedError ? error.message : describeError(error);
      ctx.reporter({ type: "error", at: stamp(ctx), step, message });
      throw error;
    }
    batches++;
    hint = plan.gasPerRecord;
    const next = await adapter.cursor();
    if (next !== cursor + plan.size) {
      throw new MigrationStepError(
        step,
        `after a batch of ${plan.size} at cursor ${cursor} the on-chain cursor is ${next}, not ${cursor + plan.size}: another sender is migrating? Stop it, then run again (the chain's cursor is where it continues).`,
      );
    }
    cursor = next;
    ctx.reporter({ type: "progress", at: stamp(ctx), step, done: cursor, total: adapter.total });
    crashPoint("between-batches");
  }
  ctx.reporter({
    type: "step-finished",
    at: stamp(ctx),
    step,
    summary: { cursor, total: adapter.total, batches, gasUsed: gasUsed.toString() },
  });
  return { step, unit: adapter.unit, total: adapter.total, startCursor, cursor, batches, gasUsed, plan: null };
}

async function dryRunPlan(
  ctx: StepContext,
  adapter: CopyAdapter,
  cursor: number,
  options: CopyOptions,
  planAt: (at: number, hint: bigint | undefined) => Promise<BatchPlan>,
  planned: (at: number, plan: BatchPlan) => void,
): Promise<CopyPlan> {
  const remaining = adapter.total - cursor;
  if (remaining === 0) {
    return {
      remaining,
      batches: 0,
      firstBatch: null,
      gas: "0",
      executionFeeWei: "0",
      l1FeeWei: "0",
      costWei: "0",
      seconds: 0,
    };
  }
  // Only the first batch can be estimated for real: later ones start at a cursor the chain is
  // not at yet (they would revert UnexpectedCursor). The rest are assumed to be like it.
  const plan = await planAt(cursor, undefined);
  planned(cursor, plan);
  const batches = Math.ceil(remaining / plan.size);
  const cost = await estimateCost(ctx.provider, {
    to: adapter.to,
    data: adapter.data(cursor, plan.size),
    gas: plan.gasLimit,
    ...(options.maxFeePerGas === undefined ? {} : { maxFeePerGas: options.maxFeePerGas }),
  });
  const timing = await blockTiming(ctx);
  const duration = estimateDuration({
    batches,
    gasPerBatch: plan.gasEstimate <= timing.blockGasLimit ? plan.gasEstimate : timing.blockGasLimit,
    blockGasLimit: timing.blockGasLimit,
    blockTimeSeconds: timing.blockTimeSeconds,
    ...(options.confirmations === undefined ? {} : { confirmations: options.confirmations }),
  });
  const n = BigInt(batches);
  return {
    remaining,
    batches,
    firstBatch: {
      size: plan.size,
      gasEstimate: plan.gasEstimate.toString(),
      limitedBy: plan.limitedBy,
      fill: plan.fill,
    },
    gas: (plan.gasEstimate * n).toString(),
    executionFeeWei: (cost.executionFeeWei * n).toString(),
    l1FeeWei: (cost.l1FeeWei * n).toString(),
    costWei: (cost.totalWei * n).toString(),
    seconds: duration.seconds,
  };
}

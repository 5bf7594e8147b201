import { Transaction, type Provider } from "ethers";
import { l1DataFee, isOpStack } from "./l1Fee.js";

/**
 * Batch sizes from `eth_estimateGas` of real candidate batches. A record's cost depends on its
 * strings, arrays and zero bytes, so the planner measures instead of assuming a per-record
 * constant: it starts from a hint, extrapolates the per-record gas of real estimates toward a
 * target below the per-transaction cap, and halves when an estimate fails or overshoots.
 */

/** The per-transaction gas cap (EIP-7825; enforced on Base): no batch may need more. */
export const TX_GAS_CAP = 16_777_216n;
/** The share of the cap a batch is filled toward, leaving room for state to change before it is mined. */
export const DEFAULT_TARGET_FILL = 0.85;
/** The largest transaction geth's and reth's pools accept (128 KiB); EDR and anvil do not check it. */
export const MAX_TX_BYTES = 131_072;
/** Calldata a batch may carry: the pool limit less room for the envelope (nonce, fees, gas, to, signature). */
export const DEFAULT_MAX_CALLDATA_BYTES = MAX_TX_BYTES - 1_024;
/** Stop searching once a batch fills this much of the target: one more round trip buys at most 2%. */
export const DEFAULT_TOLERANCE = 0.02;
/** The most estimates one plan makes (each one an RPC round trip carrying the whole batch). */
export const DEFAULT_MAX_ESTIMATES = 16;
/** The smallest cap that leaves room for more than a bare transfer. */
const MIN_GAS_PER_TX = 21_001n;
/** Gas headroom over the estimate in the signed gas limit (10%, never above the cap). */
const GAS_LIMIT_HEADROOM_PERCENT = 110n;
const PERCENT = 100n;
/** `fill` is a ratio of bigints: computed in parts per million, then as a number. */
const PPM = 1_000_000n;

/** A planner option out of range, or a batch that cannot be planned: the message says what to change. */
export class PlanningError extends Error {
  override name = "PlanningError";
}

export interface PlannerLimitOptions {
  /** `--max-gas-per-tx`: a lower cap than the chain's 2^24. */
  maxGasPerTx?: bigint;
  /** The share of the cap to fill, in (0, 0.85]. */
  targetFill?: number;
  /** The most calldata bytes a batch may carry. */
  maxCalldataBytes?: number;
}

export interface PlannerLimits {
  cap: bigint;
  target: bigint;
  targetFill: number;
  maxCalldataBytes: number;
}

/** Checks the planner options and derives the cap and target; throws `PlanningError` when one is out of range. */
export function plannerLimits(options: PlannerLimitOptions = {}): PlannerLimits {
  const cap = options.maxGasPerTx ?? TX_GAS_CAP;
  if (cap < MIN_GAS_PER_TX || cap > TX_GAS_CAP) {
    throw new PlanningError(
      `--max-gas-per-tx must be between ${MIN_GAS_PER_TX} and ${TX_GAS_CAP} (the per-transaction cap), got ${cap}.`,
    );
  }
  const targetFill = options.targetFill ?? DEFAULT_TARGET_FILL;
  if (!(targetFill > 0 && targetFill <= DEFAULT_TARGET_FILL)) {
    throw new PlanningError(`the target fill must be above 0 and at most ${DEFAULT_TARGET_FILL}, got ${targetFill}.`);
  }
  const maxCalldataBytes = options.maxCalldataBytes ?? DEFAULT_MAX_CALLDATA_BYTES;
  if (!Number.isSafeInteger(maxCalldataBytes) || maxCalldataBytes < 1 || maxCalldataBytes > MAX_TX_BYTES) {
    throw new PlanningError(
      `the calldata limit must be an integer from 1 to ${MAX_TX_BYTES} bytes, got ${maxCalldataBytes}.`,
    );
  }
  const target = (cap * BigInt(Math.round(targetFill * Number(PPM)))) / PPM;
  return { cap, target, targetFill, maxCalldataBytes };
}

export interface PlanBatchOptions extends PlannerLimitOptions {
  /**
   * `eth_estimateGas` of the real batch of `size` records from the current cursor. Throws when
   * that batch cannot run (a revert, or more gas than the chain allows).
   */
  estimate(size: number): Promise<bigint>;
  /** Records left from the cursor: the largest batch possible. */
  remaining: number;
  /**
   * The calldata bytes of a batch of `size` records, for batches that carry their records as
   * calldata (nodes, history); omit when the calldata does not grow with the batch (deposits:
   * V1.1 reads its own).
   */
  calldataBytes?(size: number): number;
  /** The last batch's gas per record: where the search starts (at one record without it). */
  hintGasPerRecord?: bigint;
  /** `--batch-size`: a fixed size, still checked against the cap. */
  batchSize?: number;
  /** Stop once the batch fills at least `1 - tolerance` of the target; 0 finds the largest batch. */
  tolerance?: number;
  maxEstimates?: number;
}

/** Why a batch has its size. */
export type BatchLimit =
  /** The next record would not fit the target (or the search got within the tolerance). */
  | "target"
  /** Every remaining record fits. */
  | "remaining"
  /** More records would exceed the calldata limit. */
  | "calldata"
  /** A larger batch fails to estimate (reverts). */
  | "failure"
  /** The estimate budget ran out before the search converged. */
  | "estimates"
  /** `--batch-size`. */
  | "fixed";

export interface BatchPlan {
  size: number;
  gasEstimate: bigint;
  /** The gas limit to sign: the estimate plus 10% headroom, never above the cap. */
  gasLimit: bigint;
  /** `gasEstimate / target`: at most 1 unless a fixed `--batch-size` exceeds the target (never the cap). */
  fill: number;
  /** How many estimates (RPC round trips) the plan made. */
  estimates: number;
  limitedBy: BatchLimit;
  /** The average gas per record: the next batch's hint. */
  gasPerRecord: bigint;
  cap: bigint;
  target: bigint;
}

interface Measured {
  size: number;
  gas: bigint;
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new PlanningError(`${name} must be a positive integer, got ${value}.`);
}

/** The largest size in [1, upTo] whose calldata fits (calldata grows with the size); 0 when none does. */
function largestByCalldata(calldataBytes: (size: number) => number, upTo: number, limit: number): number {
  let fits = 0;
  let tooLarge = upTo + 1;
  while (tooLarge - fits > 1) {
    const middle = Math.floor((fits + tooLarge) / 2);
    if (calldataBytes(middle) <= limit) fits = middle;
    else tooLarge = middle;
  }
  return fits;
}

function finish(measured: Measured, limits: PlannerLimits, estimates: number, limitedBy: BatchLimit): BatchPlan {
  const withHeadroom = (measured.gas * GAS_LIMIT_HEADROOM_PERCENT) / PERCENT;
  return {
    size: measured.size,
    gasEstimate: measured.gas,
    gasLimit: withHeadroom < limits.cap ? withHeadroom : limits.cap,
    fill: Number((measured.gas * PPM) / limits.target) / Number(PPM),
    estimates,
    limitedBy,
    gasPerRecord: measured.gas / BigInt(measured.size),
    cap: limits.cap,
    target: limits.target,
  };
}

/** The largest batch from the cursor whose estimate is at most the target (see the module comment). */
export async function planBatch(options: PlanBatchOptions): Promise<BatchPlan> {
  const limits = plannerLimits(options);
  checkCount("the number of remaining records", options.remaining);
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (!(tolerance >= 0 && tolerance < 1)) throw new PlanningError(`the tolerance must be in [0, 1), got ${tolerance}.`);
  const maxEstimates = options.maxEstimates ?? DEFAULT_MAX_ESTIMATES;
  checkCount("the estimate budget", maxEstimates);

  let largest = options.remaining;
  let calldataBound = false;
  if (options.calldataBytes !== undefined) {
    largest = largestByCalldata(options.calldataBytes, options.remaining, limits.maxCalldataBytes);
    if (largest === 0) {
      throw new PlanningError(
        `one record needs ${options.calldataBytes(1)} bytes of calldata, above the limit of ${limits.maxCalldataBytes}.`,
      );
    }
    calldataBound = largest < options.remaining;
  }

  if (options.batchSize !== undefined) return planFixed(options, options.batchSize, largest, limits);

  let best: Measured | undefined;
  let previous: Measured | undefined;
  let tooLarge = largest + 1;
  let tooLargeFailed = false;
  let estimates = 0;
  const hint = options.hintGasPerRecord;
  let size = hint !== undefined && hint > 0n ? Number(limits.target / hint) : 1;
  size = Math.min(Math.max(size, 1), largest);

  for (;;) {
    estimates++;
    let gas: bigint | undefined;
    let failure: unknown;
    try {
      gas = await options.estimate(size);
    } catch (error) {
      failure = error;
    }
    const fits = gas !== undefined && gas <= limits.target;
    if (fits) {
      previous = best;
      best = { size, gas: gas as bigint };
    } else {
      tooLarge = size;
      tooLargeFailed = gas === undefined;
    }

    if (best === undefined) {
      if (size === 1) {
        throw new PlanningError(
          gas === undefined
            ? `a batch of one record cannot be sent: ${describeFailure(failure)}`
            : `one record needs ${gas} gas, above the target of ${limits.target} (${limits.targetFill} of the cap ${limits.cap}).`,
          { cause: failure },
        );
      }
      if (estimates >= maxEstimates) {
        throw new PlanningError(
          `no batch fits within ${maxEstimates} estimates; the last one (${size} records) failed.`,
        );
      }
      size = Math.floor(size / 2); // halve until something fits
      continue;
    }

    if (best.size === largest) return finish(best, limits, estimates, calldataBound ? "calldata" : "remaining");
    if (tooLarge === best.size + 1) return finish(best, limits, estimates, tooLargeFailed ? "failure" : "target");
    if (Number(((limits.target - best.gas) * PPM) / limits.target) / Number(PPM) <= tolerance) {
      return finish(best, limits, estimates, "target");
    }
    if (estimates >= maxEstimates) return finish(best, limits, estimates, "estimates");

    let next: number;
    if (!fits) {
      next = Math.floor((best.size + tooLarge) / 2); // halve the gap to what failed or overshot
    } else {
      // Per-record gas from real estimates: the slope between the last two fitting batches, or
      // the average of this one (which includes the fixed cost, so it undershoots: safe).
      const perRecord =
        previous !== undefined && best.gas > previous.gas
          ? (best.gas - previous.gas) / BigInt(best.size - previous.size)
          : best.gas / BigInt(best.size);
      next = best.size + Number((limits.target - best.gas) / (perRecord > 0n ? perRecord : 1n));
    }
    size = Math.min(Math.max(next, best.size + 1), tooLarge - 1);
  }
}

async function planFixed(
  options: PlanBatchOptions,
  batchSize: number,
  largest: number,
  limits: PlannerLimits,
): Promise<BatchPlan> {
  checkCount("--batch-size", batchSize);
  const size = Math.min(batchSize, options.remaining);
  if (size > largest) {
    throw new PlanningError(
      `--batch-size ${size} needs more than ${limits.maxCalldataBytes} bytes of calldata; at most ${largest} records fit.`,
    );
  }
  let gas: bigint;
  try {
    gas = await options.estimate(size);
  } catch (error) {
    throw new PlanningError(`a batch of ${size} records cannot be sent: ${describeFailure(error)}`, { cause: error });
  }
  if (gas > limits.cap) {
    throw new PlanningError(
      `--batch-size ${size} needs ${gas} gas, above the per-transaction cap of ${limits.cap}: use a smaller --batch-size or let the planner choose.`,
    );
  }
  return finish({ size, gas }, limits, 1, "fixed");
}

// ------------------------------------------------------------ cost

export interface CostRequest {
  to: string;
  data: string;
  value?: bigint;
  /** The gas limit (or estimate) the transaction will carry. */
  gas: bigint;
  nonce?: number;
  /** `--max-fee-per-gas`: the most the sender will pay per gas; the chain's current fee data otherwise. */
  maxFeePerGas?: bigint;
}

export interface CostEstimate {
  gas: bigint;
  maxFeePerGas: bigint;
  /** `maxFeePerGas × gas`: an upper bound on the execution fee. */
  executionFeeWei: bigint;
  /** The OP-stack L1 data fee (0 on other chains): `eth_estimateGas` leaves it out. */
  l1FeeWei: bigint;
  totalWei: bigint;
  opStack: boolean;
}

/** What a transaction costs at most, in wei, including the L1 data fee on OP-stack chains. */
export async function estimateCost(provider: Provider, request: CostRequest): Promise<CostEstimate> {
  const fees = await provider.getFeeData();
  const maxFeePerGas = request.maxFeePerGas ?? fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
  const maxPriorityFeePerGas = fees.maxPriorityFeePerGas ?? 0n;
  const opStack = await isOpStack(provider);
  let l1FeeWei = 0n;
  if (opStack) {
    const { chainId } = await provider.getNetwork();
    const unsigned = Transaction.from({
      type: 2,
      chainId,
      nonce: request.nonce ?? 0,
      to: request.to,
      data: request.data,
      value: request.value ?? 0n,
      gasLimit: request.gas,
      maxFeePerGas,
      maxPriorityFeePerGas: maxPriorityFeePerGas < maxFeePerGas ? maxPriorityFeePerGas : maxFeePerGas,
    }).unsignedSerialized;
    l1FeeWei = await l1DataFee(provider, unsigned);
  }
  const executionFeeWei = maxFeePerGas * request.gas;
  return { gas: request.gas, maxFeePerGas, executionFeeWei, l1FeeWei, totalWei: executionFeeWei + l1FeeWei, opStack };
}

// ------------------------------------------------------------ time

export interface DurationRequest {
  batches: number;
  gasPerBatch: bigint;
  blockGasLimit: bigint;
  blockTimeSeconds: number;
  /** Blocks each batch waits for before the next is sent (its receipt's block counts as one). */
  confirmations?: number;
}

export interface DurationEstimate {
  blocks: number;
  seconds: number;
}

/**
 * How long sending `batches` one after another takes at best: each batch waits for its block
 * and its confirmations before the next one is planned, so at least one block per batch.
 */
export function estimateDuration(request: DurationRequest): DurationEstimate {
  if (!Number.isSafeInteger(request.batches) || request.batches < 0) {
    throw new PlanningError(`the number of batches must be a non-negative integer, got ${request.batches}.`);
  }
  if (request.gasPerBatch > request.blockGasLimit) {
    throw new PlanningError(
      `a batch of ${request.gasPerBatch} gas never fits in a block of ${request.blockGasLimit} gas.`,
    );
  }
  const confirmations = request.confirmations ?? 1;
  checkCount("the number of confirmations", confirmations);
  const blocks = request.batches * confirmations;
  return { blocks, seconds: blocks * request.blockTimeSeconds };
}

export interface BlockTiming {
  /** The mean time between the sampled blocks. */
  blockTimeSeconds: number;
  blockGasLimit: bigint;
  /** How many block intervals the mean is over. */
  sampledBlocks: number;
}

/** Measures the block time over the last `sample` blocks (two reads) and reads the block gas limit. */
export async function measureBlockTiming(provider: Provider, sample = 20): Promise<BlockTiming> {
  checkCount("the block sample", sample);
  const latest = await provider.getBlock("latest");
  if (latest === null) throw new PlanningError("the node returned no latest block.");
  const span = Math.min(sample, latest.number);
  if (span === 0) throw new PlanningError("the chain has a single block: there is no block time to measure yet.");
  const earlier = await provider.getBlock(latest.number - span);
  if (earlier === null) throw new PlanningError(`the node returned no block ${latest.number - span}.`);
  return {
    blockTimeSeconds: (latest.timestamp - earlier.timestamp) / span,
    blockGasLimit: latest.gasLimit,
    sampledBlocks: span,
  };
}

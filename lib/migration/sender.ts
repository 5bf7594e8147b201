import { Transaction, isError, type Interface, type TransactionReceipt, type TransactionRequest } from "ethers";
import type { RpcProvider } from "../transactions.js";
import { crashPoint } from "./crashPoints.js";
import { silentReporter, type CallStep, type CopyStep, type MigrationReporter, type StepName } from "./events.js";
import type { JournalEntry, MigrationJournal, Reconciliation } from "./journal.js";
import { receiptL1Fee } from "./l1Fee.js";

/**
 * Sends one batch at a time, so that a crash at any point leaves nothing sent twice: the
 * transaction is signed locally, written to the journal with its raw bytes and hash, and only
 * then broadcast; the journal entry goes once the receipt has its confirmations. After a
 * restart, `resumeJournal` reconciles the journal with the chain and finishes what was pending.
 */

const DEFAULT_POLL_INTERVAL_MS = 1_000;
/** Polls for the receipt of a transaction whose nonce is used before deciding another one took it. */
const RECEIPT_LAG_POLLS = 5;
/** The base fee may rise by 12.5% per block (EIP-1559): twice it leaves room for six full blocks. */
const BASE_FEE_MULTIPLIER = 2n;
/**
 * Times a sender re-sends (a copy step re-plans a batch, `sendOne` signs a call again) after
 * another transaction of the same key took its nonce: a wallet or script racing the migration
 * once or twice is survivable; one that keeps taking the operator's nonces must be stopped first.
 */
export const MAX_NONCE_REPLANS = 5;

/** What signs: a key held locally (an ethers `Wallet`), so the raw transaction exists before it is broadcast. */
export interface TransactionSigner {
  getAddress(): Promise<string>;
  signTransaction(tx: TransactionRequest): Promise<string>;
}

export interface SenderOptions {
  provider: RpcProvider;
  signer: TransactionSigner;
  journal: MigrationJournal;
  /** The interfaces whose custom errors a revert may carry (the contract called, and what it calls). */
  decoder: Interface | readonly Interface[];
  reporter?: MigrationReporter;
  /** Blocks a receipt must have (its own included) before the batch counts as done; 1 by default. */
  confirmations?: number;
  /** `--max-fee-per-gas`: while the base fee is above it, wait rather than overpay. */
  maxFeePerGas?: bigint;
  /** The tip; the node's suggestion by default. */
  maxPriorityFeePerGas?: bigint;
  pollIntervalMs?: number;
  /** Give up waiting for the base fee to fall after this long (forever by default). */
  feeWaitTimeoutMs?: number;
  /** Give up waiting for a receipt after this long; the entry stays in the journal for `resumeJournal`. */
  receiptTimeoutMs?: number;
  /** The clock that stamps events and `sentAt`, in ms since the epoch (timeouts use a monotonic clock). */
  now?: () => number;
}

/** A batch to send: a call of the contract the journal is for. */
export interface BatchRequest {
  step: CopyStep;
  data: string;
  value?: bigint;
  cursor: number;
  size: number;
  gasLimit: bigint;
}

export interface SentBatch {
  entry: JournalEntry;
  receipt: TransactionReceipt;
  gasUsed: bigint;
  /** The OP-stack L1 data fee the receipt reports (0 elsewhere). */
  l1FeeWei: bigint;
}

/** The batch was mined and reverted; `reason` is the decoded custom error when there is one. */
export class BatchRevertedError extends Error {
  override name = "BatchRevertedError";
  constructor(
    readonly entry: JournalEntry,
    readonly receipt: TransactionReceipt,
    readonly reason: string,
  ) {
    super(`${describeEntry(entry)} reverted in block ${receipt.blockNumber} (transaction ${entry.txHash}): ${reason}`);
  }
}

/** The batch could not be sent or followed; the message says whether the journal still holds it. */
export class SendError extends Error {
  override name = "SendError";
}

/**
 * The batch's nonce was used by another transaction from the same key (a wallet, a script), so
 * its signed bytes can never be mined. The entry is still in the journal: reconciling it with
 * the chain (`resumeJournal`) drops it, and the batch is planned again at the chain's cursor with
 * a new nonce. Nothing was duplicated: this transaction cannot be mined any more.
 */
export class NonceTakenError extends SendError {
  override name = "NonceTakenError";
  constructor(
    readonly entry: JournalEntry,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** "the jobs batch of 10 records at cursor 0", or a single call's own words. */
function describeEntry(entry: JournalEntry): string {
  return entry.call ?? `the ${entry.step} batch of ${entry.size} records at cursor ${entry.cursor}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * ethers' short message with the node's own words (its full message repeats the whole signed
 * transaction); the node's words are what "already known" and "nonce too low" are matched on.
 */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as {
    shortMessage?: unknown;
    error?: { message?: unknown };
    info?: { error?: { message?: unknown } };
  };
  if (typeof e.shortMessage !== "string" || e.shortMessage === "") return error.message;
  const node = e.error?.message ?? e.info?.error?.message;
  return typeof node === "string" && !e.shortMessage.includes(node)
    ? `${e.shortMessage} (node: ${node})`
    : e.shortMessage;
}

interface Context {
  provider: RpcProvider;
  journal: MigrationJournal;
  decoders: readonly Interface[];
  report: MigrationReporter;
  confirmations: number;
  pollIntervalMs: number;
  receiptTimeoutMs: number | undefined;
  now: () => number;
}

function contextOf(options: SenderOptions): Context {
  const confirmations = options.confirmations ?? 1;
  if (!Number.isSafeInteger(confirmations) || confirmations < 1) {
    throw new SendError(`confirmations must be a positive integer, got ${confirmations}.`);
  }
  return {
    provider: options.provider,
    journal: options.journal,
    decoders: Array.isArray(options.decoder) ? options.decoder : [options.decoder as Interface],
    report: options.reporter ?? silentReporter,
    confirmations,
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    receiptTimeoutMs: options.receiptTimeoutMs,
    now: options.now ?? Date.now,
  };
}

/**
 * EIP-1559 fees under `--max-fee-per-gas`: while the latest base fee is above the cap, polls
 * (with one warning) instead of signing a transaction that could not be mined.
 */
async function feesUnderCap(
  options: SenderOptions,
  ctx: Context,
  step: StepName,
): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
  const cap = options.maxFeePerGas;
  const started = performance.now();
  let warned = false;
  for (;;) {
    const block = await ctx.provider.getBlock("latest");
    const baseFee = block?.baseFeePerGas ?? 0n;
    if (cap === undefined || baseFee <= cap) {
      const tip = options.maxPriorityFeePerGas ?? (await ctx.provider.getFeeData()).maxPriorityFeePerGas ?? 0n;
      const wanted = baseFee * BASE_FEE_MULTIPLIER + tip;
      const maxFeePerGas = cap !== undefined && cap < wanted ? cap : wanted;
      return { maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
    }
    if (options.feeWaitTimeoutMs !== undefined && performance.now() - started >= options.feeWaitTimeoutMs) {
      throw new SendError(
        `the base fee stayed above --max-fee-per-gas (${baseFee} > ${cap} wei) for ${options.feeWaitTimeoutMs} ms; nothing was sent.`,
      );
    }
    if (!warned) {
      ctx.report({
        type: "warning",
        at: ctx.now(),
        step,
        message: `base fee ${baseFee} wei is above --max-fee-per-gas ${cap} wei: waiting for it to fall before sending.`,
      });
      warned = true;
    }
    await sleep(ctx.pollIntervalMs);
  }
}

/**
 * Signs the batch locally (nonce from the chain, which counts pending transactions) without
 * recording or sending it: the journal entry `sendBatch` writes before broadcasting.
 */
export async function signBatch(options: SenderOptions, request: BatchRequest): Promise<JournalEntry> {
  return signEntry(options, contextOf(options), request);
}

/** Signs a batch or (with `call`) a single call of the journal's contract, under the fee cap. */
async function signEntry(
  options: SenderOptions,
  ctx: Context,
  request: Omit<BatchRequest, "step"> & { step: CopyStep | CallStep; call?: string },
): Promise<JournalEntry> {
  const from = await options.signer.getAddress();
  const fees = await feesUnderCap(options, ctx, request.step);
  const { chainId } = await ctx.provider.getNetwork();
  const nonce = await ctx.provider.getTransactionCount(from, "pending");
  const rawTransaction = await options.signer.signTransaction({
    type: 2,
    chainId,
    nonce,
    to: ctx.journal.contract,
    data: request.data,
    value: request.value ?? 0n,
    gasLimit: request.gasLimit,
    ...fees,
  });
  return {
    step: request.step,
    contract: ctx.journal.contract,
    cursor: request.cursor,
    size: request.size,
    from,
    nonce,
    txHash: Transaction.from(rawTransaction).hash as string,
    rawTransaction,
    sentAt: ctx.now(),
    ...(request.call === undefined ? {} : { call: request.call }),
  };
}

/**
 * Signs, journals, broadcasts and follows one batch to its confirmations; emits `batch-sent` and
 * `batch-confirmed`. Refuses to start while the journal holds an unconfirmed batch: run
 * `resumeJournal` first, so that no batch is sent on a stale cursor or behind a nonce gap.
 */
export async function sendBatch(options: SenderOptions, request: BatchRequest): Promise<SentBatch> {
  const ctx = contextOf(options);
  if (ctx.journal.entries.length > 0) {
    throw new SendError(
      `the journal ${ctx.journal.file} holds ${ctx.journal.entries.length} unconfirmed batch(es): resume (reconcile) before sending more.`,
    );
  }
  const entry = await signBatch(options, request);
  await recordAndBroadcast(ctx, entry);
  crashPoint("after-send-before-receipt");
  ctx.report({
    type: "batch-sent",
    at: ctx.now(),
    step: request.step,
    start: entry.cursor,
    size: entry.size,
    txHash: entry.txHash,
    nonce: entry.nonce,
  });
  return follow(ctx, entry);
}

/**
 * Journals the signed transaction, then broadcasts it. A broadcast the node refused (and does
 * not hold) is taken out of the journal again and thrown as a SendError.
 */
async function recordAndBroadcast(ctx: Context, entry: JournalEntry): Promise<void> {
  await ctx.journal.record(entry);
  try {
    await ctx.provider.broadcastTransaction(entry.rawTransaction);
  } catch (error) {
    // Some nodes mine a reverting transaction and still answer with an error: ask the node
    // whether it has the transaction before deciding that it was refused.
    let known: boolean;
    try {
      known = (await ctx.provider.getTransaction(entry.txHash)) !== null;
    } catch {
      throw new SendError(
        `broadcasting ${entry.txHash} failed (${messageOf(error)}) and the node cannot be asked about it; it stays in the journal ${ctx.journal.file} for the next run to reconcile.`,
        { cause: error },
      );
    }
    if (!known) {
      await ctx.journal.discard(entry.txHash);
      const what = entry.call ?? `the ${entry.step} batch at cursor ${entry.cursor}`;
      throw new SendError(`the node refused ${what}: ${messageOf(error)}`, { cause: error });
    }
  }
}

/** Broadcasts signed bytes again; "already known" means the node has them, which is the point. */
async function rebroadcast(ctx: Context, entry: JournalEntry): Promise<void> {
  try {
    await ctx.provider.broadcastTransaction(entry.rawTransaction);
  } catch (error) {
    const message = messageOf(error);
    if (/already known|known transaction|already imported/i.test(message)) return;
    // Another transaction holds the nonce in the pool ("replacement transaction underpriced"), or
    // the node will not take this fee now: keep following and broadcast again at the next poll.
    // Once another transaction is mined at the nonce, that rebroadcast hears "nonce too low".
    if (/underpriced|replacement fee too low/i.test(message)) return;
    // ethers reports a node's "nonce too low" as NONCE_EXPIRED ("nonce has already been used").
    if (isError(error, "NONCE_EXPIRED") || /nonce too low/i.test(message)) {
      // The nonce is used: by this transaction (its receipt shows up, on some nodes a moment
      // after the block) or by another one.
      for (let poll = 0; poll < RECEIPT_LAG_POLLS; poll++) {
        if ((await ctx.provider.getTransactionReceipt(entry.txHash)) !== null) return;
        await sleep(ctx.pollIntervalMs);
      }
      throw new NonceTakenError(
        entry,
        `transaction ${entry.txHash} can no longer be mined: nonce ${entry.nonce} of ${entry.from} was used by another transaction. It stays in the journal ${ctx.journal.file}; resume to reconcile it with the chain.`,
        { cause: error },
      );
    }
    throw new SendError(
      `broadcasting ${entry.txHash} again failed: ${message}. It stays in the journal ${ctx.journal.file}.`,
      { cause: error },
    );
  }
}

/**
 * Waits for the receipt and its confirmations, re-broadcasting the raw transaction whenever
 * the node has lost it (dropped from its pool, or a reorg took its block away); then checks
 * the status, confirms the journal entry and reports.
 */
async function follow(ctx: Context, entry: JournalEntry): Promise<SentBatch> {
  const started = performance.now();
  let seenIn: string | undefined;
  // While another transaction holds the nonce in the pool, every poll finds this one unknown
  // and broadcasts it again: said once, until the node knows it again (a new drop is new news).
  let droppedWarned = false;
  for (;;) {
    const receipt = await ctx.provider.getTransactionReceipt(entry.txHash);
    if (receipt === null) {
      if (seenIn !== undefined) {
        ctx.report({
          type: "warning",
          at: ctx.now(),
          step: entry.step,
          message: `the receipt of ${entry.txHash} (block ${seenIn}) disappeared in a reorg: broadcasting it again.`,
        });
        seenIn = undefined;
        await rebroadcast(ctx, entry);
      } else if ((await ctx.provider.getTransaction(entry.txHash)) === null) {
        if (!droppedWarned) {
          ctx.report({
            type: "warning",
            at: ctx.now(),
            step: entry.step,
            message: `the node no longer knows ${entry.txHash} (dropped from its pool): broadcasting it again.`,
          });
          droppedWarned = true;
        }
        await rebroadcast(ctx, entry);
      } else {
        droppedWarned = false;
      }
    } else {
      seenIn = receipt.blockHash;
      const latest = await ctx.provider.getBlockNumber();
      if (latest - receipt.blockNumber + 1 >= ctx.confirmations) {
        // Read again at this height: the block must still hold the transaction.
        const final = await ctx.provider.getTransactionReceipt(entry.txHash);
        if (final !== null && final.blockHash === receipt.blockHash) return settle(ctx, entry, final);
        continue;
      }
    }
    if (ctx.receiptTimeoutMs !== undefined && performance.now() - started >= ctx.receiptTimeoutMs) {
      throw new SendError(
        `no confirmed receipt for ${entry.txHash} after ${ctx.receiptTimeoutMs} ms; it stays in the journal ${ctx.journal.file}: resume to follow it.`,
      );
    }
    await sleep(ctx.pollIntervalMs);
  }
}

async function settle(ctx: Context, entry: JournalEntry, receipt: TransactionReceipt): Promise<SentBatch> {
  if (receipt.status !== 1) {
    const reason = await revertReason(ctx, entry, receipt);
    await ctx.journal.confirm(entry.txHash);
    throw new BatchRevertedError(entry, receipt, reason);
  }
  const l1FeeWei = await l1FeeOf(ctx, entry);
  await ctx.journal.confirm(entry.txHash);
  // A single call is not a batch: it has events of its own, which move no progress count.
  if (entry.call !== undefined) {
    reportCallConfirmed(ctx, entry, receipt, l1FeeWei);
  } else {
    ctx.report({
      type: "batch-confirmed",
      at: ctx.now(),
      step: entry.step as CopyStep,
      start: entry.cursor,
      size: entry.size,
      txHash: entry.txHash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed.toString(),
      l1FeeWei: l1FeeWei.toString(),
    });
  }
  return { entry, receipt, gasUsed: receipt.gasUsed, l1FeeWei };
}

/** The OP-stack L1 data fee of a mined transaction (0 elsewhere), from the node's raw receipt. */
async function l1FeeOf(ctx: Context, entry: JournalEntry): Promise<bigint> {
  return receiptL1Fee(await ctx.provider.send("eth_getTransactionReceipt", [entry.txHash]));
}

function reportCallConfirmed(ctx: Context, entry: JournalEntry, receipt: TransactionReceipt, l1FeeWei: bigint): void {
  ctx.report({
    type: "call-confirmed",
    at: ctx.now(),
    step: entry.step as CallStep,
    call: entry.call!,
    contract: entry.contract,
    txHash: entry.txHash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed.toString(),
    l1FeeWei: l1FeeWei.toString(),
  });
}

/** Replays the reverted call on the state before its block to recover the custom error. */
async function revertReason(ctx: Context, entry: JournalEntry, receipt: TransactionReceipt): Promise<string> {
  const tx = Transaction.from(entry.rawTransaction);
  const replay = (gasLimit: bigint | undefined) =>
    ctx.provider.call({
      from: entry.from,
      to: entry.contract,
      data: tx.data,
      value: tx.value,
      gasLimit,
      blockTag: receipt.blockNumber - 1,
    });
  try {
    await replay(tx.gasLimit);
  } catch (error) {
    const data = (error as { data?: unknown }).data;
    if (typeof data === "string" && data.length >= 10) {
      for (const decoder of ctx.decoders) {
        const parsed = decoder.parseError(data);
        if (parsed !== null) return `${parsed.name}(${parsed.args.map(String).join(", ")})`;
      }
      return `an error the given interfaces do not declare (${data})`;
    }
    // No error data: out of gas (behind a proxy the delegatecall runs out and the proxy reverts
    // with the 1/64 it kept) when the same call succeeds with the node's default gas.
    try {
      await replay(undefined);
    } catch {
      return messageOf(error);
    }
    return `out of gas: the batch needs more than its gas limit of ${tx.gasLimit}`;
  }
  return "it reverted, but the call succeeds on the state before its block (a transaction earlier in the block changed it)";
}

export interface ResumeOutcome extends Reconciliation {
  /** For a pending entry: the batch once its rebroadcast transaction was confirmed. */
  sent?: SentBatch;
  /** For a reverted entry: the decoded error. */
  reason?: string;
}

/**
 * After a restart: reconciles the journal with the chain (see `MigrationJournal.reconcile`),
 * reports reverted batches as warnings, and rebroadcasts and follows every pending one.
 * Afterwards the journal is empty and `onChainCursor`, read again, is where to continue.
 */
export async function resumeJournal(options: SenderOptions, onChainCursor: number): Promise<ResumeOutcome[]> {
  const ctx = contextOf(options);
  const reconciled = await ctx.journal.reconcile(ctx.provider, onChainCursor);
  const outcomes: ResumeOutcome[] = [];
  for (const result of reconciled) {
    const { entry } = result;
    if (result.status === "reverted") {
      const reason = await revertReason(ctx, entry, result.receipt as TransactionReceipt);
      ctx.report({
        type: "warning",
        at: ctx.now(),
        step: entry.step,
        message: `${entry.call ?? `the ${entry.step} batch at cursor ${entry.cursor}`} (${entry.txHash}) had reverted: ${reason}`,
      });
      outcomes.push({ ...result, reason });
    } else if (result.status === "pending") {
      await rebroadcast(ctx, entry);
      outcomes.push({ ...result, sent: await follow(ctx, entry) });
    } else {
      // A call mined while the process was down: its transaction is shown like one followed now.
      if (result.status === "confirmed" && entry.call !== undefined && result.receipt !== undefined) {
        reportCallConfirmed(ctx, entry, result.receipt, await l1FeeOf(ctx, entry));
      }
      outcomes.push(result);
    }
  }
  return outcomes;
}

/**
 * A single call (not a batch) of the journal's contract: finalize, a rollback batch, unpause,
 * model names, a handover grant or renounce.
 */
export interface CallRequest {
  step: CallStep;
  /** What the call does, in the words of messages and of its journal entry ("finalizing the V2 registry"). */
  what: string;
  /**
   * The calldata, built once the call is known not to be done yet: its arguments may read state
   * the call itself changes (a rollback reads the batch it takes back).
   */
  data(): Promise<string>;
  value?: bigint;
  /** Estimates the call on the chain as it is now; a rejection means it would revert (nothing is sent). */
  estimateGas(data: string): Promise<bigint>;
  /**
   * Whether the call's effect is already on chain (finalized, the batch taken back, …): read
   * before signing, so a call done by an earlier run or another sender is not sent again, and
   * after its nonce was taken, to decide between done and sending again with a new nonce.
   */
  done(): Promise<boolean>;
}

export interface SentCall {
  /** The call's own mined transaction; null when its effect was on chain without it. */
  receipt: TransactionReceipt | null;
  gasUsed: bigint;
}

/** The call would revert on the chain as it is now; nothing was signed or sent. */
export class CallRefusedError extends SendError {
  override name = "CallRefusedError";
}

/** Gas headroom over the estimate of a single call (the chain may move between the estimate and the block). */
const CALL_GAS_HEADROOM_PERCENT = 20n;

/**
 * Sends one call with the batches' guarantees: fees under `--max-fee-per-gas` (the same wait),
 * signed locally and journaled before the broadcast, followed to its confirmations through
 * reorgs and drops (same signed bytes broadcast again). First it finishes whatever the journal
 * holds (a crash between a send and its receipt), then asks `done()`: a call whose effect is on
 * chain is not sent again. When another transaction of the key takes the nonce, `done()` decides
 * between done and signing again with a new nonce (at most `MAX_NONCE_REPLANS` times).
 */
export async function sendOne(options: SenderOptions, request: CallRequest): Promise<SentCall> {
  const ctx = contextOf(options);
  let ours: TransactionReceipt | null = null;
  for (let replans = 0; ; replans++) {
    ours = (await finishJournal(options, ctx, request)) ?? ours;
    if (await request.done()) return { receipt: ours, gasUsed: ours?.gasUsed ?? 0n };
    const data = await request.data();
    let gas: bigint;
    try {
      gas = await request.estimateGas(data);
    } catch (error) {
      throw new CallRefusedError(`${request.what} would revert; nothing was sent.`, { cause: error });
    }
    const entry = await signEntry(options, ctx, {
      step: request.step,
      call: request.what,
      data,
      ...(request.value === undefined ? {} : { value: request.value }),
      cursor: 0,
      size: 0,
      gasLimit: gas + (gas * CALL_GAS_HEADROOM_PERCENT) / 100n,
    });
    await recordAndBroadcast(ctx, entry);
    ctx.report({
      type: "call-sent",
      at: ctx.now(),
      step: request.step,
      call: request.what,
      contract: entry.contract,
      txHash: entry.txHash,
      nonce: entry.nonce,
    });
    try {
      const sent = await follow(ctx, entry);
      return { receipt: sent.receipt, gasUsed: sent.gasUsed };
    } catch (error) {
      if (!(error instanceof NonceTakenError) || replans >= MAX_NONCE_REPLANS) throw error;
      nonceTakenWarning(ctx, request, error);
    }
  }
}

function nonceTakenWarning(ctx: Context, request: CallRequest, error: NonceTakenError): void {
  ctx.report({
    type: "warning",
    at: ctx.now(),
    step: request.step,
    message: `nonce ${error.entry.nonce} was taken by another transaction of ${error.entry.from}, so ${error.entry.txHash} can never be mined: reading whether ${request.what} is done on chain, else sending it again with a new nonce.`,
  });
}

/**
 * Reconciles the journal with the chain and follows what is still pending to its receipt (a
 * taken nonce drops the entry). Returns the receipt of an entry for this very call, if any.
 */
async function finishJournal(
  options: SenderOptions,
  ctx: Context,
  request: CallRequest,
): Promise<TransactionReceipt | null> {
  let found: TransactionReceipt | null = null;
  for (let replans = 0; ctx.journal.entries.length > 0; replans++) {
    try {
      // Batches in this journal (a crashed copy step) are finished too: the cursor only names
      // their outcome ("lost" or "superseded"), which changes nothing here.
      for (const outcome of await resumeJournal(options, 0)) {
        if (outcome.entry.call !== request.what) continue;
        const receipt = outcome.sent?.receipt ?? (outcome.status === "confirmed" ? outcome.receipt : undefined);
        if (receipt !== undefined) found = receipt;
      }
    } catch (error) {
      if (!(error instanceof NonceTakenError) || replans >= MAX_NONCE_REPLANS) throw error;
      nonceTakenWarning(ctx, request, error);
    }
  }
  return found;
}

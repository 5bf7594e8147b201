import type { RpcProvider } from "../../transactions.js";
import type { Commitments } from "../outcome.js";
import type { ReliabilityOptions } from "../options.js";
import { jsonLines, runHardhatTask, type TaskRun } from "../processes.js";
import { startMiner, type Miner, type MinerOptions } from "../miner.js";
import { judge, resetChain, type Family, type SeededChain, type TrialResult } from "../trial.js";

/**
 * What a trial family needs from the run (lib/reliability/run.ts): the seeded chain, the
 * reference's commitments, and how to start `migrate:all`. Families with injected chain events
 * (reorg, nonce-fee) run on harness-mined blocks (lib/reliability/miner.ts), so they can act at
 * exact moments: a batch in the pool, a receipt short of its confirmations.
 */

export interface FamilyContext {
  chain: SeededChain;
  reference: Commitments;
  root: string;
  /** anvil's own URL: the child and the harness both talk to it directly. */
  rpcUrl: string;
  options: ReliabilityOptions;
  /** `migrate:all --json` with a fresh journal and snapshot file, `--batch-size batchSize`, and `extra`. */
  migrateArgs(extra: readonly string[], batchSize: number): string[];
  log(line: string): void;
}

/** Block interval of harness-mined trials: well under the engine's 1 s receipt poll. */
export const BLOCK_INTERVAL_MS = 100;
/** `--confirmations` of the reorg and nonce-fee trials: room for a reorg below it. */
export const CONFIRMATIONS = 3;
/** `--batch-size` of those trials: a few batches per step (quick: 1 + 2 + 1). */
export const FAMILY_BATCH_SIZE = 12;
/** A trial whose run is still going this long after its first line is wedged: kill it (it fails). */
const WATCHDOG_MS = 180_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 25 ms until it holds; fails after `timeoutMs` (a wedged trial, not a race). */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function tail(text: string, lines = 5): string {
  return text.trim().split("\n").slice(-lines).join(" | ");
}

/** The engine's `warning` messages matching `pattern`. */
export function warningsMatching(run: TaskRun, pattern: RegExp): string[] {
  return jsonLines(run.stdout)
    .filter((line) => line.type === "warning" && pattern.test(String(line.message)))
    .map((line) => String(line.message));
}

/** A trial's own verdict on its injection, besides the outcome check. */
export interface TrialFindings {
  problems: string[];
  /** Events injected (the table's retries column for these families). */
  faults: number;
  /** The engine's answers to them, counted from its `--json` warnings. */
  engineRetries: number;
  counters: Record<string, number>;
}

export interface InjectedTrial {
  family: Family;
  label: string;
  /** Options for `migrate:all` besides the journal, snapshot and addresses. */
  extraArgs: readonly string[];
  minerOptions?: Omit<MinerOptions, "provider" | "intervalMs">;
  /**
   * Called with each `--json` line as it arrives; may start the injection (asynchronous, its
   * errors become the trial's problems).
   */
  onLine(line: Record<string, unknown>, miner: Miner): void;
  /** After the run: the injection's own findings, figures and counters. */
  finish(run: TaskRun): Promise<TrialFindings>;
}

/**
 * One trial on harness-mined blocks: reset, start the miner, run `migrate:all`, let the trial
 * inject its faults from the engine's events, then judge the outcome like every other family.
 */
export async function runInjectedTrial(fctx: FamilyContext, trial: InjectedTrial): Promise<TrialResult> {
  const { chain } = fctx;
  await resetChain(chain);
  const miner = await startMiner({
    provider: chain.provider,
    intervalMs: BLOCK_INTERVAL_MS,
    ...trial.minerOptions,
  });
  const injectionErrors: string[] = [];
  let run: TaskRun;
  try {
    run = await runHardhatTask({
      root: fctx.root,
      rpcUrl: fctx.rpcUrl,
      args: fctx.migrateArgs(["--confirmations", String(CONFIRMATIONS), ...trial.extraArgs], FAMILY_BATCH_SIZE),
      killAfterMs: WATCHDOG_MS,
      onLine: (line) => {
        try {
          trial.onLine(line, miner);
        } catch (error) {
          injectionErrors.push(`the injection failed: ${(error as Error).message}`);
        }
      },
    });
  } finally {
    // Whatever the trial left paused, the chain must settle before it is judged.
    miner.resume();
    await miner.mineNow();
    await miner.stop();
  }
  const own = await trial.finish(run);
  const extra = [...injectionErrors, ...own.problems];
  if (run.code !== 0) extra.unshift(`the run failed (exit ${run.code}): ${tail(run.stderr || run.stdout)}`);
  const outcome = await judge(chain, fctx.reference);
  outcome.problems.unshift(...extra);
  outcome.passed = outcome.passed && extra.length === 0;
  if (!outcome.passed) fctx.log(`  FAILED: ${outcome.problems.slice(0, 3).join(" ")}`);
  return {
    family: trial.family,
    label: trial.label,
    outcome,
    engineRetries: own.engineRetries,
    faults: own.faults,
    counters: own.counters,
    ms: run.ms,
  };
}

/** anvil's first development account: the operator `migrate:all` signs with on a dev chain. */
export const DEV_OPERATOR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/**
 * The hash of the first transaction of `from` in the node's pool (anvil's `txpool_content`),
 * polled until one is there: how the harness finds a single call (finalize), which has no
 * `batch-sent` line, once the chain is held still.
 */
export async function pendingTransactionOf(provider: RpcProvider, from: string): Promise<string> {
  let hash: string | undefined;
  await waitFor(async () => {
    const pool = (await provider.send("txpool_content", [])) as {
      pending?: Record<string, Record<string, { hash: string }>>;
    };
    const mine = Object.entries(pool.pending ?? {}).find(([address]) => address.toLowerCase() === from.toLowerCase());
    const txs = Object.entries(mine?.[1] ?? {}).sort(([a], [b]) => Number(a) - Number(b));
    hash = txs[0]?.[1].hash;
    return hash !== undefined;
  }, `a pending transaction of ${from}`);
  return hash!;
}

/**
 * Follows the engine's batch events for a trial aimed at batch `target` (1-based, in sending
 * order): `holdNow` is true at the event after which the chain should be held still so that the
 * target cannot be mined before the harness acts (the previous batch confirmed, or the nodes step
 * started for the first batch: nothing the engine does from there until the target is sent needs
 * a block); `sentNow` is true at the target's `batch-sent`.
 */
export class BatchTracker {
  confirmed = 0;
  sent = 0;
  constructor(readonly target: number) {}

  see(line: Record<string, unknown>): { holdNow: boolean; sentNow: boolean } {
    if (line.type === "batch-confirmed") this.confirmed++;
    if (line.type === "batch-sent") this.sent++;
    const holdNow =
      (this.target === 1 && line.type === "step-started" && line.step === "nodes") ||
      (this.target > 1 && line.type === "batch-confirmed" && this.confirmed === this.target - 1);
    return { holdNow, sentNow: line.type === "batch-sent" && this.sent === this.target };
  }
}

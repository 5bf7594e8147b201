import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { prepareLocalMigration } from "../../deploy/localMigration.js";
import type { DeployContext } from "../../deploy/steps.js";
import { SeededRandom } from "../fixtures/random.js";
import { CRASH_ENV, CRASH_POINTS, type CrashPoint } from "../migration/crashPoints.js";
import type { RpcProvider } from "../transactions.js";
import { runContractCampaign, type ContractsResult } from "./contracts.js";
import { startFaultProxy, type FaultKind } from "./faultProxy.js";
import { runHostile, type HostileResult } from "./hostile/index.js";
import { holdingsBefore } from "./holdings.js";
import type { Commitments } from "./outcome.js";
import type { ReliabilityOptions } from "./options.js";
import { jsonLines, runHardhatTask, type TaskRun } from "./processes.js";
import { judge, pinnedState, resetChain, type SeededChain, type TrialResult } from "./trial.js";
import { FAMILY_BATCH_SIZE, type FamilyContext } from "./families/context.js";
import { nonceFeePlans, runNonceFeeTrial } from "./families/nonceFee.js";
import { reorgPlans, runReorgTrial } from "./families/reorg.js";

/**
 * The reliability run (issue 10): one seeded chain, an uninterrupted reference run of
 * `migrate:all`, then the trial families, each judged by lib/reliability/outcome.ts against V1's
 * pinned state and the reference's commitments. This module never imports Hardhat: the task
 * hands it a connection to an anvil node it started, and the migrations run as child processes.
 */

/** How each retried request's warning starts (tasks/migrate-shared.ts `RPC_RETRY_PREFIX`). */
const RPC_RETRY_PREFIX = "RPC retry:";
/** The engine's per-request timeout in the RPC family; the proxy holds delayed answers past it. */
const RPC_TIMEOUT_MS = 500;
const RPC_DELAY_MS = 750;

export interface ReliabilityContext extends DeployContext {
  provider: RpcProvider;
  /** The anvil node's own URL: the reference and crash runs talk to it directly. */
  rpcUrl: string;
  /** The checkout (for node_modules/.bin and the Hardhat CLI). */
  root: string;
}

export interface ReliabilityRun {
  trials: TrialResult[];
  /** Faults the proxy injected in the RPC family, per kind. */
  faults: Record<FaultKind, number>;
  /** The hostile-input family: one result per input kind. */
  hostile?: HostileResult[];
  /** The long invariant campaign (full mode only). */
  contracts?: ContractsResult;
  totalMs: number;
}

function tail(text: string, lines = 5): string {
  return text.trim().split("\n").slice(-lines).join(" | ");
}

function retriesIn(run: TaskRun): number {
  return jsonLines(run.stdout).filter(
    (line) => line.type === "warning" && String(line.message).startsWith(RPC_RETRY_PREFIX),
  ).length;
}

/** Seeds V1 and opens the migration once; the state every trial starts from. */
async function seedChain(ctx: ReliabilityContext, options: ReliabilityOptions): Promise<SeededChain> {
  const { v1, v2, v2FromBlock } = await prepareLocalMigration(
    { ...ctx, log: () => {} },
    { seed: { ...options.sizes, seed: options.seed }, treasury: await ctx.deployer.getAddress() },
  );
  const state = await pinnedState(v1);
  const addresses = {
    v1Registry: await v1.registry.getAddress(),
    v1Escrow: await v1.escrow.getAddress(),
    v1Marketplace: await v1.marketplace.getAddress(),
    v2Registry: await v2.registry.getAddress(),
    v2Escrow: await v2.escrow.getAddress(),
    v2Marketplace: await v2.marketplace.getAddress(),
  };
  const holding = {
    provider: ctx.provider,
    v1Registry: addresses.v1Registry,
    v1Escrow: addresses.v1Escrow,
    v2Registry: addresses.v2Registry,
    v2Escrow: addresses.v2Escrow,
  };
  const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return {
    provider: ctx.provider,
    v1,
    v2,
    holding,
    state,
    before: await holdingsBefore(holding, state),
    v2FromBlock,
    addressArgs: Object.entries(addresses).flatMap(([name, address]) => [flag(name), address]),
    snapshotId: (await ctx.provider.send("evm_snapshot", [])) as string,
  };
}

export async function runReliability(
  ctx: ReliabilityContext,
  options: ReliabilityOptions,
  log: (line: string) => void = () => {},
): Promise<ReliabilityRun> {
  const started = performance.now();
  const work = await mkdtemp(path.join(os.tmpdir(), "fabstir-reliability-"));
  const trials: TrialResult[] = [];
  const faults = { drop: 0, delay: 0, http429: 0, limit: 0, staleBlock: 0 } as Record<FaultKind, number>;
  try {
    log(
      `Seeding V1 (${options.sizes.nodes} nodes, ${options.sizes.jobs} jobs, ${options.sizes.users} users, seed "${options.seed}")…`,
    );
    const chain = await seedChain(ctx, options);
    let runs = 0;
    /** `migrate:all --json` with this trial's own journal and snapshot file. */
    const migrateArgs = (dir: string, extra: readonly string[] = [], batchSize = options.batchSize) => [
      "migrate:all",
      "--json",
      "--batch-size",
      String(batchSize),
      "--journal",
      path.join(dir, "journal"),
      "--snapshot",
      path.join(dir, "v1.ndjson"),
      ...chain.addressArgs,
      ...extra,
    ];
    const freshDir = () => path.join(work, `run-${++runs}`);

    // ------------------------------------------------------------ reference
    log("Reference run (uninterrupted)…");
    await resetChain(chain);
    const refDir = freshDir();
    const ref = await runHardhatTask({ root: ctx.root, rpcUrl: ctx.rpcUrl, args: migrateArgs(refDir) });
    if (ref.code !== 0)
      throw new Error(`the reference run failed (exit ${ref.code}): ${tail(ref.stderr || ref.stdout)}`);
    const refOutcome = await judge(chain, undefined);
    trials.push({
      family: "reference",
      label: "uninterrupted",
      outcome: refOutcome,
      engineRetries: 0,
      faults: 0,
      ms: ref.ms,
    });
    if (!refOutcome.passed) {
      throw new Error(`the reference run's outcome is wrong: ${refOutcome.problems.slice(0, 3).join(" ")}`);
    }
    const reference: Commitments = refOutcome.commitments;
    const refLines = jsonLines(ref.stdout);
    const batches = refLines.filter((line) => line.type === "batch-confirmed").length;
    const firstLineAt = refLines.find((line) => typeof line.at === "number")?.at as number | undefined;
    const lastLineAt = refLines.findLast((line) => typeof line.at === "number")?.at as number | undefined;
    const activeMs =
      firstLineAt !== undefined && lastLineAt !== undefined ? Math.max(1, lastLineAt - firstLineAt) : ref.ms;
    log(
      `Reference: ${batches} batches, ${(ref.ms / 1000).toFixed(1)} s (${(activeMs / 1000).toFixed(1)} s migrating).`,
    );

    // ------------------------------------------------------------ crash and resume
    const random = new SeededRandom(`reliability:${options.seed}`);
    const kinds: (CrashPoint | "random-time")[] = [...CRASH_POINTS, "random-time"];
    for (let i = 0; i < options.crashTrials; i++) {
      const kind = kinds[i % kinds.length]!;
      // Occurrences per run: one between-batches and one send per batch; two journal writes per batch.
      const occurrences = kind === "mid-journal-write" ? 2 * batches : batches;
      const env: Record<string, string> = {};
      let killAfterMs: number | undefined;
      let label: string;
      if (kind === "random-time") {
        killAfterMs = random.int(0, activeMs);
        label = `SIGKILL ${killAfterMs} ms in`;
      } else {
        const n = random.int(1, occurrences);
        env[CRASH_ENV] = `${kind}:${n}`;
        label = `${kind}:${n}`;
      }
      log(`Crash trial ${i + 1}/${options.crashTrials}: ${label}…`);
      await resetChain(chain);
      const dir = freshDir();
      const crashed = await runHardhatTask({
        root: ctx.root,
        rpcUrl: ctx.rpcUrl,
        args: migrateArgs(dir),
        env,
        ...(killAfterMs === undefined ? {} : { killAfterMs }),
      });
      const extra: string[] = [];
      if (crashed.signal !== "SIGKILL" && kind !== "random-time") {
        extra.push(`the crash point ${label} was never reached (exit ${crashed.code}): ${tail(crashed.stderr)}`);
      }
      if (crashed.signal !== "SIGKILL" && crashed.code !== 0) {
        extra.push(`the run before the crash failed (exit ${crashed.code}): ${tail(crashed.stderr || crashed.stdout)}`);
      }
      if (crashed.signal !== "SIGKILL") label += " (finished before the kill)";
      // A run that finished before a random-time kill has nothing to resume (and a second migrate:all
      // on a finalized migration is refused by design): judge it as it ended.
      const finished = crashed.signal !== "SIGKILL" && crashed.code === 0;
      const resumed = finished
        ? { code: 0, stdout: "", stderr: "", ms: 0 }
        : await runHardhatTask({ root: ctx.root, rpcUrl: ctx.rpcUrl, args: migrateArgs(dir) });
      if (resumed.code !== 0)
        extra.push(`the resumed run failed (exit ${resumed.code}): ${tail(resumed.stderr || resumed.stdout)}`);
      const outcome = await judge(chain, reference);
      outcome.problems.unshift(...extra);
      outcome.passed = outcome.passed && extra.length === 0;
      trials.push({ family: "crash", label, outcome, engineRetries: 0, faults: 0, ms: crashed.ms + resumed.ms });
      if (!outcome.passed) log(`  FAILED: ${outcome.problems.slice(0, 3).join(" ")}`);
    }

    // ------------------------------------------------------------ RPC faults
    for (let i = 0; i < options.rpcTrials; i++) {
      const seed = `${options.seed}:rpc:${i}`;
      log(`RPC fault trial ${i + 1}/${options.rpcTrials} (proxy seed "${seed}")…`);
      await resetChain(chain);
      const proxy = await startFaultProxy({ upstream: ctx.rpcUrl, seed, delayMs: RPC_DELAY_MS });
      let run: TaskRun;
      try {
        run = await runHardhatTask({
          root: ctx.root,
          rpcUrl: proxy.url,
          args: migrateArgs(freshDir(), ["--rpc-timeout", String(RPC_TIMEOUT_MS)]),
        });
      } finally {
        await proxy.close();
      }
      const extra =
        run.code === 0
          ? []
          : [`the run through the proxy failed (exit ${run.code}): ${tail(run.stderr || run.stdout)}`];
      const outcome = await judge(chain, reference);
      outcome.problems.unshift(...extra);
      outcome.passed = outcome.passed && extra.length === 0;
      const injected = Object.values(proxy.counts).reduce((a, b) => a + b, 0);
      for (const [kind, count] of Object.entries(proxy.counts)) faults[kind as FaultKind] += count;
      const engineRetries = retriesIn(run);
      log(
        `  ${proxy.requests.calls} calls, faults ${JSON.stringify(proxy.counts)}, engine retries ${engineRetries}, ${(run.ms / 1000).toFixed(1)} s`,
      );
      trials.push({
        family: "rpc",
        label: `proxy seed ${seed}`,
        outcome,
        engineRetries,
        faults: injected,
        ms: run.ms,
      });
      if (!outcome.passed) log(`  FAILED: ${outcome.problems.slice(0, 3).join(" ")}`);
    }

    // ------------------------------------------------------------ reorgs, drops, nonces, fees
    const family: FamilyContext = {
      chain,
      reference,
      root: ctx.root,
      rpcUrl: ctx.rpcUrl,
      options,
      migrateArgs: (extra, batchSize) => migrateArgs(freshDir(), extra, batchSize),
      log,
    };
    // Batches of the nodes and jobs steps at the families' batch size (escrow's depend on V1's users).
    const familyBatches =
      Math.ceil(options.sizes.nodes / FAMILY_BATCH_SIZE) + Math.ceil(options.sizes.jobs / FAMILY_BATCH_SIZE);
    for (const plan of reorgPlans(options.reorgTrials, familyBatches, options.seed)) {
      trials.push(await runReorgTrial(family, plan));
    }
    for (const plan of nonceFeePlans(options.nonceFeeTrials, familyBatches, options.seed)) {
      trials.push(await runNonceFeeTrial(family, plan));
    }
  } finally {
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
  // ------------------------------------------------------------ hostile input and contracts (no chain needed)
  if (options.hostileCases > 0) log(`Hostile input: ${options.hostileCases} cases per input kind…`);
  const hostile = options.hostileCases > 0 ? await runHostile(ctx.root, options.hostileCases, options.seed, log) : [];
  let contracts: ContractsResult | undefined;
  if (options.contractsCampaign) {
    log('Contracts: the Solidity invariant campaign (test profile "campaign")…');
    contracts = await runContractCampaign(ctx.root);
    log(`  ${contracts.passed} passed, ${contracts.failed} failed, ${(contracts.ms / 1000).toFixed(1)} s`);
  }
  return {
    trials,
    faults,
    hostile,
    ...(contracts === undefined ? {} : { contracts }),
    totalMs: performance.now() - started,
  };
}

/**
 * The benchmark (issue 6): the toolkit against the migration guide's approach and the physical
 * floor, on one seeded V1 state, in one run. `npx hardhat bench` (tasks/bench.ts) opens the
 * connection and calls `runBench`; this module takes everything it needs as arguments, so it
 * never imports Hardhat.
 *
 * Seeds V1 (deploy, seed, freeze, drain, open: deploy/localMigration.ts), measures the V1
 * snapshot read (RPC round trips counted at the connection's provider) and the TypeScript
 * commitment hashing, registers the model names in V2 (same for both arms), takes
 * `evm_snapshot`, runs the guide arm (lib/bench/guide.ts), `evm_revert`s, runs the toolkit arm
 * (`runMigration` as shipped), and returns the figures with the targets beside them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Signer } from "ethers";
import { prepareLocalMigration, registerModelNames } from "../../deploy/localMigration.js";
import type { DeployContext } from "../../deploy/steps.js";
import { GuideEscrowV1_1__factory, GuideRegistryV1_1__factory } from "../../typechain-types/index.js";
import { CommitmentAccumulator } from "../commitment.js";
import { resolveContracts } from "../migration/contracts.js";
import { ALL_STEPS, runMigration } from "../migration/engine.js";
import { isOpStack, setL1FeeScalars } from "../migration/l1Fee.js";
import { ensureMulticall3 } from "../multicall.js";
import { readV1State, type V1Contracts, type V1State } from "../v1State.js";
import { depositFloor, jobFloor, nodeFloor } from "./floor.js";
import { GUIDE_RULES, runGuideArm } from "./guide.js";
import type { BenchOptions } from "./options.js";
import { benchJson, renderMarkdown, type BenchJson } from "./render.js";
import { checkTargets } from "./targets.js";
import { ToolkitTally } from "./toolkit.js";
import { COMPONENTS, type ArmFigures, type Component } from "./types.js";

/** Hashing is timed over at least this long (repeating the records) so small runs measure a rate, not noise. */
const MIN_HASHING_MS = 300;

/** An EIP-1193 provider: the read side counts the JSON-RPC requests that go through it. */
export interface Eip1193Provider {
  request: (args: { method: string; params?: unknown[] }) => Promise<unknown>;
}

/** What the benchmark needs from the task: one connection to a development chain. */
export interface BenchContext extends DeployContext {
  /** The connection's own EIP-1193 provider, under `ethers.provider`. */
  eip1193: Eip1193Provider;
  /** The chain is a throwaway one (in-process or a local node): the run deploys and rewinds it. */
  devChain: boolean;
  /** The toolkit's sender, which signs its own transactions (the engine sends them raw). */
  operatorWallet: () => Promise<Signer>;
}

export interface BenchRun {
  json: BenchJson;
  totalMs: number;
}

/** Runs both arms on one seeded state; throws when the run itself fails (a revert, a commitment mismatch). */
export async function runBench(
  ctx: BenchContext,
  options: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<BenchRun> {
  const startedAt = performance.now();
  if (!ctx.devChain) {
    throw new Error(`Chain ${ctx.chainId} is not a development chain: the benchmark runs locally only.`);
  }
  const provider = ctx.ethers.provider;
  if (await isOpStack(provider)) await setL1FeeScalars(provider);
  else log("warning: not an OP-stack chain (use --network hardhatOp): L1 fees will be 0.");
  const operator = ctx.deployer;

  log(`Seeding V1 with ${options.nodes} nodes, ${options.jobs} jobs, ${options.users} users…`);
  const { v1, v2 } = await prepareLocalMigration(
    { ...ctx, log: () => {} },
    {
      seed: { nodes: options.nodes, jobs: options.jobs, users: options.users, seed: options.seed },
      treasury: operator.address,
    },
  );
  await ensureMulticall3(provider, { devChain: true });
  log(`Seeded, frozen, drained and opened in ${((performance.now() - startedAt) / 1000).toFixed(1)} s.`);

  // ------------------------------------------------------------ read side
  const { eip1193 } = ctx;
  const request = eip1193.request.bind(eip1193);
  let roundTrips = 0;
  eip1193.request = (args) => {
    roundTrips++;
    return request(args);
  };
  const readStarted = performance.now();
  let state: V1State;
  try {
    state = await readV1State(v1 as unknown as V1Contracts, { blockTag: "latest" });
  } finally {
    eip1193.request = request;
  }
  const snapshotMs = Math.round(performance.now() - readStarted);
  log(`V1 read: ${roundTrips} round trips, ${snapshotMs} ms.`);
  const hashing = { recordsPerSecond: measureHashing(state) };

  await registerModelNames(v2.registry, state.modelNames);
  const floors: Record<Component, number> = {
    nodes: nodeFloor(state.nodes.records).gasPerRecord,
    jobs: jobFloor(state.jobs.records).gasPerRecord,
    escrow: depositFloor(state.deposits.records).gasPerRecord,
  };

  // ------------------------------------------------------------ guide arm
  const snapshotId = (await provider.send("evm_snapshot", [])) as string;
  log("Guide arm…");
  const registryAddress = await v1.registry.getAddress();
  const escrowAddress = await v1.escrow.getAddress();
  const guideRegistryImpl = await new GuideRegistryV1_1__factory(operator).deploy();
  const guideEscrowImpl = await new GuideEscrowV1_1__factory(operator).deploy();
  await (await v1.registry.upgradeToAndCall(await guideRegistryImpl.getAddress(), "0x")).wait();
  await (await v1.escrow.upgradeToAndCall(await guideEscrowImpl.getAddress(), "0x")).wait();
  const guide = await runGuideArm(
    provider,
    {
      registryV1: GuideRegistryV1_1__factory.connect(registryAddress, operator),
      escrowV1: GuideEscrowV1_1__factory.connect(escrowAddress, operator),
      registryV2: v2.registry.connect(operator),
      marketplaceV2: v2.marketplace.connect(operator),
      escrowV2: v2.escrow.connect(operator),
      tokens: [v1.usdc.connect(operator)],
    },
    { nodes: state.nodes.records, jobs: state.jobs.records, deposits: state.deposits.records },
  );
  // The guide arm moved what V1 held: V2's commitments must be V1's, or its figures mean nothing.
  const guideCommitments: Record<Component, [string, string]> = {
    nodes: [await v2.registry.migrationCommitment(), state.nodes.commitment],
    jobs: [await v2.marketplace.migrationCommitment(), state.jobs.commitment],
    escrow: [await v2.escrow.migrationCommitment(), state.deposits.commitment],
  };
  for (const [c, [got, expected]] of Object.entries(guideCommitments)) {
    if (got !== expected) throw new Error(`guide arm: V2's ${c} commitment ${got} is not V1's ${expected}`);
  }
  if (!((await provider.send("evm_revert", [snapshotId])) as boolean)) throw new Error("evm_revert failed");

  // ------------------------------------------------------------ toolkit arm
  log("Toolkit arm…");
  const work = await mkdtemp(path.join(os.tmpdir(), "fabstir-bench-"));
  const toolkit = new ToolkitTally();
  try {
    const signer = await ctx.operatorWallet();
    const contracts = await resolveContracts(provider, signer, { record: ctx.store.record });
    await runMigration(
      { provider, signer, contracts, reporter: toolkit.reporter, devChain: true },
      { steps: ALL_STEPS, snapshotFile: path.join(work, "v1.ndjson"), journalDir: path.join(work, "journal") },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  toolkit.tallies.nodes.records = state.nodes.count;
  toolkit.tallies.jobs.records = state.jobs.count;
  toolkit.tallies.escrow.records = state.deposits.count;

  const arm = (tallies: typeof guide): ArmFigures =>
    Object.fromEntries(COMPONENTS.map((c) => [c, tallies[c].figures(floors[c])])) as ArmFigures;
  const figures = {
    arms: { guide: arm(guide), toolkit: arm(toolkit.tallies) },
    read: { roundTrips, snapshotMs },
    hashing,
  };
  return { json: benchJson(figures, checkTargets(figures)), totalMs: performance.now() - startedAt };
}

/** What the run prints: the JSON object with `--json`, else the Markdown report. */
export function benchOutput(run: BenchRun, options: BenchOptions, command: string): string {
  if (options.json) return JSON.stringify(run.json, null, 2);
  return renderMarkdown(run.json, { sizes: options, command, guideRules: GUIDE_RULES, totalMs: run.totalMs });
}

/** Records folded per second by lib/commitment.ts, over the snapshot's records (checked against its commitments). */
export function measureHashing(state: V1State): number {
  let records = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    const nodes = new CommitmentAccumulator();
    for (const r of state.nodes.records) nodes.addNode(r);
    const jobs = new CommitmentAccumulator();
    for (const r of state.jobs.records) jobs.addJob(r);
    const deposits = new CommitmentAccumulator();
    for (const r of state.deposits.records) deposits.addDeposit(r);
    if (
      nodes.commitment !== state.nodes.commitment ||
      jobs.commitment !== state.jobs.commitment ||
      deposits.commitment !== state.deposits.commitment
    ) {
      throw new Error("the TypeScript commitment differs from the reader's: hashing measured nothing real");
    }
    records += nodes.count + jobs.count + deposits.count;
    elapsed = performance.now() - started;
  } while (elapsed < MIN_HASHING_MS);
  return Math.round((records * 1000) / elapsed);
}

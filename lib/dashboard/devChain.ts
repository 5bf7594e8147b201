import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { prepareLocalMigration } from "../../deploy/localMigration.js";
import type { DeployContext } from "../../deploy/steps.js";
import { validateSeedOptions } from "../fixtures/plan.js";

/** `migrate:dashboard`'s development-chain options (`--seed` and `--block-time`). */
export interface DevChainOptions {
  seed: boolean;
  nodes: number;
  jobs: number;
  users: number;
  generatorSeed: string;
  /** ms between blocks; 0 = one block per transaction. */
  blockTime: number;
  /** As given ("" = the default). */
  journal: string;
  snapshot: string;
}

/** The chain as the task opened it. */
export interface DevChain extends DeployContext {
  /** The in-process chain or chain id 31337. */
  devChain: boolean;
  /** Hardhat's in-process (EDR) chain: new on every run. */
  inProcess: boolean;
}

/** Where the run keeps its journal and snapshot ("" = the migrate:* defaults), and a directory to remove at the end. */
export interface RunFiles {
  journal: string;
  snapshot: string;
  scratch?: string;
}

/**
 * `--seed`: deploys and seeds V1 and opens the migration, as migrate:demo does, so that there is
 * something to migrate; `--block-time`: mines at an interval. Development chains only; elsewhere
 * (or with bad seed sizes) it refuses before sending anything.
 */
export async function prepareDevChain(
  chain: DevChain,
  options: DevChainOptions,
  log: (line: string) => void,
): Promise<RunFiles> {
  const files: RunFiles = { journal: options.journal, snapshot: options.snapshot };
  if (options.seed) {
    if (!chain.devChain)
      throw new Error(
        `--seed deploys and seeds a V1 to migrate: development chains only (this is chain ${chain.chainId}).`,
      );
    const seed = { nodes: options.nodes, jobs: options.jobs, users: options.users, seed: options.generatorSeed };
    validateSeedOptions(seed);
    if (chain.inProcess) {
      // The in-process chain is new each run (same addresses, fresh nonces): its journal and
      // snapshot must not meet an earlier run's, and they end with it.
      files.scratch = await mkdtemp(path.join(tmpdir(), "fabstir-dashboard-"));
      if (options.journal === "" || options.journal === "journal") files.journal = path.join(files.scratch, "journal");
      if (options.snapshot === "") files.snapshot = path.join(files.scratch, `v1-${chain.chainId}.ndjson`);
    }
    log(`Seeding V1 (${seed.nodes} nodes, ${seed.jobs} jobs, ${seed.users} users) and opening the migration…`);
    await prepareLocalMigration(chain, { seed, treasury: chain.deployer.address });
  }
  if (options.blockTime > 0) {
    if (!chain.devChain) throw new Error("--block-time paces a development chain's mining: it cannot be used here.");
    // Blocks at an interval, as on Base, instead of one per transaction: the dashboard moves at a real pace.
    await chain.ethers.provider.send("evm_setAutomine", [false]);
    await chain.ethers.provider.send("evm_setIntervalMining", [options.blockTime]);
  }
  return files;
}

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { HDNodeWallet } from "ethers";
import {
  prepareGovernedCutover,
  type GovernedMigration,
  type GovernedMigrationOptions,
} from "../../deploy/governedMigration.js";
import { upgradesPreparer } from "../../deploy/preparer.js";
import { proposeAndPass, queueAndExecute } from "../../lib/governance/lifecycle.js";
import type { ProposalFile } from "../../lib/governance/types.js";
import type { SeedOptions } from "../../lib/fixtures/plan.js";
import type { FabstirGovernor } from "../../typechain-types/index.js";
import { deployContext, ethers, upgradesApi } from "./fixtures.js";
import { proposalArguments } from "../../lib/governance/proposalFile.js";

/** Hardhat's development mnemonic: signer 0's key, with which the operator signs its batches. */
const MNEMONIC = "test test test test test test test test test test test junk";

/**
 * The migration under governance on the shared test chain (deploy/governedMigration.ts): signer 0
 * deploys, holds the FAB votes and operates; signer 1 is the treasury. Returns with the cut-over
 * proposal built, not proposed.
 */
export async function prepareGovernedMigration(
  options: { seed: SeedOptions } & Pick<GovernedMigrationOptions, "beforeFreeze" | "beforeCopy">,
): Promise<GovernedMigration> {
  const [deployer, treasury] = await ethers.getSigners();
  if (deployer === undefined || treasury === undefined) throw new Error("the test chain needs two accounts");
  const dir = await mkdtemp(path.join(tmpdir(), "governed-"));
  const ctx = await deployContext(deployer);
  return prepareGovernedCutover(ctx, {
    ...options,
    treasury: treasury.address,
    operator: HDNodeWallet.fromPhrase(MNEMONIC).connect(ethers.provider),
    preparer: upgradesPreparer({ ethers, upgrades: upgradesApi, signer: deployer, artifacts: hre.artifacts }),
    root: hre.config.paths.root,
    snapshotFile: path.join(dir, "v1.ndjson"),
    journalDir: path.join(dir, "journal"),
  });
}

/** Proposes `proposal` as signer 0 (the FAB holder), votes for it, queues and executes it. */
export async function executeProposal(governor: FabstirGovernor, proposal: ProposalFile): Promise<void> {
  const [holder] = await ethers.getSigners();
  const run = proposalArguments(proposal);
  const address = await governor.getAddress();
  await proposeAndPass(ethers.provider, address, run, holder!, [holder!]);
  await queueAndExecute(ethers.provider, address, run, holder!);
}

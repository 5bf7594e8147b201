import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { expect } from "chai";
import { HDNodeWallet } from "ethers";
import { ADAPTER_VERSION } from "../../deploy/cutover.js";
import { prepareGovernedCutover, type GovernedMigration } from "../../deploy/governedMigration.js";
import { upgradesPreparer } from "../../deploy/preparer.js";
import { DeploymentStore } from "../../lib/deployments.js";
import { roleId } from "../../lib/governance/abis.js";
import { proposeAndPass, queueAndExecute } from "../../lib/governance/lifecycle.js";
import type { ProposalFile } from "../../lib/governance/types.js";
import { V1_1_VERSION } from "../../lib/migration/contracts.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";

/** Hardhat's development mnemonic: signer 0's key, which the operator signs batches with. */
const MNEMONIC = "test test test test test test test test test test test junk";
const SEED = { nodes: 3, jobs: 6, users: 3, seed: "governed story" };

/** V1 under the timelock, frozen and opened by a first proposal, copied and verified by the operator. */
export async function governedMigration(): Promise<GovernedMigration> {
  const [deployer, treasury] = await ethers.getSigners();
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const dir = await mkdtemp(path.join(tmpdir(), "governed-"));
  const ctx = {
    ethers,
    upgrades: upgradesApi,
    deployer: deployer!,
    store: await DeploymentStore.open(chainId, undefined),
    chainId,
  };
  return prepareGovernedCutover(ctx, {
    seed: SEED,
    treasury: treasury!.address,
    operator: HDNodeWallet.fromPhrase(MNEMONIC).connect(ethers.provider),
    preparer: upgradesPreparer({ ethers, upgrades: upgradesApi, signer: deployer!, artifacts: hre.artifacts }),
    root: hre.config.paths.root,
    snapshotFile: path.join(dir, "v1.ndjson"),
    journalDir: path.join(dir, "journal"),
  });
}

function toRun(proposal: ProposalFile) {
  return {
    targets: proposal.targets,
    values: proposal.values.map(BigInt),
    calldatas: proposal.calldatas,
    description: proposal.description,
  };
}

describe("The migration under governance, end to end", function () {
  this.timeout(300_000);

  it("a first proposal freezes V1, installs V1.1 and grants the migrator roles; the operator copies and verifies", async () => {
    const m = await networkHelpers.loadFixture(governedMigration);
    for (const contract of [m.v1.registry, m.v1.escrow, m.v1.marketplace])
      expect(await contract.paused()).to.equal(true);
    expect(await m.v1.registry.version()).to.equal(V1_1_VERSION);
    expect(await m.v1.escrow.version()).to.equal(V1_1_VERSION);
    expect(m.copy.verify?.verified).to.equal(true);
    expect(m.copy.verify?.findings).to.deep.equal([]);
    for (const contract of [m.v2.registry, m.v2.escrow, m.v2.marketplace]) {
      expect(await contract.migrationFinalized()).to.equal(false);
    }
  });

  it("the cut-over proposal finalizes V2 and upgrades the V1 proxies to the adapters", async () => {
    const m = await networkHelpers.loadFixture(governedMigration);
    const [deployer] = await ethers.getSigners();
    const governor = await m.governance.governor.getAddress();
    await proposeAndPass(ethers.provider, governor, toRun(m.cutover), deployer!, [deployer!]);
    await queueAndExecute(ethers.provider, governor, toRun(m.cutover), deployer!);
    for (const contract of [m.v2.registry, m.v2.escrow, m.v2.marketplace]) {
      expect(await contract.migrationFinalized()).to.equal(true);
      expect(await contract.hasRole(roleId("MIGRATOR_ROLE"), await m.governance.timelock.getAddress())).to.equal(false);
    }
    for (const contract of [m.v1.registry, m.v1.escrow, m.v1.marketplace]) {
      expect(await contract.version()).to.equal(ADAPTER_VERSION);
    }
  });
});

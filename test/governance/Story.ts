import { expect } from "chai";
import { ADAPTER_VERSION } from "../../deploy/cutover.js";
import type { GovernedMigration } from "../../deploy/governedMigration.js";
import { roleId } from "../../lib/governance/abis.js";
import { V1_1_VERSION } from "../../lib/migration/contracts.js";
import { networkHelpers } from "../helpers/fixtures.js";
import { executeProposal, prepareGovernedMigration } from "../helpers/governedMigration.js";

const SEED = { nodes: 3, jobs: 6, users: 3, seed: "governed story" };

/** V1 under the timelock, frozen and opened by a first proposal, copied and verified by the operator. */
function governedMigration(): Promise<GovernedMigration> {
  return prepareGovernedMigration({ seed: SEED });
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
    await executeProposal(m.governance.governor, m.cutover);
    for (const contract of [m.v2.registry, m.v2.escrow, m.v2.marketplace]) {
      expect(await contract.migrationFinalized()).to.equal(true);
      expect(await contract.hasRole(roleId("MIGRATOR_ROLE"), await m.governance.timelock.getAddress())).to.equal(false);
    }
    for (const contract of [m.v1.registry, m.v1.escrow, m.v1.marketplace]) {
      expect(await contract.version()).to.equal(ADAPTER_VERSION);
    }
  });
});

import { expect } from "chai";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { JsonRpcProvider } from "ethers";
import { readV1State } from "../../lib/v1State.js";
import { compareStates, finalizeExpectations, readV2State } from "../../lib/v2State.js";
import { startAnvil, type AnvilNode } from "../helpers/anvil.js";
import { expectThreeWayAgreement, migrateEverything, prepareMigration } from "../helpers/e2eMigration.js";

describe("end to end on anvil: the whole migration over JSON-RPC", function () {
  this.timeout(300_000);
  let anvil: AnvilNode;

  before(async () => {
    anvil = await startAnvil();
  });
  after(async () => {
    await anvil.stop();
  });

  it("seeds, freezes, drains and migrates V1 with a rollback per kind; an independent client verifies and V2 finalizes", async () => {
    const connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
    const { ethers } = connection;
    const p = await prepareMigration(
      { ethers, upgrades: await upgrades(hre, connection) },
      { nodes: 10, jobs: 30, users: 10, seed: "anvil-migration" },
    );
    await migrateEverything(p, { sizes: { nodes: 3, jobs: 8, users: 3 }, rollBackSecondBatch: true });

    // A plain ethers client, not Hardhat's, reads both generations back from the node.
    const independent = new JsonRpcProvider(anvil.url);
    const onNode = <T extends { connect(runner: JsonRpcProvider): unknown }>(contract: T): T =>
      contract.connect(independent) as T;
    const v1 = { registry: onNode(p.v1.registry), marketplace: onNode(p.v1.marketplace), escrow: onNode(p.v1.escrow) };
    expect(await readV1State(v1, { blockTag: p.state.blockNumber })).to.deep.equal(p.state);
    const v2 = { registry: onNode(p.v2.registry), marketplace: onNode(p.v2.marketplace), escrow: onNode(p.v2.escrow) };
    const readBack = await readV2State(v2, { blockTag: "latest", fromBlock: p.v2FromBlock, logRange: 20 });
    expectThreeWayAgreement(p.state, readBack);
    expect(compareStates(p.state, readBack)).to.deep.equal([]);
    expect(await independent.getBalance(await v2.registry.getAddress())).to.equal(p.state.nodes.totalStake);

    const expected = finalizeExpectations(p.state, await p.v2.escrow.migrationTokens());
    await (await p.v2.registry.finalizeMigration(...expected.registry)).wait();
    await (await p.v2.marketplace.finalizeMigration(...expected.marketplace)).wait();
    await (await p.v2.escrow.finalizeMigration(...expected.escrow)).wait();
    for (const contract of [v2.registry, v2.marketplace, v2.escrow]) {
      expect(await contract.migrationFinalized()).to.equal(true);
    }
    independent.destroy();
    await connection.close();
  });
});

import { expect } from "chai";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { JsonRpcProvider } from "ethers";
import { DEFAULT_V1_PARAMETERS, deployV1 } from "../../deploy/v1.js";
import { DeploymentStore } from "../../lib/deployments.js";
import { planSeed } from "../../lib/fixtures/plan.js";
import { seedV1 } from "../../lib/fixtures/seed.js";
import { startAnvil, type AnvilNode } from "../helpers/anvil.js";

describe("end to end on anvil: deploy and seed V1 over JSON-RPC", function () {
  this.timeout(120_000);
  let anvil: AnvilNode;

  before(async () => {
    anvil = await startAnvil();
  });
  after(async () => {
    await anvil.stop();
  });

  it("deploys, seeds, and an independent client reads the same figures from the node", async () => {
    const connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
    const { ethers } = connection;
    const [deployer] = await ethers.getSigners();
    const chainId = Number((await ethers.provider.getNetwork()).chainId);
    const stack = await deployV1(
      {
        ethers,
        upgrades: await upgrades(hre, connection),
        deployer: deployer!,
        store: await DeploymentStore.open(chainId, undefined),
        chainId,
      },
      { ...DEFAULT_V1_PARAMETERS, admin: deployer!.address, treasury: deployer!.address },
    );
    const plan = planSeed(
      { nodes: 6, jobs: 40, users: 5, seed: "anvil" },
      { minimumStake: await stack.registry.minimumStake(), maxModels: 32 },
    );
    const summary = await seedV1({ provider: ethers.provider, funder: deployer!, stack, devChain: true }, plan);
    expect(summary.mismatches).to.deep.equal([]);

    // A plain ethers client, not Hardhat's, reads the node directly.
    const independent = new JsonRpcProvider(anvil.url);
    const registry = stack.registry.connect(independent) as typeof stack.registry;
    const marketplace = stack.marketplace.connect(independent) as typeof stack.marketplace;
    expect(await registry.nodeCount()).to.equal(6n);
    expect(await marketplace.jobCount()).to.equal(40n);
    expect(await independent.getBalance(await stack.registry.getAddress())).to.equal(await registry.totalStaked());
    independent.destroy();
    await connection.close();
  });
});

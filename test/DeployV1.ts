import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_V1_PARAMETERS, deployV1 } from "../deploy/v1.js";
import { DeploymentStore } from "../lib/deployments.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";

/** A snapshot to return to between tests, so each deploys onto the same chain state. */
async function startingPoint(): Promise<void> {}

describe("deploy:v1 — the deploy module and its record", () => {
  let dir: string;
  beforeEach(async () => {
    await networkHelpers.loadFixture(startingPoint);
    dir = await mkdtemp(path.join(tmpdir(), "fabstir-deployments-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function deploy(admin?: string) {
    const [deployer, treasury] = await ethers.getSigners();
    const chainId = Number((await ethers.provider.getNetwork()).chainId);
    const store = await DeploymentStore.open(chainId, dir);
    const stack = await deployV1(
      { ethers, upgrades: upgradesApi, deployer: deployer!, store, chainId },
      { ...DEFAULT_V1_PARAMETERS, admin: admin ?? deployer!.address, treasury: treasury!.address },
    );
    return { stack, store, chainId, file: path.join(dir, `${chainId}.json`) };
  }

  it("records every proxy and implementation in deployments/<chainId>.json", async () => {
    const { stack, file, chainId } = await deploy();
    const record = JSON.parse(await readFile(file, "utf8"));
    expect(record.chainId).to.equal(chainId);
    expect(Object.keys(record.contracts)).to.deep.equal([
      "JobMarketplaceV1",
      "NodeRegistryV1",
      "PaymentEscrowV1",
      "TestUSDC",
    ]);
    expect(record.contracts.NodeRegistryV1.proxy).to.equal(await stack.registry.getAddress());
    expect(record.contracts.NodeRegistryV1.implementation).to.equal(
      await upgradesApi.erc1967.getImplementationAddress(await stack.registry.getAddress()),
    );
  });

  it("deploys a 6-decimal TestUSDC, allowed in the escrow, on chains without Circle's USDC", async () => {
    const { stack } = await deploy();
    expect(stack.usdcIsTest).to.equal(true);
    expect(await stack.usdc.decimals()).to.equal(6n);
    expect(await stack.escrow.isTokenAllowed(await stack.usdc.getAddress())).to.equal(true);
  });

  it("deploys nothing again on a re-run and leaves the record as it was", async () => {
    const { file } = await deploy();
    const before = await readFile(file, "utf8");
    const blockBefore = await ethers.provider.getBlockNumber();
    await deploy();
    expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
    expect(await readFile(file, "utf8")).to.equal(before);
  });

  it("redeploys only what the record names but the chain lacks", async () => {
    const { file } = await deploy();
    const record = JSON.parse(await readFile(file, "utf8"));
    const kept = record.contracts.NodeRegistryV1.proxy;
    record.contracts.JobMarketplaceV1.proxy = "0x000000000000000000000000000000000000dEaD";
    await writeFile(file, JSON.stringify(record));
    const { stack } = await deploy();
    expect(await stack.registry.getAddress()).to.equal(kept);
    expect(await stack.marketplace.getAddress()).to.not.equal("0x000000000000000000000000000000000000dEaD");
    expect(
      await stack.registry.hasRole(await stack.registry.REPUTATION_ROLE(), await stack.marketplace.getAddress()),
    ).to.equal(true);
  });

  it("hands the admin, upgrader and pauser roles to --admin and the deployer keeps none", async () => {
    const [deployer, , , governor] = await ethers.getSigners();
    const { stack } = await deploy(governor!.address);
    for (const contract of [stack.registry, stack.escrow, stack.marketplace]) {
      for (const role of [
        await contract.DEFAULT_ADMIN_ROLE(),
        await contract.UPGRADER_ROLE(),
        await contract.PAUSER_ROLE(),
      ]) {
        expect(await contract.hasRole(role, governor!.address)).to.equal(true);
        expect(await contract.hasRole(role, deployer!.address)).to.equal(false);
      }
    }
  });

  it("refuses a record that belongs to another chain, saying how to recover", async () => {
    await writeFile(path.join(dir, "31337.json"), JSON.stringify({ chainId: 1, contracts: {} }));
    const error = await DeploymentStore.open(31337, dir).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).to.contain("is not a deployment record for chain 31337: fix or remove it");
  });
});

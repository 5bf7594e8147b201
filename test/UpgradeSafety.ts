import { expect } from "chai";
import type { BaseContract } from "ethers";
import { ethers, networkHelpers, upgradesApi, v1Stack } from "./helpers/fixtures.js";

const V1_CONTRACTS = ["NodeRegistryV1", "PaymentEscrowV1", "JobMarketplaceV1"] as const;

describe("upgrade safety of the V1 implementations", () => {
  for (const name of V1_CONTRACTS) {
    it(`${name} passes hardhat-upgrades validation as a UUPS implementation`, async () => {
      const factory = await ethers.getContractFactory(name);
      await upgradesApi.validateImplementation(factory, { kind: "uups" });
    });
  }

  it("refuses to initialize an implementation directly, so nobody can take it over", async () => {
    const { registry, escrow, marketplace, signers } = await networkHelpers.loadFixture(v1Stack);
    const attacker = signers[5]!.address;
    const cases = [
      { proxy: registry, args: [attacker, attacker, 1n, 0n] },
      { proxy: escrow, args: [attacker, attacker, 0n] },
      { proxy: marketplace, args: [attacker, attacker, attacker] },
    ];
    for (const { proxy, args } of cases) {
      const implementation = await upgradesApi.erc1967.getImplementationAddress(await proxy.getAddress());
      const direct = proxy.attach(implementation) as BaseContract;
      await expect(direct.getFunction("initialize")(...args)).to.be.revertedWithCustomError(
        direct,
        "InvalidInitialization",
      );
    }
  });

  it("refuses a second initialization through the proxy", async () => {
    const { registry, signers } = await networkHelpers.loadFixture(v1Stack);
    const attacker = signers[5]!.address;
    await expect(registry.initialize(attacker, attacker, 1n, 0n)).to.be.revertedWithCustomError(
      registry,
      "InvalidInitialization",
    );
  });

  it("upgrades a proxy only through UPGRADER_ROLE, keeping its state", async () => {
    const { registry, signers } = await networkHelpers.loadFixture(v1Stack);
    const [admin, , host, stranger] = signers;
    const stake = await registry.minimumStake();
    await registry
      .connect(host!)
      .registerNode("12D3KooWpeer", ["llama-3.1-8b-instruct"], "eu-west-1", { value: stake });

    const factory = await ethers.getContractFactory("NodeRegistryV1");
    const implementation = await (await factory.deploy()).getAddress();
    await expect(registry.connect(stranger!).upgradeToAndCall(implementation, "0x"))
      .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
      .withArgs(stranger!.address, await registry.UPGRADER_ROLE());

    await registry.connect(admin!).upgradeToAndCall(implementation, "0x");
    expect(await upgradesApi.erc1967.getImplementationAddress(await registry.getAddress())).to.equal(implementation);
    expect((await registry.getNode(host!.address)).stake).to.equal(stake);
    expect(await registry.nodeCount()).to.equal(1n);
  });
});

import { expect } from "chai";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { adapterStack } from "./adapterStack.js";

describe("V1 → adapter upgrades", () => {
  for (const name of ["NodeRegistry", "PaymentEscrow", "JobMarketplace"]) {
    it(`validateUpgrade(${name}V1, ${name}V1Adapter) passes (uups): V1's namespace is kept`, async () => {
      const v1 = await ethers.getContractFactory(`${name}V1`);
      const adapter = await ethers.getContractFactory(`${name}V1Adapter`);
      await upgradesApi.validateUpgrade(v1, adapter, { kind: "uups" });
    });
  }

  it("only the adapter's UPGRADER_ROLE may upgrade it; initializeAdapter cannot run twice", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const registry = f.adapters.registry;
    const implementation = await upgradesApi.erc1967.getImplementationAddress(await registry.getAddress());
    await expect(registry.connect(f.stranger).upgradeToAndCall(implementation, "0x"))
      .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
      .withArgs(f.stranger.address, await registry.UPGRADER_ROLE());
    await expect(
      registry.connect(f.admin).initializeAdapter(await f.v2.registry.getAddress()),
    ).to.be.revertedWithCustomError(registry, "InvalidInitialization");
  });

  it("the adapter's pause stops state-changing forwards, not views", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    await (await f.adapters.escrow.connect(f.admin).pause()).wait();
    await expect(f.adapters.escrow.connect(f.renter).withdraw(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(
      f.adapters.escrow,
      "EnforcedPause",
    );
    expect(await f.adapters.escrow.balanceOf(f.renter.address, ethers.ZeroAddress)).to.equal(ethers.parseEther("2"));
  });
});

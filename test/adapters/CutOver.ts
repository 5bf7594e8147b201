import { expect } from "chai";
import { cutOverToAdapters } from "../../deploy/cutover.js";
import { networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { adapterStack } from "./adapterStack.js";

describe("cutOverToAdapters", () => {
  it("puts each V1 proxy on its adapter, forwarding to its V2 contract, unpaused and trusted by V2", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const pairs = [
      [f.adapters.registry, f.v2.registry],
      [f.adapters.escrow, f.v2.escrow],
      [f.adapters.marketplace, f.v2.marketplace],
    ] as const;
    for (const [adapter, v2] of pairs) {
      expect(await adapter.version()).to.equal("1.0.0-adapter");
      expect(await adapter.v2()).to.equal(await v2.getAddress());
      expect(await adapter.paused()).to.equal(false);
      expect(await v2.hasRole(await v2.ADAPTER_ROLE(), await adapter.getAddress())).to.equal(true);
    }
    expect(await f.adapters.registry.getAddress()).to.equal(await f.registry.getAddress());
    expect(
      await f.v2.registry.hasRole(await f.v2.registry.ADAPTER_ROLE(), await f.adapters.marketplace.getAddress()),
    ).to.equal(true);
    const implementation = await upgradesApi.erc1967.getImplementationAddress(await f.registry.getAddress());
    expect(f.ctx.store.get("NodeRegistryV1")).to.deep.equal({ proxy: await f.registry.getAddress(), implementation });
  });

  it("is idempotent: a second run changes nothing", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const before = await upgradesApi.erc1967.getImplementationAddress(await f.escrow.getAddress());
    await cutOverToAdapters(f.ctx, f, f.v2);
    expect(await upgradesApi.erc1967.getImplementationAddress(await f.escrow.getAddress())).to.equal(before);
  });
});

import { expect } from "chai";
import { networkHelpers, v1Stack } from "./helpers/fixtures.js";

describe("smoke", () => {
  it("deploys", async () => {
    const { registry, escrow, marketplace } = await networkHelpers.loadFixture(v1Stack);
    expect(await registry.version()).to.equal("1.0.0");
    expect(await escrow.version()).to.equal("1.0.0");
    expect(await marketplace.version()).to.equal("1.0.0");
  });
});

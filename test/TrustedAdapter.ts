import { expect } from "chai";
import { concat, parseEther } from "ethers";
import type { Multicall3 } from "../typechain-types/index.js";
import { ethers, networkHelpers } from "./helpers/fixtures.js";
import { adapterStack, ETH } from "./adapters/adapterStack.js";

/**
 * V2's trusted-adapter context (ERC-2771 with the V1 adapters as the only forwarders): who V2
 * believes the caller is, for every way of calling it.
 */
describe("TrustedAdapterContext (V2)", () => {
  async function withForwarders() {
    const f = await adapterStack();
    const factory = await ethers.getContractFactory("Multicall3");
    const trusted = (await factory.deploy()) as unknown as Multicall3;
    const untrusted = (await factory.deploy()) as unknown as Multicall3;
    await (await f.v2.escrow.grantRole(await f.v2.escrow.ADAPTER_ROLE(), await trusted.getAddress())).wait();
    return { ...f, trusted, untrusted };
  }

  function withdrawAs(f: Awaited<ReturnType<typeof withForwarders>>, user: string, amount: bigint): string {
    return concat([f.v2.escrow.interface.encodeFunctionData("withdraw", [ETH, amount]), user]);
  }

  it("an ADAPTER_ROLE holder acts as the address it appends: the user's balance pays, the user receives", async () => {
    const f = await networkHelpers.loadFixture(withForwarders);
    const amount = parseEther("0.5");
    const before = await ethers.provider.getBalance(f.renter.address);
    const call = {
      target: await f.v2.escrow.getAddress(),
      allowFailure: false,
      callData: withdrawAs(f, f.renter.address, amount),
    };
    await expect(f.trusted.connect(f.stranger).aggregate3([call]))
      .to.emit(f.v2.escrow, "Withdrawn")
      .withArgs(f.renter.address, ETH, amount);
    expect(await f.v2.escrow.balanceOf(f.renter.address, ETH)).to.equal(parseEther("1.5"));
    expect(await ethers.provider.getBalance(f.renter.address)).to.equal(before + amount);
  });

  it("a contract without the role that appends an address acts as itself", async () => {
    const f = await networkHelpers.loadFixture(withForwarders);
    const call = {
      target: await f.v2.escrow.getAddress(),
      allowFailure: true,
      callData: withdrawAs(f, f.renter.address, 1n),
    };
    const [result] = await f.untrusted.aggregate3.staticCall([call]);
    const error = f.v2.escrow.interface.parseError(result!.returnData)!;
    expect(error.name).to.equal("InsufficientFreeBalance");
    expect(error.args[0]).to.equal(await f.untrusted.getAddress());
  });

  it("an account that appends someone else's address to a direct call acts as itself", async () => {
    const f = await networkHelpers.loadFixture(withForwarders);
    await expect(
      f.stranger.sendTransaction({ to: await f.v2.escrow.getAddress(), data: withdrawAs(f, f.renter.address, 1n) }),
    )
      .to.be.revertedWithCustomError(f.v2.escrow, "InsufficientFreeBalance")
      .withArgs(f.stranger.address, ETH, 0n, 1n);
  });

  it("a revoked adapter can no longer act for anyone", async () => {
    const f = await networkHelpers.loadFixture(withForwarders);
    await (await f.v2.escrow.revokeRole(await f.v2.escrow.ADAPTER_ROLE(), await f.adapters.escrow.getAddress())).wait();
    await expect(f.adapters.escrow.connect(f.renter).withdraw(ETH, 1n))
      .to.be.revertedWithCustomError(f.v2.escrow, "InsufficientFreeBalance")
      .withArgs(await f.adapters.escrow.getAddress(), ETH, 0n, 1n);
  });

  it("role-gated V2 functions called through an adapter check the real caller's role", async () => {
    const f = await networkHelpers.loadFixture(withForwarders);
    const role = await f.v2.registry.SLASHER_ROLE();
    await expect(f.adapters.registry.connect(f.stranger).slash(f.host.address, 1n, "spoof"))
      .to.be.revertedWithCustomError(f.v2.registry, "AccessControlUnauthorizedAccount")
      .withArgs(f.stranger.address, role);
    // The admin holds SLASHER_ROLE in V2 (deployV2 grants it); the adapter itself holds none.
    await expect(f.adapters.registry.connect(f.admin).slash(f.host.address, 1n, "late"))
      .to.emit(f.adapters.registry, "NodeSlashed")
      .withArgs(f.host.address, 1n, "late");
  });

  it("a direct call by an account pays no role lookup; a contract caller does", async () => {
    const f = await networkHelpers.loadFixture(withForwarders);
    const data = f.v2.escrow.interface.encodeFunctionData("deposit", [ETH, 1n]);
    const to = await f.v2.escrow.getAddress();
    const direct = await ethers.provider.estimateGas({ from: f.stranger.address, to, data, value: 1n });
    // The same call with 20 trailing bytes from an account: still no role lookup, only calldata.
    const suffixed = await ethers.provider.estimateGas({
      from: f.stranger.address,
      to,
      data: concat([data, f.renter.address]),
      value: 1n,
    });
    expect(suffixed - direct).to.be.lessThan(400n);
    console.log(`      gas: V2 deposit by an account ${direct}, with a 20-byte suffix ${suffixed}`);
  });
});

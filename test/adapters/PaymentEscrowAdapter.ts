import { expect } from "chai";
import { id, parseEther } from "ethers";
import type { FeeOnTransferToken } from "../../typechain-types/index.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { adapterStack, ETH } from "./adapterStack.js";

const selector = (signature: string): string => id(signature).slice(0, 10);
const USERS = "V2 does not enumerate users; index Deposited and DepositMigrated events";

describe("PaymentEscrowV1Adapter", () => {
  it("deposit (ETH): credited in V2 to the caller, funds in V2, V1's Deposited", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const amount = parseEther("0.25");
    await expect(f.adapters.escrow.connect(f.stranger).deposit(ETH, amount, { value: amount }))
      .to.emit(f.adapters.escrow, "Deposited")
      .withArgs(f.stranger.address, ETH, amount);
    expect(await f.v2.escrow.balanceOf(f.stranger.address, ETH)).to.equal(amount);
    expect(await ethers.provider.getBalance(await f.adapters.escrow.getAddress())).to.equal(0n);
  });

  it("deposit (ERC-20): pulled from the user under V1's approval, passed to V2, nothing left behind", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const usdc = await f.usdc.getAddress();
    // Users approved the V1 escrow's address, which the adapter now is.
    await (await f.usdc.connect(f.renter).approve(await f.escrow.getAddress(), 5_000_000n)).wait();
    await expect(f.adapters.escrow.connect(f.renter).deposit(usdc, 5_000_000n))
      .to.emit(f.adapters.escrow, "Deposited")
      .withArgs(f.renter.address, usdc, 5_000_000n);
    expect(await f.v2.escrow.balanceOf(f.renter.address, usdc)).to.equal(1_005_000_000n);
    expect(await f.usdc.balanceOf(await f.adapters.escrow.getAddress())).to.equal(0n);
    expect(await f.usdc.balanceOf(await f.v2.escrow.getAddress())).to.equal(1_005_000_000n);
  });

  it("deposit keeps V1's checks and errors, and refuses fee-on-transfer tokens", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const escrow = f.adapters.escrow.connect(f.renter);
    await expect(escrow.deposit(f.stranger.address, 1n))
      .to.be.revertedWithCustomError(f.adapters.escrow, "TokenNotAllowed")
      .withArgs(f.stranger.address);
    await expect(escrow.deposit(ETH, 2n, { value: 1n }))
      .to.be.revertedWithCustomError(f.adapters.escrow, "InvalidAmount")
      .withArgs(2n, 1n);
    const fot = (await (
      await ethers.getContractFactory("FeeOnTransferToken")
    ).deploy()) as unknown as FeeOnTransferToken;
    const token = await fot.getAddress();
    await (await f.v2.escrow.setTokenAllowed(token, true)).wait();
    await (await fot.mint(f.renter.address, 1000n)).wait();
    await (await fot.connect(f.renter).approve(await f.adapters.escrow.getAddress(), 1000n)).wait();
    await expect(escrow.deposit(token, 1000n)).to.be.revertedWithCustomError(
      f.adapters.escrow,
      "UnsupportedFeeOnTransfer",
    );
  });

  it("cannot be made to act for someone else: a victim's address appended to the calldata is ignored", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const usdc = await f.usdc.getAddress();
    // The renter holds USDC in V2; a stranger calls the adapter's withdraw with the renter's
    // address appended, hoping V2 reads it as the sender. The adapter rebuilds the call from its
    // decoded arguments and appends its own caller, so the stranger acts as itself and fails.
    const data = f.adapters.escrow.interface.encodeFunctionData("withdraw", [usdc, 1_000_000n]);
    const spoofed = data + f.renter.address.slice(2).toLowerCase();
    await expect(f.stranger.sendTransaction({ to: await f.adapters.escrow.getAddress(), data: spoofed }))
      .to.be.revertedWithCustomError(f.v2.escrow, "InsufficientFreeBalance")
      .withArgs(f.stranger.address, usdc, 0n, 1_000_000n);
    expect(await f.v2.escrow.balanceOf(f.renter.address, usdc)).to.equal(1_000_000_000n);
  });

  it("withdraw: the caller's V2 balance, paid to the caller, V1's Withdrawn", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const usdc = await f.usdc.getAddress();
    await expect(f.adapters.escrow.connect(f.renter).withdraw(usdc, 1_000_000n))
      .to.emit(f.adapters.escrow, "Withdrawn")
      .withArgs(f.renter.address, usdc, 1_000_000n);
    expect(await f.usdc.balanceOf(f.renter.address)).to.equal(9_001_000_000n);
    await expect(f.adapters.escrow.connect(f.stranger).withdraw(usdc, 1n))
      .to.be.revertedWithCustomError(f.v2.escrow, "InsufficientFreeBalance")
      .withArgs(f.stranger.address, usdc, 0n, 1n);
  });

  it("lockForJob, releaseToHost and refund: MARKETPLACE_ROLE of the real caller, V1's events and fee split", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    await (await f.v2.escrow.grantRole(await f.v2.escrow.MARKETPLACE_ROLE(), f.admin.address)).wait();
    const escrow = f.adapters.escrow.connect(f.admin);
    const usdc = await f.usdc.getAddress();
    await expect(escrow.lockForJob(77n, f.renter.address, usdc, 1_000_000n))
      .to.emit(f.adapters.escrow, "Locked")
      .withArgs(77n, f.renter.address, usdc, 1_000_000n);
    const lock = await f.adapters.escrow.lockOf(77n);
    expect([lock.payer, lock.token, lock.amount]).to.deep.equal([f.renter.address, usdc, 1_000_000n]);
    const fee = (1_000_000n * (await f.v2.escrow.feeBps())) / 10_000n;
    await expect(escrow.releaseToHost(77n, f.host.address))
      .to.emit(f.adapters.escrow, "Released")
      .withArgs(77n, f.host.address, usdc, 1_000_000n - fee, fee);
    expect(await f.adapters.escrow.balanceOf(f.host.address, usdc)).to.equal(1_000_000n - fee);
    await (await escrow.lockForJob(78n, f.renter.address, ETH, 5n)).wait();
    await expect(escrow.refund(78n)).to.emit(f.adapters.escrow, "Refunded").withArgs(78n, f.renter.address, ETH, 5n);
    await expect(f.adapters.escrow.connect(f.stranger).refund(78n)).to.be.revertedWithCustomError(
      f.v2.escrow,
      "AccessControlUnauthorizedAccount",
    );
  });

  it("views and admin setters in V1's shapes", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const usdc = await f.usdc.getAddress();
    const [tokens, amounts] = await f.adapters.escrow.balancesOf(f.renter.address);
    expect(tokens).to.deep.equal([ETH, usdc]);
    expect(amounts).to.deep.equal([parseEther("2"), 1_000_000_000n]);
    expect(await f.adapters.escrow.tokens()).to.deep.equal([ETH, usdc]);
    expect(await f.adapters.escrow.totalFree(usdc)).to.equal(1_000_000_000n);
    expect(await f.adapters.escrow.totalLocked(usdc)).to.equal(0n);
    expect(await f.adapters.escrow.isTokenAllowed(usdc)).to.equal(true);
    expect(await f.adapters.escrow.treasury()).to.equal(f.treasury.address);
    expect(await f.adapters.escrow.ETH()).to.equal(ETH);
    expect(await f.adapters.escrow.BPS_DENOMINATOR()).to.equal(10_000n);
    expect(await f.adapters.escrow.MAX_FEE_BPS()).to.equal(1_000n);
    expect(await f.adapters.escrow.MARKETPLACE_ROLE()).to.equal(id("MARKETPLACE_ROLE"));
    const escrow = f.adapters.escrow.connect(f.admin);
    const oldFee = await f.v2.escrow.feeBps();
    await expect(escrow.setFeeBps(100n)).to.emit(f.adapters.escrow, "FeeChanged").withArgs(oldFee, 100n);
    expect(await f.adapters.escrow.feeBps()).to.equal(100n);
    await expect(escrow.setTreasury(f.stranger.address))
      .to.emit(f.adapters.escrow, "TreasuryChanged")
      .withArgs(f.treasury.address, f.stranger.address);
    await expect(escrow.setTokenAllowed(usdc, false)).to.emit(f.adapters.escrow, "TokenAllowed").withArgs(usdc, false);
  });

  it("deprecated functions revert Deprecated(selector, replacement)", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    await expect(f.adapters.escrow.userCount())
      .to.be.revertedWithCustomError(f.adapters.escrow, "Deprecated")
      .withArgs(selector("userCount()"), USERS);
    await expect(f.adapters.escrow.getUsersPage(0, 1))
      .to.be.revertedWithCustomError(f.adapters.escrow, "Deprecated")
      .withArgs(selector("getUsersPage(uint256,uint256)"), USERS);
    await expect(f.adapters.escrow.initialize(f.admin.address, f.admin.address, 0n))
      .to.be.revertedWithCustomError(f.adapters.escrow, "Deprecated")
      .withArgs(
        selector("initialize(address,address,uint256)"),
        "the proxy is initialized; V2 is configured by governance",
      );
  });
});

import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { PaymentEscrowV1, TestUSDC } from "../../typechain-types/index.js";
import { ethers } from "../helpers/fixtures.js";
import { conformanceIt, type Baseline, type ConformanceStack, type Target } from "./targets.js";

const { ZeroAddress, ZeroHash, MaxUint256, parseEther, parseUnits } = ethers;
const ETH = ZeroAddress;

interface Setup {
  escrow: PaymentEscrowV1;
  usdc: TestUSDC;
  usdcAddress: string;
  /** The V1 escrow proxy: the address users approve and call. */
  escrowAddress: string;
  /** The address holding the funds: the escrow itself on V1, V2's escrow behind the adapter. */
  custody: string;
  /** The users and free funds present before the test (none on a fresh V1). */
  base: Baseline;
  stack: ConformanceStack;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  host: HardhatEthersSigner;
  /** A plain account granted MARKETPLACE_ROLE, to drive locks directly. */
  market: HardhatEthersSigner;
  /** An account without any role. */
  stranger: HardhatEthersSigner;
  marketplaceRole: string;
  feeBps: bigint;
  bpsDenominator: bigint;
}

async function setupOn(target: Target): Promise<Setup> {
  const stack = await target.load();
  const { escrow, usdc, signers } = stack;
  const [, treasury, alice, bob, host, market, stranger] = signers;
  if (
    treasury === undefined ||
    alice === undefined ||
    bob === undefined ||
    host === undefined ||
    market === undefined ||
    stranger === undefined
  ) {
    throw new Error("the test chain needs at least seven accounts");
  }
  // The target's governing account: signer 0, or behind governance the timelock.
  const admin = stack.admin;
  const marketplaceRole = await escrow.MARKETPLACE_ROLE();
  await target.grantRole(stack, "escrow", marketplaceRole, market.address);
  return {
    escrow,
    usdc,
    usdcAddress: await usdc.getAddress(),
    escrowAddress: await escrow.getAddress(),
    custody: stack.custody.escrow,
    base: stack.baseline,
    stack,
    admin,
    treasury,
    alice,
    bob,
    host,
    market,
    stranger,
    marketplaceRole,
    feeBps: await escrow.feeBps(),
    bpsDenominator: await escrow.BPS_DENOMINATOR(),
  };
}

/** Mints `amount` USDC to `user`, approves the escrow and deposits it. */
async function depositUsdc(s: Setup, user: HardhatEthersSigner, amount: bigint): Promise<void> {
  await (await s.usdc.mint(user.address, amount)).wait();
  await (await s.usdc.connect(user).approve(s.escrowAddress, amount)).wait();
  await (await s.escrow.connect(user).deposit(s.usdcAddress, amount)).wait();
}

async function depositEth(s: Setup, user: HardhatEthersSigner, amount: bigint): Promise<void> {
  await (await s.escrow.connect(user).deposit(ETH, amount, { value: amount })).wait();
}

/** Asserts the solvency identity for ETH and USDC: on-chain balance == totalFree + totalLocked. */
async function expectTotalsMatchHoldings(s: Setup): Promise<void> {
  const ethHeld = await ethers.provider.getBalance(s.custody);
  expect(ethHeld).to.equal((await s.escrow.totalFree(ETH)) + (await s.escrow.totalLocked(ETH)));
  const usdcHeld = await s.usdc.balanceOf(s.custody);
  expect(usdcHeld).to.equal((await s.escrow.totalFree(s.usdcAddress)) + (await s.escrow.totalLocked(s.usdcAddress)));
}

function feeOf(s: Setup, amount: bigint): bigint {
  return (amount * s.feeBps) / s.bpsDenominator;
}

/** totalFree of `token` before the test: what the test's own deposits add to. */
function freeBefore(s: Setup, token: string): bigint {
  return s.base.free.get(token) ?? 0n;
}

/** V1 PaymentEscrow's external behaviour, run against `target`. */
export function describePaymentEscrowConformance(target: Target): void {
  const it = conformanceIt(target);
  const setup = () => setupOn(target);
  const pause = (s: Setup) => target.pause(s.stack, "escrow");
  const unpause = (s: Setup) => target.unpause(s.stack, "escrow");
  describe("PaymentEscrow", () => {
    describe("deployment", () => {
      it(`reports version ${target.version} and the configured fee and treasury`, async () => {
        const s = await setup();
        expect(await s.escrow.version()).to.equal(target.version);
        expect(await s.escrow.treasury()).to.equal(s.treasury.address);
        expect(s.feeBps).to.be.lessThanOrEqual(await s.escrow.MAX_FEE_BPS());
        expect(await s.escrow.ETH()).to.equal(ZeroAddress);
      });

      it("allows ETH and USDC, listing ETH first", async () => {
        const s = await setup();
        expect(await s.escrow.isTokenAllowed(ETH)).to.equal(true);
        expect(await s.escrow.isTokenAllowed(s.usdcAddress)).to.equal(true);
        expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress]);
      });

      it("cannot be initialized a second time", async () => {
        const s = await setup();
        await expect(s.escrow.initialize(s.admin.address, s.treasury.address, 0n)).to.be.revertedWithCustomError(
          s.escrow,
          "InvalidInitialization",
        );
      });
    });

    describe("deposit", () => {
      it("credits ETH when the amount equals the value sent", async () => {
        const s = await setup();
        const amount = parseEther("1.5");
        const tx = s.escrow.connect(s.alice).deposit(ETH, amount, { value: amount });
        await expect(tx).to.emit(s.escrow, "Deposited").withArgs(s.alice.address, ETH, amount);
        await expect(tx).to.changeEtherBalances(ethers, [s.alice, s.custody], [-amount, amount]);
        expect(await s.escrow.balanceOf(s.alice.address, ETH)).to.equal(amount);
        expect(await s.escrow.totalFree(ETH)).to.equal(freeBefore(s, ETH) + amount);
      });

      it("rejects ETH deposits whose value differs from the amount", async () => {
        const s = await setup();
        const amount = parseEther("1");
        await expect(s.escrow.connect(s.alice).deposit(ETH, amount, { value: amount - 1n }))
          .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
          .withArgs(amount, amount - 1n);
        await expect(s.escrow.connect(s.alice).deposit(ETH, amount, { value: amount + 1n }))
          .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
          .withArgs(amount, amount + 1n);
      });

      it("pulls USDC through the allowance", async () => {
        const s = await setup();
        const amount = parseUnits("250", 6);
        await (await s.usdc.mint(s.alice.address, amount)).wait();
        await (await s.usdc.connect(s.alice).approve(s.escrowAddress, amount)).wait();
        const tx = s.escrow.connect(s.alice).deposit(s.usdcAddress, amount);
        await expect(tx).to.emit(s.escrow, "Deposited").withArgs(s.alice.address, s.usdcAddress, amount);
        await expect(tx).to.changeTokenBalances(ethers, s.usdc, [s.alice, s.custody], [-amount, amount]);
        expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(amount);
        expect(await s.usdc.allowance(s.alice.address, s.escrowAddress)).to.equal(0n);
      });

      it("rejects ETH sent along with a USDC deposit", async () => {
        const s = await setup();
        const amount = parseUnits("1", 6);
        await (await s.usdc.mint(s.alice.address, amount)).wait();
        await (await s.usdc.connect(s.alice).approve(s.escrowAddress, amount)).wait();
        await expect(s.escrow.connect(s.alice).deposit(s.usdcAddress, amount, { value: 1n }))
          .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
          .withArgs(amount, 1n);
      });

      it("rejects a USDC deposit beyond the allowance", async () => {
        const s = await setup();
        const amount = parseUnits("10", 6);
        await (await s.usdc.mint(s.alice.address, amount)).wait();
        await (await s.usdc.connect(s.alice).approve(s.escrowAddress, amount - 1n)).wait();
        await expect(s.escrow.connect(s.alice).deposit(s.usdcAddress, amount))
          .to.be.revertedWithCustomError(s.usdc, "ERC20InsufficientAllowance")
          .withArgs(s.escrowAddress, amount - 1n, amount);
        expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(0n);
      });

      it("rejects a USDC deposit beyond the depositor's token balance", async () => {
        const s = await setup();
        const amount = parseUnits("10", 6);
        await (await s.usdc.mint(s.alice.address, amount - 1n)).wait();
        await (await s.usdc.connect(s.alice).approve(s.escrowAddress, amount)).wait();
        await expect(s.escrow.connect(s.alice).deposit(s.usdcAddress, amount))
          .to.be.revertedWithCustomError(s.usdc, "ERC20InsufficientBalance")
          .withArgs(s.alice.address, amount - 1n, amount);
      });

      it("rejects tokens that are not allowed", async () => {
        const s = await setup();
        const other = await ethers.deployContract("TestUSDC");
        const otherAddress = await other.getAddress();
        await expect(s.escrow.connect(s.alice).deposit(otherAddress, 1n))
          .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
          .withArgs(otherAddress);
      });

      it("rejects a zero amount", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.alice).deposit(ETH, 0n))
          .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
          .withArgs(0n, 0n);
        await expect(s.escrow.connect(s.alice).deposit(s.usdcAddress, 0n))
          .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
          .withArgs(0n, 0n);
      });

      it("is blocked while paused and works again after unpausing", async () => {
        const s = await setup();
        await pause(s);
        await expect(s.escrow.connect(s.alice).deposit(ETH, 1n, { value: 1n })).to.be.revertedWithCustomError(
          s.escrow,
          "EnforcedPause",
        );
        await unpause(s);
        await expect(s.escrow.connect(s.alice).deposit(ETH, 1n, { value: 1n })).to.emit(s.escrow, "Deposited");
      });
    });

    describe("withdraw", () => {
      it("pays out ETH and lowers the free balance and total", async () => {
        const s = await setup();
        const deposited = parseEther("2");
        const taken = parseEther("0.75");
        await depositEth(s, s.alice, deposited);
        const tx = s.escrow.connect(s.alice).withdraw(ETH, taken);
        await expect(tx).to.emit(s.escrow, "Withdrawn").withArgs(s.alice.address, ETH, taken);
        await expect(tx).to.changeEtherBalances(ethers, [s.alice, s.custody], [taken, -taken]);
        expect(await s.escrow.balanceOf(s.alice.address, ETH)).to.equal(deposited - taken);
        expect(await s.escrow.totalFree(ETH)).to.equal(freeBefore(s, ETH) + deposited - taken);
      });

      it("pays out USDC and lowers the free balance and total", async () => {
        const s = await setup();
        const deposited = parseUnits("100", 6);
        await depositUsdc(s, s.alice, deposited);
        const tx = s.escrow.connect(s.alice).withdraw(s.usdcAddress, deposited);
        await expect(tx).to.emit(s.escrow, "Withdrawn").withArgs(s.alice.address, s.usdcAddress, deposited);
        await expect(tx).to.changeTokenBalances(ethers, s.usdc, [s.alice, s.custody], [deposited, -deposited]);
        expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(0n);
        expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(freeBefore(s, s.usdcAddress));
      });

      it("rejects withdrawing more than the free balance", async () => {
        const s = await setup();
        const deposited = parseEther("1");
        await depositEth(s, s.alice, deposited);
        await expect(s.escrow.connect(s.alice).withdraw(ETH, deposited + 1n))
          .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
          .withArgs(s.alice.address, ETH, deposited, deposited + 1n);
        await expect(s.escrow.connect(s.bob).withdraw(s.usdcAddress, 1n))
          .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
          .withArgs(s.bob.address, s.usdcAddress, 0n, 1n);
      });

      it("does not let locked funds be withdrawn", async () => {
        const s = await setup();
        const deposited = parseEther("1");
        const locked = parseEther("0.4");
        await depositEth(s, s.alice, deposited);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, locked)).wait();
        await expect(s.escrow.connect(s.alice).withdraw(ETH, deposited))
          .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
          .withArgs(s.alice.address, ETH, deposited - locked, deposited);
      });

      it("rejects a zero amount", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 1n);
        await expect(s.escrow.connect(s.alice).withdraw(ETH, 0n))
          .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
          .withArgs(0n, 0n);
      });

      it("is blocked while paused", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 1n);
        await pause(s);
        await expect(s.escrow.connect(s.alice).withdraw(ETH, 1n)).to.be.revertedWithCustomError(
          s.escrow,
          "EnforcedPause",
        );
      });

      it("cannot be re-entered from the ETH transfer to drain more than the caller's balance", async () => {
        const s = await setup();
        // Other users' funds sit in the escrow, so a successful re-entry would have something to steal.
        await depositEth(s, s.bob, parseEther("5"));
        const attacker = await ethers.deployContract("ReentrantWithdrawer", [s.escrowAddress]);
        const attackerAddress = await attacker.getAddress();
        const stake = parseEther("1");
        await (await attacker.deposit({ value: stake })).wait();

        // Bubbling the failed re-entry reverts the whole withdrawal: nothing moves.
        await expect(attacker.withdraw(stake, false)).to.be.revertedWithCustomError(
          s.escrow,
          "ReentrancyGuardReentrantCall",
        );
        expect(await s.escrow.balanceOf(attackerAddress, ETH)).to.equal(stake);

        // Swallowing it lets the outer withdrawal finish, paying exactly the attacker's balance once.
        await expect(attacker.withdraw(stake, true)).to.changeEtherBalances(
          ethers,
          [attacker, s.custody],
          [stake, -stake],
        );
        expect(await attacker.reentryAttempts()).to.equal(1n);
        const reentryError = await attacker.lastReentryError();
        expect(reentryError).to.equal(s.escrow.interface.getError("ReentrancyGuardReentrantCall")?.selector);
        expect(await s.escrow.balanceOf(attackerAddress, ETH)).to.equal(0n);
        expect(await s.escrow.balanceOf(s.bob.address, ETH)).to.equal(parseEther("5"));
        await expectTotalsMatchHoldings(s);
      });
    });

    describe("lockForJob", () => {
      it("moves the payer's free balance into the job's lock", async () => {
        const s = await setup();
        const deposited = parseUnits("50", 6);
        const locked = parseUnits("20", 6);
        await depositUsdc(s, s.alice, deposited);
        await expect(s.escrow.connect(s.market).lockForJob(7n, s.alice.address, s.usdcAddress, locked))
          .to.emit(s.escrow, "Locked")
          .withArgs(7n, s.alice.address, s.usdcAddress, locked);
        expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(deposited - locked);
        expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(freeBefore(s, s.usdcAddress) + deposited - locked);
        expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(locked);
        const lock = await s.escrow.lockOf(7n);
        expect(lock.payer).to.equal(s.alice.address);
        expect(lock.token).to.equal(s.usdcAddress);
        expect(lock.amount).to.equal(locked);
      });

      it("may only be called by MARKETPLACE_ROLE", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await expect(s.escrow.connect(s.alice).lockForJob(1n, s.alice.address, ETH, 1n))
          .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(s.alice.address, s.marketplaceRole);
      });

      it("rejects tokens that are not allowed", async () => {
        const s = await setup();
        const other = await ethers.deployContract("TestUSDC");
        const otherAddress = await other.getAddress();
        await expect(s.escrow.connect(s.market).lockForJob(1n, s.alice.address, otherAddress, 1n))
          .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
          .withArgs(otherAddress);
      });

      it("rejects a zero amount", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 0n))
          .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
          .withArgs(0n, 0n);
      });

      it("rejects a second lock for the same job", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 3n)).wait();
        await expect(s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 3n))
          .to.be.revertedWithCustomError(s.escrow, "JobAlreadyLocked")
          .withArgs(1n);
      });

      it("rejects locking more than the payer's free balance", async () => {
        const s = await setup();
        const deposited = parseUnits("5", 6);
        await depositUsdc(s, s.alice, deposited);
        await expect(s.escrow.connect(s.market).lockForJob(1n, s.alice.address, s.usdcAddress, deposited + 1n))
          .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
          .withArgs(s.alice.address, s.usdcAddress, deposited, deposited + 1n);
      });

      it("is blocked while paused", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await pause(s);
        await expect(s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 1n)).to.be.revertedWithCustomError(
          s.escrow,
          "EnforcedPause",
        );
      });
    });

    describe("releaseToHost", () => {
      it("credits the host the amount minus the fee and the treasury the fee", async () => {
        const s = await setup();
        const price = parseUnits("12.345678", 6);
        const fee = feeOf(s, price);
        expect(fee).to.be.greaterThan(0n);
        await depositUsdc(s, s.alice, price);
        await (await s.escrow.connect(s.market).lockForJob(3n, s.alice.address, s.usdcAddress, price)).wait();
        await expect(s.escrow.connect(s.market).releaseToHost(3n, s.host.address))
          .to.emit(s.escrow, "Released")
          .withArgs(3n, s.host.address, s.usdcAddress, price - fee, fee);
        expect(await s.escrow.balanceOf(s.host.address, s.usdcAddress)).to.equal(price - fee);
        expect(await s.escrow.balanceOf(s.treasury.address, s.usdcAddress)).to.equal(fee);
        expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(0n);
        expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(freeBefore(s, s.usdcAddress) + price);
        const lock = await s.escrow.lockOf(3n);
        expect(lock.amount).to.equal(0n);
        expect(lock.payer).to.equal(ZeroAddress);
      });

      it("lets the host and the treasury withdraw what they were credited", async () => {
        const s = await setup();
        const price = parseEther("0.3");
        const fee = feeOf(s, price);
        await depositEth(s, s.alice, price);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, price)).wait();
        await (await s.escrow.connect(s.market).releaseToHost(1n, s.host.address)).wait();
        await expect(s.escrow.connect(s.host).withdraw(ETH, price - fee)).to.changeEtherBalances(
          ethers,
          [s.custody],
          [-(price - fee)],
        );
        await expect(s.escrow.connect(s.treasury).withdraw(ETH, fee)).to.changeEtherBalances(
          ethers,
          [s.custody],
          [-fee],
        );
        // Only the funds present before the test remain (none on a fresh V1).
        expect(await ethers.provider.getBalance(s.custody)).to.equal(freeBefore(s, ETH));
      });

      it("credits the whole amount to the host when the fee is zero", async () => {
        const s = await setup();
        await (await s.escrow.connect(s.admin).setFeeBps(0n)).wait();
        const price = parseEther("1");
        await depositEth(s, s.alice, price);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, price)).wait();
        await expect(s.escrow.connect(s.market).releaseToHost(1n, s.host.address))
          .to.emit(s.escrow, "Released")
          .withArgs(1n, s.host.address, ETH, price, 0n);
        expect(await s.escrow.balanceOf(s.host.address, ETH)).to.equal(price);
        expect(await s.escrow.balanceOf(s.treasury.address, ETH)).to.equal(0n);
      });

      it("rounds the fee down", async () => {
        const s = await setup();
        // Just below one fee unit: the fee rounds to zero and the host gets everything.
        const price = s.bpsDenominator / s.feeBps - 1n;
        expect(feeOf(s, price)).to.equal(0n);
        await depositEth(s, s.alice, price);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, price)).wait();
        await expect(s.escrow.connect(s.market).releaseToHost(1n, s.host.address))
          .to.emit(s.escrow, "Released")
          .withArgs(1n, s.host.address, ETH, price, 0n);
      });

      it("rejects the zero address as host", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 10n)).wait();
        await expect(s.escrow.connect(s.market).releaseToHost(1n, ZeroAddress)).to.be.revertedWithCustomError(
          s.escrow,
          "ZeroAddress",
        );
      });

      it("rejects jobs without a lock, including already released ones", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.market).releaseToHost(9n, s.host.address))
          .to.be.revertedWithCustomError(s.escrow, "JobNotLocked")
          .withArgs(9n);
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(9n, s.alice.address, ETH, 10n)).wait();
        await (await s.escrow.connect(s.market).releaseToHost(9n, s.host.address)).wait();
        await expect(s.escrow.connect(s.market).releaseToHost(9n, s.host.address))
          .to.be.revertedWithCustomError(s.escrow, "JobNotLocked")
          .withArgs(9n);
      });

      it("may only be called by MARKETPLACE_ROLE", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.host).releaseToHost(1n, s.host.address))
          .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(s.host.address, s.marketplaceRole);
      });

      it("works while paused so that running jobs can settle", async () => {
        const s = await setup();
        const price = parseEther("1");
        await depositEth(s, s.alice, price);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, price)).wait();
        await pause(s);
        await expect(s.escrow.connect(s.market).releaseToHost(1n, s.host.address)).to.emit(s.escrow, "Released");
        expect(await s.escrow.balanceOf(s.host.address, ETH)).to.equal(price - feeOf(s, price));
      });
    });

    describe("refund", () => {
      it("returns the lock to the payer's free balance", async () => {
        const s = await setup();
        const deposited = parseUnits("30", 6);
        const locked = parseUnits("10", 6);
        await depositUsdc(s, s.alice, deposited);
        await (await s.escrow.connect(s.market).lockForJob(4n, s.alice.address, s.usdcAddress, locked)).wait();
        await expect(s.escrow.connect(s.market).refund(4n))
          .to.emit(s.escrow, "Refunded")
          .withArgs(4n, s.alice.address, s.usdcAddress, locked);
        expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(deposited);
        expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(0n);
        expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(freeBefore(s, s.usdcAddress) + deposited);
        expect((await s.escrow.lockOf(4n)).amount).to.equal(0n);
      });

      it("rejects a second refund of the same job", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(4n, s.alice.address, ETH, 10n)).wait();
        await (await s.escrow.connect(s.market).refund(4n)).wait();
        await expect(s.escrow.connect(s.market).refund(4n))
          .to.be.revertedWithCustomError(s.escrow, "JobNotLocked")
          .withArgs(4n);
        expect(await s.escrow.balanceOf(s.alice.address, ETH)).to.equal(10n);
      });

      it("rejects refunding a job that was released", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(4n, s.alice.address, ETH, 10n)).wait();
        await (await s.escrow.connect(s.market).releaseToHost(4n, s.host.address)).wait();
        await expect(s.escrow.connect(s.market).refund(4n))
          .to.be.revertedWithCustomError(s.escrow, "JobNotLocked")
          .withArgs(4n);
      });

      it("may only be called by MARKETPLACE_ROLE", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.alice).refund(1n))
          .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(s.alice.address, s.marketplaceRole);
      });

      it("works while paused so that jobs can be unwound", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(4n, s.alice.address, ETH, 10n)).wait();
        await pause(s);
        await expect(s.escrow.connect(s.market).refund(4n)).to.emit(s.escrow, "Refunded");
        expect(await s.escrow.balanceOf(s.alice.address, ETH)).to.equal(10n);
      });

      it("lets a job id be locked again after its refund", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(4n, s.alice.address, ETH, 10n)).wait();
        await (await s.escrow.connect(s.market).refund(4n)).wait();
        await expect(s.escrow.connect(s.market).lockForJob(4n, s.alice.address, ETH, 10n)).to.emit(s.escrow, "Locked");
      });
    });

    describe("setTokenAllowed", () => {
      it("allows a new token once and lists it once, even when toggled", async () => {
        const s = await setup();
        const other = await ethers.deployContract("TestUSDC");
        const otherAddress = await other.getAddress();
        await expect(s.escrow.connect(s.admin).setTokenAllowed(otherAddress, true))
          .to.emit(s.escrow, "TokenAllowed")
          .withArgs(otherAddress, true);
        expect(await s.escrow.isTokenAllowed(otherAddress)).to.equal(true);
        await (await s.escrow.connect(s.admin).setTokenAllowed(otherAddress, false)).wait();
        await (await s.escrow.connect(s.admin).setTokenAllowed(otherAddress, true)).wait();
        await (await s.escrow.connect(s.admin).setTokenAllowed(s.usdcAddress, true)).wait();
        expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress, otherAddress]);
      });

      it("does not list a token that was only ever disallowed, since tokens() lists tokens ever allowed", async () => {
        const s = await setup();
        const other = await ethers.deployContract("TestUSDC");
        const otherAddress = await other.getAddress();
        await expect(s.escrow.connect(s.admin).setTokenAllowed(otherAddress, false))
          .to.emit(s.escrow, "TokenAllowed")
          .withArgs(otherAddress, false);
        expect(await s.escrow.isTokenAllowed(otherAddress)).to.equal(false);
        expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress]);
      });

      it("rejects an address without code", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.admin).setTokenAllowed(s.stranger.address, true))
          .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
          .withArgs(s.stranger.address);
        expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress]);
      });

      it("keeps existing balances withdrawable after a token is disallowed, but blocks new deposits and locks", async () => {
        const s = await setup();
        const amount = parseUnits("40", 6);
        await depositUsdc(s, s.alice, amount);
        await expect(s.escrow.connect(s.admin).setTokenAllowed(s.usdcAddress, false))
          .to.emit(s.escrow, "TokenAllowed")
          .withArgs(s.usdcAddress, false);
        expect(await s.escrow.isTokenAllowed(s.usdcAddress)).to.equal(false);
        expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress]);

        await expect(s.escrow.connect(s.alice).deposit(s.usdcAddress, 1n))
          .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
          .withArgs(s.usdcAddress);
        await expect(s.escrow.connect(s.market).lockForJob(1n, s.alice.address, s.usdcAddress, 1n))
          .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
          .withArgs(s.usdcAddress);
        await expect(s.escrow.connect(s.alice).withdraw(s.usdcAddress, amount)).to.changeTokenBalances(
          ethers,
          s.usdc,
          [s.alice, s.custody],
          [amount, -amount],
        );
      });

      it("can disallow and re-allow ETH", async () => {
        const s = await setup();
        await (await s.escrow.connect(s.admin).setTokenAllowed(ETH, false)).wait();
        await expect(s.escrow.connect(s.alice).deposit(ETH, 1n, { value: 1n }))
          .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
          .withArgs(ETH);
        await (await s.escrow.connect(s.admin).setTokenAllowed(ETH, true)).wait();
        await expect(s.escrow.connect(s.alice).deposit(ETH, 1n, { value: 1n })).to.emit(s.escrow, "Deposited");
        expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress]);
      });

      it("may only be called by the admin", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.stranger).setTokenAllowed(s.usdcAddress, false))
          .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(s.stranger.address, ZeroHash);
      });
    });

    describe("setFeeBps", () => {
      it("accepts values up to MAX_FEE_BPS and emits the change", async () => {
        const s = await setup();
        const max = await s.escrow.MAX_FEE_BPS();
        await expect(s.escrow.connect(s.admin).setFeeBps(max)).to.emit(s.escrow, "FeeChanged").withArgs(s.feeBps, max);
        expect(await s.escrow.feeBps()).to.equal(max);
        await expect(s.escrow.connect(s.admin).setFeeBps(0n)).to.emit(s.escrow, "FeeChanged").withArgs(max, 0n);
      });

      it("rejects values above MAX_FEE_BPS", async () => {
        const s = await setup();
        const max = await s.escrow.MAX_FEE_BPS();
        await expect(s.escrow.connect(s.admin).setFeeBps(max + 1n))
          .to.be.revertedWithCustomError(s.escrow, "ValueOutOfRange")
          .withArgs(max + 1n, 0n, max);
      });

      it("applies the new fee to later releases", async () => {
        const s = await setup();
        const max = await s.escrow.MAX_FEE_BPS();
        await (await s.escrow.connect(s.admin).setFeeBps(max)).wait();
        const price = parseEther("1");
        const fee = (price * max) / s.bpsDenominator;
        await depositEth(s, s.alice, price);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, price)).wait();
        await expect(s.escrow.connect(s.market).releaseToHost(1n, s.host.address))
          .to.emit(s.escrow, "Released")
          .withArgs(1n, s.host.address, ETH, price - fee, fee);
      });

      it("may only be called by the admin", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.stranger).setFeeBps(0n))
          .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(s.stranger.address, ZeroHash);
      });
    });

    describe("setTreasury", () => {
      it("changes who is credited fees", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.admin).setTreasury(s.bob.address))
          .to.emit(s.escrow, "TreasuryChanged")
          .withArgs(s.treasury.address, s.bob.address);
        expect(await s.escrow.treasury()).to.equal(s.bob.address);
        const price = parseEther("1");
        const fee = feeOf(s, price);
        await depositEth(s, s.alice, price);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, price)).wait();
        await (await s.escrow.connect(s.market).releaseToHost(1n, s.host.address)).wait();
        expect(await s.escrow.balanceOf(s.bob.address, ETH)).to.equal(fee);
        expect(await s.escrow.balanceOf(s.treasury.address, ETH)).to.equal(0n);
      });

      it("rejects the zero address", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.admin).setTreasury(ZeroAddress)).to.be.revertedWithCustomError(
          s.escrow,
          "ZeroAddress",
        );
      });

      it("may only be called by the admin", async () => {
        const s = await setup();
        await expect(s.escrow.connect(s.stranger).setTreasury(s.stranger.address))
          .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(s.stranger.address, ZeroHash);
      });
    });

    describe("users and balances", () => {
      it("starts without users", async () => {
        const s = await setup();
        // Past the users already present (none on a fresh V1).
        expect(await s.escrow.userCount()).to.equal(s.base.userCount);
        expect(await s.escrow.getUsersPage(s.base.userCount, 10n)).to.deep.equal([]);
      });

      it("counts a user once however many deposits and tokens", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 1n);
        await depositEth(s, s.alice, 2n);
        await depositUsdc(s, s.alice, 3n);
        expect(await s.escrow.userCount()).to.equal(s.base.userCount + 1n);
        expect(await s.escrow.getUsersPage(s.base.userCount, 10n)).to.deep.equal([s.alice.address]);
      });

      it("adds the host and the treasury as users when they are credited", async () => {
        const s = await setup();
        await depositEth(s, s.alice, parseEther("1"));
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, parseEther("1"))).wait();
        await (await s.escrow.connect(s.market).releaseToHost(1n, s.host.address)).wait();
        expect(await s.escrow.userCount()).to.equal(s.base.userCount + 3n);
        expect(await s.escrow.getUsersPage(s.base.userCount, 10n)).to.deep.equal([
          s.alice.address,
          s.host.address,
          s.treasury.address,
        ]);
      });

      it("does not add the treasury when the fee is zero", async () => {
        const s = await setup();
        await (await s.escrow.connect(s.admin).setFeeBps(0n)).wait();
        await depositEth(s, s.alice, 5n);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 5n)).wait();
        await (await s.escrow.connect(s.market).releaseToHost(1n, s.host.address)).wait();
        expect(await s.escrow.getUsersPage(s.base.userCount, 10n)).to.deep.equal([s.alice.address, s.host.address]);
      });

      it("keeps a user listed after it withdraws everything", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 5n);
        await (await s.escrow.connect(s.alice).withdraw(ETH, 5n)).wait();
        expect(await s.escrow.userCount()).to.equal(s.base.userCount + 1n);
        await depositEth(s, s.alice, 5n);
        expect(await s.escrow.userCount()).to.equal(s.base.userCount + 1n);
      });

      it("pages users, clipping at the end and returning nothing past it", async () => {
        const s = await setup();
        const users = [s.alice, s.bob, s.host, s.stranger];
        for (const user of users) await depositEth(s, user, 1n);
        const addresses = users.map((u) => u.address);
        const count = await s.escrow.userCount();
        // Offsets count from the first user this test made (the first user on a fresh V1).
        const b = s.base.userCount;
        expect(count).to.equal(b + BigInt(users.length));
        expect(await s.escrow.getUsersPage(b, 2n)).to.deep.equal(addresses.slice(0, 2));
        expect(await s.escrow.getUsersPage(b + 1n, 2n)).to.deep.equal(addresses.slice(1, 3));
        expect(await s.escrow.getUsersPage(b + 2n, 100n)).to.deep.equal(addresses.slice(2));
        expect(await s.escrow.getUsersPage(b + 1n, MaxUint256)).to.deep.equal(addresses.slice(1));
        expect(await s.escrow.getUsersPage(b, 0n)).to.deep.equal([]);
        expect(await s.escrow.getUsersPage(count, 5n)).to.deep.equal([]);
        expect(await s.escrow.getUsersPage(count + 10n, 5n)).to.deep.equal([]);
        expect(await s.escrow.getUsersPage(MaxUint256, MaxUint256)).to.deep.equal([]);
      });

      it("reports a user's balances in every listed token, in tokens() order", async () => {
        const s = await setup();
        const other = await ethers.deployContract("TestUSDC");
        const otherAddress = await other.getAddress();
        await (await s.escrow.connect(s.admin).setTokenAllowed(otherAddress, true)).wait();
        const ethAmount = parseEther("0.2");
        const usdcAmount = parseUnits("7", 6);
        await depositEth(s, s.alice, ethAmount);
        await depositUsdc(s, s.alice, usdcAmount);
        const [tokenList, amounts] = await s.escrow.balancesOf(s.alice.address);
        expect(tokenList).to.deep.equal([ETH, s.usdcAddress, otherAddress]);
        expect(amounts).to.deep.equal([ethAmount, usdcAmount, 0n]);
        const [, strangerAmounts] = await s.escrow.balancesOf(s.stranger.address);
        expect(strangerAmounts).to.deep.equal([0n, 0n, 0n]);
      });

      it("leaves locked funds out of balancesOf", async () => {
        const s = await setup();
        await depositEth(s, s.alice, 10n);
        await (await s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 4n)).wait();
        const [, amounts] = await s.escrow.balancesOf(s.alice.address);
        expect(amounts[0]).to.equal(6n);
      });
    });

    describe("totals", () => {
      /** Deposits, locks, releases, refunds and withdrawals in both tokens, checking after each step. */
      async function runSequence(s: Setup, check: () => Promise<void>): Promise<void> {
        const ethPrice = parseEther("0.8");
        const usdcPrice = parseUnits("33.333333", 6);

        const steps: Array<() => Promise<unknown>> = [
          () => depositEth(s, s.alice, parseEther("3")),
          () => depositUsdc(s, s.alice, parseUnits("100", 6)),
          () => depositEth(s, s.bob, parseEther("1")),
          () => depositUsdc(s, s.bob, parseUnits("50", 6)),
          () =>
            s.escrow
              .connect(s.market)
              .lockForJob(1n, s.alice.address, ETH, ethPrice)
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.market)
              .lockForJob(2n, s.alice.address, s.usdcAddress, usdcPrice)
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.market)
              .lockForJob(3n, s.bob.address, s.usdcAddress, usdcPrice)
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.market)
              .lockForJob(4n, s.bob.address, ETH, parseEther("0.5"))
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.market)
              .releaseToHost(1n, s.host.address)
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.market)
              .releaseToHost(2n, s.host.address)
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.market)
              .refund(3n)
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.host)
              .withdraw(ETH, ethPrice - feeOf(s, ethPrice))
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.treasury)
              .withdraw(s.usdcAddress, feeOf(s, usdcPrice))
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.alice)
              .withdraw(ETH, parseEther("1"))
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.bob)
              .withdraw(s.usdcAddress, parseUnits("50", 6))
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.admin)
              .setTokenAllowed(s.usdcAddress, false)
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.alice)
              .withdraw(s.usdcAddress, parseUnits("10", 6))
              .then((tx) => tx.wait()),
          () =>
            s.escrow
              .connect(s.market)
              .refund(4n)
              .then((tx) => tx.wait()),
        ];
        for (const step of steps) {
          await step();
          await check();
        }
      }

      it("after any sequence the escrow's ETH and USDC balances equal totalFree + totalLocked per token", async () => {
        const s = await setup();
        await expectTotalsMatchHoldings(s);
        await runSequence(s, () => expectTotalsMatchHoldings(s));
        expect(await s.escrow.totalLocked(ETH)).to.equal(0n);
        expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(0n);
      });

      // Split from the test above so that a target without the user list still checks solvency.
      it("after the same sequence totalFree is the sum of every user's free balance", async () => {
        const s = await setup();
        await runSequence(s, async () => {});
        const users = await s.escrow.getUsersPage(0n, await s.escrow.userCount());
        for (const token of [ETH, s.usdcAddress]) {
          let sum = 0n;
          for (const user of users) sum += await s.escrow.balanceOf(user, token);
          expect(sum).to.equal(await s.escrow.totalFree(token));
        }
      });
    });
  });
}

import { expect } from "chai";
import hre from "hardhat";
import type { PaymentEscrowV2 } from "../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import {
  ETH,
  type CreditsSetup,
  expectCreditsSolvent,
  fundUsdcPool,
  mintAndApprove,
  openCreditsEscrow,
} from "./helpers/creditsEscrow.js";

const { id, parseEther } = ethers;
const { time } = networkHelpers;
const DAY = 24n * 60n * 60n;
const GRANT = id("grant-1");
const JOB = 11n;

const setup = (): Promise<CreditsSetup> => networkHelpers.loadFixture(openCreditsEscrow);

async function now(): Promise<bigint> {
  return BigInt(await time.latest());
}

/** A pool of 1,000 USDC units and a grant of 100 to alice expiring in 90 days; alice also deposits 50. */
async function granted(): Promise<{ s: CreditsSetup; expiresAt: bigint }> {
  const s = await setup();
  await fundUsdcPool(s, 1_000n);
  const expiresAt = (await now()) + 90n * DAY;
  await (
    await s.escrow.connect(s.creditor).grantCredits(GRANT, s.alice.address, s.usdcAddress, 100n, expiresAt)
  ).wait();
  await mintAndApprove(s, s.alice, 50n);
  await (await s.escrow.connect(s.alice).deposit(s.usdcAddress, 50n)).wait();
  return { s, expiresAt };
}

describe("PaymentEscrowV2 migration credits", () => {
  describe("the pool", () => {
    it("is funded by anyone with real tokens, ETH as value, after finalize only", async () => {
      const s = await setup();
      await mintAndApprove(s, s.sponsor, 500n);
      await expect(s.escrow.connect(s.sponsor).fundCreditPool(s.usdcAddress, 500n))
        .to.emit(s.escrow, "CreditPoolFunded")
        .withArgs(s.sponsor.address, s.usdcAddress, 500n);
      await expect(s.escrow.connect(s.stranger).fundCreditPool(ETH, 7n, { value: 7n })).to.changeEtherBalances(
        ethers,
        [s.stranger, s.escrow],
        [-7n, 7n],
      );
      expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(500n);
      expect(await s.escrow.creditPool(ETH)).to.equal(7n);
      // The pool is not a user balance and not part of what the migration imported.
      expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(0n);
      expect(await s.escrow.migratedFunds(ETH)).to.equal(0n);
      await expectCreditsSolvent(s);
    });

    it("rejects a zero or mismatched amount, a token not allowed, a pause, and the migration window", async () => {
      const s = await setup();
      await expect(s.escrow.fundCreditPool(ETH, 0n))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(0n, 0n);
      await expect(s.escrow.fundCreditPool(ETH, 2n, { value: 1n }))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(2n, 1n);
      await expect(s.escrow.fundCreditPool(s.usdcAddress, 2n, { value: 2n }))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(2n, 2n);
      await expect(s.escrow.fundCreditPool(s.stranger.address, 2n))
        .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
        .withArgs(s.stranger.address);
      await (await s.escrow.connect(s.admin).pause()).wait();
      await expect(s.escrow.fundCreditPool(ETH, 1n, { value: 1n })).to.be.revertedWithCustomError(
        s.escrow,
        "EnforcedPause",
      );

      const windowOpen = (await upgradesApi.deployProxy(
        await ethers.getContractFactory("PaymentEscrowV2"),
        [s.admin.address, s.migrator.address, s.treasury.address, 0n],
        { kind: "uups", initializer: "initialize" },
      )) as unknown as PaymentEscrowV2;
      await expect(windowOpen.fundCreditPool(ETH, 1n, { value: 1n })).to.be.revertedWithCustomError(
        windowOpen,
        "MigrationInProgress",
      );
      await (await windowOpen.connect(s.admin).grantRole(s.creditsRole, s.creditor.address)).wait();
      await expect(
        windowOpen.connect(s.creditor).grantCredits(GRANT, s.alice.address, ETH, 1n, (await now()) + DAY),
      ).to.be.revertedWithCustomError(windowOpen, "MigrationInProgress");
    });

    it("gives unallocated funds back to the admin only, never granted credits", async () => {
      const { s } = await granted();
      await expect(s.escrow.connect(s.admin).withdrawCreditPool(s.usdcAddress, 900n, s.treasury.address))
        .to.emit(s.escrow, "CreditPoolWithdrawn")
        .withArgs(s.usdcAddress, s.treasury.address, 900n);
      expect(await s.usdc.balanceOf(s.treasury.address)).to.equal(900n);
      expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(0n);
      // Alice's 100 are allocated: the pool is empty.
      await expect(s.escrow.connect(s.admin).withdrawCreditPool(s.usdcAddress, 1n, s.admin.address))
        .to.be.revertedWithCustomError(s.escrow, "InsufficientCreditPool")
        .withArgs(s.usdcAddress, 0n, 1n);
      await expect(s.escrow.connect(s.admin).withdrawCreditPool(s.usdcAddress, 0n, s.admin.address))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(0n, 0n);
      await expect(
        s.escrow.connect(s.admin).withdrawCreditPool(s.usdcAddress, 1n, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(s.escrow, "ZeroAddress");
      await expect(s.escrow.connect(s.creditor).withdrawCreditPool(s.usdcAddress, 1n, s.creditor.address))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.creditor.address, ethers.ZeroHash);
      await expectCreditsSolvent(s);
    });

    it("sends ETH back as value, and not while paused", async () => {
      const s = await setup();
      await (await s.escrow.connect(s.sponsor).fundCreditPool(ETH, 10n, { value: 10n })).wait();
      await (await s.escrow.connect(s.admin).pause()).wait();
      await expect(
        s.escrow.connect(s.admin).withdrawCreditPool(ETH, 4n, s.stranger.address),
      ).to.be.revertedWithCustomError(s.escrow, "EnforcedPause");
      await (await s.escrow.connect(s.admin).unpause()).wait();
      await expect(s.escrow.connect(s.admin).withdrawCreditPool(ETH, 4n, s.stranger.address)).to.changeEtherBalances(
        ethers,
        [s.escrow, s.stranger],
        [-4n, 4n],
      );
      await expectCreditsSolvent(s);
    });
  });

  describe("grantCredits", () => {
    it("moves the amount from the pool to the user's credits and records the grant", async () => {
      const s = await setup();
      await fundUsdcPool(s, 1_000n);
      const expiresAt = (await now()) + 90n * DAY;
      await expect(s.escrow.connect(s.creditor).grantCredits(GRANT, s.alice.address, s.usdcAddress, 100n, expiresAt))
        .to.emit(s.escrow, "CreditsGranted")
        .withArgs(GRANT, s.alice.address, s.usdcAddress, 100n, expiresAt, 100n, expiresAt);
      expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(900n);
      expect(await s.escrow.totalCredits(s.usdcAddress)).to.equal(100n);
      const bucket = await s.escrow.creditsOf(s.alice.address, s.usdcAddress);
      expect([bucket.amount, bucket.expiresAt]).to.deep.equal([100n, expiresAt]);
      expect(await s.escrow.liveCreditsOf(s.alice.address, s.usdcAddress)).to.equal(100n);
      const grant = await s.escrow.grantOf(GRANT);
      expect([grant.user, grant.token, grant.amount, grant.expiresAt]).to.deep.equal([
        s.alice.address,
        s.usdcAddress,
        100n,
        expiresAt,
      ]);
      const none = await s.escrow.grantOf(id("unknown"));
      expect(none.user).to.equal(ethers.ZeroAddress);
      await expectCreditsSolvent(s);
    });

    it("refuses a replayed id, a past expiry, a short pool, a zero user or amount, a pause, and other roles", async () => {
      const { s, expiresAt } = await granted();
      await expect(s.escrow.connect(s.creditor).grantCredits(GRANT, s.host.address, s.usdcAddress, 1n, expiresAt))
        .to.be.revertedWithCustomError(s.escrow, "GrantAlreadyExists")
        .withArgs(GRANT);
      const t = await now();
      // The next block's timestamp is at least t + 1: t + 1 is not in its future.
      await time.setNextBlockTimestamp(t + 1n);
      await expect(s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 1n, t + 1n))
        .to.be.revertedWithCustomError(s.escrow, "CreditExpiryNotInFuture")
        .withArgs(t + 1n, t + 1n);
      await expect(s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 901n, expiresAt))
        .to.be.revertedWithCustomError(s.escrow, "InsufficientCreditPool")
        .withArgs(s.usdcAddress, 900n, 901n);
      await expect(
        s.escrow.connect(s.creditor).grantCredits(id("g2"), ethers.ZeroAddress, s.usdcAddress, 1n, expiresAt),
      ).to.be.revertedWithCustomError(s.escrow, "ZeroAddress");
      await expect(s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 0n, expiresAt))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(0n, 0n);
      await expect(s.escrow.connect(s.admin).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 1n, expiresAt))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.admin.address, s.creditsRole);
      await (await s.escrow.connect(s.admin).pause()).wait();
      await expect(
        s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 1n, expiresAt),
      ).to.be.revertedWithCustomError(s.escrow, "EnforcedPause");
    });

    it("combines grants to one user and token in one bucket that expires with the latest grant", async () => {
      const { s, expiresAt } = await granted();
      const earlier = expiresAt - 30n * DAY;
      const later = expiresAt + 30n * DAY;
      await expect(s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 10n, earlier))
        .to.emit(s.escrow, "CreditsGranted")
        .withArgs(id("g2"), s.alice.address, s.usdcAddress, 10n, earlier, 110n, expiresAt);
      await expect(s.escrow.connect(s.creditor).grantCredits(id("g3"), s.alice.address, s.usdcAddress, 5n, later))
        .to.emit(s.escrow, "CreditsGranted")
        .withArgs(id("g3"), s.alice.address, s.usdcAddress, 5n, later, 115n, later);
      expect(await s.escrow.totalCredits(s.usdcAddress)).to.equal(115n);
      await expectCreditsSolvent(s);
    });

    it("sweeps an expired bucket to the pool before a new grant, so the grant never revives it", async () => {
      const { s, expiresAt } = await granted();
      await time.increaseTo(expiresAt + 1n);
      const next = (await now()) + 10n * DAY;
      const tx = s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 20n, next);
      await expect(tx).to.emit(s.escrow, "CreditsExpired").withArgs(s.alice.address, s.usdcAddress, 100n);
      await expect(tx)
        .to.emit(s.escrow, "CreditsGranted")
        .withArgs(id("g2"), s.alice.address, s.usdcAddress, 20n, next, 20n, next);
      expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(1_000n - 20n);
      expect(await s.escrow.totalCredits(s.usdcAddress)).to.equal(20n);
      await expectCreditsSolvent(s);
    });
  });

  describe("spending on jobs", () => {
    it("locks from live credits first, then from the free balance, in the same call", async () => {
      const { s, expiresAt } = await granted();
      const tx = s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 130n);
      await expect(tx).to.emit(s.escrow, "Locked").withArgs(JOB, s.alice.address, s.usdcAddress, 130n);
      await expect(tx)
        .to.emit(s.escrow, "CreditsLocked")
        .withArgs(JOB, s.alice.address, s.usdcAddress, 100n, expiresAt);
      expect(await s.escrow.liveCreditsOf(s.alice.address, s.usdcAddress)).to.equal(0n);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(20n);
      const part = await s.escrow.creditLockOf(JOB);
      expect([part.amount, part.expiresAt]).to.deep.equal([100n, expiresAt]);
      expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(130n);
      expect(await s.escrow.totalCredits(s.usdcAddress)).to.equal(0n);
      expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(20n);
      await expectCreditsSolvent(s);
    });

    it("leaves the free balance untouched when credits cover the lock", async () => {
      const { s } = await granted();
      await expect(s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 60n)).not.to.emit(
        s.escrow,
        "Withdrawn",
      );
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(50n);
      expect(await s.escrow.liveCreditsOf(s.alice.address, s.usdcAddress)).to.equal(40n);
      expect((await s.escrow.creditLockOf(JOB)).amount).to.equal(60n);
    });

    it("reports credits plus free balance as available when both fall short", async () => {
      const { s } = await granted();
      await expect(s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 151n))
        .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
        .withArgs(s.alice.address, s.usdcAddress, 150n, 151n);
    });

    it("ignores expired credits: they count for no lock", async () => {
      const { s, expiresAt } = await granted();
      await time.increaseTo(expiresAt + 1n);
      expect(await s.escrow.liveCreditsOf(s.alice.address, s.usdcAddress)).to.equal(0n);
      await expect(s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 51n))
        .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
        .withArgs(s.alice.address, s.usdcAddress, 50n, 51n);
      await expect(s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 50n)).not.to.emit(
        s.escrow,
        "CreditsLocked",
      );
      expect((await s.escrow.creditLockOf(JOB)).amount).to.equal(0n);
      // Live until expiresAt inclusive, expired after.
      expect((await s.escrow.creditsOf(s.alice.address, s.usdcAddress)).amount).to.equal(100n);
    });

    it("settles credits first to the host (real balance) and returns the payer's cash first", async () => {
      const { s, expiresAt } = await granted();
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 130n)).wait();
      // The host is owed 40: all from credits; the 90 left are 60 credits and 30 cash.
      const tx = s.escrow.connect(s.market).settle(JOB, s.host.address, 40n);
      await expect(tx).to.emit(s.escrow, "Settled").withArgs(JOB, s.host.address, s.usdcAddress, 39n, 1n, 90n);
      await expect(tx).to.emit(s.escrow, "CreditsReleased").withArgs(JOB, s.alice.address, s.usdcAddress, 40n, 60n, 0n);
      expect(await s.escrow.balanceOf(s.host.address, s.usdcAddress)).to.equal(39n);
      expect(await s.escrow.balanceOf(s.treasury.address, s.usdcAddress)).to.equal(1n);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(50n);
      const bucket = await s.escrow.creditsOf(s.alice.address, s.usdcAddress);
      expect([bucket.amount, bucket.expiresAt]).to.deep.equal([60n, expiresAt]);
      expect((await s.escrow.creditLockOf(JOB)).amount).to.equal(0n);
      // The host withdraws what credits paid for: the pool funded it.
      await (await s.escrow.connect(s.host).withdraw(s.usdcAddress, 39n)).wait();
      expect(await s.usdc.balanceOf(s.host.address)).to.equal(39n);
      await expectCreditsSolvent(s);
    });

    it("pays the host beyond the credits from the cash part", async () => {
      const { s } = await granted();
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 130n)).wait();
      await expect(s.escrow.connect(s.market).settle(JOB, s.host.address, 120n))
        .to.emit(s.escrow, "CreditsReleased")
        .withArgs(JOB, s.alice.address, s.usdcAddress, 100n, 0n, 0n);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(30n);
      expect(await s.escrow.totalCredits(s.usdcAddress)).to.equal(0n);
      await expectCreditsSolvent(s);
    });

    it("returns unspent credits to the pool when they expired while locked", async () => {
      const { s, expiresAt } = await granted();
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 130n)).wait();
      await time.increaseTo(expiresAt + 1n);
      await expect(s.escrow.connect(s.market).settle(JOB, s.host.address, 10n))
        .to.emit(s.escrow, "CreditsReleased")
        .withArgs(JOB, s.alice.address, s.usdcAddress, 10n, 0n, 90n);
      expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(900n + 90n);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(50n);
      expect((await s.escrow.creditsOf(s.alice.address, s.usdcAddress)).amount).to.equal(0n);
      await expectCreditsSolvent(s);
    });

    it("refunds the credit part as credits while live and the cash part to the free balance", async () => {
      const { s, expiresAt } = await granted();
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 130n)).wait();
      // Meanwhile a later grant: the returned credits join the bucket, which keeps the later expiry.
      const later = expiresAt + DAY;
      await (
        await s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 5n, later)
      ).wait();
      const tx = s.escrow.connect(s.market).refund(JOB);
      await expect(tx).to.emit(s.escrow, "Refunded").withArgs(JOB, s.alice.address, s.usdcAddress, 130n);
      await expect(tx).to.emit(s.escrow, "CreditsReleased").withArgs(JOB, s.alice.address, s.usdcAddress, 0n, 100n, 0n);
      const bucket = await s.escrow.creditsOf(s.alice.address, s.usdcAddress);
      expect([bucket.amount, bucket.expiresAt]).to.deep.equal([105n, later]);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(50n);
      await expectCreditsSolvent(s);
    });

    it("refunds expired credits to the pool, sweeping an expired bucket with them", async () => {
      const { s, expiresAt } = await granted();
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 30n)).wait();
      await time.increaseTo(expiresAt + 1n);
      await expect(s.escrow.connect(s.market).refund(JOB))
        .to.emit(s.escrow, "CreditsReleased")
        .withArgs(JOB, s.alice.address, s.usdcAddress, 0n, 0n, 30n);
      // The bucket's 70 stay until someone expires them.
      expect(await s.escrow.totalCredits(s.usdcAddress)).to.equal(70n);
      expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(930n);
      await expectCreditsSolvent(s);
    });

    it("sweeps an expired bucket when live credits come back into it", async () => {
      const { s, expiresAt } = await granted();
      const later = expiresAt + 10n * DAY;
      // Bob-like flow on alice: a second, later grant spent on a job, then the first bucket expires.
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, 40n)).wait();
      await (
        await s.escrow.connect(s.creditor).grantCredits(id("g2"), s.alice.address, s.usdcAddress, 0n + 1n, later)
      ).wait();
      // The lock remembers the first grant's expiry; the bucket now expires later.
      expect((await s.escrow.creditLockOf(JOB)).expiresAt).to.equal(expiresAt);
      await time.increaseTo(later + 1n);
      await expect(s.escrow.connect(s.market).refund(JOB))
        .to.emit(s.escrow, "CreditsReleased")
        .withArgs(JOB, s.alice.address, s.usdcAddress, 0n, 0n, 40n);
      await expectCreditsSolvent(s);
    });
  });

  describe("expireCredits and withdrawals", () => {
    it("refuses a deposit for the zero address, whose credits and balance nobody could use", async () => {
      const s = await setup();
      await expect(
        s.escrow.connect(s.sponsor).depositFor(ethers.ZeroAddress, ETH, 1n, { value: 1n }),
      ).to.be.revertedWithCustomError(s.escrow, "ZeroAddress");
    });

    it("lets anyone return expired credits to the pool, once", async () => {
      const { s, expiresAt } = await granted();
      await expect(s.escrow.connect(s.stranger).expireCredits(s.alice.address, s.usdcAddress))
        .to.be.revertedWithCustomError(s.escrow, "CreditsNotExpired")
        .withArgs(s.alice.address, s.usdcAddress, 100n, expiresAt);
      // Still live at expiresAt itself, expired one second later.
      await time.setNextBlockTimestamp(expiresAt);
      await expect(s.escrow.connect(s.stranger).expireCredits(s.alice.address, s.usdcAddress))
        .to.be.revertedWithCustomError(s.escrow, "CreditsNotExpired")
        .withArgs(s.alice.address, s.usdcAddress, 100n, expiresAt);
      // The reverted call mined no block: set the next one a second later.
      await time.setNextBlockTimestamp(expiresAt + 1n);
      await expect(s.escrow.connect(s.stranger).expireCredits(s.alice.address, s.usdcAddress))
        .to.emit(s.escrow, "CreditsExpired")
        .withArgs(s.alice.address, s.usdcAddress, 100n);
      expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(1_000n);
      expect(await s.escrow.totalCredits(s.usdcAddress)).to.equal(0n);
      await expect(s.escrow.connect(s.stranger).expireCredits(s.alice.address, s.usdcAddress))
        .to.be.revertedWithCustomError(s.escrow, "CreditsNotExpired")
        .withArgs(s.alice.address, s.usdcAddress, 0n, 0n);
      await (await s.escrow.connect(s.admin).pause()).wait();
      await expect(
        s.escrow.connect(s.stranger).expireCredits(s.alice.address, s.usdcAddress),
      ).to.be.revertedWithCustomError(s.escrow, "EnforcedPause");
    });

    it("never pays credits out as cash: a user with only credits withdraws nothing", async () => {
      const s = await setup();
      await (await s.escrow.connect(s.sponsor).fundCreditPool(ETH, parseEther("1"), { value: parseEther("1") })).wait();
      await (
        await s.escrow
          .connect(s.creditor)
          .grantCredits(GRANT, s.alice.address, ETH, parseEther("1"), (await now()) + DAY)
      ).wait();
      await expect(s.escrow.connect(s.alice).withdraw(ETH, 1n))
        .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
        .withArgs(s.alice.address, ETH, 0n, 1n);
      // A job refunded in full gives the credits back as credits, not as a withdrawable balance.
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, ETH, parseEther("1"))).wait();
      await (await s.escrow.connect(s.market).refund(JOB)).wait();
      expect(await s.escrow.balanceOf(s.alice.address, ETH)).to.equal(0n);
      expect(await s.escrow.liveCreditsOf(s.alice.address, ETH)).to.equal(parseEther("1"));
      await expectCreditsSolvent(s);
    });
  });

  describe("gas", () => {
    // lockForJob before credits, measured on the parent commit (the contract without credits) with
    // the same calls: a first lock of the payer's free USDC after a deposit, then its settlement.
    const LOCK_BEFORE = 116_788n;
    const SETTLE_BEFORE = 51_727n;
    const COLD_SLOAD = 2_100n;

    it("costs a payer without credits at most one extra SLOAD, and reports both figures", async () => {
      const s = await setup();
      await mintAndApprove(s, s.host, 100n);
      await (await s.escrow.connect(s.host).deposit(s.usdcAddress, 100n)).wait();
      const cash = await (await s.escrow.connect(s.market).lockForJob(JOB, s.host.address, s.usdcAddress, 30n)).wait();
      const settleCash = await (await s.escrow.connect(s.market).settle(JOB, s.host.address, 20n)).wait();
      await fundUsdcPool(s, 1_000n);
      await (
        await s.escrow
          .connect(s.creditor)
          .grantCredits(GRANT, s.alice.address, s.usdcAddress, 100n, (await now()) + DAY)
      ).wait();
      const withCredits = await (
        await s.escrow.connect(s.market).lockForJob(JOB + 1n, s.alice.address, s.usdcAddress, 100n)
      ).wait();
      const settleCredits = await (await s.escrow.connect(s.market).settle(JOB + 1n, s.host.address, 20n)).wait();
      console.log(
        `      gas: lockForJob before ${LOCK_BEFORE}, without credits ${cash!.gasUsed}, with credits ${withCredits!.gasUsed}; ` +
          `settle before ${SETTLE_BEFORE}, without credits ${settleCash!.gasUsed}, with credits ${settleCredits!.gasUsed}`,
      );
      // Coverage instrumentation adds gas to every statement: the bounds hold for the real bytecode.
      if (hre.globalOptions.coverage === true) return;
      // One cold SLOAD (the credit bucket; the credit lock at settlement), plus hashing its mapping
      // slot and one branch: under 400 gas.
      expect(cash!.gasUsed).to.be.lte(LOCK_BEFORE + COLD_SLOAD + 400n);
      expect(settleCash!.gasUsed).to.be.lte(SETTLE_BEFORE + COLD_SLOAD + 400n);
    });
  });
});

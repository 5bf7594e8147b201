import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { PaymentEscrowV2, ReentrantWithdrawer, TestUSDC } from "../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import { commitmentOf, ETH, type DepositRecord } from "./helpers/escrowMigration.js";

const { ZeroAddress, ZeroHash, parseEther, parseUnits } = ethers;
const FEE_BPS = 250n;

interface Setup {
  escrow: PaymentEscrowV2;
  usdc: TestUSDC;
  /** A second ERC-20, never listed. */
  other: TestUSDC;
  escrowAddress: string;
  usdcAddress: string;
  otherAddress: string;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** Holds MIGRATOR_ROLE from initialization. */
  migrator: HardhatEthersSigner;
  /** Granted MIGRATOR_ROLE by the admin, to show that only a batch's sender rolls it back. */
  migrator2: HardhatEthersSigner;
  /** Holds MARKETPLACE_ROLE. */
  market: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  host: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  migratorRole: string;
  marketplaceRole: string;
}

async function deployV2(): Promise<Setup> {
  const signers = await ethers.getSigners();
  const [admin, treasury, migrator, migrator2, market, alice, bob, host, stranger] = signers;
  if (!admin || !treasury || !migrator || !migrator2 || !market || !alice || !bob || !host || !stranger) {
    throw new Error("the test chain needs at least nine accounts");
  }
  const usdc = await ethers.deployContract("TestUSDC");
  const other = await ethers.deployContract("TestUSDC");
  const escrow = (await upgradesApi.deployProxy(
    await ethers.getContractFactory("PaymentEscrowV2"),
    [admin.address, migrator.address, treasury.address, FEE_BPS],
    { kind: "uups", initializer: "initialize" },
  )) as unknown as PaymentEscrowV2;
  await escrow.waitForDeployment();
  const usdcAddress = await usdc.getAddress();
  await (await escrow.connect(admin).setTokenAllowed(usdcAddress, true)).wait();
  const migratorRole = await escrow.MIGRATOR_ROLE();
  const marketplaceRole = await escrow.MARKETPLACE_ROLE();
  await (await escrow.connect(admin).grantRole(migratorRole, migrator2.address)).wait();
  await (await escrow.connect(admin).grantRole(marketplaceRole, market.address)).wait();
  return {
    escrow,
    usdc,
    other,
    escrowAddress: await escrow.getAddress(),
    usdcAddress,
    otherAddress: await other.getAddress(),
    admin,
    treasury,
    migrator,
    migrator2,
    market,
    alice,
    bob,
    host,
    stranger,
    migratorRole,
    marketplaceRole,
  };
}

const setup = (): Promise<Setup> => networkHelpers.loadFixture(deployV2);

/** The ETH value and per-token sums a batch must carry. */
function sumsOf(records: readonly DepositRecord[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const r of records) sums.set(r.token, (sums.get(r.token) ?? 0n) + r.amount);
  return sums;
}

/** Mints the batch's ERC-20 sums to `from` and approves the escrow for them. */
async function fund(s: Setup, from: HardhatEthersSigner, records: readonly DepositRecord[]): Promise<bigint> {
  for (const [token, sum] of sumsOf(records)) {
    if (token === ETH) continue;
    const erc20 = await ethers.getContractAt("TestUSDC", token);
    await (await erc20.mint(from.address, sum)).wait();
    await (await erc20.connect(from).approve(s.escrowAddress, sum)).wait();
  }
  return sumsOf(records).get(ETH) ?? 0n;
}

/** Imports `records` as one batch at the escrow's cursor, funding it first. */
async function importBatch(s: Setup, records: readonly DepositRecord[], from = s.migrator): Promise<void> {
  const value = await fund(s, from, records);
  const cursor = await s.escrow.migratedCount();
  await (await s.escrow.connect(from).batchMigrateDeposits(cursor, [...records], { value })).wait();
}

function sampleRecords(s: Setup): DepositRecord[] {
  return [
    { user: s.alice.address, token: ETH, amount: parseEther("1.25") },
    { user: s.alice.address, token: s.usdcAddress, amount: parseUnits("300", 6) },
    { user: s.bob.address, token: s.usdcAddress, amount: parseUnits("42", 6) + 1n },
    { user: s.host.address, token: ETH, amount: 7n },
  ];
}

/** Finalizes with the escrow's actual state as the expectation. */
async function finalize(s: Setup): Promise<void> {
  const tokens = [...(await s.escrow.tokens())];
  const funds = await Promise.all(tokens.map((t) => s.escrow.migratedFunds(t)));
  await (
    await s.escrow
      .connect(s.migrator)
      .finalizeMigration(await s.escrow.migrationCommitment(), await s.escrow.migratedCount(), tokens, funds)
  ).wait();
}

/** Migrates the sample balances, then finalizes: the escrow is open to users. */
async function openWithSampleBalances(): Promise<Setup> {
  const s = await setup();
  await importBatch(s, sampleRecords(s));
  await finalize(s);
  return s;
}

/** For ETH and USDC: what the escrow holds equals totalFree + totalLocked. */
async function expectSolvent(s: Setup): Promise<void> {
  for (const token of [ETH, s.usdcAddress]) {
    const held =
      token === ETH ? await ethers.provider.getBalance(s.escrowAddress) : await s.usdc.balanceOf(s.escrowAddress);
    expect(held).to.equal((await s.escrow.totalFree(token)) + (await s.escrow.totalLocked(token)));
  }
}

describe("PaymentEscrowV2", () => {
  describe("deployment", () => {
    it("reports version 2.0.0, V1's constants, the fee and the treasury, and lists ETH first", async () => {
      const s = await setup();
      expect(await s.escrow.version()).to.equal("2.0.0");
      expect(await s.escrow.ETH()).to.equal(ZeroAddress);
      expect(await s.escrow.BPS_DENOMINATOR()).to.equal(10_000n);
      expect(await s.escrow.MAX_FEE_BPS()).to.equal(1_000n);
      expect(await s.escrow.feeBps()).to.equal(FEE_BPS);
      expect(await s.escrow.treasury()).to.equal(s.treasury.address);
      expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress]);
      expect(await s.escrow.isTokenAllowed(ETH)).to.equal(true);
      expect(await s.escrow.migrationTokens()).to.deep.equal([ETH, s.usdcAddress]);
    });

    it("opens the migration window with the migrator holding MIGRATOR_ROLE", async () => {
      const s = await setup();
      expect(await s.escrow.migrationFinalized()).to.equal(false);
      expect(await s.escrow.migratedCount()).to.equal(0n);
      expect(await s.escrow.migrationCommitment()).to.equal(ZeroHash);
      expect(await s.escrow.migrationBatchCount()).to.equal(0n);
      expect(await s.escrow.hasRole(s.migratorRole, s.migrator.address)).to.equal(true);
      for (const role of [ZeroHash, await s.escrow.UPGRADER_ROLE(), await s.escrow.PAUSER_ROLE()]) {
        expect(await s.escrow.hasRole(role, s.admin.address)).to.equal(true);
      }
    });

    it("grants MIGRATOR_ROLE to nobody when the migrator is zero", async () => {
      const s = await setup();
      const escrow = (await upgradesApi.deployProxy(
        await ethers.getContractFactory("PaymentEscrowV2"),
        [s.admin.address, ZeroAddress, s.treasury.address, 0n],
        { kind: "uups", initializer: "initialize" },
      )) as unknown as PaymentEscrowV2;
      expect(await escrow.hasRole(s.migratorRole, ZeroAddress)).to.equal(false);
      await expect(escrow.connect(s.admin).grantRole(s.migratorRole, s.migrator.address))
        .to.emit(escrow, "RoleGranted")
        .withArgs(s.migratorRole, s.migrator.address, s.admin.address);
    });

    it("refuses a zero admin or treasury and a fee above MAX_FEE_BPS", async () => {
      const s = await setup();
      const factory = await ethers.getContractFactory("PaymentEscrowV2");
      const deploy = (args: unknown[]) => upgradesApi.deployProxy(factory, args, { kind: "uups" });
      await expect(deploy([ZeroAddress, ZeroAddress, s.treasury.address, 0n])).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
      await expect(deploy([s.admin.address, ZeroAddress, ZeroAddress, 0n])).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
      await expect(deploy([s.admin.address, ZeroAddress, s.treasury.address, 1_001n]))
        .to.be.revertedWithCustomError(factory, "ValueOutOfRange")
        .withArgs(1_001n, 0n, 1_000n);
    });

    it("cannot be initialized again, through the proxy or on the implementation", async () => {
      const s = await setup();
      await expect(
        s.escrow.initialize(s.stranger.address, s.stranger.address, s.stranger.address, 0n),
      ).to.be.revertedWithCustomError(s.escrow, "InvalidInitialization");
      const implementation = s.escrow.attach(
        await upgradesApi.erc1967.getImplementationAddress(s.escrowAddress),
      ) as PaymentEscrowV2;
      await expect(
        implementation.initialize(s.stranger.address, s.stranger.address, s.stranger.address, 0n),
      ).to.be.revertedWithCustomError(s.escrow, "InvalidInitialization");
    });
  });

  describe("admin", () => {
    it("lists a token once when first allowed and keeps it listed when disallowed, during the migration", async () => {
      const s = await setup();
      await expect(s.escrow.connect(s.admin).setTokenAllowed(s.otherAddress, true))
        .to.emit(s.escrow, "TokenAllowed")
        .withArgs(s.otherAddress, true);
      await expect(s.escrow.connect(s.admin).setTokenAllowed(s.otherAddress, false))
        .to.emit(s.escrow, "TokenAllowed")
        .withArgs(s.otherAddress, false);
      await (await s.escrow.connect(s.admin).setTokenAllowed(s.otherAddress, true)).wait();
      expect(await s.escrow.tokens()).to.deep.equal([ETH, s.usdcAddress, s.otherAddress]);
      expect(await s.escrow.isTokenAllowed(s.otherAddress)).to.equal(true);
    });

    it("refuses to allow an address without code", async () => {
      const s = await setup();
      await expect(s.escrow.connect(s.admin).setTokenAllowed(s.stranger.address, true))
        .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
        .withArgs(s.stranger.address);
    });

    it("sets the fee up to MAX_FEE_BPS and the treasury, never zero", async () => {
      const s = await setup();
      await expect(s.escrow.connect(s.admin).setFeeBps(1_000n))
        .to.emit(s.escrow, "FeeChanged")
        .withArgs(FEE_BPS, 1_000n);
      await expect(s.escrow.connect(s.admin).setFeeBps(1_001n))
        .to.be.revertedWithCustomError(s.escrow, "ValueOutOfRange")
        .withArgs(1_001n, 0n, 1_000n);
      await expect(s.escrow.connect(s.admin).setTreasury(s.bob.address))
        .to.emit(s.escrow, "TreasuryChanged")
        .withArgs(s.treasury.address, s.bob.address);
      expect(await s.escrow.treasury()).to.equal(s.bob.address);
      await expect(s.escrow.connect(s.admin).setTreasury(ZeroAddress)).to.be.revertedWithCustomError(
        s.escrow,
        "ZeroAddress",
      );
    });

    it("leaves the admin functions to DEFAULT_ADMIN_ROLE", async () => {
      const s = await setup();
      const calls = [
        () => s.escrow.connect(s.stranger).setTokenAllowed(s.otherAddress, true),
        () => s.escrow.connect(s.stranger).setFeeBps(0n),
        () => s.escrow.connect(s.stranger).setTreasury(s.stranger.address),
      ];
      for (const call of calls) {
        await expect(call())
          .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(s.stranger.address, ZeroHash);
      }
    });
  });

  describe("before finalize", () => {
    it("keeps every user and marketplace function closed with MigrationInProgress", async () => {
      const s = await setup();
      await importBatch(s, sampleRecords(s));
      const calls = [
        () => s.escrow.connect(s.alice).deposit(ETH, 1n, { value: 1n }),
        () => s.escrow.connect(s.alice).withdraw(ETH, 1n),
        () => s.escrow.connect(s.market).lockForJob(1n, s.alice.address, ETH, 1n),
        () => s.escrow.connect(s.market).settle(1n, s.host.address, 0n),
        () => s.escrow.connect(s.market).refund(1n),
      ];
      for (const call of calls) await expect(call()).to.be.revertedWithCustomError(s.escrow, "MigrationInProgress");
    });
  });

  describe("batchMigrateDeposits", () => {
    it("credits every record, pulls each token's sum once and folds the commitment", async () => {
      const s = await setup();
      const records = sampleRecords(s);
      const value = await fund(s, s.migrator, records);
      const usdcSum = sumsOf(records).get(s.usdcAddress)!;
      const tx = s.escrow.connect(s.migrator).batchMigrateDeposits(0n, records, { value });
      for (const [i, r] of records.entries()) {
        await expect(tx).to.emit(s.escrow, "DepositMigrated").withArgs(i, r.user, r.token, r.amount);
      }
      await expect(tx).to.emit(s.escrow, "MigrationBatchImported").withArgs(0n, 0n, 4n, commitmentOf(records));
      await expect(tx).to.changeTokenBalances(ethers, s.usdc, [s.migrator, s.escrow], [-usdcSum, usdcSum]);
      await expect(tx).to.changeEtherBalances(ethers, [s.migrator, s.escrow], [-value, value]);
      for (const r of records) expect(await s.escrow.balanceOf(r.user, r.token)).to.equal(r.amount);
      expect(await s.escrow.totalFree(ETH)).to.equal(value);
      expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(usdcSum);
      expect(await s.escrow.migratedFunds(s.usdcAddress)).to.equal(usdcSum);
      expect(await s.escrow.migratedCount()).to.equal(4n);
      expect(await s.escrow.migrationCommitment()).to.equal(commitmentOf(records));
      const batch = await s.escrow.migrationBatch(0n);
      expect([batch.commitmentBefore, batch.start, batch.source]).to.deep.equal([ZeroHash, 0n, s.migrator.address]);
      expect(await s.usdc.allowance(s.migrator.address, s.escrowAddress)).to.equal(0n);
      await expectSolvent(s);
    });

    it("gives the same commitment however the records are split into batches", async () => {
      const s = await setup();
      const records = sampleRecords(s);
      await importBatch(s, records.slice(0, 1));
      await importBatch(s, records.slice(1, 3));
      await importBatch(s, records.slice(3), s.migrator2);
      expect(await s.escrow.migrationCommitment()).to.equal(commitmentOf(records));
      expect(await s.escrow.migrationBatchCount()).to.equal(3n);
      expect((await s.escrow.migrationBatch(2n)).commitmentBefore).to.equal(commitmentOf(records.slice(0, 3)));
    });

    it("imports a balance in a token listed but no longer allowed", async () => {
      const s = await setup();
      await (await s.escrow.connect(s.admin).setTokenAllowed(s.otherAddress, true)).wait();
      await (await s.escrow.connect(s.admin).setTokenAllowed(s.otherAddress, false)).wait();
      await importBatch(s, [{ user: s.alice.address, token: s.otherAddress, amount: 5n }]);
      expect(await s.escrow.balanceOf(s.alice.address, s.otherAddress)).to.equal(5n);
      expect(await s.other.balanceOf(s.escrowAddress)).to.equal(5n);
    });

    it("reverts a replayed or skipped batch with UnexpectedCursor", async () => {
      const s = await setup();
      const records = sampleRecords(s);
      await importBatch(s, records);
      const value = await fund(s, s.migrator, records);
      await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(0n, records, { value }))
        .to.be.revertedWithCustomError(s.escrow, "UnexpectedCursor")
        .withArgs(0n, 4n);
      await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(5n, records, { value }))
        .to.be.revertedWithCustomError(s.escrow, "UnexpectedCursor")
        .withArgs(5n, 4n);
    });

    it("reverts an empty batch", async () => {
      const s = await setup();
      await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(0n, [])).to.be.revertedWithCustomError(
        s.escrow,
        "EmptyBatch",
      );
    });

    it("rejects a zero user, a zero amount and an unlisted token", async () => {
      const s = await setup();
      const migrate = (record: DepositRecord) =>
        s.escrow.connect(s.migrator).batchMigrateDeposits(0n, [record], { value: record.amount });
      await expect(migrate({ user: ZeroAddress, token: ETH, amount: 1n })).to.be.revertedWithCustomError(
        s.escrow,
        "ZeroAddress",
      );
      await expect(migrate({ user: s.alice.address, token: ETH, amount: 0n }))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(0n, 0n);
      await expect(migrate({ user: s.alice.address, token: s.otherAddress, amount: 1n }))
        .to.be.revertedWithCustomError(s.escrow, "TokenNotListed")
        .withArgs(s.otherAddress);
    });

    it("rejects a (user, token) pair already migrated, in an earlier batch or the same one", async () => {
      const s = await setup();
      const record = { user: s.alice.address, token: ETH, amount: 3n };
      await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(0n, [record, record], { value: 6n }))
        .to.be.revertedWithCustomError(s.escrow, "DepositAlreadyMigrated")
        .withArgs(s.alice.address, ETH);
      await importBatch(s, [record]);
      await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(1n, [record], { value: 3n }))
        .to.be.revertedWithCustomError(s.escrow, "DepositAlreadyMigrated")
        .withArgs(s.alice.address, ETH);
    });

    it("requires the ETH records' sum as value, to the wei", async () => {
      const s = await setup();
      const records = sampleRecords(s);
      const value = await fund(s, s.migrator, records);
      for (const sent of [value - 1n, value + 1n, 0n]) {
        await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(0n, records, { value: sent }))
          .to.be.revertedWithCustomError(s.escrow, "EthMismatch")
          .withArgs(value, sent);
      }
      const usdcOnly = records.filter((r) => r.token !== ETH);
      await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(0n, usdcOnly, { value: 1n }))
        .to.be.revertedWithCustomError(s.escrow, "EthMismatch")
        .withArgs(0n, 1n);
    });

    it("reverts when the caller has not approved the token sum", async () => {
      const s = await setup();
      const record = { user: s.alice.address, token: s.usdcAddress, amount: 10n };
      await (await s.usdc.mint(s.migrator.address, 10n)).wait();
      await (await s.usdc.connect(s.migrator).approve(s.escrowAddress, 9n)).wait();
      await expect(s.escrow.connect(s.migrator).batchMigrateDeposits(0n, [record]))
        .to.be.revertedWithCustomError(s.usdc, "ERC20InsufficientAllowance")
        .withArgs(s.escrowAddress, 9n, 10n);
    });

    it("is closed to accounts without MIGRATOR_ROLE", async () => {
      const s = await setup();
      await expect(s.escrow.connect(s.stranger).batchMigrateDeposits(0n, []))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, s.migratorRole);
      await expect(s.escrow.connect(s.stranger).migrateDeposit(s.alice.address, ETH, 1n, { value: 1n }))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, s.migratorRole);
    });
  });

  describe("migrateDeposit (single form)", () => {
    it("imports one record as a batch at the current cursor", async () => {
      const s = await setup();
      const records = sampleRecords(s);
      await importBatch(s, records.slice(0, 2));
      const single = records[2]!;
      await fund(s, s.migrator, [single]);
      const tx = s.escrow.connect(s.migrator).migrateDeposit(single.user, single.token, single.amount);
      await expect(tx).to.emit(s.escrow, "DepositMigrated").withArgs(2n, single.user, single.token, single.amount);
      await expect(tx)
        .to.emit(s.escrow, "MigrationBatchImported")
        .withArgs(1n, 2n, 3n, commitmentOf(records.slice(0, 3)));
      await expect(tx).to.changeTokenBalances(ethers, s.usdc, [s.migrator, s.escrow], [-single.amount, single.amount]);
      const eth = records[3]!;
      await expect(
        s.escrow.connect(s.migrator).migrateDeposit(eth.user, eth.token, eth.amount, { value: eth.amount }),
      ).to.changeEtherBalances(ethers, [s.migrator, s.escrow], [-eth.amount, eth.amount]);
      expect(await s.escrow.migrationCommitment()).to.equal(commitmentOf(records));
      expect(await s.escrow.balanceOf(single.user, single.token)).to.equal(single.amount);
      await expectSolvent(s);
    });

    it("reverts a replay with DepositAlreadyMigrated and a wrong value with EthMismatch", async () => {
      const s = await setup();
      await (await s.escrow.connect(s.migrator).migrateDeposit(s.alice.address, ETH, 5n, { value: 5n })).wait();
      await expect(s.escrow.connect(s.migrator).migrateDeposit(s.alice.address, ETH, 5n, { value: 5n }))
        .to.be.revertedWithCustomError(s.escrow, "DepositAlreadyMigrated")
        .withArgs(s.alice.address, ETH);
      await expect(s.escrow.connect(s.migrator).migrateDeposit(s.bob.address, ETH, 5n, { value: 4n }))
        .to.be.revertedWithCustomError(s.escrow, "EthMismatch")
        .withArgs(5n, 4n);
    });
  });

  describe("returnLastBatch", () => {
    it("removes the last batch and sends its funds back to its sender", async () => {
      const s = await setup();
      const records = sampleRecords(s);
      await importBatch(s, records.slice(0, 1));
      const last = records.slice(1);
      await importBatch(s, last);
      const usdcSum = sumsOf(last).get(s.usdcAddress)!;
      const ethSum = sumsOf(last).get(ETH)!;
      const tx = s.escrow.connect(s.migrator).returnLastBatch(last);
      await expect(tx).to.emit(s.escrow, "DepositsReturned").withArgs(1n, 4n);
      await expect(tx)
        .to.emit(s.escrow, "MigrationBatchRolledBack")
        .withArgs(1n, 1n, 4n, commitmentOf(records.slice(0, 1)));
      await expect(tx).to.changeTokenBalances(ethers, s.usdc, [s.escrow, s.migrator], [-usdcSum, usdcSum]);
      await expect(tx).to.changeEtherBalances(ethers, [s.escrow, s.migrator], [-ethSum, ethSum]);
      for (const r of last) expect(await s.escrow.balanceOf(r.user, r.token)).to.equal(0n);
      expect(await s.escrow.balanceOf(records[0]!.user, ETH)).to.equal(records[0]!.amount);
      expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(0n);
      expect(await s.escrow.totalFree(ETH)).to.equal(records[0]!.amount);
      expect(await s.escrow.migratedCount()).to.equal(1n);
      expect(await s.escrow.migrationBatchCount()).to.equal(1n);
      expect(await s.escrow.migrationCommitment()).to.equal(commitmentOf(records.slice(0, 1)));
      await expectSolvent(s);
      // The same records import again, at the same cursor, to the same commitment.
      await importBatch(s, last);
      expect(await s.escrow.migrationCommitment()).to.equal(commitmentOf(records));
    });

    it("rejects records that are not exactly the last batch's", async () => {
      const s = await setup();
      const records = sampleRecords(s);
      await importBatch(s, records.slice(0, 2));
      await importBatch(s, records.slice(2));
      const wrong = [
        records.slice(2, 3),
        records,
        records.slice(0, 2),
        [records[2]!, { ...records[3]!, amount: records[3]!.amount + 1n }],
        [records[3]!, records[2]!],
      ];
      for (const candidate of wrong) {
        await expect(s.escrow.connect(s.migrator).returnLastBatch(candidate)).to.be.revertedWithCustomError(
          s.escrow,
          "BatchRecordsMismatch",
        );
      }
    });

    it("lets only the batch's sender roll it back", async () => {
      const s = await setup();
      await importBatch(s, sampleRecords(s));
      await expect(s.escrow.connect(s.migrator2).returnLastBatch(sampleRecords(s)))
        .to.be.revertedWithCustomError(s.escrow, "NotBatchSource")
        .withArgs(s.migrator2.address, s.migrator.address);
      await expect(s.escrow.connect(s.stranger).returnLastBatch(sampleRecords(s)))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, s.migratorRole);
    });

    it("reverts with NothingToRollBack when no batch is left", async () => {
      const s = await setup();
      await expect(s.escrow.connect(s.migrator).returnLastBatch([])).to.be.revertedWithCustomError(
        s.escrow,
        "NothingToRollBack",
      );
    });
  });

  describe("finalizeMigration", () => {
    async function migrated(): Promise<{ s: Setup; tokens: string[]; funds: bigint[]; commitment: string }> {
      const s = await setup();
      const records = sampleRecords(s);
      await importBatch(s, records);
      const sums = sumsOf(records);
      return {
        s,
        tokens: [ETH, s.usdcAddress],
        funds: [sums.get(ETH)!, sums.get(s.usdcAddress)!],
        commitment: commitmentOf(records),
      };
    }

    it("reverts on each wrong expectation: commitment, count, token list, funds", async () => {
      const { s, tokens, funds, commitment } = await migrated();
      const finalize = (c: string, n: bigint, t: string[], f: bigint[]) =>
        s.escrow.connect(s.migrator).finalizeMigration(c, n, t, f);
      const wrongCommitment = ethers.id("not the state");
      await expect(finalize(wrongCommitment, 4n, tokens, funds))
        .to.be.revertedWithCustomError(s.escrow, "CommitmentMismatch")
        .withArgs(wrongCommitment, commitment);
      await expect(finalize(commitment, 3n, tokens, funds))
        .to.be.revertedWithCustomError(s.escrow, "CountMismatch")
        .withArgs(3n, 4n);
      await expect(finalize(commitment, 4n, [ETH], [funds[0]!]))
        .to.be.revertedWithCustomError(s.escrow, "TokenListMismatch")
        .withArgs(tokens, [ETH], 1n);
      await expect(finalize(commitment, 4n, tokens, [funds[0]!]))
        .to.be.revertedWithCustomError(s.escrow, "TokenListMismatch")
        .withArgs(tokens, tokens, 1n);
      await expect(finalize(commitment, 4n, [s.usdcAddress, ETH], [funds[1]!, funds[0]!]))
        .to.be.revertedWithCustomError(s.escrow, "TokenListMismatch")
        .withArgs(tokens, [s.usdcAddress, ETH], 2n);
      await expect(finalize(commitment, 4n, tokens, [funds[0]!, funds[1]! - 1n]))
        .to.be.revertedWithCustomError(s.escrow, "FundsMismatch")
        .withArgs(s.usdcAddress, funds[1]! - 1n, funds[1]!);
      await expect(
        s.escrow.connect(s.stranger).finalizeMigration(commitment, 4n, tokens, funds),
      ).to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount");
    });

    it("opens the escrow, revokes every migrator and closes the entry points for good", async () => {
      const { s, tokens, funds, commitment } = await migrated();
      await expect(s.escrow.connect(s.migrator).finalizeMigration(commitment, 4n, tokens, funds))
        .to.emit(s.escrow, "MigrationFinalized")
        .withArgs(commitment, 4n);
      expect(await s.escrow.migrationFinalized()).to.equal(true);
      expect(await s.escrow.hasRole(s.migratorRole, s.migrator.address)).to.equal(false);
      expect(await s.escrow.hasRole(s.migratorRole, s.migrator2.address)).to.equal(false);
      const closed = [
        () =>
          s.escrow.connect(s.migrator).batchMigrateDeposits(4n, [{ user: s.bob.address, token: ETH, amount: 1n }], {
            value: 1n,
          }),
        () => s.escrow.connect(s.migrator).migrateDeposit(s.bob.address, ETH, 1n, { value: 1n }),
        () => s.escrow.connect(s.migrator).returnLastBatch(sampleRecords(s)),
        () => s.escrow.connect(s.migrator).finalizeMigration(commitment, 4n, tokens, funds),
        () => s.escrow.connect(s.admin).grantRole(s.migratorRole, s.migrator.address),
      ];
      for (const call of closed) {
        await expect(call()).to.be.revertedWithCustomError(s.escrow, "MigrationAlreadyFinalized");
      }
    });
  });

  describe("after finalize: users", () => {
    it("lets migrated users withdraw their balances, in an allowed token or not", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      const [eth, usdc] = sampleRecords(s);
      const tx = s.escrow.connect(s.alice).withdraw(ETH, eth!.amount);
      await expect(tx).to.emit(s.escrow, "Withdrawn").withArgs(s.alice.address, ETH, eth!.amount);
      await expect(tx).to.changeEtherBalances(ethers, [s.escrow, s.alice], [-eth!.amount, eth!.amount]);
      await (await s.escrow.connect(s.admin).setTokenAllowed(s.usdcAddress, false)).wait();
      await expect(s.escrow.connect(s.alice).withdraw(s.usdcAddress, usdc!.amount)).to.changeTokenBalances(
        ethers,
        s.usdc,
        [s.escrow, s.alice],
        [-usdc!.amount, usdc!.amount],
      );
      expect(await s.escrow.balanceOf(s.alice.address, ETH)).to.equal(0n);
      expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(
        sumsOf(sampleRecords(s)).get(s.usdcAddress)! - usdc!.amount,
      );
      await expectSolvent(s);
    });

    it("rejects a withdrawal of zero or beyond the free balance", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      const balance = await s.escrow.balanceOf(s.alice.address, ETH);
      await expect(s.escrow.connect(s.alice).withdraw(ETH, 0n))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(0n, 0n);
      await expect(s.escrow.connect(s.alice).withdraw(ETH, balance + 1n))
        .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
        .withArgs(s.alice.address, ETH, balance, balance + 1n);
    });

    it("accepts deposits of allowed tokens with the exact value", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      const before = await s.escrow.balanceOf(s.bob.address, s.usdcAddress);
      await (await s.usdc.mint(s.bob.address, 100n)).wait();
      await (await s.usdc.connect(s.bob).approve(s.escrowAddress, 100n)).wait();
      const tx = s.escrow.connect(s.bob).deposit(s.usdcAddress, 100n);
      await expect(tx).to.emit(s.escrow, "Deposited").withArgs(s.bob.address, s.usdcAddress, 100n);
      await expect(tx).to.changeTokenBalances(ethers, s.usdc, [s.bob, s.escrow], [-100n, 100n]);
      expect(await s.escrow.balanceOf(s.bob.address, s.usdcAddress)).to.equal(before + 100n);
      await expect(s.escrow.connect(s.bob).deposit(ETH, 9n, { value: 9n })).to.changeEtherBalances(
        ethers,
        [s.bob, s.escrow],
        [-9n, 9n],
      );
      expect(await s.escrow.balanceOf(s.bob.address, ETH)).to.equal(9n);
      await expectSolvent(s);
    });

    it("rejects a zero or mismatched deposit and a token not allowed", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      await expect(s.escrow.connect(s.bob).deposit(ETH, 0n))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(0n, 0n);
      await expect(s.escrow.connect(s.bob).deposit(ETH, 2n, { value: 1n }))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(2n, 1n);
      await expect(s.escrow.connect(s.bob).deposit(s.usdcAddress, 2n, { value: 2n }))
        .to.be.revertedWithCustomError(s.escrow, "InvalidAmount")
        .withArgs(2n, 2n);
      await expect(s.escrow.connect(s.bob).deposit(s.otherAddress, 2n))
        .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
        .withArgs(s.otherAddress);
    });

    it("blocks deposits and withdrawals while paused", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      await (await s.escrow.connect(s.admin).pause()).wait();
      await expect(s.escrow.connect(s.alice).deposit(ETH, 1n, { value: 1n })).to.be.revertedWithCustomError(
        s.escrow,
        "EnforcedPause",
      );
      await expect(s.escrow.connect(s.alice).withdraw(ETH, 1n)).to.be.revertedWithCustomError(
        s.escrow,
        "EnforcedPause",
      );
    });

    it("stops a withdrawal that re-enters from the recipient", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      const attacker = (await ethers.deployContract("ReentrantWithdrawer", [s.escrowAddress])) as ReentrantWithdrawer;
      await (await attacker.deposit({ value: 10n })).wait();
      await expect(attacker.withdraw(5n, false)).to.be.revertedWithCustomError(
        s.escrow,
        "ReentrancyGuardReentrantCall",
      );
      await (await attacker.withdraw(5n, true)).wait();
      expect(await s.escrow.balanceOf(await attacker.getAddress(), ETH)).to.equal(5n);
      await expectSolvent(s);
    });
  });

  describe("after finalize: marketplace", () => {
    const JOB = 7n;

    async function locked(): Promise<{ s: Setup; amount: bigint }> {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      const amount = parseUnits("100", 6);
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, amount)).wait();
      return { s, amount };
    }

    it("locks a payer's free balance as { payer, { token, amount } }", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      const free = await s.escrow.balanceOf(s.alice.address, s.usdcAddress);
      const amount = parseUnits("100", 6);
      await expect(s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, s.usdcAddress, amount))
        .to.emit(s.escrow, "Locked")
        .withArgs(JOB, s.alice.address, s.usdcAddress, amount);
      const lock = await s.escrow.lockOf(JOB);
      expect([lock.payer, lock.payment.token, lock.payment.amount]).to.deep.equal([
        s.alice.address,
        s.usdcAddress,
        amount,
      ]);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(free - amount);
      expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(amount);
      expect(await s.escrow.migratedFunds(s.usdcAddress)).to.equal(sumsOf(sampleRecords(s)).get(s.usdcAddress)!);
      await expectSolvent(s);
    });

    it("rejects a lock of a disallowed token, of zero, beyond the balance, or on a locked job", async () => {
      const { s } = await locked();
      const lock = (token: string, amount: bigint, job = JOB + 1n) =>
        s.escrow.connect(s.market).lockForJob(job, s.alice.address, token, amount);
      await expect(lock(s.otherAddress, 1n))
        .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
        .withArgs(s.otherAddress);
      await expect(lock(ETH, 0n)).to.be.revertedWithCustomError(s.escrow, "InvalidAmount").withArgs(0n, 0n);
      const free = await s.escrow.balanceOf(s.alice.address, ETH);
      await expect(lock(ETH, free + 1n))
        .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
        .withArgs(s.alice.address, ETH, free, free + 1n);
      await expect(lock(ETH, 1n, JOB))
        .to.be.revertedWithCustomError(s.escrow, "JobAlreadyLocked")
        .withArgs(JOB);
      await expect(s.escrow.connect(s.stranger).lockForJob(JOB + 1n, s.alice.address, ETH, 1n))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, s.marketplaceRole);
    });

    it("refuses a lock that does not fit in 96 bits", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      const huge = 2n ** 96n;
      await (await s.usdc.mint(s.bob.address, huge)).wait();
      await (await s.usdc.connect(s.bob).approve(s.escrowAddress, huge)).wait();
      await (await s.escrow.connect(s.bob).deposit(s.usdcAddress, huge)).wait();
      await expect(s.escrow.connect(s.market).lockForJob(JOB, s.bob.address, s.usdcAddress, huge))
        .to.be.revertedWithCustomError(s.escrow, "SafeCastOverflowedUintDowncast")
        .withArgs(96n, huge);
      await (await s.escrow.connect(s.market).lockForJob(JOB, s.bob.address, s.usdcAddress, huge - 1n)).wait();
      expect((await s.escrow.lockOf(JOB)).payment.amount).to.equal(huge - 1n);
    });

    it("blocks new locks while paused", async () => {
      const s = await networkHelpers.loadFixture(openWithSampleBalances);
      await (await s.escrow.connect(s.admin).pause()).wait();
      await expect(s.escrow.connect(s.market).lockForJob(JOB, s.alice.address, ETH, 1n)).to.be.revertedWithCustomError(
        s.escrow,
        "EnforcedPause",
      );
    });

    it("settles: the host gets its share less the fee, the treasury the fee, the payer the rest", async () => {
      const { s, amount } = await locked();
      const hostAmount = parseUnits("61.7", 6) + 3n;
      const fee = (hostAmount * FEE_BPS) / 10_000n;
      const refunded = amount - hostAmount;
      const payerFree = await s.escrow.balanceOf(s.alice.address, s.usdcAddress);
      const hostFree = await s.escrow.balanceOf(s.host.address, s.usdcAddress);
      const totalFree = await s.escrow.totalFree(s.usdcAddress);
      await expect(s.escrow.connect(s.market).settle(JOB, s.host.address, hostAmount))
        .to.emit(s.escrow, "Settled")
        .withArgs(JOB, s.host.address, s.usdcAddress, hostAmount - fee, fee, refunded);
      expect(await s.escrow.balanceOf(s.host.address, s.usdcAddress)).to.equal(hostFree + hostAmount - fee);
      expect(await s.escrow.balanceOf(s.treasury.address, s.usdcAddress)).to.equal(fee);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(payerFree + refunded);
      expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(0n);
      expect(await s.escrow.totalFree(s.usdcAddress)).to.equal(totalFree + amount);
      expect((await s.escrow.lockOf(JOB)).payment.amount).to.equal(0n);
      await expectSolvent(s);
      await expect(s.escrow.connect(s.market).settle(JOB, s.host.address, 0n))
        .to.be.revertedWithCustomError(s.escrow, "JobNotLocked")
        .withArgs(JOB);
    });

    it("settles the whole lock to the host, or nothing (all refunded), while paused too", async () => {
      const { s, amount } = await locked();
      await (await s.escrow.connect(s.admin).pause()).wait();
      const fee = (amount * FEE_BPS) / 10_000n;
      await expect(s.escrow.connect(s.market).settle(JOB, s.host.address, amount))
        .to.emit(s.escrow, "Settled")
        .withArgs(JOB, s.host.address, s.usdcAddress, amount - fee, fee, 0n);
      await (await s.escrow.connect(s.admin).unpause()).wait();
      const payerFree = await s.escrow.balanceOf(s.alice.address, ETH);
      await (await s.escrow.connect(s.market).lockForJob(JOB + 1n, s.alice.address, ETH, 10n)).wait();
      await expect(s.escrow.connect(s.market).settle(JOB + 1n, s.host.address, 0n))
        .to.emit(s.escrow, "Settled")
        .withArgs(JOB + 1n, s.host.address, ETH, 0n, 0n, 10n);
      expect(await s.escrow.balanceOf(s.alice.address, ETH)).to.equal(payerFree);
      expect(await s.escrow.balanceOf(s.treasury.address, ETH)).to.equal(0n);
      await expectSolvent(s);
    });

    it("rejects a settlement above the lock or to the zero address", async () => {
      const { s, amount } = await locked();
      await expect(s.escrow.connect(s.market).settle(JOB, s.host.address, amount + 1n))
        .to.be.revertedWithCustomError(s.escrow, "SettlementExceedsLock")
        .withArgs(amount + 1n, amount);
      await expect(s.escrow.connect(s.market).settle(JOB, ZeroAddress, 1n)).to.be.revertedWithCustomError(
        s.escrow,
        "ZeroAddress",
      );
      await expect(s.escrow.connect(s.stranger).settle(JOB, s.host.address, 1n))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, s.marketplaceRole);
    });

    it("refunds a lock to its payer, while paused too, once", async () => {
      const { s, amount } = await locked();
      await (await s.escrow.connect(s.admin).pause()).wait();
      const payerFree = await s.escrow.balanceOf(s.alice.address, s.usdcAddress);
      await expect(s.escrow.connect(s.market).refund(JOB))
        .to.emit(s.escrow, "Refunded")
        .withArgs(JOB, s.alice.address, s.usdcAddress, amount);
      expect(await s.escrow.balanceOf(s.alice.address, s.usdcAddress)).to.equal(payerFree + amount);
      expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(0n);
      await expect(s.escrow.connect(s.market).refund(JOB))
        .to.be.revertedWithCustomError(s.escrow, "JobNotLocked")
        .withArgs(JOB);
      await expect(s.escrow.connect(s.stranger).refund(JOB))
        .to.be.revertedWithCustomError(s.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, s.marketplaceRole);
      await expectSolvent(s);
    });
  });
});

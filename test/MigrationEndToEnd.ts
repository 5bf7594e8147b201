import { expect } from "chai";
import { compareStates, finalizeExpectations, type FinalizeArguments } from "../lib/v2State.js";
import type { TestUSDC } from "../typechain-types/index.js";
import {
  expectThreeWayAgreement,
  migrateEverything,
  prepareMigration,
  readBack,
  walletOf,
  type PreparedMigration,
} from "./helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";

const { ZeroAddress: ETH, id } = ethers;

/** A realistic V1: nodes with 0 to 20 models, jobs in every status, users with ETH, USDC, dust and nothing. */
const SEED = { nodes: 60, jobs: 200, users: 60, seed: "end-to-end" };
/** Several batches of each kind (5 of nodes, 5 of history, 5 of users), none aligned with the others. */
const SIZES = { nodes: 13, jobs: 45, users: 14 };

function prepared(): Promise<PreparedMigration> {
  return prepareMigration({ ethers, upgrades: upgradesApi }, SEED);
}

interface Finalizable {
  finalizeMigration(...args: FinalizeArguments): Promise<{ wait(): Promise<unknown> }>;
}

async function finalize(contract: Finalizable, args: FinalizeArguments): Promise<void> {
  await (await contract.finalizeMigration(...args)).wait();
}

describe("Migration end to end (in-process chain)", function () {
  this.timeout(900_000);

  it("moves a seeded V1 to V2 in batches (one rolled back and redone per kind); V1, V2 on-chain and V2 read back agree", async () => {
    const p = await networkHelpers.loadFixture(prepared);
    const { state, v1, v2 } = p;
    // The pinned state is what a real V1 holds: every job finished, balances in both tokens.
    expect([state.nodes.count, state.jobs.count]).to.deep.equal([SEED.nodes, SEED.jobs]);
    expect(state.deposits.tokens).to.deep.equal([ETH, await v1.usdc.getAddress()]);
    expect(state.deposits.totals.every((total) => total > 0n)).to.equal(true);
    expect(new Set(state.jobs.records.map((job) => job.status))).to.deep.equal(new Set([3n, 4n, 5n]));

    const gas = await migrateEverything(p, { sizes: SIZES, rollBackSecondBatch: true });
    expect([gas.nodes.records, gas.jobs.records, gas.deposits.records]).to.deep.equal([
      state.nodes.count,
      state.jobs.count,
      state.deposits.count,
    ]);
    // Every stake and free balance left V1 with its record; V2 holds them, to the wei.
    expect(await v1.registry.totalStaked()).to.equal(0n);
    expect(await ethers.provider.getBalance(await v1.registry.getAddress())).to.equal(0n);
    for (const token of state.deposits.tokens) expect(await v1.escrow.totalFree(token)).to.equal(0n);
    expect(await ethers.provider.getBalance(await v2.registry.getAddress())).to.equal(state.nodes.totalStake);

    const v2State = await readBack(p);
    expectThreeWayAgreement(state, v2State);
    expect(v2State.nodes.records).to.deep.equal(state.nodes.records);
    expect(v2State.jobs.records).to.deep.equal(state.jobs.records);
    expect(v2State.deposits.records).to.deep.equal(state.deposits.records);
    expect(compareStates(state, v2State)).to.deep.equal([]);
  });

  it("finalizes all three V2 contracts with V1's expectations, after which migrated hosts and users act on V2", async () => {
    const p = await networkHelpers.loadFixture(prepared);
    const { state, v1, v2 } = p;
    await migrateEverything(p, { sizes: SIZES });
    const expected = finalizeExpectations(state, await v2.escrow.migrationTokens());
    await finalize(v2.registry, expected.registry);
    await finalize(v2.marketplace, expected.marketplace);
    await finalize(v2.escrow, expected.escrow);
    for (const contract of [v2.registry, v2.marketplace, v2.escrow]) {
      expect(await contract.migrationFinalized()).to.equal(true);
    }
    // Finalized, V2's records are still exactly V1's.
    const afterFinalize = await readBack(p);
    expectThreeWayAgreement(state, afterFinalize);
    expect(compareStates(state, afterFinalize)).to.deep.equal([]);

    // A migrated host offers a price for a model it serves and claims a new job posted by a
    // migrated renter from the renter's migrated ETH balance.
    const node = state.nodes.records.find((record) => record.active && record.models.length > 0)!;
    const host = walletOf(p, node.operator);
    const model = node.models[0]!;
    const price = 10n ** 9n;
    await expect(v2.registry.connect(host).setModelPrice(model, price))
      .to.emit(v2.registry, "ModelPriceSet")
      .withArgs(host.address, model, price);
    const deposit = state.deposits.records.find((record) => record.token === ETH && record.amount >= 10n ** 12n)!;
    const renter = walletOf(p, deposit.user);
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const jobId = BigInt(state.jobs.count) + 1n;
    await expect(v2.marketplace.connect(renter).postJob(model, id("prompt"), ETH, deposit.amount, now + 3600n))
      .to.emit(v2.marketplace, "JobPosted")
      .withArgs(jobId, renter.address, model, id("prompt"), ETH, deposit.amount, now + 3600n);
    await expect(v2.marketplace.connect(host).claimJob(jobId))
      .to.emit(v2.marketplace, "JobClaimed")
      .withArgs(jobId, host.address, price);
    const hostBefore = await v2.escrow.balanceOf(host.address, ETH);
    await (await v2.marketplace.connect(host).completeJob(jobId, id("answer"), 1_000n)).wait();
    const cost = price * 1_000n;
    const fee = (cost * (await v2.escrow.feeBps())) / 10_000n;
    expect(await v2.escrow.balanceOf(host.address, ETH)).to.equal(hostBefore + cost - fee);
    expect(await v2.escrow.balanceOf(renter.address, ETH)).to.equal(deposit.amount - cost);

    // A migrated user withdraws the USDC balance it held in V1.
    const usdc: TestUSDC = v1.usdc;
    const held = state.deposits.records.find((record) => record.token !== ETH)!;
    const user = walletOf(p, held.user);
    const walletBefore = await usdc.balanceOf(user.address);
    await expect(v2.escrow.connect(user).withdraw(held.token, held.amount))
      .to.emit(v2.escrow, "Withdrawn")
      .withArgs(user.address, held.token, held.amount);
    expect(await usdc.balanceOf(user.address)).to.equal(walletBefore + held.amount);
    expect(await v2.escrow.balanceOf(user.address, held.token)).to.equal(0n);
  });

  it("a tampered history record: the three-way check names the job, finalize with V1's expectations reverts", async () => {
    const p = await networkHelpers.loadFixture(prepared);
    const { state, v2 } = p;
    // The operator imports a different record for job 17 (a bug, or a hand-edited file).
    const original = state.jobs.records[16]!;
    const tampered = { ...original, amount: original.amount + 1n };
    const history = state.jobs.records.map((record) => (record.jobId === original.jobId ? tampered : record));
    await migrateEverything(p, { sizes: SIZES, jobs: history });

    const v2State = await readBack(p);
    // V2 agrees with itself (it folded what it was sent); V1 disagrees with both.
    expect(v2State.jobs.commitment).to.equal(v2State.jobs.onChain.commitment);
    expect(v2State.jobs.commitment).to.not.equal(state.jobs.commitment);
    expect(v2State.jobs.records[16]).to.deep.equal(tampered);
    expect(compareStates(state, v2State)).to.deep.equal([
      {
        kind: "jobs",
        rule: "commitment",
        message: `V1's jobs commitment ${state.jobs.commitment} differs from V2's on-chain ${v2State.jobs.onChain.commitment}.`,
      },
      { kind: "jobs", rule: "record", message: "job 17 differs between V1 and V2 in amount.", jobId: 17n },
    ]);

    const expected = finalizeExpectations(state, await v2.escrow.migrationTokens());
    await expect(v2.marketplace.finalizeMigration(...expected.marketplace))
      .to.be.revertedWithCustomError(v2.marketplace, "CommitmentMismatch")
      .withArgs(state.jobs.commitment, v2State.jobs.onChain.commitment);
    expect(await v2.marketplace.migrationFinalized()).to.equal(false);

    // Before finalize the operator can still repair it: roll history back past job 17 and re-import.
    while ((await v2.marketplace.migratedCount()) >= original.jobId)
      await (await v2.marketplace.returnLastBatch()).wait();
    const cursor = Number(await v2.marketplace.migratedCount());
    await (await v2.marketplace.importHistoricalJobs(cursor, state.jobs.records.slice(cursor))).wait();
    const repaired = await readBack(p);
    expectThreeWayAgreement(state, repaired);
    expect(compareStates(state, repaired)).to.deep.equal([]);
    await finalize(v2.marketplace, expected.marketplace);
    expect(await v2.marketplace.migrationFinalized()).to.equal(true);
  });
});

import { expect } from "chai";
import { expectedCounts, planSeed, validateSeedOptions } from "../lib/fixtures/plan.js";
import { seedV1 } from "../lib/fixtures/seed.js";
import { ethers, networkHelpers, v1Stack } from "./helpers/fixtures.js";

const LIMITS = { minimumStake: 10n ** 16n, maxModels: 32 };

describe("fixtures: the seed plan", () => {
  it("is the same for the same seed and differs for another", () => {
    const options = { nodes: 30, jobs: 300, users: 30, seed: "7" };
    expect(planSeed(options, LIMITS)).to.deep.equal(planSeed(options, LIMITS));
    expect(planSeed({ ...options, seed: "8" }, LIMITS).nodes[0]!.peerId).to.not.equal(
      planSeed(options, LIMITS).nodes[0]!.peerId,
    );
  });

  it("covers every job status in both tokens, 0 to 20 models, empty and unicode regions, zero and dust balances", () => {
    const plan = planSeed({ nodes: 200, jobs: 2000, users: 200, seed: "1" }, LIMITS);
    const counts = expectedCounts(plan);
    for (const count of Object.values(counts.byStatus)) expect(count).to.be.greaterThan(0);
    for (const token of ["ETH", "USDC"]) expect(plan.jobs.some((job) => job.token === token)).to.equal(true);
    const modelCounts = plan.nodes.map((node) => node.models.length);
    expect(Math.min(...modelCounts)).to.equal(0);
    expect(Math.max(...modelCounts)).to.equal(20);
    expect(plan.nodes.some((node) => node.region === "")).to.equal(true);
    expect(plan.nodes.some((node) => /[^\x00-\x7f]/.test(node.region))).to.equal(true);
    expect(plan.nodes.some((node) => node.peerId.length > 100)).to.equal(true);
    for (const amount of [0n, 1n]) {
      expect(plan.users.some((user) => user.freeEth === amount)).to.equal(true);
      expect(plan.users.some((user) => user.freeUsdc === amount)).to.equal(true);
    }
  });

  it("gives claimed work only to nodes that serve the job's model", () => {
    const plan = planSeed({ nodes: 50, jobs: 1000, users: 10, seed: "3" }, LIMITS);
    for (const job of plan.jobs.filter((j) => j.host !== undefined)) {
      expect(plan.nodes[job.host!]!.models).to.include(job.modelId);
    }
  });

  it("funds every renter's jobs from its own deposits", () => {
    const plan = planSeed({ nodes: 10, jobs: 500, users: 7, seed: "4" }, LIMITS);
    plan.users.forEach((user, index) => {
      const jobs = plan.jobs.filter((job) => job.renter === index);
      const eth = jobs.filter((job) => job.token === "ETH").reduce((sum, job) => sum + job.maxPrice, 0n);
      const usdc = jobs.filter((job) => job.token === "USDC").reduce((sum, job) => sum + job.maxPrice, 0n);
      expect(user.depositEth >= eth && user.depositUsdc >= usdc).to.equal(true);
    });
  });

  it("refuses sizes it cannot seed, saying which option to change", () => {
    expect(() => validateSeedOptions({ nodes: -1, jobs: 0, users: 0, seed: "1" })).to.throw(
      "--nodes must be an integer",
    );
    expect(() => validateSeedOptions({ nodes: 1, jobs: 5, users: 0, seed: "1" })).to.throw("give --users 1 or more");
  });
});

describe("fixtures: seeding a V1 stack", () => {
  it("leaves the contracts reporting exactly what the plan holds", async () => {
    const fixture = await networkHelpers.loadFixture(v1Stack);
    const plan = planSeed(
      { nodes: 12, jobs: 120, users: 9, seed: "mocha" },
      {
        minimumStake: await fixture.registry.minimumStake(),
        maxModels: Number(await fixture.registry.MAX_MODELS()),
      },
    );
    const firstBlock = await ethers.provider.getBlockNumber();
    const summary = await seedV1(
      { provider: ethers.provider, funder: fixture.signers[0]!, stack: fixture, devChain: true },
      plan,
    );
    expect(summary.mismatches).to.deep.equal([]);
    // A development chain gets each round's transactions in a block or two, not a block per
    // transaction (over 300 here), and mines on every transaction again afterwards.
    expect((await ethers.provider.getBlockNumber()) - firstBlock).to.be.lessThan(100);
    expect(await ethers.provider.send("hardhat_getAutomine", [])).to.equal(true);
    const counts = expectedCounts(plan);
    expect(await fixture.marketplace.jobCount()).to.equal(BigInt(counts.jobs));
    expect(await fixture.registry.nodeCount()).to.equal(BigInt(counts.nodes));
    expect(await fixture.marketplace.countByStatus(5)).to.equal(BigInt(counts.byStatus.Expired));
    // Solvency holds after a realistic history: the escrow holds exactly what it owes.
    const eth =
      (await fixture.escrow.totalFree(ethers.ZeroAddress)) + (await fixture.escrow.totalLocked(ethers.ZeroAddress));
    expect(await ethers.provider.getBalance(await fixture.escrow.getAddress())).to.equal(eth);
    expect(await ethers.provider.getBalance(await fixture.registry.getAddress())).to.equal(
      await fixture.registry.totalStaked(),
    );
  });

  it("refuses to seed the same seed twice on one chain", async () => {
    const fixture = await networkHelpers.loadFixture(v1Stack);
    const plan = planSeed({ nodes: 2, jobs: 0, users: 0, seed: "twice" }, { minimumStake: 10n ** 16n, maxModels: 32 });
    const ctx = { provider: ethers.provider, funder: fixture.signers[0]!, stack: fixture, devChain: true };
    await seedV1(ctx, plan);
    const error = await seedV1(ctx, plan).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).to.contain('Seed "twice" is already seeded on this chain');
  });
});

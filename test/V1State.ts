import { expect } from "chai";
import { AbiCoder } from "ethers";
import {
  MarketplaceNotDrainedError,
  commitmentOf,
  depositLeaf,
  jobLeaf,
  jobRecordFromV1,
  modelId,
  nodeLeaf,
  nodeRecordFromV1,
} from "../lib/commitment.js";
import { planSeed } from "../lib/fixtures/plan.js";
import { seedV1 } from "../lib/fixtures/seed.js";
import { V1StateError, readV1State, type V1ReadProgress, type V1State } from "../lib/v1State.js";
import type { CommitmentHarness, NodeRegistryV1 } from "../typechain-types/index.js";
import { ethers, networkHelpers, v1Stack } from "./helpers/fixtures.js";

const ETH = ethers.ZeroAddress;

/** V1 seeded with realistic state whose jobs have all finished: the marketplace has drained. */
async function drainedV1() {
  const fixture = await networkHelpers.loadFixture(v1Stack);
  const limits = {
    minimumStake: await fixture.registry.minimumStake(),
    maxModels: Number(await fixture.registry.MAX_MODELS()),
  };
  const plan = planSeed({ nodes: 7, jobs: 36, users: 5, seed: "v1-state" }, limits);
  for (const job of plan.jobs) {
    if (job.status === "Posted") job.status = "Cancelled";
    if (job.status === "Claimed") job.status = "Completed";
  }
  const [admin] = fixture.signers;
  const summary = await seedV1({ provider: ethers.provider, funder: admin!, stack: fixture, devChain: true }, plan);
  expect(summary.mismatches).to.deep.equal([]);
  const block = await ethers.provider.getBlockNumber();
  return { ...fixture, block };
}

/** The error `promise` rejects with; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

/** Asserts that `promise` rejects with an instance of `type` whose message includes `message`. */
async function expectRejection(promise: Promise<unknown>, type: new (...args: never[]) => Error, message: string) {
  const error = await rejectionOf(promise);
  expect(error).to.be.instanceOf(type);
  expect(error.message).to.include(message);
}

/** A read without its call count, which depends on the page size. */
function withoutCalls(state: V1State): Omit<V1State, "calls"> {
  const { calls: _calls, ...rest } = state;
  return rest;
}

describe("readV1State", () => {
  it("reads every node, finished job and free balance at the block, as V1's single getters report them", async () => {
    const { registry, marketplace, escrow, usdc, block } = await networkHelpers.loadFixture(drainedV1);
    const state = await readV1State({ registry, marketplace, escrow }, { blockTag: block });
    expect(state.blockNumber).to.equal(block);
    expect(state.blockHash).to.equal((await ethers.provider.getBlock(block))!.hash);

    const operators = state.nodes.records.map((record) => record.operator);
    expect(state.nodes.count).to.equal(Number(await registry.nodeCount()));
    for (const [i, operator] of operators.entries()) {
      const node = await registry.getNode(operator);
      expect(state.nodes.records[i]).to.deep.equal(nodeRecordFromV1(node, await registry.reputationOf(operator)));
      for (const name of node.models) expect(state.modelNames).to.include(name);
    }
    expect(state.nodes.totalStake).to.equal(await registry.totalStaked());
    expect(state.nodes.records.some((record) => record.models.length > 0)).to.equal(true);

    expect(state.jobs.count).to.equal(Number(await marketplace.jobCount()));
    for (const record of state.jobs.records) {
      expect(record).to.deep.equal(jobRecordFromV1(await marketplace.getJob(record.jobId), record.jobId));
    }
    // Every finished status is there: Completed, Cancelled, Expired.
    expect(new Set(state.jobs.records.map((record) => record.status))).to.deep.equal(new Set([3n, 4n, 5n]));
    expect(state.jobs.records.map((record) => record.jobId)).to.deep.equal(
      state.jobs.records.map((_, i) => BigInt(i + 1)),
    );

    const tokens = [ETH, await usdc.getAddress()];
    expect(state.deposits.tokens).to.deep.equal(tokens);
    const expected = [];
    for (const user of await escrow.getUsersPage(0, 1000)) {
      for (const token of tokens) {
        const amount = await escrow.balanceOf(user, token);
        if (amount !== 0n) expected.push({ user, token, amount });
      }
    }
    expect(state.deposits.records).to.deep.equal(expected);
    expect(state.deposits.count).to.equal(expected.length);
    expect(state.deposits.totals).to.deep.equal([await escrow.totalFree(ETH), await escrow.totalFree(tokens[1]!)]);
  });

  it("commits to exactly the records it returns, as the Solidity fold does", async () => {
    const { registry, marketplace, escrow, block } = await networkHelpers.loadFixture(drainedV1);
    const state = await readV1State({ registry, marketplace, escrow }, { blockTag: block });
    const harness = (await ethers.deployContract("CommitmentHarness")) as unknown as CommitmentHarness;
    const empty = await harness.empty();

    expect(state.nodes.commitment).to.equal(commitmentOf(state.nodes.records.map(nodeLeaf)));
    expect(state.jobs.commitment).to.equal(commitmentOf(state.jobs.records.map(jobLeaf)));
    expect(state.deposits.commitment).to.equal(commitmentOf(state.deposits.records.map(depositLeaf)));
    expect(state.nodes.commitment).to.equal((await harness.nodeLeaves(empty, state.nodes.records)).commitment);
    expect(state.jobs.commitment).to.equal((await harness.jobLeaves(empty, state.jobs.records)).commitment);
    expect(state.deposits.commitment).to.equal((await harness.depositLeaves(empty, state.deposits.records)).commitment);
    expect(state.nodes.commitment).to.not.equal(empty);
  });

  it("returns the same state for the pinned block after V1 changes, and refuses the later block with an open job", async () => {
    const { registry, marketplace, escrow, signers, block } = await networkHelpers.loadFixture(drainedV1);
    const contracts = { registry, marketplace, escrow };
    const before = await readV1State(contracts, { blockTag: block });

    // After the block: a new node, a new deposit and a job that is still open.
    const [newHost, renter] = signers.slice(-2);
    const minimumStake = await registry.minimumStake();
    await registry.connect(newHost!).registerNode("12D3KooW-late", ["late-model"], "eu", { value: minimumStake });
    await escrow.connect(renter!).deposit(ETH, 10n ** 17n, { value: 10n ** 17n });
    const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3600n;
    await marketplace.connect(renter!).postJob("late-model", ethers.id("input"), 10n ** 16n, deadline, ETH);
    const jobId = await marketplace.jobCount();

    const again = await readV1State(contracts, { blockTag: block });
    expect(again).to.deep.equal(before);
    expect(again.nodes.records.map((record) => record.operator)).to.not.include(newHost!.address);

    const latest = readV1State(contracts, { blockTag: "latest" });
    await expectRejection(
      latest,
      MarketplaceNotDrainedError,
      `Job ${jobId} is Posted: the marketplace must drain first`,
    );
  });

  it("reads the same records whatever the page size, in few calls", async () => {
    const { registry, marketplace, escrow, block } = await networkHelpers.loadFixture(drainedV1);
    const contracts = { registry, marketplace, escrow };
    const whole = await readV1State(contracts, { blockTag: block });
    for (const pageSize of [1, 3, 10_000]) {
      expect(withoutCalls(await readV1State(contracts, { blockTag: block, pageSize }))).to.deep.equal(
        withoutCalls(whole),
      );
    }
    // One page per kind, one balancesOf per user, one totalFree per token, and five counts and totals.
    const users = Number(await escrow.userCount({ blockTag: block }));
    expect(whole.calls).to.equal(3 + 5 + users + whole.deposits.tokens.length);
  });

  it("reports progress per phase, ending at each phase's total", async () => {
    const { registry, marketplace, escrow, block } = await networkHelpers.loadFixture(drainedV1);
    const events: V1ReadProgress[] = [];
    const state = await readV1State(
      { registry, marketplace, escrow },
      { blockTag: block, pageSize: 4, onProgress: (progress) => events.push(progress) },
    );
    const last = (phase: string) => events.filter((event) => event.phase === phase).at(-1);
    expect(last("nodes")).to.deep.equal({ phase: "nodes", done: state.nodes.count, total: state.nodes.count });
    expect(last("jobs")).to.deep.equal({ phase: "jobs", done: state.jobs.count, total: state.jobs.count });
    const users = Number(await escrow.userCount());
    expect(last("users")).to.deep.equal({ phase: "users", done: users, total: users });
    expect(last("deposits")).to.deep.equal({ phase: "deposits", done: users, total: users });
    expect(events.filter((event) => event.phase === "jobs").length).to.equal(Math.ceil(state.jobs.count / 4));
  });

  it("splits a page whose call fails (an RPC's gas cap) and names the entry that cannot be read", async () => {
    const { registry, marketplace, escrow, block } = await networkHelpers.loadFixture(drainedV1);
    const capped = (largest: number) =>
      new Proxy(registry, {
        get(target, property) {
          if (property !== "getNodesPage") return Reflect.get(target, property);
          return (offset: bigint, limit: bigint, overrides: object) =>
            Number(limit) > largest
              ? Promise.reject(new Error("out of gas: gas required exceeds allowance"))
              : target.getNodesPage(offset, limit, overrides);
        },
      }) as NodeRegistryV1;
    const whole = await readV1State({ registry, marketplace, escrow }, { blockTag: block });
    const split = await readV1State({ registry: capped(2), marketplace, escrow }, { blockTag: block });
    expect(split.nodes).to.deep.equal(whole.nodes);
    expect(split.calls).to.be.greaterThan(whole.calls);

    await expectRejection(
      readV1State({ registry: capped(0), marketplace, escrow }, { blockTag: block }),
      V1StateError,
      "Reading nodes entry 0 failed: out of gas",
    );
  });

  it("refuses, naming the entry, a node whose peer id is not UTF-8 (V1 stores any bytes)", async () => {
    const { registry, marketplace, escrow, signers, block } = await networkHelpers.loadFixture(drainedV1);
    const nodes = Number(await registry.nodeCount());
    // `bytes` and `string` share one ABI encoding: the registry's own selector with raw bytes.
    const selector = registry.interface.getFunction("registerNode").selector;
    const args = AbiCoder.defaultAbiCoder().encode(["bytes", "string[]", "string"], ["0x41ff42", ["m"], "eu"]);
    const host = signers.at(-3)!;
    const value = await registry.minimumStake();
    await host.sendTransaction({ to: await registry.getAddress(), data: selector + args.slice(2), value });
    expect(await registry.nodeCount()).to.equal(BigInt(nodes + 1));

    await expectRejection(
      readV1State({ registry, marketplace, escrow }, { blockTag: "latest" }),
      V1StateError,
      `Reading nodes entry ${nodes} failed: deferred error during ABI decoding triggered accessing property "peerId"`,
    );
    // The block before it still reads.
    expect((await readV1State({ registry, marketplace, escrow }, { blockTag: block })).nodes.count).to.equal(nodes);
  });

  it("refuses a page size out of range and a block the chain does not have", async () => {
    const { registry, marketplace, escrow } = await networkHelpers.loadFixture(drainedV1);
    const contracts = { registry, marketplace, escrow };
    for (const pageSize of [0, 1.5, 10_001]) {
      await expectRejection(
        readV1State(contracts, { blockTag: "latest", pageSize }),
        RangeError,
        "pageSize must be an integer from 1 to 10000",
      );
    }
    await expectRejection(
      readV1State(contracts, { blockTag: "latest", concurrency: 0 }),
      RangeError,
      "concurrency must be a positive integer",
    );
    const future = (await ethers.provider.getBlockNumber()) + 1000;
    await expectRejection(readV1State(contracts, { blockTag: future }), Error, `no block ${future}`);
  });

  it("carries model names as ids in node records", async () => {
    const { registry, marketplace, escrow, block } = await networkHelpers.loadFixture(drainedV1);
    const state = await readV1State({ registry, marketplace, escrow }, { blockTag: block });
    const record = state.nodes.records.find((node) => node.models.length > 0)!;
    const names = (await registry.getNode(record.operator)).models;
    expect(record.models).to.deep.equal(names.map(modelId));
  });
});

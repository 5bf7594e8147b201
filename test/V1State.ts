import { expect } from "chai";
import { AbiCoder, BrowserProvider, Network, toQuantity } from "ethers";
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
import { MULTICALL3_ADDRESS, Multicall3MissingError, ensureMulticall3, multicall3Interface } from "../lib/multicall.js";
import {
  V1StateError,
  readV1State,
  streamV1Records,
  type V1Contracts,
  type V1ReadProgress,
  type V1RecordPage,
  type V1State,
} from "../lib/v1State.js";
import type { CommitmentHarness, JobMarketplaceV1, NodeRegistryV1, PaymentEscrowV1 } from "../typechain-types/index.js";
import { connection, ethers, networkHelpers, v1Stack } from "./helpers/fixtures.js";
import { expectRejection, rejectionOf } from "./helpers/rejections.js";

const ETH = ethers.ZeroAddress;
const ORDER = ["node", "job", "deposit"];

/** V1 seeded with realistic state whose jobs have all finished: the marketplace has drained. */
async function seededV1() {
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

/** The same, with Multicall3 installed before the block is pinned (as an operator on a dev chain does). */
async function drainedV1() {
  const fixture = await seededV1();
  expect(await ensureMulticall3(ethers.provider, { devChain: true })).to.equal("installed");
  await networkHelpers.mine();
  return { ...fixture, block: await ethers.provider.getBlockNumber() };
}

/** Node entries, job entries and escrow users at the block: what the round-trip bound counts. */
async function entryCounts(contracts: V1Contracts, block: number) {
  const at = { blockTag: block };
  const nodes = Number(await contracts.registry.nodeCount(at));
  const jobs = Number(await contracts.marketplace.jobCount(at));
  const users = Number(await contracts.escrow.userCount(at));
  return { nodes, jobs, users, records: nodes + jobs + users };
}

interface RpcRequest {
  method: string;
  params: unknown[];
  /** An eth_call's calldata. */
  data?: string;
}

/**
 * An ethers provider over the in-process chain that records every JSON-RPC request it sends
 * (with a static network and no cache, so nothing is hidden or added), and refuses those for
 * which `refuse` returns a reason, as a node with a gas or response cap does.
 */
function countingProvider(refuse?: (method: string, params: unknown[]) => string | undefined) {
  const requests: RpcRequest[] = [];
  const eip1193 = {
    request: async ({ method, params = [] }: { method: string; params?: unknown[] }) => {
      const data = method === "eth_call" ? (params[0] as { data: string }).data : undefined;
      requests.push({ method, params, data });
      const reason = refuse?.(method, params);
      if (reason !== undefined) throw Object.assign(new Error(reason), { code: -32000 });
      return connection.provider.request({ method, params });
    },
  };
  const network = Network.from(31337);
  const provider = new BrowserProvider(eip1193, network, { staticNetwork: network, cacheTimeout: -1 });
  return {
    requests,
    contracts: (stack: V1Contracts): V1Contracts => ({
      registry: stack.registry.connect(provider) as NodeRegistryV1,
      marketplace: stack.marketplace.connect(provider) as JobMarketplaceV1,
      escrow: stack.escrow.connect(provider) as PaymentEscrowV1,
    }),
  };
}

const NODES_PAGE = ethers.id("getNodesPage(uint256,uint256)").slice(0, 10);
const JOBS_PAGE = ethers.id("getJobsPage(uint256,uint256)").slice(0, 10);
const BALANCES_OF = ethers.id("balancesOf(address)").slice(0, 10);
/** Entries an aggregate3 round trip reads: page limits plus one per balancesOf. */
function entriesIn(data: string): number {
  const [calls] = multicall3Interface.decodeFunctionData("aggregate3", data);
  let entries = 0;
  for (const [, , callData] of calls as [string, boolean, string][]) {
    const selector = callData.slice(0, 10);
    if (selector === NODES_PAGE || selector === JOBS_PAGE) {
      entries += Number(AbiCoder.defaultAbiCoder().decode(["uint256", "uint256"], `0x${callData.slice(10)}`)[1]);
    }
    if (selector === BALANCES_OF) entries += 1;
  }
  return entries;
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

  it("reads the same records whatever the page size, with or without Multicall3", async () => {
    const { registry, marketplace, escrow, block } = await networkHelpers.loadFixture(drainedV1);
    const contracts = { registry, marketplace, escrow };
    const whole = await readV1State(contracts, { blockTag: block });
    for (const pageSize of [1, 3, 10_000]) {
      expect(withoutCalls(await readV1State(contracts, { blockTag: block, pageSize }))).to.deep.equal(
        withoutCalls(whole),
      );
    }
    for (const multicall of [false, true]) {
      expect(withoutCalls(await readV1State(contracts, { blockTag: block, multicall }))).to.deep.equal(
        withoutCalls(whole),
      );
    }
  });

  it("reads through Multicall3 by default, call by call where it has no code, and refuses when it is required", async () => {
    const { registry, marketplace, escrow, block } = await networkHelpers.loadFixture(drainedV1);
    const contracts = { registry, marketplace, escrow };
    const users = Number(await escrow.userCount());
    // Multicall3: the block, the counts, one round trip with every page, one with every balance.
    expect((await readV1State(contracts, { blockTag: block })).calls).to.equal(4);
    // Call by call: the block, five counts, one call per page, balance and token total.
    const direct = 1 + 5 + 3 + users + 2;
    expect((await readV1State(contracts, { blockTag: block, multicall: false })).calls).to.equal(direct);

    // The same V1 on a chain without Multicall3: one aggregate3 finds no code, then call by call.
    await ethers.provider.send("hardhat_setCode", [MULTICALL3_ADDRESS, "0x"]);
    await networkHelpers.mine();
    const bare = await ethers.provider.getBlockNumber();
    expect((await readV1State(contracts, { blockTag: bare })).calls).to.equal(direct + 1);
    await expectRejection(
      readV1State(contracts, { blockTag: bare, multicall: true }),
      Multicall3MissingError,
      `Multicall3 has no code at ${MULTICALL3_ADDRESS} at block ${bare}. On a development chain, call ensureMulticall3`,
    );
  });

  it("reads in at most ceil(entries / pageSize) + 3 JSON-RPC round trips, every call at the pinned block", async () => {
    const fixture = await networkHelpers.loadFixture(drainedV1);
    const { records } = await entryCounts(fixture, fixture.block);
    for (const pageSize of [200, 7, 4, 1]) {
      const rpc = countingProvider();
      const state = await readV1State(rpc.contracts(fixture), { blockTag: fixture.block, pageSize });
      expect(withoutCalls(state)).to.deep.equal(withoutCalls(await readV1State(fixture, { blockTag: fixture.block })));
      expect(rpc.requests.length, `pageSize ${pageSize}`).to.equal(state.calls);
      expect(state.calls, `pageSize ${pageSize}`).to.be.at.most(Math.ceil(records / pageSize) + 3);
      expect(rpc.requests[0]!.method).to.equal("eth_getBlockByNumber");
      for (const request of rpc.requests.slice(1)) {
        expect(request.method).to.equal("eth_call");
        expect(request.params[1]).to.equal(toQuantity(fixture.block));
        expect((request.params[0] as { to: string }).to.toLowerCase()).to.equal(MULTICALL3_ADDRESS.toLowerCase());
      }
    }
  });

  it("reads 500 fixed-size entries or 200 nodes per round trip by default, mixing them in that proportion", async () => {
    const fixture = await networkHelpers.loadFixture(drainedV1);
    const { nodes, jobs, users } = await entryCounts(fixture, fixture.block);
    const nodeEntries = (data: string) => {
      const [calls] = multicall3Interface.decodeFunctionData("aggregate3", data);
      const page = (calls as [string, boolean, string][]).find(([, , callData]) => callData.startsWith(NODES_PAGE));
      return page === undefined
        ? 0
        : Number(AbiCoder.defaultAbiCoder().decode(["uint256", "uint256"], `0x${page[2].slice(10)}`)[1]);
    };
    for (const sizes of [{}, { pageSize: 10 }, { pageSize: 10, nodePageSize: 4 }, { pageSize: 5, nodePageSize: 2 }]) {
      const pageSize = sizes.pageSize ?? 500;
      const nodePageSize = sizes.nodePageSize ?? Math.min(200, pageSize);
      const rpc = countingProvider();
      const state = await readV1State(rpc.contracts(fixture), { blockTag: fixture.block, ...sizes });
      expect(withoutCalls(state)).to.deep.equal(withoutCalls(await readV1State(fixture, { blockTag: fixture.block })));
      const label = JSON.stringify(sizes);
      expect(state.calls, label).to.be.at.most(Math.ceil(nodes / nodePageSize + (jobs + users) / pageSize) + 3);
      for (const request of rpc.requests.filter((r) => r.method === "eth_call").slice(1)) {
        // A node takes pageSize / nodePageSize of the room; jobs and balances one entry each.
        const nodesIn = nodeEntries(request.data!);
        const others = entriesIn(request.data!) - nodesIn;
        expect(nodesIn, label).to.be.at.most(nodePageSize);
        expect(nodesIn * (pageSize / nodePageSize) + others, label).to.be.at.most(pageSize + 1e-9);
      }
    }
  });

  it("streams records page by page in migration order with running commitments, reading only as it is consumed", async () => {
    const fixture = await networkHelpers.loadFixture(drainedV1);
    const whole = await readV1State(fixture, { blockTag: fixture.block });
    const rpc = countingProvider();
    const stream = streamV1Records(rpc.contracts(fixture), { blockTag: fixture.block, pageSize: 4 });
    const pages: V1RecordPage[] = [];
    let next = await stream.next();
    // The first page costs the block, the counts and one round trip: nothing is read ahead.
    expect(rpc.requests.length).to.equal(3);
    while (next.done !== true) {
      pages.push(next.value);
      next = await stream.next();
    }
    const summary = next.value;

    const kinds = pages.map((page) => page.kind);
    expect(kinds).to.deep.equal([...kinds].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)));
    const of = <K extends V1RecordPage["kind"]>(kind: K) =>
      pages.filter((page): page is Extract<V1RecordPage, { kind: K }> => page.kind === kind);
    for (const [kind, set, leaf] of [
      ["node", whole.nodes, nodeLeaf],
      ["job", whole.jobs, jobLeaf],
      ["deposit", whole.deposits, depositLeaf],
    ] as const) {
      const streamed: unknown[] = [];
      for (const page of of(kind)) {
        expect(page.records.length).to.be.greaterThan(0);
        // Nodes and jobs come at most a round trip's worth at a time; a user holds up to two deposits.
        expect(page.records.length).to.be.at.most(kind === "deposit" ? 8 : 4);
        streamed.push(...page.records);
        expect(page.count).to.equal(streamed.length);
        expect(page.commitment).to.equal(commitmentOf((streamed as never[]).map((record) => leaf(record))));
      }
      expect(streamed).to.deep.equal(set.records);
    }
    expect(summary).to.deep.equal({
      blockNumber: whole.blockNumber,
      blockHash: whole.blockHash,
      nodes: { count: whole.nodes.count, commitment: whole.nodes.commitment, totalStake: whole.nodes.totalStake },
      jobs: { count: whole.jobs.count, commitment: whole.jobs.commitment },
      deposits: {
        count: whole.deposits.count,
        commitment: whole.deposits.commitment,
        tokens: whole.deposits.tokens,
        totals: whole.deposits.totals,
      },
      modelNames: whole.modelNames,
      calls: rpc.requests.length,
      multicall: true,
    });
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
    for (const phase of ["nodes", "jobs", "users", "deposits"]) {
      const done = events.filter((event) => event.phase === phase).map((event) => event.done);
      expect(done).to.deep.equal([...done].sort((a, b) => a - b));
      expect(new Set(done).size).to.equal(done.length);
    }
  });

  it("halves a round trip the node refuses (an RPC's gas cap) and names the entry that cannot be read", async () => {
    const fixture = await networkHelpers.loadFixture(drainedV1);
    const whole = await readV1State(fixture, { blockTag: fixture.block });
    // A node that refuses any eth_call reading more than `cap` entries, as a gas cap would.
    const capped = (cap: number) =>
      countingProvider((method, params) => {
        if (method !== "eth_call") return undefined;
        const weight = entriesIn((params[0] as { data: string }).data);
        return weight > cap ? `out of gas: gas required exceeds allowance (${weight} entries)` : undefined;
      });
    const rpc = capped(3);
    const split = await readV1State(rpc.contracts(fixture), { blockTag: fixture.block });
    expect(withoutCalls(split)).to.deep.equal(withoutCalls(whole));
    // Eight refusals halve 500 entries to 2; after each 8 successes it tries 4 again, refused 2 more times.
    const refused = rpc.requests.filter((request) => request.method === "eth_call" && entriesIn(request.data!) > 3);
    expect(refused.length).to.equal(10);
    expect(split.calls).to.equal(rpc.requests.length);

    await expectRejection(
      readV1State(capped(0).contracts(fixture), { blockTag: fixture.block }),
      V1StateError,
      "Reading nodes entry 0 failed: ",
    );
    const error = await rejectionOf(readV1State(capped(0).contracts(fixture), { blockTag: fixture.block }));
    expect(error.message).to.include("out of gas: gas required exceeds allowance (1 entries)");
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
      await expectRejection(
        readV1State(contracts, { blockTag: "latest", nodePageSize: pageSize }),
        RangeError,
        `nodePageSize must be an integer from 1 to 10000 (got ${pageSize})`,
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

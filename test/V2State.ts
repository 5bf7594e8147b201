import { expect } from "chai";
import { Wallet } from "ethers";
import type { V1Stack } from "../deploy/v1.js";
import { RecordError, jobRecordFromV2Event, nodeRecordFromV2, type JobRecord } from "../lib/commitment.js";
import type { SeedPlan } from "../lib/fixtures/plan.js";
import {
  V2StateError,
  compareStates,
  finalizeExpectations,
  readV2State,
  type V2ReadProgress,
  type V2State,
} from "../lib/v2State.js";
import type { JobMarketplaceV2 } from "../typechain-types/index.js";
import {
  depositsIn,
  expectThreeWayAgreement,
  migrateEverything,
  prepareMigration,
  readBack,
  walletOf,
  type PreparedMigration,
} from "./helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import { rejectionOf } from "./helpers/rejections.js";

const { ZeroAddress: ETH, id } = ethers;
const SEED = { nodes: 8, jobs: 30, users: 8, seed: "v2-state" };
const SIZES = { nodes: 3, jobs: 10, users: 3 };

function small(): Promise<PreparedMigration> {
  return prepareMigration({ ethers, upgrades: upgradesApi }, SEED);
}

/** The operator of the first completed job's host leaves V1 (withdraws its stake) before the freeze. */
async function hostLeaves(v1: V1Stack, plan: SeedPlan): Promise<void> {
  const count = await v1.marketplace.jobCount();
  const jobs = await v1.marketplace.getJobsPage(0n, count);
  const host = jobs.find((job) => job.status === 3n)!.assignedHost;
  const key = plan.nodes.find((node) => new Wallet(node.privateKey).address === host)!.privateKey;
  const leaver = new Wallet(key, ethers.provider);
  const registry = v1.registry.connect(leaver);
  if ((await registry.getNode(host)).unstakeRequestedAt === 0n) await (await registry.requestUnstake()).wait();
  await networkHelpers.time.increase((await v1.registry.unstakeCooldown()) + 1n);
  await (await registry.withdrawStake()).wait();
}

function withHostGone(): Promise<PreparedMigration> {
  return prepareMigration({ ethers, upgrades: upgradesApi }, { ...SEED, seed: "v2-state-host-gone" }, hostLeaves);
}

/** A read without its call and log-query counts, which depend on page and range sizes. */
function withoutCounters(state: V2State): Omit<V2State, "calls" | "logQueries"> {
  const { calls: _calls, logQueries: _logQueries, ...rest } = state;
  return rest;
}

/** `marketplace` as seen through a node whose `eth_getLogs` answers are changed by `filter`. */
function throughNode(
  marketplace: JobMarketplaceV2,
  query: (from: number, to: number, real: () => Promise<unknown[]>) => Promise<unknown[]>,
): JobMarketplaceV2 {
  return new Proxy(marketplace, {
    get(target, property) {
      if (property !== "queryFilter") return Reflect.get(target, property, target) as unknown;
      return (event: never, from: number, to: number) => query(from, to, () => target.queryFilter(event, from, to));
    },
  });
}

describe("readV2State", function () {
  this.timeout(300_000);

  it("reads V2 at a pinned block: later batches, rollbacks and re-imports do not change that read", async () => {
    const p = await networkHelpers.loadFixture(small);
    const { v1_1, v2, state } = p;
    await (await v1_1.registry.migrateNodes(0, state.nodes.records)).wait();
    await (await v2.marketplace.importHistoricalJobs(0, state.jobs.records.slice(0, 10))).wait();
    await (await v2.marketplace.importHistoricalJobs(10, state.jobs.records.slice(10, 16))).wait();
    const sent = depositsIn(p, await (await v1_1.escrow.migrateDeposits(0, 4)).wait());
    const pinned = await ethers.provider.getBlockNumber();
    const first = await readV2State(v2, { blockTag: pinned, fromBlock: p.v2FromBlock });

    // What was imported by then, in V1's order, and nothing more.
    expect(first.blockNumber).to.equal(pinned);
    expect(first.nodes.records).to.deep.equal(state.nodes.records);
    expect(first.jobs.records).to.deep.equal(state.jobs.records.slice(0, 16));
    expect(first.deposits.records).to.deep.equal(state.deposits.records.slice(0, sent.length));
    for (const kind of ["nodes", "jobs", "deposits"] as const) {
      expect(first[kind].commitment).to.equal(first[kind].onChain.commitment);
      expect(first[kind].count).to.equal(first[kind].onChain.count);
      expect(first[kind].checkpointMismatches).to.deep.equal([]);
    }
    expect(first.jobs.onChain).to.deep.equal({
      commitment: await v2.marketplace.migrationCommitment(),
      count: 16,
      batches: 2,
      finalized: false,
    });
    expect(first.nodes.totalStake).to.equal(state.nodes.totalStake);
    expect(first.nodes.totalStaked).to.equal(state.nodes.totalStake);
    expect(first.nodes.holding).to.equal(state.nodes.totalStake);
    expect(first.deposits.tokens).to.deep.equal(await v2.escrow.tokens());
    expect(first.deposits.totals).to.deep.equal(first.deposits.totalFree);
    expect(first.deposits.holdings).to.deep.equal(first.deposits.totalFree);
    expect(first.deposits.balanceMismatches).to.deep.equal([]);

    // Afterwards: history rolled back and imported again in other batches, more deposits.
    await (await v2.marketplace.returnLastBatch()).wait();
    await (await v2.marketplace.importHistoricalJobs(10, state.jobs.records.slice(10, 13))).wait();
    await (await v2.marketplace.importHistoricalJobs(13, state.jobs.records.slice(13, 30))).wait();
    await (await v1_1.escrow.migrateDeposits(4, 4)).wait();
    const again = await readV2State(v2, { blockTag: pinned, fromBlock: p.v2FromBlock, pageSize: 1, logRange: 7 });
    expect(withoutCounters(again)).to.deep.equal(withoutCounters(first));
    expect(again.calls).to.be.greaterThan(first.calls);

    const latest = await readBack(p);
    expect(latest.jobs.records).to.deep.equal(state.jobs.records);
    expect(latest.jobs.onChain.batches).to.equal(3);
  });

  it("counts only the last import of each record: a rolled-back batch's events are left out", async () => {
    const p = await networkHelpers.loadFixture(small);
    const { v2, state } = p;
    const records = state.jobs.records;
    const wrong: JobRecord = { ...records[12]!, resultHash: id("not what V1 holds") };
    await (await v2.marketplace.importHistoricalJobs(0, records.slice(0, 10))).wait();
    await (
      await v2.marketplace.importHistoricalJobs(10, [...records.slice(10, 12), wrong, ...records.slice(13, 20)])
    ).wait();
    const tampered = await readBack(p);
    expect(tampered.jobs.records[12]).to.deep.equal(wrong);

    await (await v2.marketplace.returnLastBatch()).wait();
    // Rolled back and not redone: the batch's ids are no longer imported.
    expect((await readBack(p)).jobs.records).to.deep.equal(records.slice(0, 10));
    await (await v2.marketplace.importHistoricalJobs(10, records.slice(10))).wait();
    const repaired = await readBack(p);
    expect(repaired.jobs.records).to.deep.equal(records);
    expect(repaired.jobs.commitment).to.equal(state.jobs.commitment);

    // Deposits likewise: a batch rolled back and migrated again in other user ranges.
    const sent = depositsIn(p, await (await p.v1_1.escrow.migrateDeposits(0, 5)).wait());
    await (await p.v1_1.escrow.rollbackDeposits(sent)).wait();
    await (await p.v1_1.escrow.migrateDeposits(0, 2)).wait();
    const users = Number(await p.v1.escrow.userCount());
    await (await p.v1_1.escrow.migrateDeposits(2, users - 2)).wait();
    const deposits = await readBack(p);
    expect(deposits.deposits.records).to.deep.equal(state.deposits.records);
    expect(deposits.deposits.commitment).to.equal(state.deposits.commitment);
  });

  it("checks the batches' checkpoints: events a node fails to return show as findings, not as a silent match", async () => {
    const p = await networkHelpers.loadFixture(small);
    const { v2, state } = p;
    await migrateEverything(p, { sizes: SIZES });
    const records = state.jobs.records;
    // Job 13 is imported wrong, rolled back and imported right; then a node drops the right one.
    while ((await v2.marketplace.migratedCount()) > 10n) await (await v2.marketplace.returnLastBatch()).wait();
    const wrong: JobRecord = { ...records[12]!, amount: records[12]!.amount + 5n };
    await (
      await v2.marketplace.importHistoricalJobs(10, [...records.slice(10, 12), wrong, ...records.slice(13, 20)])
    ).wait();
    await (await v2.marketplace.returnLastBatch()).wait();
    const redo = await (await v2.marketplace.importHistoricalJobs(10, records.slice(10, 20))).wait();
    await (await v2.marketplace.importHistoricalJobs(20, records.slice(20))).wait();
    expect(compareStates(state, await readBack(p))).to.deep.equal([]);

    const lossy = throughNode(v2.marketplace, async (_from, _to, real) =>
      (await real()).filter(
        (log) =>
          !(
            (log as { transactionHash: string }).transactionHash === redo!.hash &&
            (log as { args: { jobId: bigint } }).args.jobId === 13n
          ),
      ),
    );
    const read = await readV2State({ ...v2, marketplace: lossy }, { blockTag: "latest", fromBlock: p.v2FromBlock });
    expect(read.jobs.records[12]).to.deep.equal(wrong);
    expect(read.jobs.checkpointMismatches).to.deep.equal([2]);
    expect(compareStates(state, read)).to.deep.equal([
      {
        kind: "jobs",
        rule: "commitment",
        message: `V2's on-chain jobs commitment ${state.jobs.commitment} differs from its read-back ${read.jobs.commitment}.`,
      },
      { kind: "jobs", rule: "record", message: "job 13 differs between V1 and V2 in amount.", jobId: 13n },
      {
        kind: "jobs",
        rule: "checkpoint",
        message:
          "V2's jobs batch 2 starts from a commitment the read-back does not reach: events are missing or extra.",
      },
    ]);
  });

  it("reads through a node that caps log ranges by splitting them, and reports progress per phase", async () => {
    const p = await networkHelpers.loadFixture(small);
    await migrateEverything(p, { sizes: SIZES });
    const whole = await readBack(p);
    let refused = 0;
    const capped = throughNode(p.v2.marketplace, (from, to, real) => {
      if (to - from >= 4) {
        refused++;
        return Promise.reject(new Error("query exceeds max block range 4"));
      }
      return real();
    });
    const seen: V2ReadProgress[] = [];
    const read = await readV2State(
      { ...p.v2, marketplace: capped },
      { blockTag: whole.blockNumber, fromBlock: p.v2FromBlock, onProgress: (event) => seen.push(event) },
    );
    expect(withoutCounters(read)).to.deep.equal(withoutCounters(whole));
    expect(refused).to.be.greaterThan(0);
    const last = (phase: string) => seen.filter((event) => event.phase === phase).at(-1);
    expect(last("nodes")).to.deep.equal({ phase: "nodes", done: SEED.nodes, total: SEED.nodes });
    const blocks = whole.blockNumber - p.v2FromBlock + 1;
    expect(last("jobs")).to.deep.equal({ phase: "jobs", done: blocks, total: blocks });
    expect(last("deposits")).to.deep.equal({ phase: "deposits", done: blocks, total: blocks });
    const deposits = p.state.deposits.count;
    expect(last("balances")).to.deep.equal({ phase: "balances", done: deposits, total: deposits });

    // A node that refuses even a single block is an error that names the block.
    const broken = throughNode(p.v2.marketplace, () => Promise.reject(new Error("backend down")));
    const error = await rejectionOf(
      readV2State({ ...p.v2, marketplace: broken }, { blockTag: "latest", fromBlock: p.v2FromBlock }),
    );
    expect(error).to.be.instanceOf(V2StateError);
    expect(error.message).to.equal(`Reading jobs events at block ${p.v2FromBlock} failed: backend down`);
  });

  it("refuses a read that cannot be complete or is malformed, with a message that says what to do", async () => {
    const p = await networkHelpers.loadFixture(small);
    await migrateEverything(p, { sizes: SIZES });
    const latest = await ethers.provider.getBlockNumber();
    // Starting after V2's deployment misses the first imports.
    const late = await rejectionOf(readV2State(p.v2, { blockTag: latest, fromBlock: latest }));
    expect(late).to.be.instanceOf(V2StateError);
    expect(late.message).to.equal(
      `No HistoricalJobImported event for job index 0 between blocks ${latest} and ${latest}, yet migratedCount() ` +
        `is ${SEED.jobs}: pass the block V2 was deployed in (or an earlier one) as fromBlock.`,
    );
    const cases: [Parameters<typeof readV2State>[1], RegExp][] = [
      [{ blockTag: latest, pageSize: 0 }, /pageSize must be an integer from 1 to 10000 \(got 0\)/],
      [{ blockTag: latest, pageSize: 10_001 }, /pageSize must be/],
      [{ blockTag: latest, logRange: 1.5 }, /logRange must be an integer/],
      [{ blockTag: latest, concurrency: 0 }, /concurrency must be an integer/],
      [{ blockTag: latest, fromBlock: -1 }, /fromBlock must be a block number/],
      [
        { blockTag: latest, fromBlock: latest + 1 },
        new RegExp(`fromBlock ${latest + 1} is after the block read, ${latest}`),
      ],
    ];
    for (const [options, message] of cases) {
      const error = await rejectionOf(readV2State(p.v2, options));
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.match(message);
    }
    expect((await rejectionOf(readV2State(p.v2, { blockTag: latest + 1000 }))).message).to.equal(
      `readV2State: no block ${latest + 1000}.`,
    );
    const detached = { ...p.v2, registry: p.v2.registry.connect(null) };
    expect((await rejectionOf(readV2State(detached, { blockTag: latest }))).message).to.match(
      /not connected to a provider/,
    );
  });
});

describe("compareStates", function () {
  this.timeout(300_000);

  it("finds nothing when V2 holds exactly V1's state", async () => {
    const p = await networkHelpers.loadFixture(small);
    await migrateEverything(p, { sizes: SIZES });
    const v2 = await readBack(p);
    expectThreeWayAgreement(p.state, v2);
    expect(compareStates(p.state, v2)).to.deep.equal([]);
  });

  it("reports each job whose host left V1 before the freeze, by id, instead of failing", async () => {
    const p = await networkHelpers.loadFixture(withHostGone);
    await migrateEverything(p, { sizes: SIZES });
    const v2 = await readBack(p);
    expectThreeWayAgreement(p.state, v2);
    const operators = new Set(p.state.nodes.records.map((node) => node.operator));
    const orphans = p.state.jobs.records.filter((job) => job.host !== ETH && !operators.has(job.host));
    expect(orphans.length).to.be.greaterThan(0);
    expect(compareStates(p.state, v2)).to.deep.equal(
      orphans.map((job) => ({
        kind: "jobs",
        rule: "host-not-registered",
        message: `Job ${job.jobId}'s host ${job.host} is not a registered V2 node (it left V1 after the job?).`,
        jobId: job.jobId,
      })),
    );
  });

  it("reports active nodes below V2's minimum stake", async () => {
    const p = await networkHelpers.loadFixture(small);
    await migrateEverything(p, { sizes: SIZES });
    // Governance raised V2's minimum above some migrated stakes.
    const active = p.state.nodes.records.filter((node) => node.active).sort((a, b) => (a.stake < b.stake ? -1 : 1));
    const minimum = active[0]!.stake + 1n;
    await (await p.v2.registry.setMinimumStake(minimum)).wait();
    const v2 = await readBack(p);
    expect(compareStates(p.state, v2)).to.deep.equal(
      p.state.nodes.records
        .filter((node) => node.active && node.stake < minimum)
        .map((node) => ({
          kind: "nodes",
          rule: "stake-below-minimum",
          message: `Active node ${node.operator} stakes ${node.stake} wei, below V2's minimum ${minimum}.`,
        })),
    );
  });

  it("after users act on V2, the read at latest shows locked funds and changed balances; the pinned read does not", async () => {
    const p = await networkHelpers.loadFixture(small);
    const { state, v2 } = p;
    await migrateEverything(p, { sizes: SIZES });
    const expected = finalizeExpectations(state, await v2.escrow.migrationTokens());
    await (await v2.registry.finalizeMigration(...expected.registry)).wait();
    await (await v2.marketplace.finalizeMigration(...expected.marketplace)).wait();
    await (await v2.escrow.finalizeMigration(...expected.escrow)).wait();
    const finalizedAt = await ethers.provider.getBlockNumber();

    const index = state.deposits.records.findIndex((record) => record.token === ETH && record.amount > 1n);
    const deposit = state.deposits.records[index]!;
    const renter = walletOf(p, deposit.user);
    const model = id(state.modelNames[0]!);
    const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3600n;
    await (
      await v2.marketplace.connect(renter).postJob(model, id("prompt"), ETH, deposit.amount - 1n, deadline)
    ).wait();

    const now = await readBack(p);
    const free = now.deposits.totalFree[0]!;
    expect(compareStates(state, now)).to.deep.equal([
      {
        kind: "deposits",
        rule: "total",
        message: `Free ${ETH}: V1 ${state.deposits.totals[0]}, V2 read-back ${now.deposits.totals[0]}, V2 totalFree() ${free}.`,
      },
      {
        kind: "deposits",
        rule: "funds-locked",
        message: `${deposit.amount - 1n} of ${ETH} is locked in open V2 jobs: only drained state is migrated.`,
      },
      {
        kind: "deposits",
        rule: "balance",
        message: `Deposit ${index} (${deposit.user}, ${ETH}) migrated ${deposit.amount}, balanceOf() is 1.`,
      },
    ]);
    const pinned = await readV2State(v2, { blockTag: finalizedAt, fromBlock: p.v2FromBlock });
    expect(pinned.nodes.onChain.finalized).to.equal(true);
    expect(compareStates(state, pinned)).to.deep.equal([]);
  });

  it("reports totals, counts and solvency that disagree with V1, per kind and token", async () => {
    const p = await networkHelpers.loadFixture(small);
    await migrateEverything(p, { sizes: SIZES });
    const v2 = await readBack(p);
    const usdc = v2.deposits.tokens[1]!;
    // A read that lost its last node (its commitment kept: an RPC that drops an entry), and
    // contracts short of funds (as a broken V2 could be).
    const lost = v2.nodes.records.at(-1)!;
    const broken: V2State = {
      ...v2,
      nodes: {
        ...v2.nodes,
        records: v2.nodes.records.slice(0, -1),
        count: v2.nodes.count - 1,
        totalStake: v2.nodes.totalStake - lost.stake,
        holding: 0n,
      },
      deposits: { ...v2.deposits, holdings: [v2.deposits.holdings[0]!, 0n] },
    };
    const all = compareStates(p.state, broken);
    // The lost node's jobs now name an unknown host, as they should.
    const orphans = all.filter((finding) => finding.rule === "host-not-registered");
    const hosted = p.state.jobs.records.filter((job) => job.host === lost.operator).map((job) => job.jobId);
    expect(orphans.map((finding) => finding.jobId)).to.deep.equal(hosted);
    const findings = all.filter((finding) => finding.rule !== "host-not-registered");
    expect(findings.map((finding) => `${finding.kind}/${finding.rule}`)).to.deep.equal([
      "nodes/count",
      "nodes/total",
      "nodes/solvency",
      "deposits/solvency",
    ]);
    expect(findings[0]!.message).to.equal(
      `V2's migratedCount() is ${SEED.nodes} nodes, its read-back holds ${SEED.nodes - 1}.`,
    );
    const staked = p.state.nodes.totalStake;
    expect(findings[1]!.message).to.equal(
      `Stakes: V1 ${staked} wei, V2 read-back ${staked - lost.stake}, V2 totalStaked() ${staked}.`,
    );
    expect(findings[2]!.message).to.equal(`The V2 registry holds 0 wei but accounts for ${staked}.`);
    expect(findings[3]!.message).to.equal(
      `The V2 escrow holds 0 of ${usdc} but accounts for ${v2.deposits.totalFree[1]}.`,
    );
  });
});

describe("V2 record conversions and finalize expectations", () => {
  it("rejects a node that is not listed and a malformed history event", () => {
    const node = {
      operator: ETH,
      stake: 1n,
      registeredAt: 2n,
      unstakeRequestedAt: 0n,
      reputation: 3n,
      status: 0n,
      peerId: "p",
      region: "r",
      models: [],
    };
    expect(() => nodeRecordFromV2(node)).to.throw(
      RecordError,
      /status must be Active \(1\) or Inactive \(2\) for a listed node, got Unregistered/,
    );
    expect(nodeRecordFromV2({ ...node, status: 2 }).active).to.equal(false);
    expect(() => nodeRecordFromV2({ ...node, status: 1n, models: ["0x12"] })).to.throw(
      RecordError,
      /model 0 must be 32 bytes/,
    );
    expect(() =>
      jobRecordFromV2Event({
        jobId: 1n,
        renter: "0x1234",
        host: ETH,
        token: ETH,
        amount: 1n,
        modelId: id("m"),
        inputHash: id("i"),
        resultHash: id("r"),
        postedAt: 1n,
        deadline: 2n,
        completedAt: 0n,
        status: 4n,
      }),
    ).to.throw(RecordError, /V2 historical job 1: renter must be an address/);
  });

  it("names every V2 escrow token's expected funds, and refuses a V1 token V2 does not list", async () => {
    const p = await networkHelpers.loadFixture(small);
    const [eth, usdc] = p.state.deposits.tokens as [string, string];
    const expected = finalizeExpectations(p.state, [eth, usdc, p.treasury.address]);
    expect(expected.escrow).to.deep.equal([
      p.state.deposits.commitment,
      p.state.deposits.count,
      [eth, usdc, p.treasury.address],
      [...p.state.deposits.totals, 0n],
    ]);
    expect(expected.registry).to.deep.equal([
      p.state.nodes.commitment,
      p.state.nodes.count,
      [ETH],
      [p.state.nodes.totalStake],
    ]);
    expect(expected.marketplace).to.deep.equal([p.state.jobs.commitment, p.state.jobs.count, [], []]);
    expect(() => finalizeExpectations(p.state, [eth])).to.throw(
      V2StateError,
      `V1 holds free balances of ${usdc}, which is not among the V2 escrow's migration tokens.`,
    );
  });
});

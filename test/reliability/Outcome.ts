import { expect } from "chai";
import { ZeroAddress, getAddress, id } from "ethers";
import { CommitmentAccumulator, type DepositRecord, type JobRecord, type NodeRecord } from "../../lib/commitment.js";
import { depositKey, nodeKey } from "../../lib/reliability/holdings.js";
import { checkOutcome, type Holdings, type OutcomeInput } from "../../lib/reliability/outcome.js";
import type { V1State } from "../../lib/v1State.js";
import type { V2State } from "../../lib/v2State.js";

/**
 * The outcome check on a small state built here: V1 as pinned, V2 holding exactly the same
 * records (a correct migration), then one defect injected at a time; each must be found and
 * counted in its own column.
 */

const USDC = getAddress("0x00000000000000000000000000000000000a11ce");
const address = (n: number) => getAddress(`0x${n.toString(16).padStart(40, "0")}`);

function node(n: number): NodeRecord {
  return {
    operator: address(0x100 + n),
    stake: 10n ** 18n * BigInt(n + 1),
    registeredAt: 1_700_000_000n + BigInt(n),
    unstakeRequestedAt: 0n,
    reputation: 500n,
    active: true,
    peerId: `peer-${n}`,
    region: "eu-west",
    models: [id("llama-3")],
  };
}

function job(n: number): JobRecord {
  return {
    jobId: BigInt(n + 1),
    renter: address(0x200 + n),
    host: address(0x100),
    token: ZeroAddress,
    amount: 1_000n + BigInt(n),
    modelId: id("llama-3"),
    inputHash: id(`in ${n}`),
    resultHash: id(`out ${n}`),
    postedAt: 1_700_000_100n,
    deadline: 1_700_100_000n,
    completedAt: 1_700_000_200n,
    status: 3n,
  };
}

function deposit(n: number, token: string): DepositRecord {
  return { user: address(0x300 + n), token, amount: 5_000_000n + BigInt(n) };
}

function commit<R>(records: readonly R[], add: (acc: CommitmentAccumulator, r: R) => void): string {
  const acc = new CommitmentAccumulator();
  for (const r of records) add(acc, r);
  return acc.commitment;
}

const nodes = [0, 1, 2].map(node);
const jobs = [0, 1, 2, 3].map(job);
const deposits = [deposit(0, ZeroAddress), deposit(0, USDC), deposit(1, USDC)];
const tokens = [ZeroAddress, USDC];
const totals = tokens.map((t) => deposits.filter((d) => d.token === t).reduce((a, d) => a + d.amount, 0n));
const totalStake = nodes.reduce((a, n) => a + n.stake, 0n);

const v1: V1State = {
  blockNumber: 10,
  blockHash: id("block 10"),
  nodes: { records: nodes, commitment: commit(nodes, (a, r) => a.addNode(r)), count: 3, totalStake },
  jobs: { records: jobs, commitment: commit(jobs, (a, r) => a.addJob(r)), count: 4 },
  deposits: {
    records: deposits,
    commitment: commit(deposits, (a, r) => a.addDeposit(r)),
    count: 3,
    tokens,
    totals,
  },
  modelNames: ["llama-3"],
  calls: 0,
};

/** V2 as read back after migrating `v1`'s records, with its on-chain figures agreeing. */
function v2Of(records: { nodes: NodeRecord[]; jobs: JobRecord[]; deposits: DepositRecord[] }): V2State {
  const onChain = (commitment: string, count: number) => ({ commitment, count, batches: 1, finalized: true });
  const n = commit(records.nodes, (a, r) => a.addNode(r));
  const j = commit(records.jobs, (a, r) => a.addJob(r));
  const d = commit(records.deposits, (a, r) => a.addDeposit(r));
  const stake = records.nodes.reduce((a, r) => a + r.stake, 0n);
  const free = tokens.map((t) => records.deposits.filter((r) => r.token === t).reduce((a, r) => a + r.amount, 0n));
  return {
    blockNumber: 20,
    blockHash: id("block 20"),
    nodes: {
      records: records.nodes,
      commitment: n,
      count: records.nodes.length,
      onChain: onChain(n, records.nodes.length),
      checkpointMismatches: [],
      totalStake: stake,
      totalStaked: stake,
      holding: stake,
      minimumStake: 10n ** 17n,
    },
    jobs: {
      records: records.jobs,
      commitment: j,
      count: records.jobs.length,
      onChain: onChain(j, records.jobs.length),
      checkpointMismatches: [],
    },
    deposits: {
      records: records.deposits,
      commitment: d,
      count: records.deposits.length,
      onChain: onChain(d, records.deposits.length),
      checkpointMismatches: [],
      tokens,
      totals: free,
      totalFree: free,
      totalLocked: [0n, 0n],
      holdings: free,
      balanceMismatches: [],
    },
    calls: 0,
    logQueries: 0,
  };
}

function holdings(
  stakes: readonly NodeRecord[],
  balances: readonly DepositRecord[],
  custody: readonly bigint[],
): Holdings {
  const accounts = new Map<string, bigint>();
  for (const r of stakes) accounts.set(nodeKey(r.operator), (accounts.get(nodeKey(r.operator)) ?? 0n) + r.stake);
  for (const r of balances) {
    const key = depositKey(r.user, r.token);
    accounts.set(key, (accounts.get(key) ?? 0n) + r.amount);
  }
  return { accounts, custody: new Map(tokens.map((t, i) => [t.toLowerCase(), custody[i]!])) };
}

const custodyBefore = [totalStake + totals[0]!, totals[1]!];
const before = holdings(nodes, deposits, custodyBefore);
const good: OutcomeInput = {
  v1,
  v2: v2Of({ nodes, jobs, deposits }),
  before,
  after: holdings(nodes, deposits, custodyBefore),
};
const reference = {
  nodes: v1.nodes.commitment,
  jobs: v1.jobs.commitment,
  deposits: v1.deposits.commitment,
};

describe("reliability: the outcome check", () => {
  it("passes a correct migration: nothing lost, nothing duplicated, the reference's commitments", () => {
    const outcome = checkOutcome({ ...good, reference });
    expect(outcome).to.deep.equal({
      recordsLost: 0,
      weiLost: 0n,
      duplicates: 0,
      commitments: reference,
      problems: [],
      passed: true,
    });
  });

  it("counts a lost record (a job V2 never got)", () => {
    const outcome = checkOutcome({ ...good, v2: v2Of({ nodes, jobs: jobs.slice(0, 3), deposits }), reference });
    expect(outcome.recordsLost).to.equal(1);
    expect(outcome.duplicates).to.equal(0);
    expect(outcome.passed).to.equal(false);
    expect(outcome.problems.join(" ")).to.include("V1 has 4 jobs, V2's migratedCount() is 3");
    expect(outcome.problems.join(" ")).to.include("differs from the reference run's");
  });

  it("counts a record V2 holds with other content as lost", () => {
    const altered = [...deposits.slice(0, 2), { ...deposits[2]!, amount: deposits[2]!.amount - 1n }];
    const outcome = checkOutcome({ ...good, v2: v2Of({ nodes, jobs, deposits: altered }) });
    expect(outcome.recordsLost).to.equal(1);
    expect(outcome.passed).to.equal(false);
  });

  it("counts a duplicate (a batch replayed: the same job twice)", () => {
    const outcome = checkOutcome({ ...good, v2: v2Of({ nodes, jobs: [...jobs, jobs[1]!], deposits }), reference });
    expect(outcome.duplicates).to.equal(1);
    expect(outcome.recordsLost).to.equal(0);
    expect(outcome.passed).to.equal(false);
    expect(outcome.problems.join(" ")).to.not.include("never had");
  });

  it("counts a duplicated identity even with other content (a node migrated twice, stake changed)", () => {
    const twice = [...nodes, { ...nodes[0]!, stake: 1n }];
    const outcome = checkOutcome({ ...good, v2: v2Of({ nodes: twice, jobs, deposits }) });
    expect(outcome.duplicates).to.equal(1);
    expect(outcome.passed).to.equal(false);
  });

  it("counts lost wei: one account short by 1 wei, custody short by 1 wei", () => {
    const short = [...deposits.slice(0, 1), { ...deposits[1]!, amount: deposits[1]!.amount - 1n }, deposits[2]!];
    const outcome = checkOutcome({
      ...good,
      after: holdings(nodes, short, [custodyBefore[0]!, custodyBefore[1]! - 1n]),
    });
    expect(outcome.weiLost).to.equal(1n);
    expect(outcome.passed).to.equal(false);
  });

  it("counts wei the contracts no longer hold even when every account looks whole", () => {
    const outcome = checkOutcome({
      ...good,
      after: holdings(nodes, deposits, [custodyBefore[0]! - 7n, custodyBefore[1]!]),
    });
    expect(outcome.weiLost).to.equal(7n);
    expect(outcome.passed).to.equal(false);
  });

  it("fails wei moved to the wrong account (one short, one over) and wei that appeared", () => {
    const moved = holdings(nodes, deposits, custodyBefore);
    const a = depositKey(deposits[1]!.user, USDC);
    const b = depositKey(deposits[2]!.user, USDC);
    moved.accounts.set(a, moved.accounts.get(a)! - 5n);
    moved.accounts.set(b, moved.accounts.get(b)! + 5n);
    const outcome = checkOutcome({ ...good, after: moved });
    expect(outcome.weiLost).to.equal(5n);
    expect(outcome.problems).to.include("Accounts hold 5 wei more than before (moved to the wrong account?).");
  });

  it("fails a migration left unfinalized, and one whose commitment is not the reference's", () => {
    const v2 = v2Of({ nodes, jobs, deposits });
    v2.deposits.onChain.finalized = false;
    const outcome = checkOutcome({ ...good, v2, reference: { ...reference, nodes: id("other") } });
    expect(outcome.problems).to.include("V2's deposits migration is not finalized.");
    expect(outcome.problems.some((p) => p.startsWith("V2's nodes commitment"))).to.equal(true);
    expect(outcome.passed).to.equal(false);
    expect(checkOutcome({ ...good, v2, expectFinalized: false }).passed).to.equal(true);
  });

  it("fails a record V2 holds that V1 never had", () => {
    const outcome = checkOutcome({ ...good, v2: v2Of({ nodes: [...nodes, node(9)], jobs, deposits }) });
    expect(outcome.problems).to.include("V2 holds 1 nodes record(s) that V1 never had.");
    expect(outcome.passed).to.equal(false);
  });
});

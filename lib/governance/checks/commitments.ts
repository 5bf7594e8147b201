import { AbiCoder, ZeroAddress, keccak256, type Interface, type ParamType, type Provider, type Result } from "ethers";
import { CommitmentAccumulator, depositRecordsFromV1, nodeRecordFromV1 } from "../../commitment.js";
import { aggregate3, callEach, call3, decodeCall3, errorMessage, type Call3 } from "../../multicall.js";
import { readV2State } from "../../v2State.js";
import {
  JobMarketplaceV2__factory,
  NodeRegistryV2__factory,
  PaymentEscrowV2__factory,
} from "../../../typechain-types/index.js";
import { contractInterface } from "../abis.js";
import type { CheckResult } from "../simulation.js";
import type { ProposalFile } from "../types.js";
import { deploymentBlock, expectedUpgradeOf, label, type Known } from "./chain.js";

/**
 * State commitments before and after the proposal, where the proposal must not change state.
 * V1 is read with the getters the snapshot reader uses (paged, through Multicall3 where it
 * answers) and folded like the migration records; V2 reports its own commitments and is read
 * back from its events (lib/v2State.ts).
 */

/** A part of the state that could not be read, and why. */
export interface Skipped {
  skipped: string;
}

export interface V1NodesDigest {
  count: number;
  /** The fold of the node records V2 would receive (`nodeLeaf`). */
  commitment: string;
  totalStaked: string;
}

export interface V1JobsDigest {
  count: number;
  /** The fold of `keccak256(abi.encode(id, job))` over every job as `getJobsPage` returns it, open ones included. */
  digest: string;
  /** Each job's leaf, by id - 1: what the history check after a cut-over compares one by one. */
  leaves: string[];
}

export interface V1DepositsDigest {
  count: number;
  /** The fold of the deposit records V2 would receive (`depositLeaf`). */
  commitment: string;
  tokens: string[];
  totalFree: string[];
  totalLocked: string[];
}

export interface V1Digest {
  nodes: V1NodesDigest | Skipped;
  jobs: V1JobsDigest | Skipped;
  deposits: V1DepositsDigest | Skipped;
}

/** One V2 contract's migration bookkeeping, as it reports it. */
export interface V2OnChain {
  commitment: string;
  count: number;
  finalized: boolean;
}

/** The three V2 contracts' bookkeeping and their read-back commitments (recomputed from events). */
export interface V2Digest {
  onChain: Record<string, V2OnChain | Skipped>;
  readBack: Record<"nodes" | "jobs" | "deposits", { commitment: string; count: number }> | Skipped;
}

export interface CommitmentsObservation {
  v1: V1Digest | Skipped;
  v2: V2Digest | Skipped;
}

const V1_NAMES = { registry: "NodeRegistryV1", marketplace: "JobMarketplaceV1", escrow: "PaymentEscrowV1" } as const;
const V2_NAMES = ["NodeRegistryV2", "JobMarketplaceV2", "PaymentEscrowV2"] as const;
const V2_KIND = { NodeRegistryV2: "nodes", JobMarketplaceV2: "jobs", PaymentEscrowV2: "deposits" } as const;
/** Node page entries per call, and calls per round trip: 200 nodes (strings and lists) per `eth_call`. */
const NODE_PAGE = 50;
const NODE_PAGES_PER_TRIP = 4;
/** Fixed-size entries (jobs, users, balances) per round trip, as the snapshot reader's default. */
const PAGE = 500;
const JOB_PAGE = 100;
const coder = AbiCoder.defaultAbiCoder();

export function isSkipped(value: unknown): value is Skipped {
  return typeof value === "object" && value !== null && "skipped" in value;
}

function addressOf(known: Known, name: string): string | undefined {
  return known.contracts.find((contract) => contract.name === name)?.address;
}

async function part<T>(what: string, read: () => Promise<T>): Promise<T | Skipped> {
  try {
    return await read();
  } catch (error) {
    return { skipped: `${what} could not be read: ${errorMessage(error)}` };
  }
}

/** Reads the commitments at `block` (Multicall3 pages when `multicall`). */
export async function observeCommitments(
  provider: Provider,
  known: Known,
  block: number,
  multicall: boolean,
): Promise<CommitmentsObservation> {
  const run = (calls: Call3[], chunkSize: number) =>
    multicall
      ? aggregate3(provider, calls, { blockTag: block, chunkSize })
      : callEach(provider, calls, { blockTag: block });
  return { v1: await observeV1(known, run), v2: await observeV2(provider, known, block) };
}

type Run = (calls: Call3[], chunkSize: number) => ReturnType<typeof aggregate3>;

async function observeV1(known: Known, run: Run): Promise<V1Digest | Skipped> {
  const registry = addressOf(known, V1_NAMES.registry);
  const marketplace = addressOf(known, V1_NAMES.marketplace);
  const escrow = addressOf(known, V1_NAMES.escrow);
  if (registry === undefined && marketplace === undefined && escrow === undefined) {
    return { skipped: "the deployment record holds no V1 contract" };
  }
  const missing = (name: string): Skipped => ({ skipped: `the deployment record has no ${name}` });
  return {
    nodes: registry === undefined ? missing(V1_NAMES.registry) : await part("V1 nodes", () => v1Nodes(registry, run)),
    jobs:
      marketplace === undefined ? missing(V1_NAMES.marketplace) : await part("V1 jobs", () => v1Jobs(marketplace, run)),
    deposits:
      escrow === undefined ? missing(V1_NAMES.escrow) : await part("V1 deposits", () => v1Deposits(escrow, run)),
  };
}

/** Calls of `fn` over `total` entries in pages of `size`: `[offset, limit]` each. */
function pages(iface: Interface, target: string, fn: string, total: number, size: number): Call3[] {
  const calls: Call3[] = [];
  for (let offset = 0; offset < total; offset += size) {
    calls.push(call3(iface, target, fn, [offset, Math.min(size, total - offset)]));
  }
  return calls;
}

async function v1Nodes(registry: string, run: Run): Promise<V1NodesDigest> {
  const iface = contractInterface(V1_NAMES.registry)!;
  const [count, staked] = await run([call3(iface, registry, "nodeCount"), call3(iface, registry, "totalStaked")], 2);
  const nodeCount = Number(decodeCall3(iface, "nodeCount", count!)[0]);
  const accumulator = new CommitmentAccumulator();
  const results = await run(pages(iface, registry, "getNodesPage", nodeCount, NODE_PAGE), NODE_PAGES_PER_TRIP);
  for (const result of results) {
    const [nodes, reputations] = decodeCall3(iface, "getNodesPage", result);
    (nodes as Result[]).forEach((node, i) => accumulator.addNode(nodeRecordFromV1(node as never, reputations[i])));
  }
  return {
    count: accumulator.count,
    commitment: accumulator.commitment,
    totalStaked: String(decodeCall3(iface, "totalStaked", staked!)[0]),
  };
}

async function v1Jobs(marketplace: string, run: Run): Promise<V1JobsDigest> {
  const iface = contractInterface(V1_NAMES.marketplace)!;
  const [count] = await run([call3(iface, marketplace, "jobCount")], 1);
  const jobCount = Number(decodeCall3(iface, "jobCount", count!)[0]);
  const jobType = iface.getFunction("getJob")!.outputs[0] as ParamType;
  const accumulator = new CommitmentAccumulator();
  const leaves: string[] = [];
  const results = await run(pages(iface, marketplace, "getJobsPage", jobCount, JOB_PAGE), PAGE / JOB_PAGE);
  for (const result of results) {
    for (const job of decodeCall3(iface, "getJobsPage", result)[0] as Result[]) {
      const leaf = keccak256(coder.encode(["uint256", jobType], [leaves.length + 1, job]));
      leaves.push(leaf);
      accumulator.add(leaf);
    }
  }
  return { count: leaves.length, digest: accumulator.commitment, leaves };
}

async function v1Deposits(escrow: string, run: Run): Promise<V1DepositsDigest> {
  const iface = contractInterface(V1_NAMES.escrow)!;
  const [tokenList, users] = await run([call3(iface, escrow, "tokens"), call3(iface, escrow, "userCount")], 2);
  const tokens = [...(decodeCall3(iface, "tokens", tokenList!)[0] as string[])];
  const userCount = Number(decodeCall3(iface, "userCount", users!)[0]);
  const totals = await run(
    tokens.flatMap((token) => [
      call3(iface, escrow, "totalFree", [token]),
      call3(iface, escrow, "totalLocked", [token]),
    ]),
    PAGE,
  );
  const addresses: string[] = [];
  for (const result of await run(pages(iface, escrow, "getUsersPage", userCount, PAGE), 1)) {
    addresses.push(...(decodeCall3(iface, "getUsersPage", result)[0] as string[]));
  }
  const accumulator = new CommitmentAccumulator();
  const balances = await run(
    addresses.map((user) => call3(iface, escrow, "balancesOf", [user])),
    PAGE,
  );
  balances.forEach((result, i) => {
    const [list, amounts] = decodeCall3(iface, "balancesOf", result);
    for (const record of depositRecordsFromV1(addresses[i]!, list, amounts)) accumulator.addDeposit(record);
  });
  return {
    count: accumulator.count,
    commitment: accumulator.commitment,
    tokens,
    totalFree: tokens.map((_, t) => String(decodeCall3(iface, "totalFree", totals[2 * t]!)[0])),
    totalLocked: tokens.map((_, t) => String(decodeCall3(iface, "totalLocked", totals[2 * t + 1]!)[0])),
  };
}

async function observeV2(provider: Provider, known: Known, block: number): Promise<V2Digest | Skipped> {
  const present = V2_NAMES.filter((name) => addressOf(known, name) !== undefined);
  if (present.length === 0) return { skipped: "the deployment record holds no V2 contract" };
  const iface = contractInterface("NodeRegistryV2")!;
  const onChain: Record<string, V2OnChain | Skipped> = {};
  for (const name of present) {
    const address = addressOf(known, name)!;
    onChain[name] = await part(`${name}'s migration bookkeeping`, async () => {
      const call = async (fn: string) =>
        iface.decodeFunctionResult(
          fn,
          await provider.call({ to: address, data: iface.encodeFunctionData(fn), blockTag: block }),
        )[0];
      return {
        commitment: String(await call("migrationCommitment")),
        count: Number(await call("migratedCount")),
        finalized: Boolean(await call("migrationFinalized")),
      };
    });
  }
  let readBack: V2Digest["readBack"];
  if (present.length < V2_NAMES.length) {
    readBack = {
      skipped: `the read-back needs all three V2 contracts; the record lacks ${V2_NAMES.filter((n) => !present.includes(n)).join(", ")}`,
    };
  } else {
    readBack = await part("V2's read-back", async () => {
      const [registry, marketplace, escrow] = V2_NAMES.map((name) => addressOf(known, name)!) as [
        string,
        string,
        string,
      ];
      const fromBlock = Math.min(
        ...(await Promise.all([registry, marketplace, escrow].map((a) => deploymentBlock(provider, a, block)))),
      );
      const state = await readV2State(
        {
          registry: NodeRegistryV2__factory.connect(registry, provider),
          marketplace: JobMarketplaceV2__factory.connect(marketplace, provider),
          escrow: PaymentEscrowV2__factory.connect(escrow, provider),
        },
        { blockTag: block, fromBlock },
      );
      return {
        nodes: { commitment: state.nodes.commitment, count: state.nodes.count },
        jobs: { commitment: state.jobs.commitment, count: state.jobs.count },
        deposits: { commitment: state.deposits.commitment, count: state.deposits.count },
      };
    });
  }
  return { onChain, readBack };
}

// ---------------------------------------------------------------- the check

/** Whether the proposal puts `name`'s V1 proxy on its adapter (then V2 serves it). */
function cutOver(proposal: ProposalFile, known: Known, name: string): boolean {
  const address = addressOf(known, name);
  const upgrade = address === undefined ? undefined : expectedUpgradeOf(proposal, address);
  return upgrade !== undefined && /Adapter$/.test(upgrade.contractName);
}

export function checkCommitments(
  proposal: ProposalFile,
  known: Known,
  before: CommitmentsObservation,
  after: CommitmentsObservation,
): CheckResult {
  const details: string[] = [];
  let failed = false;
  let compared = 0;
  const same = (what: string, a: string | number, b: string | number) => {
    compared++;
    if (a === b) {
      details.push(`${what}: unchanged (${a}).`);
    } else {
      failed = true;
      details.push(`${what}: changed from ${a} to ${b}.`);
    }
  };
  const skip = (reason: string) => details.push(`Skipped: ${reason}.`);
  const pair = <T>(what: string, a: T | Skipped, b: T | Skipped, compare: (a: T, b: T) => void) => {
    if (isSkipped(a)) skip(`${what} before: ${a.skipped}`);
    else if (isSkipped(b)) skip(`${what} after: ${b.skipped}`);
    else compare(a, b);
  };

  // ------------------------------------------------------------ V1
  pair("V1", before.v1, after.v1, (v1Before, v1After) => {
    if (cutOver(proposal, known, V1_NAMES.registry)) {
      skip(`V1 nodes: ${V1_NAMES.registry} moves to its adapter; its nodes are V2's now (see V2's commitments)`);
    } else {
      pair("V1 nodes", v1Before.nodes, v1After.nodes, (a, b) => {
        same(`V1 nodes count`, a.count, b.count);
        same(`V1 nodes commitment`, a.commitment, b.commitment);
        same(`V1 totalStaked`, a.totalStaked, b.totalStaked);
      });
    }
    if (cutOver(proposal, known, V1_NAMES.escrow)) {
      skip(`V1 deposits: ${V1_NAMES.escrow} moves to its adapter; its balances are V2's now (see V2's commitments)`);
    } else {
      pair("V1 deposits", v1Before.deposits, v1After.deposits, (a, b) => {
        same(`V1 deposits count`, a.count, b.count);
        same(`V1 deposits commitment`, a.commitment, b.commitment);
        same(`V1 escrow tokens`, a.tokens.join(","), b.tokens.join(","));
        a.tokens.forEach((token, t) => {
          const asset = token === ZeroAddress ? "ETH" : label(known, token);
          same(`V1 totalFree(${asset})`, a.totalFree[t]!, b.totalFree[t] ?? "none");
          same(`V1 totalLocked(${asset})`, a.totalLocked[t]!, b.totalLocked[t] ?? "none");
        });
      });
    }
    pair("V1 jobs", v1Before.jobs, v1After.jobs, (a, b) => {
      if (!cutOver(proposal, known, V1_NAMES.marketplace)) {
        same(`V1 jobs count`, a.count, b.count);
        same(`V1 jobs digest (every job, open ones included)`, a.digest, b.digest);
        return;
      }
      // After the cut-over the adapter serves V1's history from the proxy's storage and V2's new jobs after it.
      compared++;
      const changed = a.leaves.findIndex((leaf, i) => b.leaves[i] !== leaf);
      if (b.count < a.count || changed >= 0) {
        failed = true;
        details.push(
          b.count < a.count
            ? `V1 history through the adapter: ${b.count} jobs answer, ${a.count} did before.`
            : `V1 history through the adapter: getJob(${changed + 1}) differs from what V1 answered before.`,
        );
      } else {
        details.push(`V1 history through the adapter: all ${a.count} jobs answer as before.`);
      }
    });
  });

  // ------------------------------------------------------------ V2
  pair("V2", before.v2, after.v2, (v2Before, v2After) => {
    for (const name of V2_NAMES) {
      const a = v2Before.onChain[name];
      const b = v2After.onChain[name];
      if (a === undefined || b === undefined) continue;
      pair(name, a, b, (x, y) => {
        same(`${name} migrationCommitment()`, x.commitment, y.commitment);
        same(`${name} migratedCount()`, x.count, y.count);
        if (x.finalized !== y.finalized) details.push(`${name}: migration finalized by the proposal.`);
      });
    }
    pair("V2 read-back", v2Before.readBack, v2After.readBack, (a, b) => {
      for (const name of V2_NAMES) {
        const kind = V2_KIND[name];
        same(`V2 ${kind} read-back count`, a[kind].count, b[kind].count);
        same(`V2 ${kind} read-back commitment`, a[kind].commitment, b[kind].commitment);
      }
    });
  });

  const status = failed ? "fail" : compared === 0 ? "skip" : "pass";
  return {
    id: "commitments",
    title: "State commitments unchanged",
    status,
    details,
    data: { before: withoutLeaves(before), after: withoutLeaves(after) },
  };
}

/** The observation without the per-job leaves (which only the comparison needs). */
function withoutLeaves(observation: CommitmentsObservation): unknown {
  if (isSkipped(observation.v1) || isSkipped(observation.v1.jobs)) return observation;
  const { leaves: _leaves, ...jobs } = observation.v1.jobs;
  return { ...observation, v1: { ...observation.v1, jobs } };
}

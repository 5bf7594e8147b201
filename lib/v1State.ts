import type { BlockTag } from "ethers";
import {
  CommitmentAccumulator,
  MarketplaceNotDrainedError,
  RecordError,
  depositRecordsFromV1,
  jobRecordFromV1,
  nodeRecordFromV1,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
} from "./commitment.js";
import type { JobMarketplaceV1, NodeRegistryV1, PaymentEscrowV1 } from "../typechain-types/index.js";

/** The V1 proxies to read (V1.1 implementations behind them read the same). */
export interface V1Contracts {
  registry: NodeRegistryV1;
  marketplace: JobMarketplaceV1;
  escrow: PaymentEscrowV1;
}

export type V1ReadPhase = "nodes" | "jobs" | "users" | "deposits";

export interface V1ReadProgress {
  phase: V1ReadPhase;
  /** Items of this phase read so far, out of `total`. */
  done: number;
  total: number;
}

export interface ReadV1StateOptions {
  /** The block to read at: a number, or a tag ("latest", "finalized", …) resolved to one first. */
  blockTag: BlockTag;
  /** Records per paged call (1 to 10,000). A page that fails (gas or response caps) is split in two. */
  pageSize?: number;
  /** `balancesOf` calls in flight at once. */
  concurrency?: number;
  onProgress?: (progress: V1ReadProgress) => void;
}

/** Records in migration order, with the commitment and count V2 must reach for them. */
export interface RecordSet<R> {
  records: R[];
  commitment: string;
  count: number;
}

export interface V1State {
  /** The block everything was read at, and its hash (to notice a reorg). */
  blockNumber: number;
  blockHash: string;
  /** Nodes in registration order (`getNodesPage`); `totalStake` is what V2 must receive. */
  nodes: RecordSet<NodeRecord> & { totalStake: bigint };
  /** Finished jobs by id, from 1. */
  jobs: RecordSet<JobRecord>;
  /**
   * Nonzero free balances, by user (escrow order) then token (`tokens()` order). `totals[i]` is
   * the free total of `tokens[i]`, as `finalizeMigration` expects its funds.
   */
  deposits: RecordSet<DepositRecord> & { tokens: string[]; totals: bigint[] };
  /** Every model name nodes serve or jobs name, first seen first: V2's model registry needs them. */
  modelNames: string[];
  /** `eth_call`s made at the pinned block. */
  calls: number;
}

/** V1's state read at the block is not self-consistent, or not what a migration can move. */
export class V1StateError extends Error {
  override name = "V1StateError";
}

const DEFAULT_PAGE_SIZE = 200;
const MAX_PAGE_SIZE = 10_000;
const DEFAULT_CONCURRENCY = 16;

/**
 * Reads every node, finished job and free escrow balance of V1 at one block, as migration
 * records, with their commitments and the totals `finalizeMigration` checks. Every call names
 * the same block, so a V1 that keeps changing (or a node that serves calls from different
 * blocks) cannot produce a mixed snapshot; V1's own totals at that block are checked against
 * the records. An open job throws `MarketplaceNotDrainedError`.
 */
export async function readV1State(contracts: V1Contracts, options: ReadV1StateOptions): Promise<V1State> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE} (got ${pageSize}).`);
  }
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer (got ${concurrency}).`);
  }
  const { registry, marketplace, escrow } = contracts;
  const provider = registry.runner?.provider;
  if (!provider) throw new Error("readV1State: the registry contract is not connected to a provider.");
  const block = await provider.getBlock(options.blockTag);
  if (block === null || block.hash === null) throw new Error(`readV1State: no block ${String(options.blockTag)}.`);
  const at = { blockTag: block.number };
  let calls = 0;
  const call = <T>(promise: Promise<T>): Promise<T> => {
    calls++;
    return promise;
  };
  const progress = (phase: V1ReadPhase, done: number, total: number) => options.onProgress?.({ phase, done, total });
  const modelNames = new Set<string>();

  // ------------------------------------------------------------ nodes
  const nodeCount = Number(await call(registry.nodeCount(at)));
  const nodes = await readPages("nodes", nodeCount, pageSize, progress, async (offset, limit) => {
    const [page, reputations] = await call(registry.getNodesPage(offset, limit, at));
    return page.map((node, i) => {
      const record = nodeRecordFromV1(node, reputations[i] as bigint);
      for (const name of node.models) modelNames.add(name);
      return record;
    });
  });
  const nodeAccumulator = new CommitmentAccumulator();
  let totalStake = 0n;
  for (const record of nodes) {
    nodeAccumulator.addNode(record);
    totalStake += record.stake;
  }
  const totalStaked = await call(registry.totalStaked(at));
  if (totalStake !== totalStaked) {
    throw new V1StateError(
      `At block ${block.number} the nodes' stakes sum to ${totalStake} wei but totalStaked() is ${totalStaked}.`,
    );
  }

  // ------------------------------------------------------------ jobs
  const jobCount = Number(await call(marketplace.jobCount(at)));
  const jobAccumulator = new CommitmentAccumulator();
  const jobs = await readPages("jobs", jobCount, pageSize, progress, async (offset, limit) => {
    const page = await call(marketplace.getJobsPage(offset, limit, at));
    return page.map((job, i) => {
      const record = jobRecordFromV1(job, BigInt(offset + i + 1));
      modelNames.add(job.modelId);
      return record;
    });
  });
  for (const record of jobs) jobAccumulator.addJob(record);

  // ------------------------------------------------------------ deposits
  const tokens = [...(await call(escrow.tokens(at)))];
  const userCount = Number(await call(escrow.userCount(at)));
  const users = await readPages("users", userCount, pageSize, progress, async (offset, limit) => [
    ...(await call(escrow.getUsersPage(offset, limit, at))),
  ]);
  const deposits: DepositRecord[] = [];
  const depositAccumulator = new CommitmentAccumulator();
  const totals = tokens.map(() => 0n);
  // One balancesOf per user (the escrow has no paged balance getter): in flight a chunk at a time.
  for (let start = 0; start < users.length; start += concurrency) {
    const chunk = users.slice(start, start + concurrency);
    const balances = await Promise.all(chunk.map((user) => call(escrow.balancesOf(user, at))));
    chunk.forEach((user, i) => {
      const [tokenList, amounts] = balances[i]!;
      if (tokenList.length !== tokens.length || tokenList.some((token, t) => token !== tokens[t])) {
        throw new V1StateError(`At block ${block.number} balancesOf(${user}) lists other tokens than tokens().`);
      }
      for (const record of depositRecordsFromV1(user, tokenList, amounts)) {
        deposits.push(record);
        depositAccumulator.addDeposit(record);
        const t = tokens.indexOf(record.token);
        totals[t] = totals[t]! + record.amount;
      }
    });
    progress("deposits", start + chunk.length, users.length);
  }
  const contractTotals = await Promise.all(tokens.map((token) => call(escrow.totalFree(token, at))));
  tokens.forEach((token, t) => {
    if (totals[t] !== contractTotals[t]) {
      throw new V1StateError(
        `At block ${block.number} free balances of ${token} sum to ${totals[t]} but totalFree() is ${contractTotals[t]}.`,
      );
    }
  });

  return {
    blockNumber: block.number,
    blockHash: block.hash,
    nodes: { records: nodes, commitment: nodeAccumulator.commitment, count: nodes.length, totalStake },
    jobs: { records: jobs, commitment: jobAccumulator.commitment, count: jobs.length },
    deposits: {
      records: deposits,
      commitment: depositAccumulator.commitment,
      count: deposits.length,
      tokens,
      totals,
    },
    modelNames: [...modelNames],
    calls,
  };
}

/**
 * Reads `[0, total)` in pages of `pageSize`, in order. A page whose call fails (an RPC's gas or
 * response cap on a page of large nodes) is read as two halves instead, down to single items;
 * errors about the records themselves are not retried.
 */
async function readPages<T>(
  phase: V1ReadPhase,
  total: number,
  pageSize: number,
  progress: (phase: V1ReadPhase, done: number, total: number) => void,
  fetch: (offset: number, limit: number) => Promise<T[]>,
): Promise<T[]> {
  const items: T[] = [];
  const read = async (offset: number, limit: number): Promise<void> => {
    let page: T[];
    try {
      page = await fetch(offset, limit);
    } catch (error) {
      if (error instanceof RecordError || error instanceof MarketplaceNotDrainedError) throw error;
      if (limit === 1) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new V1StateError(`Reading ${phase} entry ${offset} failed: ${reason}`, { cause: error });
      }
      const half = Math.ceil(limit / 2);
      await read(offset, half);
      await read(offset + half, limit - half);
      return;
    }
    if (page.length !== limit) {
      throw new V1StateError(`The ${phase} page at offset ${offset} has ${page.length} entries, expected ${limit}.`);
    }
    items.push(...page);
  };
  for (let offset = 0; offset < total; offset += pageSize) {
    await read(offset, Math.min(pageSize, total - offset));
    progress(phase, items.length, total);
  }
  return items;
}

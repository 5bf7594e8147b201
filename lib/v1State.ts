import type { BlockTag, Interface, Result } from "ethers";
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
import {
  CallFailedError,
  MAX_CHUNK_SIZE,
  Multicall3MissingError,
  aggregate3,
  call3,
  callEach,
  describeRevert,
  errorMessage,
  type Call3,
  type Call3Result,
} from "./multicall.js";
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
  /**
   * Fixed-size entries per round trip (1 to 10,000; default 500): job page entries, user
   * addresses and per-user balance reads share it. A round trip that fails (an RPC's gas or
   * response cap) is retried with half as many, down to one entry; after 8 successes in a row
   * the size doubles again, up to this.
   */
  pageSize?: number;
  /**
   * Node page entries per round trip (1 to 10,000; default 200, or `pageSize` when that is
   * smaller). Nodes carry strings and model lists, so a page of them weighs more than a page of
   * jobs: a node takes `pageSize / nodePageSize` entries of the round trip's room, and halves
   * and grows with it.
   */
  nodePageSize?: number;
  /** Without Multicall3: `eth_call`s in flight at once (default 16). */
  concurrency?: number;
  /**
   * Read through Multicall3 (`aggregate3`, one `eth_call` per round trip): `true` requires it,
   * `false` never uses it (one `eth_call` per getter call). By default it is used when it has
   * code at the block read.
   */
  multicall?: boolean;
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
  /** JSON-RPC round trips the read made (the block lookup and every `eth_call`). */
  calls: number;
}

/** One round trip's records of one kind, with that kind's running count and commitment after them. */
export type V1RecordPage =
  | { kind: "node"; records: NodeRecord[]; count: number; commitment: string }
  | { kind: "job"; records: JobRecord[]; count: number; commitment: string }
  | { kind: "deposit"; records: DepositRecord[]; count: number; commitment: string };

/** Everything `V1State` holds except the records: what a stream of them returns when it ends. */
export interface V1ReadSummary {
  blockNumber: number;
  blockHash: string;
  nodes: { count: number; commitment: string; totalStake: bigint };
  jobs: { count: number; commitment: string };
  deposits: { count: number; commitment: string; tokens: string[]; totals: bigint[] };
  modelNames: string[];
  calls: number;
  /** Whether the read went through Multicall3. */
  multicall: boolean;
}

/** V1's state read at the block is not self-consistent, or not what a migration can move. */
export class V1StateError extends Error {
  override name = "V1StateError";
}

/** Jobs, users and balances: fixed-size entries (a job is 12 words), so a round trip can take many. */
const DEFAULT_PAGE_SIZE = 500;
/** Nodes carry strings and model lists: fewer per round trip keeps the response small. */
const DEFAULT_NODE_PAGE_SIZE = 200;
const MAX_PAGE_SIZE = 10_000;
const DEFAULT_CONCURRENCY = 16;
/** Successful round trips at a reduced size before the size doubles again. */
const GROW_AFTER = 8;

/** A part of one round trip: a page, some balance reads, or the token totals. */
interface Part {
  phase: V1ReadPhase | "totals";
  /** The first entry's position in its phase. */
  offset: number;
  /** Entries read. */
  count: number;
  /** Where its calls start in the round trip's call list. */
  first: number;
}

/**
 * Streams every node, finished job and free escrow balance of V1 at one block as migration
 * records, page by page in migration order (nodes, then jobs, then deposits), each page with its
 * kind's running count and commitment; returns the summary (block, commitments, totals, model
 * names, round trips) when done. Memory stays bounded (a few pages) whatever the history's size.
 *
 * Every call names the same block, so a V1 that keeps changing (or a node that serves calls
 * from different blocks) cannot produce a mixed read; V1's own totals at that block are checked
 * against the records. An open job throws `MarketplaceNotDrainedError`.
 *
 * Round trips: with Multicall3, each is one `aggregate3` holding up to `pageSize` entries (job
 * page entries and `balancesOf` calls) or `nodePageSize` node page entries, or a mix in that
 * proportion, packed in migration order; users' addresses ride along a page ahead of their
 * balances. N nodes, J jobs and U escrow users cost at most
 * ceil(N / nodePageSize + (J + U) / pageSize) + 3 round trips: the block, the counts, and one
 * round trip that cannot be full (the first users page, or the last entries).
 */
export async function* streamV1Records(
  contracts: V1Contracts,
  options: ReadV1StateOptions,
): AsyncGenerator<V1RecordPage, V1ReadSummary, void> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const nodePageSize = options.nodePageSize ?? Math.min(DEFAULT_NODE_PAGE_SIZE, pageSize);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  for (const [name, size] of [
    ["pageSize", pageSize],
    ["nodePageSize", nodePageSize],
  ] as const) {
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw new RangeError(`${name} must be an integer from 1 to ${MAX_PAGE_SIZE} (got ${size}).`);
    }
  }
  /** A node's share of a round trip's room, in fixed-size entries. */
  const nodeWeight = pageSize / nodePageSize;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer (got ${concurrency}).`);
  }
  const { registry, marketplace, escrow } = contracts;
  const provider = registry.runner?.provider;
  if (!provider) throw new Error("readV1State: the registry contract is not connected to a provider.");
  let calls = 1;
  const block = await provider.getBlock(options.blockTag);
  if (block === null || block.hash === null) throw new Error(`readV1State: no block ${String(options.blockTag)}.`);
  const blockTag = block.number;
  const at = `at block ${blockTag}`;
  const [registryAt, marketplaceAt, escrowAt] = (await Promise.all(
    [registry, marketplace, escrow].map((contract) => contract.getAddress()),
  )) as [string, string, string];
  const registryAbi = registry.interface as unknown as Interface;
  const marketplaceAbi = marketplace.interface as unknown as Interface;
  const escrowAbi = escrow.interface as unknown as Interface;
  const progress = (phase: V1ReadPhase, done: number, total: number) => options.onProgress?.({ phase, done, total });

  let multicall = options.multicall !== false;
  const roundTrip = () => {
    calls++;
  };
  const run = (batch: Call3[]): Promise<Call3Result[]> =>
    multicall
      ? aggregate3(provider, batch, { blockTag, chunkSize: MAX_CHUNK_SIZE, onRoundTrip: roundTrip })
      : callEach(provider, batch, { blockTag, concurrency, onRoundTrip: roundTrip });
  const decode = (abi: Interface, fn: string, result: Call3Result, what: string): Result => {
    if (!result.success) throw new V1StateError(`${what} ${at} ${describeRevert(result.returnData, abi)}.`);
    try {
      return abi.decodeFunctionResult(fn, result.returnData);
    } catch (error) {
      throw new V1StateError(`${what} ${at} returned data that is not ${fn}'s: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  };

  // ------------------------------------------------------------ counts
  const countCalls = [
    call3(registryAbi, registryAt, "nodeCount", [], true),
    call3(registryAbi, registryAt, "totalStaked", [], true),
    call3(marketplaceAbi, marketplaceAt, "jobCount", [], true),
    call3(escrowAbi, escrowAt, "tokens", [], true),
    call3(escrowAbi, escrowAt, "userCount", [], true),
  ];
  let counts: Call3Result[];
  try {
    counts = await run(countCalls);
  } catch (error) {
    // Without Multicall3 at the block, read call by call unless the caller required it.
    if (!(error instanceof Multicall3MissingError) || options.multicall === true) throw error;
    multicall = false;
    counts = await run(countCalls);
  }
  const nodeCount = Number(decode(registryAbi, "nodeCount", counts[0]!, `The registry ${registryAt}: nodeCount()`)[0]);
  const totalStaked = decode(registryAbi, "totalStaked", counts[1]!, `The registry ${registryAt}: totalStaked()`)[0];
  const jobCount = Number(
    decode(marketplaceAbi, "jobCount", counts[2]!, `The marketplace ${marketplaceAt}: jobCount()`)[0],
  );
  const tokens = [...(decode(escrowAbi, "tokens", counts[3]!, `The escrow ${escrowAt}: tokens()`)[0] as string[])];
  const userCount = Number(decode(escrowAbi, "userCount", counts[4]!, `The escrow ${escrowAt}: userCount()`)[0]);

  const nodeAccumulator = new CommitmentAccumulator();
  const jobAccumulator = new CommitmentAccumulator();
  const depositAccumulator = new CommitmentAccumulator();
  const modelNames = new Set<string>();
  let totalStake = 0n;
  const totals = tokens.map(() => 0n);
  let contractTotals: bigint[] | undefined;
  let nodeAt = 0;
  let jobAt = 0;
  let usersRead = 0;
  let balancesRead = 0;
  /** Users whose addresses were read and whose balances were not, in escrow order. */
  const pending: string[] = [];
  let budget = pageSize;
  let streak = 0;

  const checkStake = () => {
    if (totalStake !== totalStaked) {
      throw new V1StateError(
        `At block ${blockTag} the nodes' stakes sum to ${totalStake} wei but totalStaked() is ${totalStaked}.`,
      );
    }
  };
  if (nodeCount === 0) checkStake();

  while (nodeAt < nodeCount || jobAt < jobCount || balancesRead < userCount || contractTotals === undefined) {
    // ---------------------------------------------------------- plan one round trip
    const batch: Call3[] = [];
    const parts: Part[] = [];
    const add = (part: Omit<Part, "first">, ...more: Call3[]) => {
      parts.push({ ...part, first: batch.length });
      batch.push(...more);
    };
    /** Fixed-size entries this round trip can still take (a node takes `nodeWeight`). */
    let room = budget;
    if (contractTotals === undefined) {
      add(
        { phase: "totals", offset: 0, count: tokens.length },
        ...tokens.map((token) => call3(escrowAbi, escrowAt, "totalFree", [token], true)),
      );
    }
    if (nodeAt < nodeCount) {
      // At least one node, however small the budget has become: nodes come first.
      const count = Math.min(Math.max(1, Math.floor(room / nodeWeight)), nodeCount - nodeAt);
      add(
        { phase: "nodes", offset: nodeAt, count },
        call3(registryAbi, registryAt, "getNodesPage", [nodeAt, count], true),
      );
      room -= count * nodeWeight;
    }
    const nodesDone = nodeAt + (parts.find((part) => part.phase === "nodes")?.count ?? 0) === nodeCount;
    if (nodesDone && jobAt < jobCount && room >= 1) {
      const count = Math.min(Math.floor(room), jobCount - jobAt);
      add(
        { phase: "jobs", offset: jobAt, count },
        call3(marketplaceAbi, marketplaceAt, "getJobsPage", [jobAt, count], true),
      );
      room -= count;
    }
    const jobsDone = jobAt + (parts.find((part) => part.phase === "jobs")?.count ?? 0) === jobCount;
    const balanceUsers = nodesDone && jobsDone && room >= 1 ? pending.slice(0, Math.floor(room)) : [];
    if (balanceUsers.length > 0) {
      add(
        { phase: "deposits", offset: balancesRead, count: balanceUsers.length },
        ...balanceUsers.map((user) => call3(escrowAbi, escrowAt, "balancesOf", [user], true)),
      );
    }
    // Addresses ride along (they weigh little) so that balances never wait for them.
    if (usersRead < userCount && pending.length - balanceUsers.length < budget) {
      const count = Math.min(budget, userCount - usersRead);
      add(
        { phase: "users", offset: usersRead, count },
        call3(escrowAbi, escrowAt, "getUsersPage", [usersRead, count], true),
      );
    }

    // ---------------------------------------------------------- send it
    let results: Call3Result[];
    try {
      results = await run(batch);
      const failed = results.findIndex((result) => !result.success);
      if (failed >= 0) {
        const part = parts.findLast((candidate) => candidate.first <= failed)!;
        throw Object.assign(
          new CallFailedError(describeRevert(results[failed]!.returnData), results[failed]!.returnData),
          {
            part,
            index: failed - part.first,
          },
        );
      }
    } catch (error) {
      if (error instanceof Multicall3MissingError) throw error;
      if (budget > 1) {
        budget = Math.ceil(budget / 2);
        streak = 0;
        continue;
      }
      const located = error as { part?: Part; index?: number };
      const part = located.part ?? parts.find((candidate) => candidate.phase !== "totals") ?? parts[0]!;
      const entry = part.phase === "deposits" ? part.offset + (located.index ?? 0) : part.offset;
      const what =
        part.phase === "totals" ? `totalFree(${tokens[located.index ?? 0]})` : `${part.phase} entry ${entry}`;
      throw new V1StateError(`Reading ${what} failed: ${errorMessage(error)}`, { cause: error });
    }
    if (budget < pageSize && ++streak >= GROW_AFTER) {
      budget = Math.min(pageSize, 2 * budget);
      streak = 0;
    }

    // ---------------------------------------------------------- records, in migration order
    const pages: V1RecordPage[] = [];
    for (const part of parts) {
      const result = (i: number) => results[part.first + i]!;
      if (part.phase === "totals") {
        contractTotals = tokens.map(
          (token, t) => decode(escrowAbi, "totalFree", result(t), `The escrow ${escrowAt}: totalFree(${token})`)[0],
        );
      } else if (part.phase === "nodes") {
        const [page, reputations] = decode(registryAbi, "getNodesPage", result(0), `getNodesPage(${part.offset})`);
        const records = entries(page, part, (node: Result, i) => {
          const record = nodeRecordFromV1(node as never, reputations[i] as bigint);
          for (const name of node.models as string[]) modelNames.add(name);
          return record;
        });
        for (const record of records) {
          nodeAccumulator.addNode(record);
          totalStake += record.stake;
        }
        nodeAt += part.count;
        if (nodeAt === nodeCount) checkStake();
        pages.push({ kind: "node", records, count: nodeAccumulator.count, commitment: nodeAccumulator.commitment });
        progress("nodes", nodeAt, nodeCount);
      } else if (part.phase === "jobs") {
        const [page] = decode(marketplaceAbi, "getJobsPage", result(0), `getJobsPage(${part.offset})`);
        const records = entries(page, part, (job: Result, i) => {
          const record = jobRecordFromV1(job as never, BigInt(part.offset + i + 1));
          modelNames.add(job.modelId as string);
          return record;
        });
        for (const record of records) jobAccumulator.addJob(record);
        jobAt += part.count;
        pages.push({ kind: "job", records, count: jobAccumulator.count, commitment: jobAccumulator.commitment });
        progress("jobs", jobAt, jobCount);
      } else if (part.phase === "users") {
        const [page] = decode(escrowAbi, "getUsersPage", result(0), `getUsersPage(${part.offset})`);
        pending.push(...entries(page, part, (user: string) => user));
        usersRead += part.count;
        progress("users", usersRead, userCount);
      } else {
        const records: DepositRecord[] = [];
        balanceUsers.forEach((user, i) => {
          const [tokenList, amounts] = decode(escrowAbi, "balancesOf", result(i), `balancesOf(${user})`);
          if (tokenList.length !== tokens.length || tokenList.some((token: string, t: number) => token !== tokens[t])) {
            throw new V1StateError(`At block ${blockTag} balancesOf(${user}) lists other tokens than tokens().`);
          }
          for (const record of depositRecordsFromV1(user, tokenList, amounts)) {
            records.push(record);
            depositAccumulator.addDeposit(record);
            const t = tokens.indexOf(record.token);
            totals[t] = totals[t]! + record.amount;
          }
        });
        pending.splice(0, balanceUsers.length);
        balancesRead += balanceUsers.length;
        if (records.length > 0) {
          pages.push({
            kind: "deposit",
            records,
            count: depositAccumulator.count,
            commitment: depositAccumulator.commitment,
          });
        }
        progress("deposits", balancesRead, userCount);
      }
    }
    for (const page of pages) yield page;
  }

  tokens.forEach((token, t) => {
    if (totals[t] !== contractTotals![t]) {
      throw new V1StateError(
        `At block ${blockTag} free balances of ${token} sum to ${totals[t]} but totalFree() is ${contractTotals![t]}.`,
      );
    }
  });
  return {
    blockNumber: blockTag,
    blockHash: block.hash,
    nodes: { count: nodeAccumulator.count, commitment: nodeAccumulator.commitment, totalStake },
    jobs: { count: jobAccumulator.count, commitment: jobAccumulator.commitment },
    deposits: {
      count: depositAccumulator.count,
      commitment: depositAccumulator.commitment,
      tokens,
      totals,
    },
    modelNames: [...modelNames],
    calls,
    multicall,
  };
}

/**
 * A page's entries through `convert`, after checking it holds as many as asked. An entry that
 * cannot be decoded (V1 stores bytes that are not UTF-8, say) is named by its position; errors
 * about the records themselves pass through as they are.
 */
function entries<T, R>(page: readonly T[], part: Part, convert: (entry: T, i: number) => R): R[] {
  if (page.length !== part.count) {
    throw new V1StateError(
      `The ${part.phase} page at offset ${part.offset} has ${page.length} entries, expected ${part.count}.`,
    );
  }
  const out: R[] = [];
  for (let i = 0; i < part.count; i++) {
    try {
      out.push(convert(page[i]!, i));
    } catch (error) {
      if (error instanceof RecordError || error instanceof MarketplaceNotDrainedError) throw error;
      throw new V1StateError(`Reading ${part.phase} entry ${part.offset + i} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
  return out;
}

/**
 * Reads every node, finished job and free escrow balance of V1 at one block, as migration
 * records with their commitments and the totals `finalizeMigration` checks: `streamV1Records`,
 * collected. Use the stream itself for histories too large to hold.
 */
export async function readV1State(contracts: V1Contracts, options: ReadV1StateOptions): Promise<V1State> {
  const nodes: NodeRecord[] = [];
  const jobs: JobRecord[] = [];
  const deposits: DepositRecord[] = [];
  const stream = streamV1Records(contracts, options);
  for (;;) {
    const next = await stream.next();
    if (next.done === true) {
      const summary = next.value;
      return {
        blockNumber: summary.blockNumber,
        blockHash: summary.blockHash,
        nodes: { records: nodes, ...summary.nodes },
        jobs: { records: jobs, ...summary.jobs },
        deposits: { records: deposits, ...summary.deposits },
        modelNames: summary.modelNames,
        calls: summary.calls,
      };
    }
    const page = next.value;
    if (page.kind === "node") nodes.push(...page.records);
    else if (page.kind === "job") jobs.push(...page.records);
    else deposits.push(...page.records);
  }
}

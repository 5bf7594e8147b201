import { Contract, ZeroAddress, type BlockTag } from "ethers";
import {
  CommitmentAccumulator,
  depositLeaf,
  depositRecordFromV2Event,
  jobLeaf,
  jobRecordFromV2Event,
  nodeLeaf,
  nodeRecordFromV2,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
} from "./commitment.js";
import type { RecordSet, V1State } from "./v1State.js";
import type { JobMarketplaceV2, NodeRegistryV2, PaymentEscrowV2 } from "../typechain-types/index.js";

/** The V2 proxies to read. */
export interface V2Contracts {
  registry: NodeRegistryV2;
  escrow: PaymentEscrowV2;
  marketplace: JobMarketplaceV2;
}

export type V2ReadPhase = "nodes" | "jobs" | "deposits" | "balances";

export interface V2ReadProgress {
  phase: V2ReadPhase;
  /** Nodes read, blocks scanned for events, or balances checked so far, out of `total`. */
  done: number;
  total: number;
}

export interface ReadV2StateOptions {
  /** The block to read at: a number, or a tag resolved to one first. */
  blockTag: BlockTag;
  /** Nodes per `getNodesPage` call (1 to 10,000). A page that fails is split in two. */
  pageSize?: number;
  /**
   * The first block searched for migration events: the block V2 was deployed in, or earlier
   * (default 0). Too late a block misses imported records, which is reported as an error.
   */
  fromBlock?: number;
  /** Blocks per `eth_getLogs` (default 10,000); a range the node refuses is split in two. */
  logRange?: number;
  /** `balanceOf` and `migrationBatch` calls in flight at once (default 16). */
  concurrency?: number;
  onProgress?: (progress: V2ReadProgress) => void;
}

/** One V2 contract's migration bookkeeping at the block, as its own views report it. */
export interface MigrationOnChain {
  commitment: string;
  count: number;
  /** Batches on record (rolled-back batches are removed). */
  batches: number;
  finalized: boolean;
}

/**
 * Records read back from V2 in migration order, their commitment and count, the contract's own
 * commitment and count, and the batches (by index) whose stored checkpoint (`commitmentBefore`)
 * differs from the read-back's commitment at that batch's start.
 */
export type ReadBack<R> = RecordSet<R> & { onChain: MigrationOnChain; checkpointMismatches: number[] };

/** A migrated deposit whose V2 balance at the block differs from its record. */
export interface BalanceMismatch {
  index: number;
  user: string;
  token: string;
  recorded: bigint;
  balance: bigint;
}

export interface V2State {
  blockNumber: number;
  blockHash: string;
  /**
   * Every node V2 lists, in position order (the migration order until users act). `totalStake`
   * sums the records, `totalStaked` is the registry's own figure, `holding` its ETH balance.
   */
  nodes: ReadBack<NodeRecord> & { totalStake: bigint; totalStaked: bigint; holding: bigint; minimumStake: bigint };
  /** Imported history from `HistoricalJobImported` events, the last one for each id that is still imported. */
  jobs: ReadBack<JobRecord>;
  /**
   * Migrated balances from `DepositMigrated` events (last per index still imported), each checked
   * against `balanceOf` at the block. Per token of the escrow's `tokens()`: `totals` sums the
   * records; `totalFree`, `totalLocked` and `holdings` are the escrow's figures and balance.
   */
  deposits: ReadBack<DepositRecord> & {
    tokens: string[];
    totals: bigint[];
    totalFree: bigint[];
    totalLocked: bigint[];
    holdings: bigint[];
    balanceMismatches: BalanceMismatch[];
  };
  /** `eth_call`s and `eth_getLogs` made. */
  calls: number;
  logQueries: number;
}

/**
 * V2 cannot be read back as asked (events missing from the range, a refused query, …), or does
 * not fit V1's state (a token V1 holds that V2 does not list).
 */
export class V2StateError extends Error {
  override name = "V2StateError";
}

const DEFAULT_PAGE_SIZE = 200;
const MAX_PAGE_SIZE = 10_000;
const DEFAULT_LOG_RANGE = 10_000;
const DEFAULT_CONCURRENCY = 16;
const ERC20_BALANCE = ["function balanceOf(address) view returns (uint256)"];

interface Lifecycle {
  migrationCommitment(overrides: { blockTag: number }): Promise<string>;
  migratedCount(overrides: { blockTag: number }): Promise<bigint>;
  migrationBatchCount(overrides: { blockTag: number }): Promise<bigint>;
  migrationFinalized(overrides: { blockTag: number }): Promise<boolean>;
  migrationBatch(index: number, overrides: { blockTag: number }): Promise<{ commitmentBefore: string; start: bigint }>;
}

function checkPositiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer from 1 to ${max} (got ${value}).`);
  }
}

/**
 * Reads V2 back at one block and recomputes the three commitments from what it holds, so that
 * V1's commitment, V2's on-chain commitment and this read-back can be compared (`compareStates`).
 *
 * Nodes come from `getNodesPage`. Historical jobs and migrated deposits are not enumerable in
 * storage, so they come from the `HistoricalJobImported` and `DepositMigrated` events between
 * `fromBlock` and the block, in order. A rolled-back batch leaves its events behind; for each
 * record index the last event wins, and only indices below `migratedCount()` count. That is
 * exact because rollbacks remove batches last-in first-out: once the batch holding an index is
 * rolled back the cursor is at or below it, so an index still imported was imported again
 * after any rollback that touched it. The batches' stored checkpoints are then checked against
 * the read-back (`checkpointMismatches`), which catches events a node failed to return.
 *
 * The read is of V2 as it is at the block: before users act (in the migration window, or at
 * the block of finalize) it holds exactly the migrated records.
 */
export async function readV2State(contracts: V2Contracts, options: ReadV2StateOptions): Promise<V2State> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const logRange = options.logRange ?? DEFAULT_LOG_RANGE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const fromBlock = options.fromBlock ?? 0;
  checkPositiveInteger(pageSize, "pageSize", MAX_PAGE_SIZE);
  checkPositiveInteger(logRange, "logRange");
  checkPositiveInteger(concurrency, "concurrency");
  if (!Number.isSafeInteger(fromBlock) || fromBlock < 0) {
    throw new RangeError(`fromBlock must be a block number (a non-negative integer), got ${fromBlock}.`);
  }
  const { registry, escrow, marketplace } = contracts;
  const provider = registry.runner?.provider;
  if (!provider) throw new Error("readV2State: the registry contract is not connected to a provider.");
  const block = await provider.getBlock(options.blockTag);
  if (block === null || block.hash === null) throw new Error(`readV2State: no block ${String(options.blockTag)}.`);
  if (fromBlock > block.number) {
    throw new RangeError(`fromBlock ${fromBlock} is after the block read, ${block.number}.`);
  }
  const at = { blockTag: block.number };
  let calls = 0;
  let logQueries = 0;
  const call = <T>(promise: Promise<T>): Promise<T> => {
    calls++;
    return promise;
  };
  const progress = (phase: V2ReadPhase, done: number, total: number) => options.onProgress?.({ phase, done, total });
  const inChunks = async <T, U>(items: readonly T[], fn: (item: T) => Promise<U>, after?: (done: number) => void) => {
    const results: U[] = [];
    for (let start = 0; start < items.length; start += concurrency) {
      results.push(...(await Promise.all(items.slice(start, start + concurrency).map(fn))));
      after?.(results.length);
    }
    return results;
  };

  const readOnChain = async (contract: Lifecycle) => {
    const [commitment, count, batchCount, finalized] = await Promise.all([
      call(contract.migrationCommitment(at)),
      call(contract.migratedCount(at)),
      call(contract.migrationBatchCount(at)),
      call(contract.migrationFinalized(at)),
    ]);
    const indices = Array.from({ length: Number(batchCount) }, (_, i) => i);
    const batches = await inChunks(indices, (i) => call(contract.migrationBatch(i, at)));
    const onChain: MigrationOnChain = { commitment, count: Number(count), batches: indices.length, finalized };
    return {
      onChain,
      checkpoints: batches.map((batch) => ({ start: Number(batch.start), before: batch.commitmentBefore })),
    };
  };

  /** Folds `leaves` and notes every batch whose checkpoint differs from the fold at its start. */
  const fold = (leaves: string[], checkpoints: { start: number; before: string }[]) => {
    const accumulator = new CommitmentAccumulator();
    const mismatches: number[] = [];
    let next = 0;
    const check = () => {
      while (next < checkpoints.length && checkpoints[next]!.start === accumulator.count) {
        if (checkpoints[next]!.before !== accumulator.commitment) mismatches.push(next);
        next++;
      }
    };
    for (const leaf of leaves) {
      check();
      accumulator.add(leaf);
    }
    check();
    // A checkpoint past the records read (fewer records than the cursor) cannot be checked.
    for (; next < checkpoints.length; next++) mismatches.push(next);
    return { commitment: accumulator.commitment, count: accumulator.count, mismatches };
  };

  /**
   * Every log of `event` from `fromBlock` to the block, oldest first. A range the node refuses
   * (result or range caps) is read as two halves, down to a single block.
   */
  const logsOf = async <L>(query: (from: number, to: number) => Promise<L[]>, phase: V2ReadPhase) => {
    const logs: L[] = [];
    const total = block.number - fromBlock + 1;
    const read = async (from: number, to: number): Promise<void> => {
      try {
        logQueries++;
        logs.push(...(await query(from, to)));
      } catch (error) {
        if (from === to) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new V2StateError(`Reading ${phase} events at block ${from} failed: ${reason}`, { cause: error });
        }
        const middle = from + Math.floor((to - from) / 2);
        await read(from, middle);
        await read(middle + 1, to);
      }
    };
    for (let from = fromBlock; from <= block.number; from += logRange) {
      const to = Math.min(from + logRange - 1, block.number);
      await read(from, to);
      progress(phase, to - fromBlock + 1, total);
    }
    return logs;
  };

  /** The last record per index below `count`, from events in chain order; every index must be present. */
  const latestPerIndex = <R>(entries: Iterable<[number, R]>, count: number, kind: string, eventName: string) => {
    const latest = new Map<number, R>();
    for (const [index, record] of entries) if (index < count) latest.set(index, record);
    const records: R[] = [];
    for (let index = 0; index < count; index++) {
      const record = latest.get(index);
      if (record === undefined) {
        throw new V2StateError(
          `No ${eventName} event for ${kind} ${index} between blocks ${fromBlock} and ${block.number}, yet ` +
            `migratedCount() is ${count}: pass the block V2 was deployed in (or an earlier one) as fromBlock.`,
        );
      }
      records.push(record);
    }
    return records;
  };

  // ------------------------------------------------------------ nodes
  const nodesOnChain = await readOnChain(registry as unknown as Lifecycle);
  const nodeCount = Number(await call(registry.nodeCount(at)));
  const nodes: NodeRecord[] = [];
  const readNodes = async (offset: number, limit: number): Promise<void> => {
    let page: Awaited<ReturnType<NodeRegistryV2["getNodesPage"]>>;
    try {
      page = await call(registry.getNodesPage(offset, limit, at));
    } catch (error) {
      if (limit === 1) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new V2StateError(`Reading V2 node ${offset} failed: ${reason}`, { cause: error });
      }
      const half = Math.ceil(limit / 2);
      await readNodes(offset, half);
      await readNodes(offset + half, limit - half);
      return;
    }
    if (page.length !== limit) {
      throw new V2StateError(`The V2 nodes page at offset ${offset} has ${page.length} entries, expected ${limit}.`);
    }
    for (const node of page) nodes.push(nodeRecordFromV2(node));
  };
  for (let offset = 0; offset < nodeCount; offset += pageSize) {
    await readNodes(offset, Math.min(pageSize, nodeCount - offset));
    progress("nodes", nodes.length, nodeCount);
  }
  const nodeFold = fold(nodes.map(nodeLeaf), nodesOnChain.checkpoints);
  const [totalStaked, minimumStake, registryHolding] = await Promise.all([
    call(registry.totalStaked(at)),
    call(registry.minimumStake(at)),
    call(provider.getBalance(await registry.getAddress(), block.number)),
  ]);

  // ------------------------------------------------------------ jobs
  const jobsOnChain = await readOnChain(marketplace as unknown as Lifecycle);
  const jobLogs = await logsOf(
    (from, to) => marketplace.queryFilter(marketplace.filters.HistoricalJobImported(), from, to),
    "jobs",
  );
  const jobs = latestPerIndex(
    jobLogs.map((log): [number, JobRecord] => {
      const record = jobRecordFromV2Event(log.args.record);
      if (record.jobId !== log.args.jobId) {
        throw new V2StateError(
          `A HistoricalJobImported event names job ${log.args.jobId} but carries job ${record.jobId}.`,
        );
      }
      // Job ids start at 1: job `id` is record index `id - 1`.
      return [Number(record.jobId) - 1, record];
    }),
    jobsOnChain.onChain.count,
    "job index",
    "HistoricalJobImported",
  );
  const jobFold = fold(jobs.map(jobLeaf), jobsOnChain.checkpoints);

  // ------------------------------------------------------------ deposits
  const depositsOnChain = await readOnChain(escrow as unknown as Lifecycle);
  const depositLogs = await logsOf(
    (from, to) => escrow.queryFilter(escrow.filters.DepositMigrated(), from, to),
    "deposits",
  );
  const deposits = latestPerIndex(
    depositLogs.map((log): [number, DepositRecord] => [
      Number(log.args.index),
      depositRecordFromV2Event(log.args.user, log.args.token, log.args.amount),
    ]),
    depositsOnChain.onChain.count,
    "deposit index",
    "DepositMigrated",
  );
  const depositFold = fold(deposits.map(depositLeaf), depositsOnChain.checkpoints);
  const tokens = [...(await call(escrow.tokens(at)))];
  const totals = tokens.map(() => 0n);
  for (const record of deposits) {
    const t = tokens.indexOf(record.token);
    if (t < 0)
      throw new V2StateError(`Deposit of ${record.user} is in ${record.token}, which the V2 escrow never listed.`);
    totals[t] = totals[t]! + record.amount;
  }
  const balances = await inChunks(
    deposits,
    (record) => call(escrow.balanceOf(record.user, record.token, at)),
    (done) => progress("balances", done, deposits.length),
  );
  const balanceMismatches: BalanceMismatch[] = [];
  deposits.forEach((record, index) => {
    const balance = balances[index]!;
    if (balance !== record.amount) {
      balanceMismatches.push({ index, user: record.user, token: record.token, recorded: record.amount, balance });
    }
  });
  const escrowAddress = await escrow.getAddress();
  const perToken = await Promise.all(
    tokens.map(async (token) =>
      Promise.all([
        call(escrow.totalFree(token, at)),
        call(escrow.totalLocked(token, at)),
        call(
          token === ZeroAddress
            ? provider.getBalance(escrowAddress, block.number)
            : (new Contract(token, ERC20_BALANCE, provider).getFunction("balanceOf")(
                escrowAddress,
                at,
              ) as Promise<bigint>),
        ),
      ]),
    ),
  );

  return {
    blockNumber: block.number,
    blockHash: block.hash,
    nodes: {
      records: nodes,
      commitment: nodeFold.commitment,
      count: nodes.length,
      onChain: nodesOnChain.onChain,
      checkpointMismatches: nodeFold.mismatches,
      totalStake: nodes.reduce((sum, node) => sum + node.stake, 0n),
      totalStaked,
      holding: registryHolding,
      minimumStake,
    },
    jobs: {
      records: jobs,
      commitment: jobFold.commitment,
      count: jobs.length,
      onChain: jobsOnChain.onChain,
      checkpointMismatches: jobFold.mismatches,
    },
    deposits: {
      records: deposits,
      commitment: depositFold.commitment,
      count: deposits.length,
      onChain: depositsOnChain.onChain,
      checkpointMismatches: depositFold.mismatches,
      tokens,
      totals,
      totalFree: perToken.map(([free]) => free),
      totalLocked: perToken.map(([, locked]) => locked),
      holdings: perToken.map(([, , holding]) => holding),
      balanceMismatches,
    },
    calls,
    logQueries,
  };
}

// ---------------------------------------------------------------- comparison

export type RecordKind = "nodes" | "jobs" | "deposits";

/** What a finding is about; `rule` names the check that failed. */
export type FindingRule =
  | "commitment"
  | "count"
  | "record"
  | "checkpoint"
  | "total"
  | "balance"
  | "solvency"
  | "host-not-registered"
  | "stake-below-minimum"
  | "funds-locked";

export interface Finding {
  kind: RecordKind;
  rule: FindingRule;
  message: string;
  /** The job a finding names, where it names one. */
  jobId?: bigint;
}

const SINGULAR: Record<RecordKind, string> = { nodes: "node", jobs: "job", deposits: "deposit" };

/**
 * Everything in which V2 (read back at a block) differs from V1 (read at the pinned block) or
 * breaks a business rule, as findings; none means the migration is verified. Per kind: V1's
 * commitment against V2's on-chain commitment and against the read-back (the three-way check),
 * the same for counts, the first record that differs, the batches' checkpoints; totals per token
 * and solvency; then every job's host is a registered V2 node (or zero: never claimed), every
 * active node's stake meets V2's minimum, and nothing is locked in open jobs.
 */
export function compareStates(v1: V1State, v2: V2State): Finding[] {
  const findings: Finding[] = [];
  const add = (kind: RecordKind, rule: FindingRule, message: string, jobId?: bigint) =>
    findings.push(jobId === undefined ? { kind, rule, message } : { kind, rule, message, jobId });

  const leafOf = { nodes: nodeLeaf, jobs: jobLeaf, deposits: depositLeaf } as const;
  for (const kind of ["nodes", "jobs", "deposits"] as const) {
    const source = v1[kind];
    const target = v2[kind];
    if (source.commitment !== target.onChain.commitment) {
      add(
        kind,
        "commitment",
        `V1's ${kind} commitment ${source.commitment} differs from V2's on-chain ${target.onChain.commitment}.`,
      );
    }
    if (target.onChain.commitment !== target.commitment) {
      add(
        kind,
        "commitment",
        `V2's on-chain ${kind} commitment ${target.onChain.commitment} differs from its read-back ${target.commitment}.`,
      );
    }
    if (source.count !== target.onChain.count) {
      add(kind, "count", `V1 has ${source.count} ${kind}, V2's migratedCount() is ${target.onChain.count}.`);
    }
    if (target.onChain.count !== target.count) {
      add(
        kind,
        "count",
        `V2's migratedCount() is ${target.onChain.count} ${kind}, its read-back holds ${target.count}.`,
      );
    }
    if (source.commitment !== target.commitment) {
      const leaf = leafOf[kind] as (record: unknown) => string;
      const length = Math.min(source.records.length, target.records.length);
      for (let i = 0; i < length; i++) {
        const a = source.records[i]!;
        const b = target.records[i]!;
        if (leaf(a) === leaf(b)) continue;
        const fields = Object.keys(a).filter((key) => !sameValue(a[key as keyof typeof a], b[key as keyof typeof b]));
        const name = kind === "jobs" ? `job ${(a as JobRecord).jobId}` : `${SINGULAR[kind]} ${i}`;
        add(
          kind,
          "record",
          `${name} differs between V1 and V2 in ${fields.join(", ")}.`,
          kind === "jobs" ? (a as JobRecord).jobId : undefined,
        );
        break;
      }
    }
    for (const batch of target.checkpointMismatches) {
      add(
        kind,
        "checkpoint",
        `V2's ${kind} batch ${batch} starts from a commitment the read-back does not reach: events are missing or extra.`,
      );
    }
  }

  // ------------------------------------------------------------ totals and solvency
  const stakes = v2.nodes;
  if (v1.nodes.totalStake !== stakes.totalStake || stakes.totalStake !== stakes.totalStaked) {
    add(
      "nodes",
      "total",
      `Stakes: V1 ${v1.nodes.totalStake} wei, V2 read-back ${stakes.totalStake}, V2 totalStaked() ${stakes.totalStaked}.`,
    );
  }
  if (stakes.holding < stakes.totalStaked) {
    add("nodes", "solvency", `The V2 registry holds ${stakes.holding} wei but accounts for ${stakes.totalStaked}.`);
  }
  const escrow = v2.deposits;
  const tokens = [...new Set([...v1.deposits.tokens, ...escrow.tokens])];
  for (const token of tokens) {
    const s = v1.deposits.tokens.indexOf(token);
    const t = escrow.tokens.indexOf(token);
    const expected = s < 0 ? 0n : v1.deposits.totals[s]!;
    if (t < 0) {
      if (expected !== 0n)
        add(
          "deposits",
          "total",
          `V1 holds ${expected} of ${token} in free balances, which the V2 escrow never listed.`,
        );
      continue;
    }
    const readBack = escrow.totals[t]!;
    const free = escrow.totalFree[t]!;
    const locked = escrow.totalLocked[t]!;
    if (expected !== readBack || readBack !== free) {
      add("deposits", "total", `Free ${token}: V1 ${expected}, V2 read-back ${readBack}, V2 totalFree() ${free}.`);
    }
    if (locked !== 0n) {
      add(
        "deposits",
        "funds-locked",
        `${locked} of ${token} is locked in open V2 jobs: only drained state is migrated.`,
      );
    }
    if (escrow.holdings[t]! < free + locked) {
      add(
        "deposits",
        "solvency",
        `The V2 escrow holds ${escrow.holdings[t]} of ${token} but accounts for ${free + locked}.`,
      );
    }
  }
  for (const mismatch of escrow.balanceMismatches) {
    add(
      "deposits",
      "balance",
      `Deposit ${mismatch.index} (${mismatch.user}, ${mismatch.token}) migrated ${mismatch.recorded}, balanceOf() is ${mismatch.balance}.`,
    );
  }

  // ------------------------------------------------------------ business rules
  const registered = new Set(v2.nodes.records.map((node) => node.operator));
  for (const job of v2.jobs.records) {
    if (job.host === ZeroAddress || registered.has(job.host)) continue;
    add(
      "jobs",
      "host-not-registered",
      `Job ${job.jobId}'s host ${job.host} is not a registered V2 node (it left V1 after the job?).`,
      job.jobId,
    );
  }
  for (const node of v2.nodes.records) {
    if (node.active && node.stake < v2.nodes.minimumStake) {
      add(
        "nodes",
        "stake-below-minimum",
        `Active node ${node.operator} stakes ${node.stake} wei, below V2's minimum ${v2.nodes.minimumStake}.`,
      );
    }
  }
  return findings;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((value, i) => sameValue(value, b[i]));
  return typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;
}

// ---------------------------------------------------------------- finalize

/** The arguments of `finalizeMigration(commitment, count, tokens, funds)`. */
export type FinalizeArguments = [commitment: string, count: number, tokens: string[], funds: bigint[]];

/**
 * What each V2 contract's `finalizeMigration` must be called with to accept exactly V1's state:
 * the registry expects V1's node commitment and stakes in ETH, the marketplace V1's history and
 * no funds, the escrow V1's deposits and free totals for each of `escrowTokens` (its
 * `migrationTokens()`, in that order; zero for a token V1 did not hold).
 */
export function finalizeExpectations(
  v1: V1State,
  escrowTokens: readonly string[],
): Record<"registry" | "marketplace" | "escrow", FinalizeArguments> {
  for (const [t, token] of v1.deposits.tokens.entries()) {
    if (v1.deposits.totals[t] !== 0n && !escrowTokens.includes(token)) {
      throw new V2StateError(
        `V1 holds free balances of ${token}, which is not among the V2 escrow's migration tokens.`,
      );
    }
  }
  return {
    registry: [v1.nodes.commitment, v1.nodes.count, [ZeroAddress], [v1.nodes.totalStake]],
    marketplace: [v1.jobs.commitment, v1.jobs.count, [], []],
    escrow: [
      v1.deposits.commitment,
      v1.deposits.count,
      [...escrowTokens],
      escrowTokens.map((token) => {
        const t = v1.deposits.tokens.indexOf(token);
        return t < 0 ? 0n : v1.deposits.totals[t]!;
      }),
    ],
  };
}

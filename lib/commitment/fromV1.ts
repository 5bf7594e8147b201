import { MarketplaceNotDrainedError, RecordError, V1_JOB_STATUS_NAMES } from "./errors.js";
import { modelId, type DepositRecord, type JobRecord, type NodeRecord } from "./records.js";
import { describe, normalizeAddress, writeBytes32 } from "./words.js";

/**
 * Records from what V1's paged getters return. The shapes below are the parts of the typechain
 * struct outputs (`INodeRegistryV1.NodeStructOutput`, `IJobMarketplaceV1.JobStructOutput`) that
 * the records use, so plain objects work too.
 */
export interface V1Node {
  operator: string;
  peerId: string;
  stake: bigint;
  active: boolean;
  models: readonly string[];
  region: string;
  registeredAt: bigint;
  unstakeRequestedAt: bigint;
}

export interface V1Job {
  renter: string;
  status: bigint | number;
  assignedHost: string;
  maxPrice: bigint;
  deadline: bigint;
  postedAt: bigint;
  completedAt: bigint;
  modelId: string;
  inputHash: string;
  resultHash: string;
  paymentToken: string;
}

const UINT16_MAX = (1n << 16n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT96_MAX = (1n << 96n) - 1n;
const UINT256_MAX = (1n << 256n) - 1n;
/** The V1 statuses a job can be migrated in: Completed, Cancelled, Expired. */
const FINISHED = new Set([3, 4, 5]);

function checkUint(value: unknown, max: bigint, what: string, type: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > max) {
    throw new RecordError(`${what} must fit a ${type} (0 to ${max}), got ${describe(value)}`);
  }
  return value;
}

function checkBytes32(value: unknown, what: string): string {
  writeBytes32(new Uint8Array(32), 0, value, what);
  return (value as string).toLowerCase();
}

/**
 * A node record from one entry of `NodeRegistryV1.getNodesPage` (the node and its reputation).
 * Model names become ids; V2 learns the names from its model name registry.
 */
export function nodeRecordFromV1(node: V1Node, reputation: bigint): NodeRecord {
  const operator = normalizeAddress(node.operator, "V1 node operator");
  const what = `V1 node ${operator}`;
  if (typeof node.peerId !== "string" || typeof node.region !== "string") {
    throw new RecordError(`${what}: peerId and region must be strings`);
  }
  if (typeof node.active !== "boolean") throw new RecordError(`${what}: active must be a boolean`);
  return {
    operator,
    stake: checkUint(node.stake, UINT96_MAX, `${what}: stake`, "uint96"),
    registeredAt: checkUint(node.registeredAt, UINT64_MAX, `${what}: registeredAt`, "uint64"),
    unstakeRequestedAt: checkUint(node.unstakeRequestedAt, UINT64_MAX, `${what}: unstakeRequestedAt`, "uint64"),
    reputation: checkUint(reputation, UINT16_MAX, `${what}: reputation`, "uint16"),
    active: node.active,
    peerId: node.peerId,
    region: node.region,
    models: Array.from(node.models, (name, i) => {
      if (typeof name !== "string") throw new RecordError(`${what}: model ${i} must be a string`);
      return modelId(name);
    }),
  };
}

/**
 * A job record from one entry of `JobMarketplaceV1.getJobsPage` (page entry i of offset o is
 * job o + i + 1). Only finished jobs are history: an open one throws
 * `MarketplaceNotDrainedError`, whose message says to drain the marketplace first.
 */
export function jobRecordFromV1(job: V1Job, jobId: bigint): JobRecord {
  const id = checkUint(jobId, UINT256_MAX, "V1 job id", "uint256");
  if (id === 0n) throw new RecordError("V1 job ids start at 1, got 0");
  const what = `V1 job ${id}`;
  const status = typeof job.status === "bigint" ? Number(job.status) : job.status;
  if (!Number.isInteger(status) || status < 0 || status >= V1_JOB_STATUS_NAMES.length) {
    throw new RecordError(`${what}: status must be a V1 JobStatus code (0 to 5), got ${describe(job.status)}`);
  }
  if (status === 1 || status === 2) throw new MarketplaceNotDrainedError(id, status);
  if (!FINISHED.has(status)) throw new RecordError(`${what} does not exist (status None): read past jobCount?`);
  return {
    jobId: id,
    renter: normalizeAddress(job.renter, `${what}: renter`),
    host: normalizeAddress(job.assignedHost, `${what}: assignedHost`),
    token: normalizeAddress(job.paymentToken, `${what}: paymentToken`),
    amount: checkUint(job.maxPrice, UINT256_MAX, `${what}: maxPrice`, "uint256"),
    modelId: modelId(job.modelId),
    inputHash: checkBytes32(job.inputHash, `${what}: inputHash`),
    resultHash: checkBytes32(job.resultHash, `${what}: resultHash`),
    postedAt: checkUint(job.postedAt, UINT64_MAX, `${what}: postedAt`, "uint64"),
    deadline: checkUint(job.deadline, UINT64_MAX, `${what}: deadline`, "uint64"),
    completedAt: checkUint(job.completedAt, UINT64_MAX, `${what}: completedAt`, "uint64"),
    status: BigInt(status),
  };
}

/**
 * A user's deposit records from `PaymentEscrowV1.balancesOf(user)`: one per nonzero balance, in
 * the escrow's token order (`tokens()`). Zero balances are not migrated.
 */
export function depositRecordsFromV1(
  user: string,
  tokens: readonly string[],
  amounts: readonly bigint[],
): DepositRecord[] {
  const owner = normalizeAddress(user, "V1 escrow user");
  if (tokens.length !== amounts.length) {
    throw new RecordError(`V1 escrow user ${owner}: ${tokens.length} tokens but ${amounts.length} amounts`);
  }
  const records: DepositRecord[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const amount = checkUint(amounts[i], UINT256_MAX, `V1 escrow user ${owner}: amount ${i}`, "uint256");
    if (amount === 0n) continue;
    records.push({ user: owner, token: normalizeAddress(tokens[i], `V1 escrow token ${i}`), amount });
  }
  return records;
}

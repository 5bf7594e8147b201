import { RecordError } from "./errors.js";
import type { DepositRecord, JobRecord, NodeRecord } from "./records.js";
import { describe, normalizeAddress, writeBytes32 } from "./words.js";

/**
 * Records read back from V2, so that its state can be committed to exactly as V1's was and the
 * two compared as one word each. The shapes are the parts of the typechain outputs
 * (`INodeRegistryV2.NodeStructOutput`, the `HistoricalJobImported` and `DepositMigrated` event
 * arguments) that the records use, so plain objects work too.
 */
export interface V2Node {
  operator: string;
  stake: bigint;
  registeredAt: bigint;
  unstakeRequestedAt: bigint;
  reputation: bigint;
  /** `INodeRegistryV2.NodeStatus`: 0 Unregistered, 1 Active, 2 Inactive. */
  status: bigint | number;
  peerId: string;
  region: string;
  models: readonly string[];
}

/** A `JobRecord` as the `HistoricalJobImported` event carries it. */
export type V2JobEventRecord = { [K in keyof JobRecord]: JobRecord[K] extends bigint ? bigint | number : JobRecord[K] };

const NODE_STATUS_NAMES = ["Unregistered", "Active", "Inactive"] as const;

function checkBigint(value: unknown, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n)
    throw new RecordError(`${what} must be a non-negative bigint, got ${describe(value)}`);
  return value;
}

function checkBytes32(value: unknown, what: string): string {
  writeBytes32(new Uint8Array(32), 0, value, what);
  return (value as string).toLowerCase();
}

/**
 * A node record from one entry of `NodeRegistryV2.getNodesPage`: the inverse of how
 * `batchMigrateNodes` stored it (`active` became status Active, anything else Inactive; the
 * position index is storage only and not part of the record). Range checks are left to the
 * leaf encoding, which names the field that does not fit.
 */
export function nodeRecordFromV2(node: V2Node): NodeRecord {
  const operator = normalizeAddress(node.operator, "V2 node operator");
  const what = `V2 node ${operator}`;
  const status = typeof node.status === "bigint" ? Number(node.status) : node.status;
  if (status !== 1 && status !== 2) {
    const name = NODE_STATUS_NAMES[status as 0] ?? describe(node.status);
    throw new RecordError(`${what}: status must be Active (1) or Inactive (2) for a listed node, got ${name}`);
  }
  if (typeof node.peerId !== "string" || typeof node.region !== "string") {
    throw new RecordError(`${what}: peerId and region must be strings`);
  }
  return {
    operator,
    stake: checkBigint(node.stake, `${what}: stake`),
    registeredAt: checkBigint(node.registeredAt, `${what}: registeredAt`),
    unstakeRequestedAt: checkBigint(node.unstakeRequestedAt, `${what}: unstakeRequestedAt`),
    reputation: checkBigint(node.reputation, `${what}: reputation`),
    active: status === 1,
    peerId: node.peerId,
    region: node.region,
    models: Array.from(node.models, (id, i) => checkBytes32(id, `${what}: model ${i}`)),
  };
}

/** A job record from a `HistoricalJobImported` event's `record` argument (a decoded struct). */
export function jobRecordFromV2Event(record: V2JobEventRecord): JobRecord {
  const id = checkBigint(BigInt(record.jobId), "V2 job id");
  const what = `V2 historical job ${id}`;
  return {
    jobId: id,
    renter: normalizeAddress(record.renter, `${what}: renter`),
    host: normalizeAddress(record.host, `${what}: host`),
    token: normalizeAddress(record.token, `${what}: token`),
    amount: checkBigint(BigInt(record.amount), `${what}: amount`),
    modelId: checkBytes32(record.modelId, `${what}: modelId`),
    inputHash: checkBytes32(record.inputHash, `${what}: inputHash`),
    resultHash: checkBytes32(record.resultHash, `${what}: resultHash`),
    postedAt: checkBigint(BigInt(record.postedAt), `${what}: postedAt`),
    deadline: checkBigint(BigInt(record.deadline), `${what}: deadline`),
    completedAt: checkBigint(BigInt(record.completedAt), `${what}: completedAt`),
    status: checkBigint(BigInt(record.status), `${what}: status`),
  };
}

/** A deposit record from a `DepositMigrated(index, user, token, amount)` event's arguments. */
export function depositRecordFromV2Event(user: string, token: string, amount: bigint): DepositRecord {
  const owner = normalizeAddress(user, "V2 migrated deposit user");
  return {
    user: owner,
    token: normalizeAddress(token, `V2 migrated deposit of ${owner}: token`),
    amount: checkBigint(amount, `V2 migrated deposit of ${owner}: amount`),
  };
}

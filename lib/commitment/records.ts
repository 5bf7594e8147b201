import { keccak256Into } from "./keccak.js";
import {
  describe,
  scratch,
  toHex,
  utf8Keccak,
  writeAddress,
  writeBool,
  writeBytes32,
  writeLength,
  writeStringTail,
  writeUint,
} from "./words.js";
import { RecordError } from "./errors.js";

/**
 * The migration records of `contracts/migration/MigrationRecords.sol`, field for field and in
 * the same order (the order is part of the commitment). Integers are bigints, addresses and
 * bytes32 values 0x-prefixed hex strings.
 */
export interface NodeRecord {
  operator: string;
  stake: bigint;
  registeredAt: bigint;
  unstakeRequestedAt: bigint;
  reputation: bigint;
  active: boolean;
  peerId: string;
  region: string;
  /** Model ids: `modelId(name)` of each model name, in V1's order. */
  models: string[];
}

export interface JobRecord {
  jobId: bigint;
  renter: string;
  host: string;
  token: string;
  amount: bigint;
  modelId: string;
  inputHash: string;
  resultHash: string;
  postedAt: bigint;
  deadline: bigint;
  completedAt: bigint;
  /** V1's `JobStatus` code: 3 Completed, 4 Cancelled, 5 Expired. */
  status: bigint;
}

export interface DepositRecord {
  user: string;
  token: string;
  amount: bigint;
}

/** The ABI type of each record, for ethers' `AbiCoder` and `Interface` (same encoding as Solidity's). */
export const NODE_RECORD_TUPLE =
  "tuple(address operator,uint96 stake,uint64 registeredAt,uint64 unstakeRequestedAt,uint16 reputation,bool active,string peerId,string region,bytes32[] models)";
export const JOB_RECORD_TUPLE =
  "tuple(uint256 jobId,address renter,address host,address token,uint256 amount,bytes32 modelId,bytes32 inputHash,bytes32 resultHash,uint64 postedAt,uint64 deadline,uint64 completedAt,uint8 status)";
export const DEPOSIT_RECORD_TUPLE = "tuple(address user,address token,uint256 amount)";

/** A node record's head: the tuple offset word, then nine words (three of them tail offsets). */
const NODE_HEAD = 10 * 32;
const JOB_SIZE = 12 * 32;
const DEPOSIT_SIZE = 3 * 32;

function checkObject(record: unknown, type: string): void {
  if (typeof record !== "object" || record === null) {
    throw new RecordError(`a ${type} must be an object, got ${describe(record)}`);
  }
}

/**
 * Writes `abi.encode(record)` into the scratch buffer and returns its length. A node record is
 * a dynamic tuple, so its encoding starts with the offset of the tuple (0x20); the offsets of
 * its strings and model list are relative to the tuple's start.
 */
function encodeNodeInto(record: NodeRecord): number {
  checkObject(record, "NodeRecord");
  let out = scratch.bytes;
  writeLength(out, 0, 32);
  writeAddress(out, 32, record.operator, "NodeRecord.operator");
  writeUint(out, 64, record.stake, 96, "NodeRecord.stake");
  writeUint(out, 96, record.registeredAt, 64, "NodeRecord.registeredAt");
  writeUint(out, 128, record.unstakeRequestedAt, 64, "NodeRecord.unstakeRequestedAt");
  writeUint(out, 160, record.reputation, 16, "NodeRecord.reputation");
  writeBool(out, 192, record.active, "NodeRecord.active");
  const regionAt = writeStringTail(NODE_HEAD, record.peerId, "NodeRecord.peerId");
  const modelsAt = writeStringTail(regionAt, record.region, "NodeRecord.region");
  const models: unknown = record.models;
  if (!Array.isArray(models)) throw new RecordError(`NodeRecord.models must be an array, got ${describe(models)}`);
  const end = modelsAt + 32 + 32 * models.length;
  out = scratch.ensure(end, modelsAt);
  writeLength(out, 224, NODE_HEAD - 32);
  writeLength(out, 256, regionAt - 32);
  writeLength(out, 288, modelsAt - 32);
  writeLength(out, modelsAt, models.length);
  for (let i = 0; i < models.length; i++) {
    writeBytes32(out, modelsAt + 32 + 32 * i, models[i], `NodeRecord.models[${i}]`);
  }
  return end;
}

function encodeJobInto(record: JobRecord): number {
  checkObject(record, "JobRecord");
  const out = scratch.bytes;
  writeUint(out, 0, record.jobId, 256, "JobRecord.jobId");
  writeAddress(out, 32, record.renter, "JobRecord.renter");
  writeAddress(out, 64, record.host, "JobRecord.host");
  writeAddress(out, 96, record.token, "JobRecord.token");
  writeUint(out, 128, record.amount, 256, "JobRecord.amount");
  writeBytes32(out, 160, record.modelId, "JobRecord.modelId");
  writeBytes32(out, 192, record.inputHash, "JobRecord.inputHash");
  writeBytes32(out, 224, record.resultHash, "JobRecord.resultHash");
  writeUint(out, 256, record.postedAt, 64, "JobRecord.postedAt");
  writeUint(out, 288, record.deadline, 64, "JobRecord.deadline");
  writeUint(out, 320, record.completedAt, 64, "JobRecord.completedAt");
  writeUint(out, 352, record.status, 8, "JobRecord.status");
  return JOB_SIZE;
}

function encodeDepositInto(record: DepositRecord): number {
  checkObject(record, "DepositRecord");
  const out = scratch.bytes;
  writeAddress(out, 0, record.user, "DepositRecord.user");
  writeAddress(out, 32, record.token, "DepositRecord.token");
  writeUint(out, 64, record.amount, 256, "DepositRecord.amount");
  return DEPOSIT_SIZE;
}

/** `abi.encode(record)`, as Solidity and `AbiCoder.encode([NODE_RECORD_TUPLE], [record])` produce it. */
export function encodeNodeRecord(record: NodeRecord): Uint8Array {
  return scratch.bytes.slice(0, encodeNodeInto(record));
}

export function encodeJobRecord(record: JobRecord): Uint8Array {
  return scratch.bytes.slice(0, encodeJobInto(record));
}

export function encodeDepositRecord(record: DepositRecord): Uint8Array {
  return scratch.bytes.slice(0, encodeDepositInto(record));
}

/** Writes the leaf of an encoded record (`keccak256` of the scratch buffer's first `length` bytes). */
function leafInto(length: number, out: Uint8Array, at: number): void {
  keccak256Into(scratch.bytes, 0, length, out, at);
}

export function nodeLeafInto(record: NodeRecord, out: Uint8Array, at: number): void {
  leafInto(encodeNodeInto(record), out, at);
}

export function jobLeafInto(record: JobRecord, out: Uint8Array, at: number): void {
  leafInto(encodeJobInto(record), out, at);
}

export function depositLeafInto(record: DepositRecord, out: Uint8Array, at: number): void {
  leafInto(encodeDepositInto(record), out, at);
}

const leafOut = new Uint8Array(32);

/** A node record's leaf: `keccak256(abi.encode(record))`, as `MigrationRecords.leaf` computes it. */
export function nodeLeaf(record: NodeRecord): string {
  nodeLeafInto(record, leafOut, 0);
  return toHex(leafOut, 0, 32);
}

/** A job record's leaf: `keccak256(abi.encode(record))`. */
export function jobLeaf(record: JobRecord): string {
  jobLeafInto(record, leafOut, 0);
  return toHex(leafOut, 0, 32);
}

/** A deposit record's leaf: `keccak256(abi.encode(record))`. */
export function depositLeaf(record: DepositRecord): string {
  depositLeafInto(record, leafOut, 0);
  return toHex(leafOut, 0, 32);
}

/** A model's id: `keccak256(bytes(name))`, the UTF-8 bytes of its name. */
export function modelId(name: string): string {
  return utf8Keccak(name, "model name");
}

import {
  encodeDepositRecord,
  encodeJobRecord,
  encodeNodeRecord,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
} from "../commitment.js";

/**
 * The physical floor of a migration, per record: what moving the records into V2's layout must
 * cost whoever does it, computed from the records' actual sizes.
 *
 *   floor = (22,100 × fresh slots + calldata floor + 21,000 × minimum transactions) / records
 *
 * - fresh slots: the storage slots V2's packed layout writes from zero for each record
 *   (SSTORE zero → nonzero, cold: 22,100 gas). A node: its two packed words, each non-empty
 *   string (one slot when shorter than 32 bytes, else a length slot and a slot per 32 bytes),
 *   its model list (a length slot and a slot per id, when not empty) and its entry in the operator
 *   list. A deposit: its balance slot. A historical job: none (V2 keeps a hash chain and an event).
 * - calldata floor (EIP-7623): 10 gas per zero byte and 40 per non-zero byte of the record's
 *   canonical encoding (`abi.encode(record)`, the bytes a batch carrying it sends and the
 *   commitment hashes; a node's includes its offset word, as in an array of records).
 * - 21,000 gas per transaction at the smallest possible count: the least n with
 *   slots + calldata + 21,000 × n ≤ n × 2^24 (every transaction under the cap).
 * Per-batch bookkeeping (cursor, commitment, counters), events and reads are not in the floor:
 * they are what an implementation adds over it.
 */

export const FRESH_SLOT_GAS = 22_100;
export const CALLDATA_ZERO_BYTE_FLOOR_GAS = 10;
export const CALLDATA_NONZERO_BYTE_FLOOR_GAS = 40;
export const TX_BASE_GAS = 21_000;
export const TX_GAS_CAP = 16_777_216;
const WORD = 32;

/** The slots a Solidity `string` of `bytes` bytes occupies when written from zero (none when empty). */
export function stringSlots(bytes: number): number {
  if (bytes === 0) return 0;
  if (bytes < WORD) return 1; // short strings live in their own slot with their length
  return 1 + Math.ceil(bytes / WORD);
}

const utf8 = new TextEncoder();

/** Fresh slots of one node in V2's layout (see the module comment). */
export function nodeFreshSlots(record: Pick<NodeRecord, "peerId" | "region" | "models">): number {
  const packedWords = 2; // operator + stake; times, reputation, status, index
  const operatorListEntry = 1;
  const models = record.models.length === 0 ? 0 : 1 + record.models.length;
  return (
    packedWords +
    operatorListEntry +
    stringSlots(utf8.encode(record.peerId).length) +
    stringSlots(utf8.encode(record.region).length) +
    models
  );
}

/** The EIP-7623 floor of carrying `bytes` as calldata. */
export function calldataFloorGas(bytes: Uint8Array): number {
  let gas = 0;
  for (const byte of bytes) gas += byte === 0 ? CALLDATA_ZERO_BYTE_FLOOR_GAS : CALLDATA_NONZERO_BYTE_FLOOR_GAS;
  return gas;
}

/** The least number of transactions under the cap that can carry `gas` besides their own 21,000 each. */
export function minimumTransactions(gas: number): number {
  if (gas <= 0) return 0;
  return Math.ceil(gas / (TX_GAS_CAP - TX_BASE_GAS));
}

export interface Floor {
  records: number;
  freshSlots: number;
  calldataFloorGas: number;
  transactions: number;
  totalGas: number;
  /** Rounded up; 0 when there are no records. */
  gasPerRecord: number;
}

/** The floor of records given as (fresh slots, encoded bytes) pairs. */
export function floorOf(items: Iterable<{ freshSlots: number; encoded: Uint8Array }>): Floor {
  let records = 0;
  let freshSlots = 0;
  let calldata = 0;
  for (const item of items) {
    records++;
    freshSlots += item.freshSlots;
    calldata += calldataFloorGas(item.encoded);
  }
  const payload = freshSlots * FRESH_SLOT_GAS + calldata;
  const transactions = minimumTransactions(payload);
  const totalGas = payload + transactions * TX_BASE_GAS;
  return {
    records,
    freshSlots,
    calldataFloorGas: calldata,
    transactions,
    totalGas,
    gasPerRecord: records === 0 ? 0 : Math.ceil(totalGas / records),
  };
}

export function nodeFloor(records: readonly NodeRecord[]): Floor {
  return floorOf(records.map((r) => ({ freshSlots: nodeFreshSlots(r), encoded: encodeNodeRecord(r) })));
}

/** Historical jobs store nothing per job in V2: their floor is the calldata and the transactions. */
export function jobFloor(records: readonly JobRecord[]): Floor {
  return floorOf(records.map((r) => ({ freshSlots: 0, encoded: encodeJobRecord(r) })));
}

/** One balance slot per (user, token) record. */
export function depositFloor(records: readonly DepositRecord[]): Floor {
  return floorOf(records.map((r) => ({ freshSlots: 1, encoded: encodeDepositRecord(r) })));
}

/** The formula in words, for the output. */
export const FLOOR_EXPLANATION = [
  "Floor per record = (22,100 × fresh slots + EIP-7623 calldata floor + 21,000 × minimum transactions) / records.",
  "Fresh slots: what V2's packed layout writes from zero per record: a node's 2 packed words, its operator-list entry,",
  "each non-empty string (1 slot if < 32 bytes, else 1 + ceil(bytes/32)) and its model list (1 + ids, if any);",
  "a deposit's balance slot; a historical job none (hash chain + event).",
  "Calldata floor: 10 gas per zero byte, 40 per non-zero byte of each record's abi.encode (what a batch carries).",
  "Minimum transactions: the least n with payload + 21,000·n ≤ n·2^24.",
  "Per-batch bookkeeping, events and reads are not in the floor.",
].join("\n");

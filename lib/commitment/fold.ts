import { RecordError } from "./errors.js";
import { keccak256Into } from "./keccak.js";
import {
  depositLeafInto,
  jobLeafInto,
  nodeLeafInto,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
} from "./records.js";
import { describe, toHex, writeBytes32 } from "./words.js";

/** The commitment of no records (`StateCommitment.EMPTY`). */
export const EMPTY_COMMITMENT = `0x${"00".repeat(32)}`;

const pair = new Uint8Array(64);

/**
 * Folds `leaf` into the accumulator `acc`: `keccak256(abi.encode(acc, leaf))`, which for two
 * words is the hash of their 64 bytes (`StateCommitment.fold`).
 */
export function fold(acc: string, leaf: string): string {
  writeBytes32(pair, 0, acc, "accumulator");
  writeBytes32(pair, 32, leaf, "leaf");
  keccak256Into(pair, 0, 64, pair, 0);
  return toHex(pair, 0, 32);
}

/**
 * A running commitment: leaves (or records) are folded in one at a time, in migration order.
 * Start it from a batch's stored commitment and count to continue where that batch ended.
 */
export class CommitmentAccumulator {
  /** The accumulator in bytes 0-31; bytes 32-63 receive each leaf before it is folded in. */
  readonly #pair = new Uint8Array(64);
  #count: number;

  constructor(start: string = EMPTY_COMMITMENT, count = 0) {
    writeBytes32(this.#pair, 0, start, "the starting commitment");
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RecordError(`the starting count must be a non-negative integer, got ${describe(count)}`);
    }
    this.#count = count;
  }

  /** Folds in a leaf given as 0x-prefixed hex. */
  add(leaf: string): this {
    writeBytes32(this.#pair, 32, leaf, "leaf");
    return this.#fold();
  }

  /** Folds in a node record's leaf (without a round trip through hex). */
  addNode(record: NodeRecord): this {
    nodeLeafInto(record, this.#pair, 32);
    return this.#fold();
  }

  addJob(record: JobRecord): this {
    jobLeafInto(record, this.#pair, 32);
    return this.#fold();
  }

  addDeposit(record: DepositRecord): this {
    depositLeafInto(record, this.#pair, 32);
    return this.#fold();
  }

  /** The commitment of every leaf folded in so far. */
  get commitment(): string {
    return toHex(this.#pair, 0, 32);
  }

  /** How many leaves were folded in, including the starting count. */
  get count(): number {
    return this.#count;
  }

  #fold(): this {
    keccak256Into(this.#pair, 0, 64, this.#pair, 0);
    this.#count++;
    return this;
  }
}

/** The commitment of `leaves`, folded in order from `EMPTY_COMMITMENT`. */
export function commitmentOf(leaves: Iterable<string>): string {
  const accumulator = new CommitmentAccumulator();
  for (const leaf of leaves) accumulator.add(leaf);
  return accumulator.commitment;
}

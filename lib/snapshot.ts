import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { getAddress } from "ethers";
import { CommitmentAccumulator, modelId, type DepositRecord, type JobRecord, type NodeRecord } from "./commitment.js";
import {
  streamV1Records,
  type ReadV1StateOptions,
  type V1Contracts,
  type V1ReadSummary,
  type V1RecordPage,
  type V1State,
} from "./v1State.js";
import { jsonPreview } from "./jsonPreview.js";

/**
 * V1 state as a file: the backup the migration guide asks for, and an input the migration can
 * be checked against. NDJSON: line 1 is the header (chain, block, addresses, counts,
 * commitments, totals, model names), then one line per record in migration order (nodes, jobs,
 * deposits), each `{ "kind": "node" | "job" | "deposit", ...record }` with bigints as decimal
 * strings. Both directions stream, so a history of millions of jobs is never held in memory.
 *
 * Writing goes to a temporary file in the same directory, is fsynced, then renamed over the
 * target: a write that fails or is interrupted leaves the previous snapshot as it was. Reading
 * validates every line, recomputes counts, commitments and totals, and compares them with the
 * header; any difference is refused with the line and field it concerns.
 */

export const SNAPSHOT_FORMAT = "fabstir-v1-snapshot";
export const SNAPSHOT_VERSION = 1;

export interface SnapshotAddresses {
  registry: string;
  marketplace: string;
  escrow: string;
}

export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  chainId: number;
  blockNumber: number;
  blockHash: string;
  addresses: SnapshotAddresses;
  counts: { nodes: number; jobs: number; deposits: number };
  commitments: { nodes: string; jobs: string; deposits: string };
  /** The sum of the nodes' stakes (wei). */
  totalStake: bigint;
  /** The escrow's tokens (`tokens()` order) and the free total of each. */
  tokens: string[];
  totals: bigint[];
  /** Every model name the records use (records carry ids: `modelId(name)`). */
  modelNames: string[];
  /** What wrote the file (a tool and version), for people reading it. */
  createdBy?: string;
}

/** What `writeSnapshot` writes: V1's records as a stream of pages, and where they were read. */
export interface SnapshotSource {
  chainId: number;
  addresses: SnapshotAddresses;
  createdBy?: string;
  /** Pages in migration order; the summary when done (`streamV1Records` is one). */
  records: AsyncIterator<V1RecordPage, V1ReadSummary>;
}

/** A snapshot file's header and the SHA-256 of its bytes (to quote in a report or check a copy). */
export interface SnapshotInfo {
  header: SnapshotHeader;
  sha256: string;
  bytes: number;
}

export interface SnapshotExpectations {
  chainId?: number;
  addresses?: Partial<SnapshotAddresses>;
}

export interface ReadSnapshotOptions {
  /** Refuse a snapshot of another chain or other contracts (checked on the header, before the records). */
  expect?: SnapshotExpectations;
  /** Records per yielded page (default 200). */
  pageSize?: number;
}

/** A snapshot that cannot be written or read as it is; names the file, and the line when there is one. */
export class SnapshotError extends Error {
  override name = "SnapshotError";
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, problem: string, options?: { cause?: unknown }) {
    super(`Snapshot ${file}${line === undefined ? "" : `, line ${line}`}: ${problem}`, options);
    this.file = file;
    this.line = line;
  }
}

type Kind = V1RecordPage["kind"];
type FieldType = "address" | "uint" | "bytes32" | "bool" | "string" | "bytes32[]";

/** Each record's fields in `MigrationRecords.sol` order, which is also the order written. */
const FIELDS: Record<Kind, ReadonlyArray<readonly [string, FieldType]>> = {
  node: [
    ["operator", "address"],
    ["stake", "uint"],
    ["registeredAt", "uint"],
    ["unstakeRequestedAt", "uint"],
    ["reputation", "uint"],
    ["active", "bool"],
    ["peerId", "string"],
    ["region", "string"],
    ["models", "bytes32[]"],
  ],
  job: [
    ["jobId", "uint"],
    ["renter", "address"],
    ["host", "address"],
    ["token", "address"],
    ["amount", "uint"],
    ["modelId", "bytes32"],
    ["inputHash", "bytes32"],
    ["resultHash", "bytes32"],
    ["postedAt", "uint"],
    ["deadline", "uint"],
    ["completedAt", "uint"],
    ["status", "uint"],
  ],
  deposit: [
    ["user", "address"],
    ["token", "address"],
    ["amount", "uint"],
  ],
};
const KINDS: readonly Kind[] = ["node", "job", "deposit"];
const PLURAL: Record<Kind, "nodes" | "jobs" | "deposits"> = { node: "nodes", job: "jobs", deposit: "deposits" };
/** 2^256 - 1 has 78 digits: longer strings are refused before `BigInt` parses them. */
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const HEADER_KEYS = new Set([
  "format",
  "version",
  "chainId",
  "blockNumber",
  "blockHash",
  "addresses",
  "counts",
  "commitments",
  "totalStake",
  "tokens",
  "totals",
  "modelNames",
  "createdBy",
]);
const DEFAULT_PAGE_SIZE = 200;
/** Bytes buffered before a write. */
const WRITE_CHUNK = 1 << 20;

function describe(value: unknown): string {
  return jsonPreview(value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ------------------------------------------------------------------ records <-> lines

function recordLine(kind: Kind, record: NodeRecord | JobRecord | DepositRecord): string {
  const out: Record<string, unknown> = { kind };
  for (const [name, type] of FIELDS[kind]) {
    const value = (record as unknown as Record<string, unknown>)[name];
    out[name] = type === "uint" && typeof value === "bigint" ? value.toString() : value;
  }
  return `${JSON.stringify(out)}\n`;
}

/**
 * A record from a parsed line, with every field's JSON type checked. Values (address format and
 * checksum, integer ranges, hex lengths) are checked when the record is folded, by the same
 * encoder that computes its leaf.
 */
function parseRecord(kind: Kind, line: Record<string, unknown>): NodeRecord | JobRecord | DepositRecord {
  const fields = FIELDS[kind];
  for (const key of Object.keys(line)) {
    if (key !== "kind" && !fields.some(([name]) => name === key)) {
      throw new Error(`a ${kind} record has no field "${key}"`);
    }
  }
  const record: Record<string, unknown> = {};
  for (const [name, type] of fields) {
    if (!(name in line)) throw new Error(`field "${name}" of the ${kind} record is missing`);
    const value = line[name];
    const wrong = (expected: string) => new Error(`field "${name}" must be ${expected}, got ${describe(value)}`);
    switch (type) {
      case "uint":
        if (typeof value !== "string") throw wrong("a decimal string");
        if (!DECIMAL.test(value)) throw wrong("a decimal string of an unsigned integer below 2^256");
        record[name] = BigInt(value);
        break;
      case "bool":
        if (typeof value !== "boolean") throw wrong("true or false");
        record[name] = value;
        break;
      case "bytes32[]":
        if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
          throw wrong("an array of 0x-prefixed 32-byte hex strings");
        }
        record[name] = value;
        break;
      default:
        if (typeof value !== "string") throw wrong(type === "string" ? "a string" : `a 0x-prefixed ${type}`);
        record[name] = value;
    }
  }
  return record as unknown as NodeRecord | JobRecord | DepositRecord;
}

/**
 * Counts, commitments and totals of records as they go by, and the rules a snapshot's records
 * follow: migration order, job ids from 1 without gaps, tokens the escrow lists.
 */
class Tally {
  readonly accumulators = {
    node: new CommitmentAccumulator(),
    job: new CommitmentAccumulator(),
    deposit: new CommitmentAccumulator(),
  };
  totalStake = 0n;
  readonly totals = new Map<string, bigint>();
  readonly modelIds = new Set<string>();
  #kind = 0;
  readonly #tokens: Set<string> | undefined;

  /** With `tokens`, a deposit in another token is refused as soon as it is seen. */
  constructor(tokens?: readonly string[]) {
    this.#tokens = tokens && new Set(tokens.map((token) => token.toLowerCase()));
  }

  /** Folds in one record; throws (a `RecordError` for a value out of range) when it breaks a rule. */
  add(kind: Kind, record: NodeRecord | JobRecord | DepositRecord): void {
    const at = KINDS.indexOf(kind);
    if (at < this.#kind) {
      throw new Error(
        `a ${kind} record after ${PLURAL[KINDS[this.#kind]!]}: records go nodes, then jobs, then deposits`,
      );
    }
    this.#kind = at;
    if (kind === "node") {
      const node = record as NodeRecord;
      this.accumulators.node.addNode(node);
      this.totalStake += node.stake;
      for (const id of node.models) this.modelIds.add(id.toLowerCase());
    } else if (kind === "job") {
      const job = record as JobRecord;
      const expected = BigInt(this.accumulators.job.count + 1);
      if (job.jobId !== expected) throw new Error(`job id ${job.jobId} is out of sequence (expected ${expected})`);
      this.accumulators.job.addJob(job);
      this.modelIds.add(job.modelId.toLowerCase());
    } else {
      const deposit = record as DepositRecord;
      this.accumulators.deposit.addDeposit(deposit);
      const token = deposit.token.toLowerCase();
      if (this.#tokens !== undefined && !this.#tokens.has(token)) {
        throw new Error(`token ${deposit.token} is not among the header's tokens`);
      }
      this.totals.set(token, (this.totals.get(token) ?? 0n) + deposit.amount);
    }
  }

  /** The first difference from what `source` claims, as a sentence; undefined when there is none. */
  differenceFrom(
    claimed: Pick<SnapshotHeader, "counts" | "commitments" | "totalStake" | "tokens" | "totals" | "modelNames">,
    source: string,
  ): string | undefined {
    for (const kind of KINDS) {
      const count = this.accumulators[kind].count;
      const expected = claimed.counts[PLURAL[kind]];
      if (count !== expected) {
        return `${source} counts ${expected} ${PLURAL[kind]} but there are ${count} ${kind} records (a line was added or removed, or the file was cut short)`;
      }
    }
    for (const kind of KINDS) {
      const commitment = this.accumulators[kind].commitment;
      const expected = claimed.commitments[PLURAL[kind]];
      if (commitment !== expected.toLowerCase()) {
        return `commitments.${PLURAL[kind]} is ${expected} in ${source} but the ${kind} records fold to ${commitment} (a record or the header was changed)`;
      }
    }
    if (this.totalStake !== claimed.totalStake) {
      return `totalStake is ${claimed.totalStake} in ${source} but the node records' stakes sum to ${this.totalStake}`;
    }
    const tokens = claimed.tokens.map((token) => token.toLowerCase());
    for (const token of this.totals.keys()) {
      if (!tokens.includes(token))
        return `deposits in ${getAddress(token)}, which ${source} does not list among its tokens`;
    }
    for (const [t, token] of claimed.tokens.entries()) {
      const sum = this.totals.get(token.toLowerCase()) ?? 0n;
      if (sum !== claimed.totals[t]) {
        return `the total of ${token} is ${claimed.totals[t]} in ${source} but its deposit records sum to ${sum}`;
      }
    }
    const named = new Set(claimed.modelNames.map((name) => modelId(name)));
    for (const id of this.modelIds) {
      if (!named.has(id)) return `model id ${id} is used by a record but ${source} names no model with that id`;
    }
    return undefined;
  }
}

// ------------------------------------------------------------------ header

function headerLine(header: SnapshotHeader): string {
  const { createdBy, ...rest } = header;
  return `${JSON.stringify({
    ...rest,
    totalStake: header.totalStake.toString(),
    totals: header.totals.map(String),
    ...(createdBy === undefined ? {} : { createdBy }),
  })}\n`;
}

function checkedAddress(value: unknown, field: string): string {
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) {
    try {
      return getAddress(value);
    } catch {
      throw new Error(`${field} has a bad EIP-55 checksum: ${value}`);
    }
  }
  throw new Error(`${field} must be an address (0x and 40 hex digits), got ${describe(value)}`);
}

function checkedCount(value: unknown, field: string, min = 0): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`${field} must be an integer of at least ${min}, got ${describe(value)}`);
  }
  return value;
}

function checkedDecimal(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !DECIMAL.test(value)) {
    throw new Error(`${field} must be a decimal string of an unsigned integer below 2^256, got ${describe(value)}`);
  }
  return BigInt(value);
}

function checkedObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${field} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function checkedArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${field} must be an array, got ${describe(value)}`);
  return value;
}

/** The header from line 1's JSON, every field checked; throws a sentence naming the field. */
function parseHeader(json: unknown): SnapshotHeader {
  const raw = checkedObject(json, "the header");
  if (raw.format !== SNAPSHOT_FORMAT) {
    throw new Error(`this is not a Fabstir V1 snapshot (format is ${describe(raw.format)}, not "${SNAPSHOT_FORMAT}")`);
  }
  if (raw.version !== SNAPSHOT_VERSION) {
    throw new Error(`snapshot version ${describe(raw.version)} is not supported (this toolkit reads version 1)`);
  }
  for (const key of Object.keys(raw)) {
    if (!HEADER_KEYS.has(key)) throw new Error(`the header has no field "${key}"`);
  }
  const blockHash = raw.blockHash;
  if (typeof blockHash !== "string" || !BYTES32.test(blockHash)) {
    throw new Error(`blockHash must be 32 bytes of 0x-prefixed hex, got ${describe(blockHash)}`);
  }
  const addresses = checkedObject(raw.addresses, "addresses");
  const counts = checkedObject(raw.counts, "counts");
  const commitments = checkedObject(raw.commitments, "commitments");
  const commitment = (kind: string) => {
    const value = commitments[kind];
    if (typeof value !== "string" || !BYTES32.test(value)) {
      throw new Error(`commitments.${kind} must be 32 bytes of 0x-prefixed hex, got ${describe(value)}`);
    }
    return value;
  };
  const tokens = checkedArray(raw.tokens, "tokens").map((token, i) => checkedAddress(token, `tokens[${i}]`));
  if (new Set(tokens).size !== tokens.length) throw new Error("tokens lists a token twice");
  const totals = checkedArray(raw.totals, "totals").map((total, i) => checkedDecimal(total, `totals[${i}]`));
  if (totals.length !== tokens.length) {
    throw new Error(`totals has ${totals.length} entries for ${tokens.length} tokens`);
  }
  const modelNames = checkedArray(raw.modelNames, "modelNames").map((name, i) => {
    if (typeof name !== "string") throw new Error(`modelNames[${i}] must be a string, got ${describe(name)}`);
    return name;
  });
  if (raw.createdBy !== undefined && typeof raw.createdBy !== "string") {
    throw new Error(`createdBy must be a string, got ${describe(raw.createdBy)}`);
  }
  const header: SnapshotHeader = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    chainId: checkedCount(raw.chainId, "chainId", 1),
    blockNumber: checkedCount(raw.blockNumber, "blockNumber"),
    blockHash: blockHash.toLowerCase(),
    addresses: {
      registry: checkedAddress(addresses.registry, "addresses.registry"),
      marketplace: checkedAddress(addresses.marketplace, "addresses.marketplace"),
      escrow: checkedAddress(addresses.escrow, "addresses.escrow"),
    },
    counts: {
      nodes: checkedCount(counts.nodes, "counts.nodes"),
      jobs: checkedCount(counts.jobs, "counts.jobs"),
      deposits: checkedCount(counts.deposits, "counts.deposits"),
    },
    commitments: { nodes: commitment("nodes"), jobs: commitment("jobs"), deposits: commitment("deposits") },
    totalStake: checkedDecimal(raw.totalStake, "totalStake"),
    tokens,
    totals,
    modelNames,
  };
  if (raw.createdBy !== undefined) header.createdBy = raw.createdBy as string;
  return header;
}

/** Refuses a header of another chain or other contracts than `expect` names. */
function checkExpectations(header: SnapshotHeader, expect: SnapshotExpectations | undefined): void {
  if (expect?.chainId !== undefined && expect.chainId !== header.chainId) {
    throw new Error(`it was taken on chain ${header.chainId}, not on chain ${expect.chainId}`);
  }
  for (const role of ["registry", "marketplace", "escrow"] as const) {
    const wanted = expect?.addresses?.[role];
    if (wanted !== undefined && wanted.toLowerCase() !== header.addresses[role].toLowerCase()) {
      throw new Error(`its ${role} is ${header.addresses[role]}, not ${wanted}`);
    }
  }
}

// ------------------------------------------------------------------ writing

/** A file handle with a write buffer and a running SHA-256 of what went through it. */
class BufferedFile {
  readonly #handle: FileHandle;
  readonly #hash = createHash("sha256");
  #parts: string[] = [];
  #pending = 0;
  bytes = 0;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  async write(text: string): Promise<void> {
    this.#parts.push(text);
    this.#pending += text.length;
    if (this.#pending >= WRITE_CHUNK) await this.flush();
  }

  async writeBytes(bytes: Uint8Array): Promise<void> {
    await this.flush();
    this.#hash.update(bytes);
    this.bytes += bytes.length;
    await this.#handle.write(bytes);
  }

  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const bytes = Buffer.from(this.#parts.join(""), "utf8");
    this.#parts = [];
    this.#pending = 0;
    await this.writeBytes(bytes);
  }

  get sha256(): string {
    return this.#hash.copy().digest("hex");
  }
}

async function removeQuietly(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}

/**
 * Writes V1's records from `source` as a snapshot at `file`, atomically: records stream to a
 * temporary file beside the target while their counts, commitments and totals are recomputed
 * (and checked against each page's running commitment and the source's summary); then the
 * header and the records go to a second temporary file, which is fsynced and renamed over
 * `file`. A failure anywhere (a read error, a record out of range, a full disk, a crash) leaves
 * any previous snapshot at `file` untouched; temporary files are removed unless the process died.
 */
export async function writeSnapshot(file: string, source: SnapshotSource): Promise<SnapshotInfo> {
  const fail = (problem: string, cause?: unknown): never => {
    throw new SnapshotError(file, undefined, problem, cause === undefined ? undefined : { cause });
  };
  let addresses: SnapshotAddresses;
  try {
    checkedCount(source.chainId, "chainId", 1);
    addresses = {
      registry: checkedAddress(source.addresses?.registry, "addresses.registry"),
      marketplace: checkedAddress(source.addresses?.marketplace, "addresses.marketplace"),
      escrow: checkedAddress(source.addresses?.escrow, "addresses.escrow"),
    };
  } catch (error) {
    return fail(`cannot write: ${errorMessage(error)}`);
  }
  const target = path.resolve(file);
  const directory = path.dirname(target);
  const tag = `${process.pid}.${randomBytes(6).toString("hex")}`;
  const recordsPath = path.join(directory, `.${path.basename(target)}.${tag}.records.tmp`);
  const snapshotPath = path.join(directory, `.${path.basename(target)}.${tag}.tmp`);
  let handle: FileHandle | undefined;
  try {
    // ------------------------------------------------------------ records, recomputed as they go
    handle = await open(recordsPath, "wx");
    const records = new BufferedFile(handle);
    const tally = new Tally();
    let summary: V1ReadSummary;
    for (;;) {
      const next = await source.records.next();
      if (next.done === true) {
        summary = next.value;
        break;
      }
      const page = next.value;
      for (const record of page.records) {
        try {
          tally.add(page.kind, record);
        } catch (error) {
          fail(`cannot write a ${page.kind} record: ${errorMessage(error)}`, error);
        }
        await records.write(recordLine(page.kind, record));
      }
      const accumulator = tally.accumulators[page.kind];
      if (page.count !== accumulator.count || page.commitment !== accumulator.commitment) {
        fail(
          `the source's running ${page.kind} commitment (${page.count}, ${page.commitment}) differs from its ` +
            `records' (${accumulator.count}, ${accumulator.commitment})`,
        );
      }
    }
    await records.flush();
    await handle.close();
    handle = undefined;

    const header: SnapshotHeader = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      chainId: source.chainId,
      blockNumber: summary.blockNumber,
      blockHash: summary.blockHash,
      addresses,
      counts: { nodes: summary.nodes.count, jobs: summary.jobs.count, deposits: summary.deposits.count },
      commitments: {
        nodes: summary.nodes.commitment,
        jobs: summary.jobs.commitment,
        deposits: summary.deposits.commitment,
      },
      totalStake: summary.nodes.totalStake,
      tokens: summary.deposits.tokens,
      totals: summary.deposits.totals,
      modelNames: summary.modelNames,
      ...(source.createdBy === undefined ? {} : { createdBy: source.createdBy }),
    };
    try {
      parseHeader(JSON.parse(headerLine(header)));
    } catch (error) {
      fail(`cannot write the header: ${errorMessage(error)}`, error);
    }
    const difference = tally.differenceFrom(header, "the source's summary");
    if (difference !== undefined) fail(`cannot write: ${difference}`);

    // ------------------------------------------------------------ header + records, then rename
    handle = await open(snapshotPath, "wx");
    const snapshot = new BufferedFile(handle);
    await snapshot.write(headerLine(header));
    for await (const chunk of createReadStream(recordsPath)) await snapshot.writeBytes(chunk as Buffer);
    await snapshot.flush();
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(snapshotPath, target);
    await syncDirectory(directory);
    return { header, sha256: snapshot.sha256, bytes: snapshot.bytes };
  } finally {
    await handle?.close().catch(() => undefined);
    await removeQuietly(recordsPath);
    await removeQuietly(snapshotPath);
  }
}

/** Makes the rename durable: the directory entry is fsynced too (where the platform allows). */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch {
    // Some platforms cannot open or fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** A snapshot source that reads V1 at a block: chain id and addresses from the contracts' provider. */
export async function v1SnapshotSource(
  contracts: V1Contracts,
  options: ReadV1StateOptions & { createdBy?: string },
): Promise<SnapshotSource> {
  const provider = contracts.registry.runner?.provider;
  if (!provider) throw new Error("v1SnapshotSource: the registry contract is not connected to a provider.");
  const { createdBy, ...readOptions } = options;
  return {
    chainId: Number((await provider.getNetwork()).chainId),
    addresses: {
      registry: await contracts.registry.getAddress(),
      marketplace: await contracts.marketplace.getAddress(),
      escrow: await contracts.escrow.getAddress(),
    },
    ...(createdBy === undefined ? {} : { createdBy }),
    records: streamV1Records(contracts, readOptions),
  };
}

/** A snapshot source from a V1 state already in memory (`readV1State`'s, or a loaded snapshot's). */
export function snapshotSourceFromState(
  state: V1State,
  where: { chainId: number; addresses: SnapshotAddresses; createdBy?: string },
  pageSize = DEFAULT_PAGE_SIZE,
): SnapshotSource {
  async function* pages(): AsyncGenerator<V1RecordPage, V1ReadSummary> {
    for (const [kind, set] of [
      ["node", state.nodes],
      ["job", state.jobs],
      ["deposit", state.deposits],
    ] as const) {
      const accumulator = new CommitmentAccumulator();
      for (let start = 0; start < set.records.length; start += pageSize) {
        const records = set.records.slice(start, start + pageSize);
        for (const record of records) {
          if (kind === "node") accumulator.addNode(record as NodeRecord);
          else if (kind === "job") accumulator.addJob(record as JobRecord);
          else accumulator.addDeposit(record as DepositRecord);
        }
        yield { kind, records, count: accumulator.count, commitment: accumulator.commitment } as V1RecordPage;
      }
    }
    return {
      blockNumber: state.blockNumber,
      blockHash: state.blockHash,
      nodes: { count: state.nodes.count, commitment: state.nodes.commitment, totalStake: state.nodes.totalStake },
      jobs: { count: state.jobs.count, commitment: state.jobs.commitment },
      deposits: {
        count: state.deposits.count,
        commitment: state.deposits.commitment,
        tokens: state.deposits.tokens,
        totals: state.deposits.totals,
      },
      modelNames: state.modelNames,
      calls: state.calls,
      multicall: false,
    };
  }
  return { ...where, records: pages() };
}

// ------------------------------------------------------------------ reading

/** The last byte of a file, or undefined for an empty one. */
async function lastByte(file: string): Promise<number | undefined> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    if (size === 0) return undefined;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, size - 1);
    return byte[0];
  } finally {
    await handle.close();
  }
}

/**
 * Reads only the header (line 1) of a snapshot, validated, and checks `expect` against it: enough
 * to show what a file holds or to refuse the wrong one before anything else is read.
 */
export async function readSnapshotHeader(
  file: string,
  options: { expect?: SnapshotExpectations } = {},
): Promise<SnapshotHeader> {
  const stream = createReadStream(file, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) return headerFromLine(file, line, options.expect);
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    throw new SnapshotError(file, undefined, `cannot be read: ${errorMessage(error)}`, { cause: error });
  } finally {
    lines.close();
    stream.destroy();
  }
  throw new SnapshotError(file, undefined, "is empty: it has no header line");
}

function headerFromLine(file: string, line: string, expect: SnapshotExpectations | undefined): SnapshotHeader {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw new SnapshotError(file, 1, `the header is not valid JSON (${errorMessage(error)})`, { cause: error });
  }
  let header: SnapshotHeader;
  try {
    header = parseHeader(json);
  } catch (error) {
    throw new SnapshotError(file, 1, errorMessage(error), { cause: error });
  }
  try {
    checkExpectations(header, expect);
  } catch (error) {
    throw new SnapshotError(file, undefined, `refused: ${errorMessage(error)}`, { cause: error });
  }
  return header;
}

/**
 * Streams a snapshot's records back as pages in migration order (the same shape
 * `streamV1Records` yields), validating every line as it goes, and returns the header and the
 * file's SHA-256 once the recomputed counts, commitments and totals have matched the header.
 * Until the stream has ended, its records are not yet known to match: act on them only after
 * (or use `verifySnapshot` first, then stream again).
 */
export async function* readSnapshotRecords(
  file: string,
  options: ReadSnapshotOptions = {},
): AsyncGenerator<V1RecordPage, SnapshotInfo, void> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`pageSize must be a positive integer (got ${pageSize}).`);
  }
  let last: number | undefined;
  try {
    last = await lastByte(file);
  } catch (error) {
    throw new SnapshotError(file, undefined, `cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  if (last === undefined) throw new SnapshotError(file, undefined, "is empty: it has no header line");
  const hash = createHash("sha256");
  let bytes = 0;
  const stream = createReadStream(file);
  stream.on("data", (chunk) => {
    hash.update(chunk as Buffer);
    bytes += chunk.length;
  });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let header: SnapshotHeader | undefined;
  let tally: Tally | undefined;
  let number = 0;
  let pageKind: Kind = "node";
  let pageRecords: (NodeRecord | JobRecord | DepositRecord)[] = [];
  /** A page of the records just read, with its kind's running count and commitment. */
  const pageOf = (kind: Kind, records: unknown[]): V1RecordPage => {
    const accumulator = tally!.accumulators[kind];
    return { kind, records, count: accumulator.count, commitment: accumulator.commitment } as V1RecordPage;
  };
  try {
    for await (const line of lines) {
      number++;
      if (header === undefined) {
        header = headerFromLine(file, line, options.expect);
        tally = new Tally(header.tokens);
        continue;
      }
      const fail = (problem: string, cause?: unknown): never => {
        throw new SnapshotError(file, number, problem, cause === undefined ? undefined : { cause });
      };
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (error) {
        fail(line === "" ? "the line is empty" : `malformed JSON (${errorMessage(error)})`, error);
      }
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        fail(`a record must be a JSON object, got ${describe(json)}`);
      }
      const object = json as Record<string, unknown>;
      const kind = object.kind;
      if (typeof kind !== "string" || !KINDS.includes(kind as Kind)) {
        fail(`unknown kind ${describe(kind)} (a record is a "node", "job" or "deposit")`);
      }
      const recordKind = kind as Kind;
      let record: NodeRecord | JobRecord | DepositRecord;
      try {
        record = parseRecord(recordKind, object);
      } catch (error) {
        fail(errorMessage(error), error);
      }
      // The page so far goes out before this record moves its kind's running commitment.
      if (pageRecords.length > 0 && (pageKind !== recordKind || pageRecords.length >= pageSize)) {
        yield pageOf(pageKind, pageRecords);
        pageRecords = [];
      }
      pageKind = recordKind;
      try {
        tally!.add(recordKind, record!);
      } catch (error) {
        fail(errorMessage(error), error);
      }
      const claimed = header.counts[PLURAL[recordKind]];
      if (tally!.accumulators[recordKind].count > claimed) {
        fail(`there are more ${kind} records than the header's counts.${PLURAL[recordKind]} (${claimed})`);
      }
      pageRecords.push(record!);
    }
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    throw new SnapshotError(file, undefined, `cannot be read: ${errorMessage(error)}`, { cause: error });
  } finally {
    lines.close();
    stream.destroy();
  }
  if (last !== 0x0a) {
    throw new SnapshotError(file, number, "the file does not end with a newline: it was cut short");
  }
  const difference = tally!.differenceFrom(header!, "the header");
  if (difference !== undefined) throw new SnapshotError(file, undefined, difference);
  if (pageRecords.length > 0) yield pageOf(pageKind, pageRecords);
  return { header: header!, sha256: hash.digest("hex"), bytes };
}

/** A snapshot read whole and verified: its header, its records as a `V1State`, and its hash. */
export interface LoadedSnapshot extends SnapshotInfo {
  /** The records with the header's commitments and totals (`calls` is 0: nothing was read from a chain). */
  state: V1State;
}

/**
 * Reads and verifies a whole snapshot (see `readSnapshotRecords`) and returns its records as the
 * `V1State` they were read as, so that a loaded backup can stand in for a fresh read.
 */
export async function readSnapshot(file: string, options: ReadSnapshotOptions = {}): Promise<LoadedSnapshot> {
  const nodes: NodeRecord[] = [];
  const jobs: JobRecord[] = [];
  const deposits: DepositRecord[] = [];
  const stream = readSnapshotRecords(file, options);
  for (;;) {
    const next = await stream.next();
    if (next.done === true) {
      const { header } = next.value;
      return {
        ...next.value,
        state: {
          blockNumber: header.blockNumber,
          blockHash: header.blockHash,
          nodes: {
            records: nodes,
            commitment: header.commitments.nodes,
            count: header.counts.nodes,
            totalStake: header.totalStake,
          },
          jobs: { records: jobs, commitment: header.commitments.jobs, count: header.counts.jobs },
          deposits: {
            records: deposits,
            commitment: header.commitments.deposits,
            count: header.counts.deposits,
            tokens: header.tokens,
            totals: header.totals,
          },
          modelNames: header.modelNames,
          calls: 0,
        },
      };
    }
    const page = next.value;
    if (page.kind === "node") nodes.push(...page.records);
    else if (page.kind === "job") jobs.push(...page.records);
    else deposits.push(...page.records);
  }
}

/** Verifies a snapshot without holding its records (for files too large to load): header and hash. */
export async function verifySnapshot(file: string, options: ReadSnapshotOptions = {}): Promise<SnapshotInfo> {
  const stream = readSnapshotRecords(file, options);
  for (;;) {
    const next = await stream.next();
    if (next.done === true) return next.value;
  }
}

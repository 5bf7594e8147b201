import { readFile } from "node:fs/promises";
import path from "node:path";
import { Transaction, getAddress, isAddress, isHexString, type Provider, type TransactionReceipt } from "ethers";
import { writeFileAtomically } from "../files.js";
import { crashPoint } from "./crashPoints.js";
import type { CallStep, CopyStep } from "./events.js";
import { jsonPreview } from "../jsonPreview.js";

/**
 * The sent-but-unconfirmed batches of one contract on one chain, in
 * `<directory>/<chainId>/<contract address>.json`. The chain is the source of truth; the journal
 * only remembers what was signed, so that after a crash nothing is sent twice: an entry is
 * written (atomically: temporary file, fsync, rename) before its transaction is broadcast and
 * removed once its receipt is in. A file that is not valid JSON or belongs to another chain or
 * contract is refused, never overwritten.
 */

export const JOURNAL_FORMAT = "fabstir-migration-journal";
export const JOURNAL_VERSION = 1;
export const DEFAULT_JOURNAL_DIRECTORY = "journal";

export type { CallStep } from "./events.js";
export type JournaledStep = CopyStep | CallStep;
const JOURNALED_STEPS: readonly JournaledStep[] = [
  "nodes",
  "jobs",
  "escrow",
  "check",
  "finalize",
  "handover",
  "rollback",
];

/**
 * One signed transaction: everything needed to recognise it on chain and to broadcast it again.
 * A batch of a copy step, or (with `call`) a single call such as a finalize or a rollback.
 */
export interface JournalEntry {
  step: JournaledStep;
  /** The contract the transaction calls (the journal's contract). */
  contract: string;
  /** The first record of the batch, in the contract's cursor (V2's `migratedCount`, V1.1's user cursor). */
  cursor: number;
  size: number;
  from: string;
  nonce: number;
  txHash: string;
  /** The signed transaction: broadcasting it again is idempotent. */
  rawTransaction: string;
  /** When it was signed, in ms since the epoch. */
  sentAt: number;
  /**
   * A single call, not a batch: what it does ("finalizing the V2 registry"). Its `cursor` and
   * `size` are 0; whether its effect is on chain is for its caller to read (`sendOne`'s `done`).
   */
  call?: string;
}

/** What to do with a journal entry after a restart. */
export type ReconcileStatus =
  /** Mined with status 1: dropped. */
  | "confirmed"
  /** Mined and reverted: dropped; report it. */
  | "reverted"
  /** Not mined and its nonce is still free: it may yet be mined; broadcast its raw bytes again. */
  | "pending"
  /** Not mined, its nonce was used by another transaction, and the cursor moved past it: dropped. */
  | "superseded"
  /** Not mined, its nonce was used by another transaction, and the cursor did not move: dropped; send the batch again. */
  | "lost";

export interface Reconciliation {
  entry: JournalEntry;
  status: ReconcileStatus;
  receipt?: TransactionReceipt;
}

/** A journal file that cannot be used, or a write that failed: the message names the file and what to do. */
export class JournalError extends Error {
  override name = "JournalError";
  constructor(
    message: string,
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface OpenJournalOptions {
  /** The journal root, `journal` by default (relative to the working directory). */
  directory?: string;
  chainId: number | bigint;
  contract: string;
}

interface JournalFile {
  format: string;
  version: number;
  chainId: number;
  contract: string;
  entries: JournalEntry[];
}

/** A header value in a refusal: as it was for a string or number; an object (which may not convert to text) as JSON. */
function shown(value: unknown): string {
  return typeof value === "object" && value !== null ? jsonPreview(value) : String(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Checks one entry as read from disk or given to `record`; returns what is wrong, or undefined. */
function entryProblem(value: unknown, contract: string): string | undefined {
  if (typeof value !== "object" || value === null) return "is not an object";
  const entry = value as Record<string, unknown>;
  if (!JOURNALED_STEPS.includes(entry.step as JournaledStep)) return `has an unknown step ${jsonPreview(entry.step)}`;
  if (entry.call !== undefined && (typeof entry.call !== "string" || entry.call === "")) {
    return `has an invalid call ${jsonPreview(entry.call)}`;
  }
  if (typeof entry.contract !== "string" || !isAddress(entry.contract) || getAddress(entry.contract) !== contract) {
    return `is for contract ${jsonPreview(entry.contract)}, not ${contract}`;
  }
  for (const field of ["cursor", "size", "nonce", "sentAt"]) {
    if (!isCount(entry[field])) return `has an invalid ${field} ${jsonPreview(entry[field])}`;
  }
  if (typeof entry.from !== "string" || !isAddress(entry.from))
    return `has an invalid sender ${jsonPreview(entry.from)}`;
  if (!isHexString(entry.txHash, 32)) return `has an invalid transaction hash ${jsonPreview(entry.txHash)}`;
  if (!isHexString(entry.rawTransaction)) return "has no signed transaction";
  let tx: Transaction;
  try {
    tx = Transaction.from(entry.rawTransaction);
  } catch {
    return "holds a signed transaction that does not decode";
  }
  // The signed bytes are what gets rebroadcast: they must be the transaction the entry describes.
  if (tx.hash !== (entry.txHash as string).toLowerCase()) return `holds a signed transaction whose hash is ${tx.hash}`;
  if (tx.from !== getAddress(entry.from) || tx.nonce !== entry.nonce || tx.to !== contract) {
    return "holds a signed transaction with another sender, nonce or recipient";
  }
  return undefined;
}

function canonical(entry: JournalEntry): JournalEntry {
  return {
    step: entry.step,
    contract: getAddress(entry.contract),
    cursor: entry.cursor,
    size: entry.size,
    from: getAddress(entry.from),
    nonce: entry.nonce,
    txHash: entry.txHash.toLowerCase(),
    rawTransaction: entry.rawTransaction,
    sentAt: entry.sentAt,
    ...(entry.call === undefined ? {} : { call: entry.call }),
  };
}

/** Writes the journal atomically (see `writeFileAtomically`), as a JournalError on failure. */
async function writeAtomically(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomically(file, text, { beforeRename: () => crashPoint("mid-journal-write") });
  } catch (error) {
    throw new JournalError(`could not write the journal ${file}: ${(error as Error).message}`, file, { cause: error });
  }
}

export class MigrationJournal {
  readonly chainId: number;
  readonly contract: string;
  readonly file: string;
  #entries: JournalEntry[];

  private constructor(chainId: number, contract: string, file: string, entries: JournalEntry[]) {
    this.chainId = chainId;
    this.contract = contract;
    this.file = file;
    this.#entries = entries;
  }

  /** Where the journal of `contract` on `chainId` lives. */
  static pathFor(options: OpenJournalOptions): string {
    return path.join(
      options.directory ?? DEFAULT_JOURNAL_DIRECTORY,
      String(options.chainId),
      `${getAddress(options.contract)}.json`,
    );
  }

  /** Opens (reads and checks) the journal; a missing file is an empty journal, created on the first write. */
  static async open(options: OpenJournalOptions): Promise<MigrationJournal> {
    const chainId = Number(options.chainId);
    if (!isAddress(options.contract))
      throw new Error(`the journal needs a contract address, got "${options.contract}".`);
    const contract = getAddress(options.contract);
    const file = MigrationJournal.pathFor(options);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new MigrationJournal(chainId, contract, file, []);
      throw new JournalError(`could not read the journal ${file}: ${(error as Error).message}`, file, { cause: error });
    }
    const refuse = (problem: string): never => {
      throw new JournalError(
        `the journal ${file} ${problem}. It was left untouched: check it (it may hold signed transactions not yet confirmed) and move it aside before running again.`,
        file,
      );
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return refuse(`is not valid JSON (${(error as Error).message})`);
    }
    const data = parsed as Partial<JournalFile> | null;
    if (typeof data !== "object" || data === null || data.format !== JOURNAL_FORMAT) {
      return refuse(`is not a migration journal (no "format": "${JOURNAL_FORMAT}")`);
    }
    if (data.version !== JOURNAL_VERSION)
      return refuse(`has version ${shown(data.version)}; this tool reads version ${JOURNAL_VERSION}`);
    if (data.chainId !== chainId) return refuse(`belongs to chain ${shown(data.chainId)}, not chain ${chainId}`);
    if (typeof data.contract !== "string" || !isAddress(data.contract) || getAddress(data.contract) !== contract) {
      return refuse(`belongs to contract ${shown(data.contract)}, not ${contract}`);
    }
    if (!Array.isArray(data.entries)) return refuse("has no entries list");
    data.entries.forEach((entry, index) => {
      const problem = entryProblem(entry, contract);
      if (problem !== undefined) refuse(`entry ${index} ${problem}`);
    });
    return new MigrationJournal(chainId, contract, file, data.entries.map(canonical));
  }

  /** The sent-but-unconfirmed batches, oldest first. */
  get entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  /** Adds a signed batch; call before broadcasting it. */
  async record(entry: JournalEntry): Promise<void> {
    const problem = entryProblem(entry, this.contract);
    if (problem !== undefined) throw new JournalError(`refusing to record a batch that ${problem}.`, this.file);
    const added = canonical(entry);
    if (this.#entries.some((existing) => existing.txHash === added.txHash)) {
      throw new JournalError(`transaction ${added.txHash} is already in the journal.`, this.file);
    }
    await this.#write([...this.#entries, added]);
  }

  /** Removes a batch once its receipt is in (success or revert). */
  async confirm(txHash: string): Promise<void> {
    await this.#remove([txHash]);
  }

  /** Removes a batch the node refused, so it is not taken for one that might still be mined. */
  async discard(txHash: string): Promise<void> {
    await this.#remove([txHash]);
  }

  /**
   * Compares every entry with the chain (receipt, the sender's nonce, `onChainCursor`) and
   * drops all but the pending ones; returns what to do with each (see `ReconcileStatus`).
   */
  async reconcile(provider: Provider, onChainCursor: number): Promise<Reconciliation[]> {
    const results: Reconciliation[] = [];
    for (const entry of this.#entries) {
      // The nonce first: a transaction mined between the two reads then shows its receipt,
      // rather than looking like one whose nonce another transaction took.
      const used = await provider.getTransactionCount(entry.from, "latest");
      const receipt = await provider.getTransactionReceipt(entry.txHash);
      if (receipt !== null) {
        results.push({ entry, status: receipt.status === 1 ? "confirmed" : "reverted", receipt });
      } else if (used <= entry.nonce) {
        results.push({ entry, status: "pending" });
      } else {
        results.push({ entry, status: onChainCursor > entry.cursor ? "superseded" : "lost" });
      }
    }
    const settled = results.filter((result) => result.status !== "pending").map((result) => result.entry.txHash);
    if (settled.length > 0) await this.#remove(settled);
    return results;
  }

  async #remove(txHashes: readonly string[]): Promise<void> {
    const wanted = txHashes.map((hash) => hash.toLowerCase());
    for (const hash of wanted) {
      if (!this.#entries.some((entry) => entry.txHash === hash)) {
        throw new JournalError(`transaction ${hash} is not in the journal.`, this.file);
      }
    }
    await this.#write(this.#entries.filter((entry) => !wanted.includes(entry.txHash)));
  }

  /** Writes the new list, then adopts it: a failed write leaves both the file and this object as they were. */
  async #write(entries: JournalEntry[]): Promise<void> {
    const file: JournalFile = {
      format: JOURNAL_FORMAT,
      version: JOURNAL_VERSION,
      chainId: this.chainId,
      contract: this.contract,
      entries,
    };
    await writeAtomically(this.file, `${JSON.stringify(file, null, 2)}\n`);
    this.#entries = entries;
  }
}

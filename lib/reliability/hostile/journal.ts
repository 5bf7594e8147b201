import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { Wallet } from "ethers";
import { JOURNAL_FORMAT, JOURNAL_VERSION, JournalError, MigrationJournal } from "../../migration/journal.js";
import { expectUnchanged, type HostileKind } from "./core.js";
import { hostileJson } from "./mutate.js";

/**
 * Migration journals (lib/migration/journal.ts): opened on resume; an accepted journal is then
 * appended to (a new batch recorded) as the sender does. A refused journal must be left byte for
 * byte as it was (it may hold signed transactions not yet confirmed).
 */

const CHAIN_ID = 31337;
const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
// Hardhat's and anvil's first development key: a known key, used only to sign sample bytes.
const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

async function entry(nonce: number) {
  const wallet = new Wallet(KEY);
  const raw = await wallet.signTransaction({
    to: CONTRACT,
    nonce,
    gasLimit: 100_000n,
    maxFeePerGas: 10n ** 9n,
    maxPriorityFeePerGas: 1n,
    chainId: CHAIN_ID,
    data: "0x1234",
    type: 2,
  });
  const { Transaction } = await import("ethers");
  return {
    step: "nodes" as const,
    contract: CONTRACT,
    cursor: nonce * 3,
    size: 3,
    from: wallet.address,
    nonce,
    txHash: Transaction.from(raw).hash!,
    rawTransaction: raw,
    sentAt: 1_700_000_000_000,
  };
}

export interface JournalSample {
  file: unknown;
  next: Awaited<ReturnType<typeof entry>>;
}

export async function validJournal(): Promise<JournalSample> {
  return {
    file: {
      format: JOURNAL_FORMAT,
      version: JOURNAL_VERSION,
      chainId: CHAIN_ID,
      contract: CONTRACT,
      entries: [await entry(0)],
    },
    next: await entry(1),
  };
}

export function journalKind(sample: JournalSample): HostileKind<Buffer> {
  return {
    name: "journal",
    arbitrary: hostileJson(sample.file, 2),
    refusals: [JournalError],
    async read(bytes, dir) {
      const file = MigrationJournal.pathFor({ directory: dir, chainId: CHAIN_ID, contract: CONTRACT });
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
      let journal: MigrationJournal;
      try {
        journal = await MigrationJournal.open({ directory: dir, chainId: CHAIN_ID, contract: CONTRACT });
      } catch (error) {
        await expectUnchanged(file, bytes, "the refused journal");
        throw error;
      }
      const before = await readFile(file);
      try {
        await journal.record(sample.next);
      } catch (error) {
        await expectUnchanged(file, before, "the journal after a refused append");
        throw error;
      }
    },
  };
}

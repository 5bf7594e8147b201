import { expect } from "chai";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { HDNodeWallet, Transaction, Wallet, getAddress, id } from "ethers";
import {
  JOURNAL_FORMAT,
  JournalError,
  MigrationJournal,
  type JournalEntry,
  type ReconcileStatus,
} from "../lib/migration/journal.js";
import { ethers } from "./helpers/fixtures.js";
import { makeJobRecords, migrationSetup } from "./helpers/jobsMigration.js";
import { expectRejection, rejectionOf } from "./helpers/rejections.js";

const CHAIN_ID = 31337;
const CONTRACT = getAddress("0x00000000000000000000000000000000c0ffee01");
const KEY = new Wallet(id("journal test key"));

/** A signed call of `to` by the test key, as the sender journals it. */
async function signedEntry(nonce: number, overrides: Partial<JournalEntry> = {}, to = CONTRACT): Promise<JournalEntry> {
  const rawTransaction = await KEY.signTransaction({
    type: 2,
    chainId: CHAIN_ID,
    nonce,
    to,
    data: "0x1234",
    gasLimit: 100_000n,
    maxFeePerGas: 2n * 10n ** 9n,
    maxPriorityFeePerGas: 10n ** 9n,
  });
  return {
    step: "jobs",
    contract: to,
    cursor: nonce * 10,
    size: 10,
    from: KEY.address,
    nonce,
    txHash: Transaction.from(rawTransaction).hash as string,
    rawTransaction,
    sentAt: 1_760_000_000_000 + nonce,
    ...overrides,
  };
}

async function tempDirectory(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "journal-test-"));
}

async function expectJournalError(promise: Promise<unknown>, message: string): Promise<JournalError> {
  return expectRejection(promise, JournalError, message);
}

describe("MigrationJournal", () => {
  let directory: string;
  beforeEach(async () => {
    directory = await tempDirectory();
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  describe("files", () => {
    it("lives in <directory>/<chainId>/<contract>.json and is created on the first write only", async () => {
      const journal = await MigrationJournal.open({ directory, chainId: 31337n, contract: CONTRACT.toLowerCase() });
      expect(journal.file).to.equal(path.join(directory, "31337", `${CONTRACT}.json`));
      expect(journal.contract).to.equal(CONTRACT);
      expect(journal.entries).to.deep.equal([]);
      expect(await readdir(directory)).to.deep.equal([]);
      expect(MigrationJournal.pathFor({ chainId: 8453, contract: CONTRACT })).to.equal(
        path.join("journal", "8453", `${CONTRACT}.json`),
      );
    });

    it("records before broadcast and confirms after the receipt, each change on disk at once", async () => {
      const journal = await MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT });
      const first = await signedEntry(0);
      const second = await signedEntry(1);
      await journal.record(first);
      await journal.record(second);

      const onDisk = JSON.parse(await readFile(journal.file, "utf8"));
      expect(onDisk).to.deep.equal({
        format: JOURNAL_FORMAT,
        version: 1,
        chainId: CHAIN_ID,
        contract: CONTRACT,
        entries: [first, second],
      });
      const reopened = await MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT });
      expect(reopened.entries).to.deep.equal([first, second]);

      await reopened.confirm(first.txHash.toUpperCase().replace("0X", "0x"));
      expect(reopened.entries).to.deep.equal([second]);
      expect((await MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT })).entries).to.deep.equal(
        [second],
      );
      await reopened.discard(second.txHash);
      expect(JSON.parse(await readFile(journal.file, "utf8")).entries).to.deep.equal([]);
      // Only the journal itself: every temporary file was renamed into place.
      expect(await readdir(path.dirname(journal.file))).to.deep.equal([`${CONTRACT}.json`]);
    });

    it("refuses entries that do not describe their signed transaction, or are already there", async () => {
      const journal = await MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT });
      const entry = await signedEntry(3);
      await journal.record(entry);
      const before = await readFile(journal.file, "utf8");
      const other = getAddress("0x00000000000000000000000000000000c0ffee02");
      const cases: [Promise<unknown>, string][] = [
        [journal.record(entry), "already in the journal"],
        [journal.record(await signedEntry(4, {}, other)), `is for contract "${other}"`],
        [journal.record({ ...(await signedEntry(4)), nonce: 5 }), "another sender, nonce or recipient"],
        [journal.record({ ...(await signedEntry(4)), txHash: id("other") }), "whose hash is"],
        [journal.record({ ...(await signedEntry(4)), rawTransaction: "0x1234" }), "does not decode"],
        [journal.record({ ...(await signedEntry(4)), rawTransaction: "" }), "no signed transaction"],
        [journal.record({ ...(await signedEntry(4)), step: "status" as "jobs" }), 'unknown step "status"'],
        [journal.record({ ...(await signedEntry(4)), cursor: -1 }), "invalid cursor -1"],
        [journal.record({ ...(await signedEntry(4)), call: "" }), 'invalid call ""'],
        [journal.record({ ...(await signedEntry(4)), call: 7 as unknown as string }), "invalid call 7"],
        [journal.record({ ...(await signedEntry(4)), from: "me" }), 'invalid sender "me"'],
        [journal.record({ ...(await signedEntry(4)), txHash: "0x12" }), 'invalid transaction hash "0x12"'],
        [journal.record(null as unknown as JournalEntry), "is not an object"],
        [journal.confirm(id("never sent")), "is not in the journal"],
      ];
      for (const [promise, message] of cases) await expectJournalError(promise, message);
      expect(await readFile(journal.file, "utf8")).to.equal(before);
      expect(journal.entries).to.have.length(1);
    });

    it("keeps a single call (finalize, rollback, model names) with what it does, across a reopen", async () => {
      const journal = await MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT });
      const batch = await signedEntry(0);
      const call = await signedEntry(1, { step: "finalize", cursor: 0, size: 0, call: "finalizing the V2 registry" });
      await journal.record(batch);
      await journal.record(call);
      const reopened = await MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT });
      expect(reopened.entries).to.deep.equal([batch, call]);
      expect(reopened.entries[0]).to.not.have.property("call");
    });

    it("refuses a bad contract address", async () => {
      const error = await rejectionOf(MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: "registry" }));
      expect(error.message).to.include('needs a contract address, got "registry"');
    });
  });

  describe("bad files are refused and left untouched", () => {
    async function fileWith(content: string): Promise<string> {
      const file = MigrationJournal.pathFor({ directory, chainId: CHAIN_ID, contract: CONTRACT });
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
      return file;
    }

    async function expectRefused(content: string, message: string): Promise<void> {
      const file = await fileWith(content);
      const error = await expectJournalError(
        MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT }),
        message,
      );
      expect(error.file).to.equal(file);
      expect(error.message).to.include(file).and.to.include("left untouched");
      expect(await readFile(file, "utf8")).to.equal(content);
    }

    const valid = async (changes: Record<string, unknown>) =>
      JSON.stringify({
        format: JOURNAL_FORMAT,
        version: 1,
        chainId: CHAIN_ID,
        contract: CONTRACT,
        entries: [await signedEntry(0)],
        ...changes,
      });

    it("a file that is not JSON (a torn write by another tool, a merge conflict)", async () => {
      await expectRefused('{"format": "fabstir-migration-journal", "entr', "is not valid JSON");
    });

    it("JSON that is not a journal", async () => {
      await expectRefused("[]", "is not a migration journal");
      await expectRefused("null", "is not a migration journal");
      await expectRefused(await valid({ version: 2 }), "has version 2; this tool reads version 1");
      await expectRefused(await valid({ entries: {} }), "has no entries list");
    });

    it("a journal of another chain or contract (copied into the wrong place)", async () => {
      await expectRefused(await valid({ chainId: 8453 }), "belongs to chain 8453, not chain 31337");
      await expectRefused(await valid({ contract: KEY.address }), `belongs to contract ${KEY.address}`);
      await expectRefused(await valid({ contract: 7 }), "belongs to contract 7");
    });

    it("an entry that was edited by hand", async () => {
      const entry = await signedEntry(0);
      await expectRefused(
        await valid({ entries: [{ ...entry, nonce: 9 }] }),
        "entry 0 holds a signed transaction with another",
      );
      await expectRefused(
        await valid({ entries: [entry, { ...entry, size: "10" }] }),
        'entry 1 has an invalid size "10"',
      );
    });

    it("an unreadable path", async () => {
      const file = MigrationJournal.pathFor({ directory, chainId: CHAIN_ID, contract: CONTRACT });
      await mkdir(file, { recursive: true }); // a directory where the file should be
      await expectJournalError(
        MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT }),
        "could not read",
      );
    });
  });

  it("a failed write leaves nothing partial: no temporary file, the old contents, the same entries", async () => {
    const journal = await MigrationJournal.open({ directory, chainId: CHAIN_ID, contract: CONTRACT });
    const entry = await signedEntry(0);
    await journal.record(entry);
    // Replace the file by a directory: the temporary file is written and synced, the rename fails.
    await rm(journal.file);
    await mkdir(path.join(journal.file, "in-the-way"), { recursive: true });
    await expectJournalError(journal.record(await signedEntry(1)), "could not write the journal");
    await expectJournalError(journal.confirm(entry.txHash), "could not write the journal");
    expect(journal.entries).to.deep.equal([entry]);
    expect(await readdir(path.dirname(journal.file))).to.deep.equal([`${CONTRACT}.json`]);
    expect(await readdir(journal.file)).to.deep.equal(["in-the-way"]);
  });

  describe("reconcile with the chain", () => {
    /** The migrator's key (account 1 of the test mnemonic), to sign as the sender does. */
    const migratorKey = HDNodeWallet.fromPhrase(
      "test test test test test test test test test test test junk",
      undefined,
      "m/44'/60'/0'/0/1",
    );

    async function setup() {
      const s = await migrationSetup();
      const migrator = migratorKey.connect(ethers.provider);
      expect(migrator.address).to.equal(s.migrator.address);
      const marketplace = await s.marketplace.getAddress();
      const { chainId } = await ethers.provider.getNetwork();
      const journal = await MigrationJournal.open({ directory, chainId, contract: marketplace });
      const records = makeJobRecords(1n, 30);
      const fees = await ethers.provider.getFeeData();
      /** Signs an import of `size` records stated at `cursor`, with the given nonce offset from now. */
      const sign = async (cursor: number, size: number, nonceOffset = 0, gasLimit = 1_000_000n) => {
        const nonce = (await ethers.provider.getTransactionCount(migrator.address, "pending")) + nonceOffset;
        const rawTransaction = await migrator.signTransaction({
          type: 2,
          chainId,
          nonce,
          to: marketplace,
          data: s.marketplace.interface.encodeFunctionData("importHistoricalJobs", [
            cursor,
            records.slice(cursor, cursor + size),
          ]),
          gasLimit,
          maxFeePerGas: fees.maxFeePerGas!,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas!,
        });
        const entry: JournalEntry = {
          step: "jobs",
          contract: marketplace,
          cursor,
          size,
          from: migrator.address,
          nonce,
          txHash: Transaction.from(rawTransaction).hash as string,
          rawTransaction,
          sentAt: Date.now(),
        };
        return entry;
      };
      /** Broadcasts; a reverting transaction is mined although the in-process node answers with an error. */
      const broadcast = async (entry: JournalEntry) => {
        await ethers.provider.broadcastTransaction(entry.rawTransaction).catch(() => undefined);
        expect(await ethers.provider.getTransactionReceipt(entry.txHash)).to.not.equal(null);
      };
      return { s, migrator, journal, sign, broadcast };
    }

    const statuses = (results: { status: ReconcileStatus }[]) => results.map((result) => result.status);

    it("confirmed and reverted batches are dropped, with their receipts", async () => {
      const { s, journal, sign, broadcast } = await setup();
      const good = await sign(0, 5);
      const replay = await sign(0, 5, 1); // the same batch again: the cursor rejects it
      await journal.record(good);
      await journal.record(replay);
      await broadcast(good);
      await broadcast(replay);

      const results = await journal.reconcile(ethers.provider, Number(await s.marketplace.migratedCount()));
      expect(statuses(results)).to.deep.equal(["confirmed", "reverted"]);
      expect(results[0]!.receipt!.status).to.equal(1);
      expect(results[1]!.receipt!.status).to.equal(0);
      expect(journal.entries).to.deep.equal([]);
      expect(JSON.parse(await readFile(journal.file, "utf8")).entries).to.deep.equal([]);
    });

    it("a batch never broadcast (a crash right after the journal write) is pending and kept", async () => {
      const { journal, sign } = await setup();
      const entry = await sign(0, 5);
      await journal.record(entry);
      const results = await journal.reconcile(ethers.provider, 0);
      expect(statuses(results)).to.deep.equal(["pending"]);
      expect(journal.entries).to.deep.equal([entry]);
    });

    it("a batch whose nonce another transaction used is lost while the cursor has not moved", async () => {
      const { s, migrator, journal, sign } = await setup();
      const entry = await sign(0, 5);
      await journal.record(entry);
      // Someone sends something else from the same key with the same nonce.
      await (await migrator.sendTransaction({ to: migrator.address, value: 1n, nonce: entry.nonce })).wait();
      const results = await journal.reconcile(ethers.provider, Number(await s.marketplace.migratedCount()));
      expect(statuses(results)).to.deep.equal(["lost"]);
      expect(results[0]!.receipt).to.equal(undefined);
      expect(journal.entries).to.deep.equal([]);
    });

    it("a batch replaced by another transaction that moved the cursor past it is superseded", async () => {
      const { s, journal, sign, broadcast } = await setup();
      const entry = await sign(0, 5);
      await journal.record(entry);
      // A replacement for the same nonce (another gas limit, so another hash) got mined instead.
      const replacement = await sign(0, 5, 0, 900_000n);
      await broadcast(replacement);
      const cursor = Number(await s.marketplace.migratedCount());
      expect(cursor).to.equal(5);
      expect(statuses(await journal.reconcile(ethers.provider, cursor))).to.deep.equal(["superseded"]);
      expect(journal.entries).to.deep.equal([]);
    });
  });
});

import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { HDNodeWallet, JsonRpcProvider, Transaction, Wallet, id, parseUnits, toQuantity, type Interface } from "ethers";
import type { JobMarketplaceV2 } from "../typechain-types/index.js";
import type { MigrationEvent } from "../lib/migration/events.js";
import { MigrationJournal } from "../lib/migration/journal.js";
import { setL1FeeScalars } from "../lib/migration/l1Fee.js";
import {
  BatchRevertedError,
  NonceTakenError,
  SendError,
  resumeJournal,
  sendBatch,
  signBatch,
  type BatchRequest,
  type SenderOptions,
} from "../lib/migration/sender.js";
import type { RpcProvider } from "../lib/transactions.js";
import { startAnvil, type AnvilNode } from "./helpers/anvil.js";
import { ethers, networkHelpers } from "./helpers/fixtures.js";
import { makeJobRecords, migrationSetup, type MigrationSetup } from "./helpers/jobsMigration.js";
import { migrationStack } from "./helpers/migrationStack.js";
import { v1Batch } from "./helpers/nodesMigration.js";
import { expectRejection, rejectionOf } from "./helpers/rejections.js";

const MNEMONIC = "test test test test test test test test test test test junk";
/** Test account `index` as a local key: the sender signs locally, as an operator's CLI does. */
const accountKey = (index: number) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
const GWEI = 10n ** 9n;
const NOW = 1_767_225_600_000;
const RECORDS = makeJobRecords(1n, 40);

/** Waits for a condition (polled every 10 ms); the 30 s cap only turns a hang into a failure. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Broadcast {
  hash: string;
  error?: string;
}

/**
 * The real provider, with every broadcast logged after the node answered, and an optional
 * hook that runs before it is forwarded (to look at the journal on disk, or to let the chain
 * move at that exact moment). `calls` logs every method called, once it returned.
 */
function observed(provider: RpcProvider, before?: (raw: string) => Promise<void>) {
  const broadcasts: Broadcast[] = [];
  const calls: string[] = [];
  const proxy = new Proxy(provider, {
    get(target, property) {
      if (property === "broadcastTransaction") {
        return async (raw: string) => {
          await before?.(raw);
          const hash = Transaction.from(raw).hash as string;
          try {
            const response = await target.broadcastTransaction(raw);
            broadcasts.push({ hash });
            return response;
          } catch (error) {
            broadcasts.push({ hash, error: (error as Error).message });
            throw error;
          }
        };
      }
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        calls.push(String(property));
        return result;
      };
    },
  });
  return { provider: proxy, broadcasts, calls };
}

interface Setup {
  s: MigrationSetup;
  market: JobMarketplaceV2;
  migrator: HDNodeWallet;
  journal: MigrationJournal;
  events: MigrationEvent[];
  options: SenderOptions;
  /** The journal as a fresh process would open it. */
  reopen(): Promise<MigrationJournal>;
  batch(cursor: number, size: number, gasLimit?: bigint): BatchRequest;
}

describe("sendBatch and resumeJournal", () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "sender-test-"));
  });
  afterEach(async () => {
    await ethers.provider.send("evm_setAutomine", [true]);
    await rm(directory, { recursive: true, force: true });
  });

  async function setup(): Promise<Setup> {
    const s = await migrationSetup();
    const migrator = accountKey(1);
    expect(migrator.address).to.equal(s.migrator.address);
    const contract = await s.marketplace.getAddress();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const reopen = () => MigrationJournal.open({ directory, chainId, contract });
    const journal = await reopen();
    const events: MigrationEvent[] = [];
    const options: SenderOptions = {
      provider: ethers.provider,
      signer: migrator,
      journal,
      decoder: s.marketplace.interface,
      reporter: (event) => events.push(event),
      pollIntervalMs: 10,
      now: () => NOW,
    };
    const batch = (cursor: number, size: number, gasLimit = 2_000_000n): BatchRequest => ({
      step: "jobs",
      data: s.marketplace.interface.encodeFunctionData("importHistoricalJobs", [
        cursor,
        RECORDS.slice(cursor, cursor + size),
      ]),
      cursor,
      size,
      gasLimit,
    });
    return { s, market: s.marketplace, migrator, journal, events, options, reopen, batch };
  }

  const nonceOf = (address: string) => ethers.provider.getTransactionCount(address, "latest");

  it("signs locally, journals before broadcasting, confirms after the receipt, and reports", async () => {
    const t = await setup();
    const onDiskAtBroadcast: string[][] = [];
    const { provider } = observed(ethers.provider, async () => {
      const file = JSON.parse(await readFile(t.journal.file, "utf8")) as { entries: { txHash: string }[] };
      onDiskAtBroadcast.push(file.entries.map((entry) => entry.txHash));
    });
    const nonce = await nonceOf(t.migrator.address);
    const sent = await sendBatch({ ...t.options, provider }, t.batch(0, 10));

    expect(onDiskAtBroadcast).to.deep.equal([[sent.entry.txHash]]);
    expect(sent.entry).to.deep.include({
      step: "jobs",
      cursor: 0,
      size: 10,
      from: t.migrator.address,
      nonce,
      sentAt: NOW,
    });
    expect(sent.receipt.status).to.equal(1);
    expect(sent.gasUsed).to.equal(sent.receipt.gasUsed);
    expect(sent.l1FeeWei).to.equal(0n);
    expect(t.events).to.deep.equal([
      { type: "batch-sent", at: NOW, step: "jobs", start: 0, size: 10, txHash: sent.entry.txHash, nonce },
      {
        type: "batch-confirmed",
        at: NOW,
        step: "jobs",
        start: 0,
        size: 10,
        txHash: sent.entry.txHash,
        blockNumber: sent.receipt.blockNumber,
        gasUsed: sent.receipt.gasUsed.toString(),
        l1FeeWei: "0",
      },
    ]);
    expect(t.journal.entries).to.deep.equal([]);
    expect((await t.reopen()).entries).to.deep.equal([]);
    expect(await t.market.migratedCount()).to.equal(10n);

    // EIP-1559, at twice the base fee plus the node's suggested tip.
    const tx = Transaction.from(sent.entry.rawTransaction);
    const block = await ethers.provider.getBlock(sent.receipt.blockNumber - 1);
    const tip = (await ethers.provider.getFeeData()).maxPriorityFeePerGas!;
    expect(tx.type).to.equal(2);
    expect(tx.maxPriorityFeePerGas).to.equal(tip);
    expect(tx.maxFeePerGas).to.equal(block!.baseFeePerGas! * 2n + tip);
  });

  it("reports the L1 data fee of the receipt on an OP-stack chain", async () => {
    const op = await hre.network.create("hardhatOp");
    const provider = op.ethers.provider;
    await setL1FeeScalars(provider);
    const [admin, migrator, registryStandIn, escrowStandIn] = await op.ethers.getSigners();
    const api = await upgrades(hre, op);
    const market = (await api.deployProxy(
      await op.ethers.getContractFactory("JobMarketplaceV2", admin),
      [admin!.address, migrator!.address, registryStandIn!.address, escrowStandIn!.address],
      { kind: "uups" },
    )) as unknown as JobMarketplaceV2;
    const contract = await market.getAddress();
    const journal = await MigrationJournal.open({
      directory,
      chainId: (await provider.getNetwork()).chainId,
      contract,
    });
    const events: MigrationEvent[] = [];
    const sent = await sendBatch(
      {
        provider,
        signer: accountKey(1),
        journal,
        decoder: market.interface,
        reporter: (event) => events.push(event),
        pollIntervalMs: 10,
      },
      {
        step: "jobs",
        data: market.interface.encodeFunctionData("importHistoricalJobs", [0, RECORDS.slice(0, 20)]),
        cursor: 0,
        size: 20,
        gasLimit: 2_000_000n,
      },
    );
    const raw = (await provider.send("eth_getTransactionReceipt", [sent.entry.txHash])) as { l1Fee: string };
    expect(sent.l1FeeWei > 0n).to.equal(true);
    expect(sent.l1FeeWei).to.equal(BigInt(raw.l1Fee));
    expect(events.at(-1)).to.include({ type: "batch-confirmed", l1FeeWei: BigInt(raw.l1Fee).toString() });
  });

  describe("a crash after the journal write, before the broadcast", () => {
    it("resumes as pending: the signed bytes are broadcast and mined once, and a replay is rejected", async () => {
      const t = await setup();
      const nonce = await nonceOf(t.migrator.address);
      await t.journal.record(await signBatch(t.options, t.batch(0, 10)));
      // ... the process dies here. A new one opens the journal and resumes.
      const journal = await t.reopen();
      const { provider, broadcasts } = observed(ethers.provider);
      const outcomes = await resumeJournal({ ...t.options, journal, provider }, Number(await t.market.migratedCount()));

      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(["pending"]);
      const sent = outcomes[0]!.sent!;
      expect(broadcasts).to.deep.equal([{ hash: sent.entry.txHash }]);
      expect(sent.receipt.status).to.equal(1);
      expect(t.events.map((event) => event.type)).to.deep.equal(["batch-confirmed"]);
      expect(journal.entries).to.deep.equal([]);
      expect(await nonceOf(t.migrator.address)).to.equal(nonce + 1);
      expect(await t.market.migratedCount()).to.equal(10n);
      expect(await t.market.migrationBatchCount()).to.equal(1n);

      // No duplicate: sending the same batch again is refused by V2's cursor.
      const error = await expectRejection(
        sendBatch({ ...t.options, journal }, t.batch(0, 10)),
        BatchRevertedError,
        "UnexpectedCursor(0, 10)",
      );
      expect(error.reason).to.equal("UnexpectedCursor(0, 10)");
      expect(await t.market.migrationBatchCount()).to.equal(1n);
      expect(await t.market.migratedCount()).to.equal(10n);
    });

    it("resumes as lost when another transaction took the nonce: the batch is sent again, once", async () => {
      const t = await setup();
      const lost = await signBatch(t.options, t.batch(0, 10));
      await t.journal.record(lost);
      // Meanwhile the operator's key sent something else with that nonce.
      const other = t.migrator.connect(ethers.provider);
      await (await other.sendTransaction({ to: other.address, value: 1n, nonce: lost.nonce })).wait();

      const journal = await t.reopen();
      const { provider, broadcasts } = observed(ethers.provider);
      const outcomes = await resumeJournal({ ...t.options, journal, provider }, Number(await t.market.migratedCount()));
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(["lost"]);
      expect(broadcasts).to.deep.equal([]);
      expect(journal.entries).to.deep.equal([]);
      expect(await t.market.migratedCount()).to.equal(0n);

      const sent = await sendBatch({ ...t.options, journal }, t.batch(0, 10));
      expect(sent.entry.nonce).to.equal(lost.nonce + 1);
      expect(await rejectionOf(ethers.provider.broadcastTransaction(lost.rawTransaction))).to.be.instanceOf(Error);
      expect(await t.market.migrationBatchCount()).to.equal(1n);
      expect(await t.market.migratedCount()).to.equal(10n);
    });

    it("reports a batch that reverted while nobody watched, with its decoded error", async () => {
      const t = await setup();
      const entry = await signBatch(t.options, t.batch(3, 5)); // the contract is at 0
      await t.journal.record(entry);
      await ethers.provider.broadcastTransaction(entry.rawTransaction).catch(() => undefined);
      const outcomes = await resumeJournal({ ...t.options, journal: await t.reopen() }, 0);
      expect(outcomes.map((outcome) => [outcome.status, outcome.reason])).to.deep.equal([
        ["reverted", "UnexpectedCursor(3, 0)"],
      ]);
      expect(t.events).to.have.length(1);
      expect(t.events[0]).to.include({ type: "warning", step: "jobs" });
      expect((t.events[0] as { message: string }).message).to.include("had reverted: UnexpectedCursor(3, 0)");
    });
  });

  describe("sent but not mined", () => {
    async function sentButNotMined(t: Setup) {
      await ethers.provider.send("evm_setAutomine", [false]);
      const error = await expectRejection(
        sendBatch({ ...t.options, receiptTimeoutMs: 100 }, t.batch(0, 10)),
        SendError,
        "no confirmed receipt",
      );
      expect(error.message).to.include("stays in the journal");
      const journal = await t.reopen();
      expect(journal.entries).to.have.length(1);
      expect(t.events.map((event) => event.type)).to.deep.equal(["batch-sent"]);
      return journal.entries[0]!;
    }

    it("the node lost it: reconcile says pending and the rebroadcast is mined once", async () => {
      const t = await setup();
      const nonce = await nonceOf(t.migrator.address);
      const entry = await sentButNotMined(t);
      expect(await ethers.provider.send("hardhat_dropTransaction", [entry.txHash])).to.equal(true);
      expect(await ethers.provider.getTransaction(entry.txHash)).to.equal(null);
      await ethers.provider.send("evm_setAutomine", [true]);

      const journal = await t.reopen();
      const { provider, broadcasts } = observed(ethers.provider);
      const outcomes = await resumeJournal({ ...t.options, journal, provider }, 0);
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(["pending"]);
      expect(broadcasts).to.deep.equal([{ hash: entry.txHash }]);
      expect(await nonceOf(t.migrator.address)).to.equal(nonce + 1);
      expect(await t.market.migrationBatchCount()).to.equal(1n);
      expect(journal.entries).to.deep.equal([]);
    });

    it("the node still has it: the rebroadcast is answered 'known' and the one transaction is followed", async () => {
      const t = await setup();
      const nonce = await nonceOf(t.migrator.address);
      const entry = await sentButNotMined(t);
      const journal = await t.reopen();
      const { provider, broadcasts } = observed(ethers.provider);
      const resumed = resumeJournal({ ...t.options, journal, provider }, 0);
      await until(() => broadcasts.length > 0, "the rebroadcast");
      expect(broadcasts[0]!.error).to.match(/known transaction/i);
      await ethers.provider.send("evm_mine", []);
      const outcomes = await resumed;
      expect(outcomes[0]!.sent!.entry.txHash).to.equal(entry.txHash);
      expect(await nonceOf(t.migrator.address)).to.equal(nonce + 1);
      expect(await t.market.migrationBatchCount()).to.equal(1n);
    });

    it("mined between the reconcile and the rebroadcast: 'nonce too low' with its receipt is success", async () => {
      const t = await setup();
      await sentButNotMined(t);
      const journal = await t.reopen();
      const { provider, broadcasts } = observed(ethers.provider, async () => {
        await ethers.provider.send("evm_setAutomine", [true]);
        await ethers.provider.send("evm_mine", []);
      });
      const outcomes = await resumeJournal({ ...t.options, journal, provider }, 0);
      expect(broadcasts[0]!.error).to.match(/nonce too low/i);
      expect(outcomes.map((outcome) => [outcome.status, outcome.sent?.receipt.status])).to.deep.equal([["pending", 1]]);
      expect(await t.market.migrationBatchCount()).to.equal(1n);
    });

    it("dropped from the node's pool while followed: says so, broadcasts the same bytes again, mined once", async () => {
      const t = await setup();
      await ethers.provider.send("evm_setAutomine", [false]);
      const { provider, calls, broadcasts } = observed(ethers.provider);
      const sending = sendBatch({ ...t.options, provider }, t.batch(0, 10));
      await until(() => calls.includes("getTransaction"), "the first poll");
      const entry = t.journal.entries[0]!;
      expect(await ethers.provider.send("hardhat_dropTransaction", [entry.txHash])).to.equal(true);
      await until(() => broadcasts.length === 2, "the rebroadcast");
      await ethers.provider.send("evm_mine", []);
      const sent = await sending;

      expect(broadcasts).to.deep.equal([{ hash: entry.txHash }, { hash: entry.txHash }]);
      expect(t.events.map((event) => event.type)).to.deep.equal(["batch-sent", "warning", "batch-confirmed"]);
      expect((t.events[1] as { message: string }).message).to.equal(
        `the node no longer knows ${entry.txHash} (dropped from its pool): broadcasting it again.`,
      );
      expect(sent.entry.txHash).to.equal(entry.txHash);
      expect(await t.market.migrationBatchCount()).to.equal(1n);
      expect(t.journal.entries).to.deep.equal([]);
    });

    it("another transaction pending at its nonce: 'underpriced' keeps it followed until that one is mined, then NonceTakenError", async () => {
      const t = await setup();
      await ethers.provider.send("evm_setAutomine", [false]);
      const { provider, calls, broadcasts } = observed(ethers.provider);
      const sending = rejectionOf(sendBatch({ ...t.options, provider }, t.batch(0, 10)));
      await until(() => calls.includes("getTransaction"), "the first poll");
      const entry = t.journal.entries[0]!;
      const batchTx = Transaction.from(entry.rawTransaction);
      await ethers.provider.send("hardhat_dropTransaction", [entry.txHash]);
      const other = await ethers.provider.broadcastTransaction(
        await t.migrator.signTransaction({
          type: 2,
          chainId: batchTx.chainId,
          nonce: entry.nonce,
          to: t.migrator.address,
          value: 0n,
          gasLimit: 21_000n,
          maxFeePerGas: batchTx.maxFeePerGas! * 2n,
          maxPriorityFeePerGas: batchTx.maxPriorityFeePerGas! * 2n + 1n,
        }),
      );
      // The engine's rebroadcast meets the other transaction in the pool, and keeps following.
      await until(() => broadcasts.length >= 4, "several rebroadcasts");
      expect(broadcasts[1]!.error).to.match(/underpriced|replacement/i);
      await ethers.provider.send("evm_mine", []);
      const error = await sending;
      // Every poll broadcast it again; the warning was said once (until the node knows it again).
      const dropped = t.events.filter((event) => event.type === "warning" && event.message.includes("no longer knows"));
      expect(dropped).to.have.length(1);

      expect(error).to.be.instanceOf(NonceTakenError);
      expect((error as NonceTakenError).entry).to.deep.equal(entry);
      expect(broadcasts.at(-1)!.error).to.match(/nonce too low|nonce has already been used/i);
      expect((await ethers.provider.getTransactionReceipt(other.hash))!.status).to.equal(1);
      expect(await t.market.migrationBatchCount()).to.equal(0n);
      // Kept for the reconcile, which finds it lost: the caller re-plans the batch.
      expect((await t.reopen()).entries).to.deep.equal([entry]);
    });

    it("replaced by another transaction while waiting: stops with the entry kept, which resume finds lost", async () => {
      const t = await setup();
      await ethers.provider.send("evm_setAutomine", [false]);
      // Polling slowly: the replacement happens between two polls.
      const { provider, calls } = observed(ethers.provider);
      const sending = rejectionOf(sendBatch({ ...t.options, provider, pollIntervalMs: 500 }, t.batch(0, 10)));
      await until(() => calls.includes("getTransaction"), "the first poll");
      const entry = t.journal.entries[0]!;
      await ethers.provider.send("hardhat_dropTransaction", [entry.txHash]);
      const fees = await ethers.provider.getFeeData();
      await ethers.provider.broadcastTransaction(
        await t.migrator.signTransaction({
          type: 2,
          chainId: (await ethers.provider.getNetwork()).chainId,
          nonce: entry.nonce,
          to: t.migrator.address,
          value: 1n,
          gasLimit: 21_000n,
          maxFeePerGas: fees.maxFeePerGas!,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas!,
        }),
      );
      await ethers.provider.send("evm_mine", []);
      const error = await sending;
      expect(error).to.be.instanceOf(NonceTakenError);
      expect((error as NonceTakenError).entry).to.deep.equal(entry);
      expect(error.message).to.include(`nonce ${entry.nonce} of ${entry.from} was used by another transaction`);

      const journal = await t.reopen();
      expect(journal.entries).to.deep.equal([entry]);
      await ethers.provider.send("evm_setAutomine", [true]);
      const outcomes = await resumeJournal({ ...t.options, journal }, Number(await t.market.migratedCount()));
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(["lost"]);
    });
  });

  describe("reverted batches", () => {
    it("stop with the decoded custom error, and leave the journal", async () => {
      const t = await setup();
      const error = await expectRejection(sendBatch(t.options, t.batch(5, 3)), BatchRevertedError, "reverted in block");
      expect(error.reason).to.equal("UnexpectedCursor(5, 0)");
      expect(error.message).to.include("the jobs batch of 3 records at cursor 5").and.to.include(error.entry.txHash);
      expect(error.receipt.status).to.equal(0);
      expect(t.journal.entries).to.deep.equal([]);
      expect(t.events.map((event) => event.type)).to.deep.equal(["batch-sent"]);
    });

    it("out of gas is named as such", async () => {
      const t = await setup();
      const error = await expectRejection(
        sendBatch(t.options, t.batch(0, 5, 100_000n)),
        BatchRevertedError,
        "out of gas",
      );
      expect(error.reason).to.equal("out of gas: the batch needs more than its gas limit of 100000");
    });

    it("decode errors of the contract V1.1 calls, given both interfaces", async () => {
      const f = await networkHelpers.loadFixture(migrationStack);
      const [admin] = f.signers;
      const registry = f.v1_1.registry.connect(admin!);
      // One V1 host whose model V2 does not know: V2 refuses the batch that V1.1 pushes.
      await (await registry.unpause()).wait();
      await (
        await registry.connect(f.signers[5]!).registerNode("12D3KooWhost", ["unknown-model"], "eu", {
          value: await registry.minimumStake(),
        })
      ).wait();
      await (await registry.pause()).wait();
      const records = await v1Batch(registry, 0, 1);
      const journal = await MigrationJournal.open({
        directory,
        chainId: (await ethers.provider.getNetwork()).chainId,
        contract: await registry.getAddress(),
      });
      const send = (decoder: Interface | Interface[], count: number) =>
        sendBatch(
          { provider: ethers.provider, signer: accountKey(0), journal, decoder, pollIntervalMs: 10 },
          {
            step: "nodes",
            // V1's one node, repeated when a test asks for more records than V1 holds.
            data: registry.interface.encodeFunctionData("migrateNodes", [
              0,
              Array.from({ length: count }, () => records[0]!),
            ]),
            cursor: 0,
            size: count,
            gasLimit: 3_000_000n,
          },
        );
      const both = [registry.interface, f.v2.registry.interface];
      await expectRejection(send(both, 1), BatchRevertedError, `UnknownModel(${id("unknown-model")})`);
      await expectRejection(send(both, 2), BatchRevertedError, "ValueOutOfRange(2, 1, 1)");
      await expectRejection(
        send(registry.interface, 1),
        BatchRevertedError,
        "an error the given interfaces do not declare",
      );
    });
  });

  describe("fees", () => {
    it("waits while the base fee is above --max-fee-per-gas, with a warning, then signs under the cap", async () => {
      const t = await setup();
      await ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(50n * GWEI)]);
      await ethers.provider.send("evm_mine", []);
      const nonce = await nonceOf(t.migrator.address);
      let journalAtWarning: number | undefined;
      let fallen: Promise<void> | undefined;
      const events: MigrationEvent[] = [];
      const reporter = (event: MigrationEvent) => {
        events.push(event);
        if (event.type !== "warning") return;
        journalAtWarning = t.journal.entries.length;
        fallen = (async () => {
          expect(await nonceOf(t.migrator.address)).to.equal(nonce); // nothing sent while waiting
          await ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(GWEI)]);
          await ethers.provider.send("evm_mine", []);
        })();
      };
      const cap = 2n * GWEI;
      const sent = await sendBatch({ ...t.options, reporter, maxFeePerGas: cap }, t.batch(0, 5));
      await fallen;

      expect(events.map((event) => event.type)).to.deep.equal(["warning", "batch-sent", "batch-confirmed"]);
      expect((events[0] as { message: string }).message).to.equal(
        `base fee ${50n * GWEI} wei is above --max-fee-per-gas ${cap} wei: waiting for it to fall before sending.`,
      );
      expect(journalAtWarning).to.equal(0);
      const tx = Transaction.from(sent.entry.rawTransaction);
      expect(tx.maxFeePerGas).to.equal(cap); // 2 x 1 gwei + the 1 gwei tip would be 3 gwei
      expect(tx.maxPriorityFeePerGas).to.equal(GWEI);
      const block = await ethers.provider.getBlock(sent.receipt.blockNumber);
      expect(block!.baseFeePerGas! <= cap).to.equal(true);
    });

    it("gives up after --fee-wait-timeout with nothing sent, and honours an explicit tip", async () => {
      const t = await setup();
      await ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(50n * GWEI)]);
      await ethers.provider.send("evm_mine", []);
      const nonce = await nonceOf(t.migrator.address);
      const options = { ...t.options, maxFeePerGas: 2n * GWEI, feeWaitTimeoutMs: 30 };
      await expectRejection(sendBatch(options, t.batch(0, 5)), SendError, "nothing was sent");
      expect(t.journal.entries).to.deep.equal([]);
      expect(await nonceOf(t.migrator.address)).to.equal(nonce);

      const tipped = await signBatch({ ...t.options, maxPriorityFeePerGas: parseUnits("0.1", "gwei") }, t.batch(0, 5));
      expect(Transaction.from(tipped.rawTransaction).maxPriorityFeePerGas).to.equal(parseUnits("0.1", "gwei"));
    });
  });

  it("notices a receipt that a reorg took away before its confirmations, and broadcasts again", async () => {
    const t = await setup();
    const nonce = await nonceOf(t.migrator.address);
    const beforeBatch = await ethers.provider.send("evm_snapshot", []);
    const sending = sendBatch({ ...t.options, confirmations: 3 }, t.batch(0, 10));
    await until(() => t.events.some((event) => event.type === "batch-sent"), "the batch to be sent");
    const hash = t.journal.entries[0]!.txHash;
    await until(async () => (await ethers.provider.getTransactionReceipt(hash)) !== null, "the receipt");
    await ethers.provider.send("evm_revert", [beforeBatch]); // the block holding it is gone
    await until(() => t.events.some((event) => event.type === "warning"), "the reorg warning");
    await until(async () => (await ethers.provider.getTransactionReceipt(hash)) !== null, "the receipt again");
    await networkHelpers.mine(2);
    const sent = await sending;

    expect(t.events.map((event) => event.type)).to.deep.equal(["batch-sent", "warning", "batch-confirmed"]);
    expect((t.events[1] as { message: string }).message).to.include("disappeared in a reorg: broadcasting it again");
    expect(sent.entry.txHash).to.equal(hash);
    expect(await nonceOf(t.migrator.address)).to.equal(nonce + 1);
    expect(await t.market.migrationBatchCount()).to.equal(1n);
    expect(t.journal.entries).to.deep.equal([]);
  });

  describe("failures around the broadcast", () => {
    it("the node goes away during the broadcast: the entry stays, and resume sends it once", async () => {
      const t = await setup();
      // The connection drops as the transaction leaves: the node never gets it, and cannot be asked.
      let down = false;
      const unreachable = new Proxy(ethers.provider, {
        get(target, property) {
          const value = Reflect.get(target, property, target);
          if (typeof value !== "function") return value;
          return async (...args: unknown[]) => {
            if (property === "broadcastTransaction") down = true;
            if (down) throw new Error(property === "broadcastTransaction" ? "socket hang up" : "connect ECONNREFUSED");
            return value.apply(target, args);
          };
        },
      });
      const error = await expectRejection(
        sendBatch({ ...t.options, provider: unreachable }, t.batch(0, 10)),
        SendError,
        "cannot be asked about it",
      );
      expect(error.message).to.include("socket hang up");
      const journal = await t.reopen();
      expect(journal.entries).to.have.length(1);

      const outcomes = await resumeJournal({ ...t.options, journal }, Number(await t.market.migratedCount()));
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(["pending"]);
      expect(await t.market.migrationBatchCount()).to.equal(1n);
      expect(journal.entries).to.deep.equal([]);
    });

    it("a rebroadcast the node refuses (the key ran out of gas money) stops with the entry kept", async () => {
      const t = await setup();
      const entry = await signBatch(t.options, t.batch(0, 10));
      await t.journal.record(entry);
      await ethers.provider.send("hardhat_setBalance", [t.migrator.address, "0x0"]);
      await expectRejection(
        resumeJournal({ ...t.options, journal: await t.reopen() }, 0),
        SendError,
        `broadcasting ${entry.txHash} again failed`,
      );
      expect((await t.reopen()).entries).to.deep.equal([entry]);
    });
  });

  describe("refusals before anything is sent", () => {
    it("while the journal holds an unconfirmed batch: resume first", async () => {
      const t = await setup();
      await t.journal.record(await signBatch(t.options, t.batch(0, 10)));
      await expectRejection(sendBatch(t.options, t.batch(0, 10)), SendError, "resume (reconcile) before sending more");
    });

    it("confirmations below one", async () => {
      const t = await setup();
      await expectRejection(sendBatch({ ...t.options, confirmations: 0 }, t.batch(0, 10)), SendError, "confirmations");
    });

    it("a transaction the node refuses is taken out of the journal again", async () => {
      const t = await setup();
      const broke = new Wallet(id("no funds"));
      const { provider, broadcasts } = observed(ethers.provider);
      await expectRejection(
        sendBatch({ ...t.options, provider, signer: broke }, t.batch(0, 10)),
        SendError,
        "the node refused the jobs batch at cursor 0",
      );
      expect(broadcasts).to.have.length(1);
      expect(t.journal.entries).to.deep.equal([]);
      expect((await t.reopen()).entries).to.deep.equal([]);
    });
  });

  describe("on anvil, through ethers' own JSON-RPC provider (the CLI's path)", function () {
    this.timeout(120_000);
    let anvil: AnvilNode;
    before(async () => {
      anvil = await startAnvil();
    });
    after(async () => {
      await anvil.stop();
    });

    it("sends, and resumes batches the node still holds or has just mined, from another client's answers", async () => {
      const connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
      const [admin, migrator, registryStandIn, escrowStandIn] = await connection.ethers.getSigners();
      const market = (await (
        await upgrades(hre, connection)
      ).deployProxy(
        await connection.ethers.getContractFactory("JobMarketplaceV2", admin),
        [admin!.address, migrator!.address, registryStandIn!.address, escrowStandIn!.address],
        { kind: "uups" },
      )) as unknown as JobMarketplaceV2;
      // No response cache: ethers shares identical calls made within 250 ms by default, so the
      // receipt polls after "nonce too low" (5 × 20 ms) could all get the reconcile's cached
      // "no receipt" when the run before them was slow (CPU load), and take the just-mined batch
      // for one whose nonce another transaction used. Every poll asks anvil.
      const provider = new JsonRpcProvider(anvil.url, undefined, { pollingInterval: 20, cacheTimeout: -1 });
      const contract = await market.getAddress();
      const chainId = (await provider.getNetwork()).chainId;
      const reopen = () => MigrationJournal.open({ directory, chainId, contract });
      const options: SenderOptions = {
        provider,
        signer: accountKey(1),
        journal: await reopen(),
        decoder: market.interface,
        pollIntervalMs: 20,
      };
      const batch = (cursor: number, size: number): BatchRequest => ({
        step: "jobs",
        data: market.interface.encodeFunctionData("importHistoricalJobs", [
          cursor,
          RECORDS.slice(cursor, cursor + size),
        ]),
        cursor,
        size,
        gasLimit: 2_000_000n,
      });
      const notMined = async (cursor: number) => {
        await provider.send("evm_setAutomine", [false]);
        await expectRejection(
          sendBatch({ ...options, journal: await reopen(), receiptTimeoutMs: 100 }, batch(cursor, 10)),
          SendError,
          "no confirmed receipt",
        );
        return reopen();
      };

      expect((await sendBatch(options, batch(0, 10))).receipt.status).to.equal(1);

      // Still in anvil's pool: "transaction already imported".
      let journal = await notMined(10);
      const held = observed(provider);
      const resumed = resumeJournal({ ...options, journal, provider: held.provider }, 10);
      await until(() => held.broadcasts.length > 0, "the rebroadcast");
      expect(held.broadcasts[0]!.error).to.include("already imported");
      await provider.send("evm_mine", []);
      expect((await resumed).map((outcome) => outcome.sent?.receipt.status)).to.deep.equal([1]);

      // Mined just before the rebroadcast: ethers' NONCE_EXPIRED, then the receipt.
      journal = await notMined(20);
      const mined = observed(provider, async () => {
        await provider.send("evm_mine", []);
      });
      const outcomes = await resumeJournal({ ...options, journal, provider: mined.provider }, 20);
      expect(mined.broadcasts[0]!.error).to.include("nonce has already been used");
      expect(outcomes.map((outcome) => outcome.sent?.receipt.status)).to.deep.equal([1]);

      await provider.send("evm_setAutomine", [true]);
      expect(await market.migratedCount()).to.equal(30n);
      expect(await market.migrationBatchCount()).to.equal(3n);
      expect((await reopen()).entries).to.deep.equal([]);
      provider.destroy();
      await connection.close();
    });
  });
});

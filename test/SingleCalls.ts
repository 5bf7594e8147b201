import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, Transaction, toQuantity } from "ethers";
import { foldEvent, initialState } from "../lib/dashboard/state.js";
import { resolveContracts } from "../lib/migration/contracts.js";
import { runMigration, type RunOptions } from "../lib/migration/engine.js";
import type { MigrationEvent } from "../lib/migration/events.js";
import { MigrationJournal, type JournalEntry } from "../lib/migration/journal.js";
import { SendError } from "../lib/migration/sender.js";
import type { StepContext } from "../lib/migration/steps/context.js";
import type { RpcProvider } from "../lib/transactions.js";
import { prepareMigration, type PreparedMigration } from "./helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import { expectRejection } from "./helpers/rejections.js";

/**
 * The single transactions of the engine (finalize here; rollback, unpause and model names go
 * the same way, lib/migration/steps/context.ts `transact`) get the batches' guarantees: the fee
 * cap, journaling before the broadcast, following through drops and reorgs, taken nonces, and
 * a crash between the send and the receipt.
 */

const MNEMONIC = "test test test test test test test test test test test junk";
const GWEI = 10n ** 9n;
const SEED = { nodes: 4, jobs: 20, users: 8, seed: "single-calls" };

interface Copied {
  p: PreparedMigration;
  dir: string;
  snapshotFile: string;
}

/** V1 copied to V2 and verified, not finalized: what the finalize step starts from. */
async function copied(): Promise<Copied> {
  const p = await prepareMigration({ ethers, upgrades: upgradesApi }, SEED);
  const dir = await mkdtemp(path.join(tmpdir(), "single-calls-"));
  const snapshotFile = path.join(dir, "v1.ndjson");
  const ctx = await contextFor(p, () => {});
  await runMigration(ctx, {
    snapshotFile,
    journalDir: path.join(dir, "journal"),
    pollIntervalMs: 10,
    steps: ["check", "snapshot", "nodes", "jobs", "escrow", "verify"],
  });
  return { p, dir, snapshotFile };
}

async function contextFor(p: PreparedMigration, reporter: (event: MigrationEvent) => void): Promise<StepContext> {
  const signer = HDNodeWallet.fromPhrase(MNEMONIC).connect(ethers.provider);
  const overrides = {
    NodeRegistryV1: await p.v1.registry.getAddress(),
    PaymentEscrowV1: await p.v1.escrow.getAddress(),
    JobMarketplaceV1: await p.v1.marketplace.getAddress(),
    NodeRegistryV2: await p.v2.registry.getAddress(),
    PaymentEscrowV2: await p.v2.escrow.getAddress(),
    JobMarketplaceV2: await p.v2.marketplace.getAddress(),
  };
  const contracts = await resolveContracts(ethers.provider, signer, { overrides, requireOpened: true });
  return { provider: ethers.provider, signer, contracts, reporter, devChain: true };
}

/** Waits for a condition (polled every 10 ms); the 30 s cap only turns a hang into a failure. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The chain's provider with every broadcast logged (hash, and the node's refusal if any);
 * `afterFirst` runs once the first one reached the node, before the sender hears back.
 */
function observed(provider: RpcProvider, afterFirst?: (raw: string) => Promise<void>) {
  const broadcasts: { hash: string; error?: string }[] = [];
  const proxy = new Proxy(provider, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== "broadcastTransaction") return typeof value === "function" ? value.bind(target) : value;
      return async (raw: string) => {
        const hash = Transaction.from(raw).hash as string;
        try {
          const response = await target.broadcastTransaction(raw);
          broadcasts.push({ hash });
          if (broadcasts.length === 1) await afterFirst?.(raw);
          return response;
        } catch (error) {
          broadcasts.push({ hash, error: (error as Error).message });
          throw error;
        }
      };
    },
  });
  return { provider: proxy, broadcasts };
}

/**
 * Drops the transaction `raw` from the node's pool and sends another one of the same key at its
 * nonce with twice its fees; returns the other one's hash.
 */
async function replaceInPool(
  raw: string,
  call: { to: string; data?: string; value?: bigint; gasLimit: bigint },
): Promise<string> {
  const sent = Transaction.from(raw);
  await ethers.provider.send("hardhat_dropTransaction", [sent.hash]);
  const signer = HDNodeWallet.fromPhrase(MNEMONIC);
  const other = await ethers.provider.broadcastTransaction(
    await signer.signTransaction({
      type: 2,
      chainId: sent.chainId,
      nonce: sent.nonce,
      ...call,
      maxFeePerGas: sent.maxFeePerGas! * 2n,
      maxPriorityFeePerGas: sent.maxPriorityFeePerGas! * 2n + 1n,
    }),
  );
  return other.hash;
}

describe("Single transactions (finalize) with the batches' guarantees", function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  let chainBefore: Awaited<ReturnType<typeof networkHelpers.takeSnapshot>>;
  before(async () => {
    chainBefore = await networkHelpers.takeSnapshot();
  });
  // Runs started in the background: a test that fails before awaiting its run must not leave it
  // sending into the next test's chain (which the fixture moves back under its nonces).
  const inFlight: Promise<unknown>[] = [];
  function start(ctx: StepContext, options: RunOptions): Promise<Awaited<ReturnType<typeof runMigration>>> {
    const running = runMigration(ctx, options);
    inFlight.push(running.catch(() => undefined)); // the test awaits `running` for its outcome
    return running;
  }
  afterEach(async () => {
    await ethers.provider.send("evm_setAutomine", [true]);
    let settled = false;
    const all = Promise.all(inFlight.splice(0)).then(() => (settled = true));
    await until(async () => {
      if (!settled) await networkHelpers.mine(1);
      return settled;
    }, "the test's migration run to end");
    await all;
  });
  after(async () => {
    await chainBefore.restore();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  interface Harness {
    c: Copied;
    ctx: StepContext;
    events: MigrationEvent[];
    options: RunOptions;
    operator: string;
    journal(contract: string): Promise<MigrationJournal>;
    warnings(): string[];
  }

  async function setUp(): Promise<Harness> {
    const c = await networkHelpers.loadFixture(copied);
    if (!dirs.includes(c.dir)) dirs.push(c.dir);
    const events: MigrationEvent[] = [];
    const ctx = await contextFor(c.p, (event) => events.push(event));
    // A journal of its own per test: the chain goes back to the fixture, the disk does not.
    const journalDir = await mkdtemp(path.join(c.dir, "journal-"));
    return {
      c,
      ctx,
      events,
      operator: await ctx.signer.getAddress(),
      options: { snapshotFile: c.snapshotFile, journalDir, pollIntervalMs: 10, steps: ["finalize"] },
      journal: (contract) => MigrationJournal.open({ directory: journalDir, chainId: 31337, contract }),
      warnings: () => events.flatMap((event) => (event.type === "warning" ? [event.message] : [])),
    };
  }

  const finalized = async (p: PreparedMigration) =>
    Promise.all([p.v2.registry, p.v2.marketplace, p.v2.escrow].map((contract) => contract.migrationFinalized()));

  it("waits while the base fee is above --max-fee-per-gas, with the batches' warning, and never offers more", async () => {
    const h = await setUp();
    await ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(50n * GWEI)]);
    await ethers.provider.send("evm_mine", []);
    const nonce = await ethers.provider.getTransactionCount(h.operator, "latest");
    const cap = 2n * GWEI;
    let nonceAtWarning: number | undefined;
    let fallen: Promise<void> | undefined;
    const ctx: StepContext = {
      ...h.ctx,
      reporter: (event) => {
        h.events.push(event);
        if (event.type !== "warning" || fallen !== undefined) return;
        fallen = (async () => {
          nonceAtWarning = await ethers.provider.getTransactionCount(h.operator, "pending");
          await ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(GWEI)]);
          await ethers.provider.send("evm_mine", []);
        })();
      },
    };
    const result = await runMigration(ctx, { ...h.options, maxFeePerGas: cap });
    await fallen;

    expect(h.warnings()).to.deep.equal([
      `base fee ${50n * GWEI} wei is above --max-fee-per-gas ${cap} wei: waiting for it to fall before sending.`,
    ]);
    expect(nonceAtWarning).to.equal(nonce); // nothing was sent while the fee was high
    expect(await finalized(h.c.p)).to.deep.equal([true, true, true]);
    const hashes = result.finalize!.contracts.map((row) => row.txHash);
    expect(hashes.every((hash) => hash !== null)).to.equal(true);
    for (const hash of hashes) {
      const tx = (await ethers.provider.getTransaction(hash!))!;
      expect(tx.maxFeePerGas! <= cap, `maxFeePerGas ${tx.maxFeePerGas}`).to.equal(true);
      const block = await ethers.provider.getBlock(tx.blockNumber!);
      expect(block!.baseFeePerGas! <= cap).to.equal(true);
    }
    // Nothing left in the journals once the receipts are in.
    for (const contract of [h.c.p.v2.registry, h.c.p.v2.marketplace, h.c.p.v2.escrow]) {
      expect((await h.journal(await contract.getAddress())).entries).to.deep.equal([]);
    }
  });

  it("follows a finalize through a reorg before its confirmations: the same bytes again, finalized once", async () => {
    const h = await setUp();
    const registry = await h.c.p.v2.registry.getAddress();
    const beforeSend = await ethers.provider.send("evm_snapshot", []);
    const running = start(h.ctx, { ...h.options, confirmations: 3 });
    await until(async () => (await h.journal(registry)).entries.length === 1, "the finalize to be journaled");
    const entry = (await h.journal(registry)).entries[0]!;
    expect(entry.step).to.equal("finalize");
    expect(entry.call).to.equal("finalizing the V2 registry");
    await until(async () => (await ethers.provider.getTransactionReceipt(entry.txHash)) !== null, "its receipt");
    await ethers.provider.send("evm_revert", [beforeSend]); // the block holding it is gone
    await until(() => h.warnings().length > 0, "the reorg warning");
    await until(async () => (await ethers.provider.getTransactionReceipt(entry.txHash)) !== null, "the receipt again");
    // The other two finalizes need their confirmations too: keep mining until the run ends.
    let done = false;
    const miner = (async () => {
      while (!done) {
        await networkHelpers.mine(1);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const result = await running.finally(() => (done = true));
    await miner;

    expect(h.warnings()).to.have.length(1);
    expect(h.warnings()[0]).to.match(
      new RegExp(
        `^the receipt of ${entry.txHash} \\(block 0x[0-9a-f]{64}\\) disappeared in a reorg: broadcasting it again\\.$`,
      ),
    );
    expect(result.finalize!.contracts[0]!.txHash).to.equal(entry.txHash);
    expect(await finalized(h.c.p)).to.deep.equal([true, true, true]);
    expect((await h.journal(registry)).entries).to.deep.equal([]);
  });

  it("a finalize dropped while another transaction holds its nonce: warned once, then re-checked and sent with a new nonce", async () => {
    const h = await setUp();
    const registry = await h.c.p.v2.registry.getAddress();
    await ethers.provider.send("evm_setAutomine", [false]);
    let other = "";
    // As it reaches the pool, a wallet of the same key replaces it with a plain transfer at its nonce.
    const { provider, broadcasts } = observed(ethers.provider, async (raw) => {
      other = await replaceInPool(raw, { to: h.operator, value: 0n, gasLimit: 21_000n });
    });
    const running = start({ ...h.ctx, provider }, h.options);
    await until(() => broadcasts.length >= 1, "the finalize broadcast");
    const entry = (await h.journal(registry)).entries[0]!;
    // Every poll finds it unknown and broadcasts it again ("underpriced"): one warning all the same.
    await until(() => broadcasts.length >= 4, "several rebroadcasts");
    const whilePooled = broadcasts.slice(1);
    // Mine the pool first, then automine: a resend signed meanwhile at the next nonce is queued
    // behind the pool's transaction (EDR refuses a nonce gap while automining).
    await ethers.provider.send("evm_mine", []);
    await ethers.provider.send("evm_setAutomine", [true]);
    await ethers.provider.send("evm_mine", []);
    const result = await running;

    for (const rebroadcast of whilePooled) {
      expect(rebroadcast.hash).to.equal(entry.txHash);
      expect(rebroadcast.error).to.match(/underpriced|replacement/i);
    }
    const warnings = h.warnings();
    expect(warnings.filter((message) => message.includes("no longer knows"))).to.deep.equal([
      `the node no longer knows ${entry.txHash} (dropped from its pool): broadcasting it again.`,
    ]);
    expect(warnings.filter((message) => message.includes("was taken by another transaction"))).to.deep.equal([
      `nonce ${entry.nonce} was taken by another transaction of ${entry.from}, so ${entry.txHash} can never be mined: reading whether finalizing the V2 registry is done on chain, else sending it again with a new nonce.`,
    ]);
    expect((await ethers.provider.getTransactionReceipt(other))!.status).to.equal(1);
    expect(await ethers.provider.getTransaction(entry.txHash)).to.equal(null);
    const resent = result.finalize!.contracts[0]!.txHash!;
    expect(resent).to.not.equal(entry.txHash);
    expect((await ethers.provider.getTransaction(resent))!.nonce).to.equal(entry.nonce + 1);
    expect(await finalized(h.c.p)).to.deep.equal([true, true, true]);
    expect((await h.journal(registry)).entries).to.deep.equal([]);
  });

  it("another transaction took the nonce but finalize is done on chain (governance did it): nothing is sent again", async () => {
    const h = await setUp();
    const registry = await h.c.p.v2.registry.getAddress();
    await ethers.provider.send("evm_setAutomine", [false]);
    let other = "";
    // The same call from the same key with other fees: another transaction, the same effect.
    const { provider, broadcasts } = observed(ethers.provider, async (raw) => {
      const sent = Transaction.from(raw);
      other = await replaceInPool(raw, { to: sent.to!, data: sent.data, gasLimit: sent.gasLimit });
    });
    const running = start({ ...h.ctx, provider }, h.options);
    await until(() => broadcasts.length >= 1, "the finalize broadcast");
    const entry = (await h.journal(registry)).entries[0]!;
    await until(() => h.warnings().some((message) => message.includes("no longer knows")), "the engine's poll");
    // Mine the pool first, then automine: a resend signed meanwhile at the next nonce is queued
    // behind the pool's transaction (EDR refuses a nonce gap while automining).
    await ethers.provider.send("evm_mine", []);
    await ethers.provider.send("evm_setAutomine", [true]);
    await ethers.provider.send("evm_mine", []);
    const result = await running;

    expect((await ethers.provider.getTransactionReceipt(other))!.status).to.equal(1);
    expect(result.finalize!.contracts[0]).to.include({ contract: "registry", txHash: null, gasUsed: "0" });
    expect(h.warnings().filter((message) => message.includes("was taken by another transaction"))).to.have.length(1);
    // Two more transactions only: the marketplace's and the escrow's finalize.
    expect(await ethers.provider.getTransactionCount(h.operator, "latest")).to.equal(entry.nonce + 3);
    expect(await finalized(h.c.p)).to.deep.equal([true, true, true]);
  });

  it("resumes after a crash between sending finalize and its receipt: found in the journal, never sent twice", async () => {
    const h = await setUp();
    const registry = await h.c.p.v2.registry.getAddress();
    const nonce = await ethers.provider.getTransactionCount(h.operator, "latest");
    await ethers.provider.send("evm_setAutomine", [false]);
    // The process stops with the finalize signed, journaled and in the node's pool, unmined.
    await expectRejection(
      runMigration(h.ctx, { ...h.options, receiptTimeoutMs: 200 }),
      SendError,
      /no confirmed receipt for 0x[0-9a-f]+ after 200 ms; it stays in the journal/,
    );
    const [entry] = (await h.journal(registry)).entries;
    expect(entry).to.deep.include({ step: "finalize", call: "finalizing the V2 registry", nonce, cursor: 0, size: 0 });
    expect(await ethers.provider.getTransaction(entry!.txHash)).to.not.equal(null);
    expect(await h.c.p.v2.registry.migrationFinalized()).to.equal(false);
    // migrate:status lists it with the batches' pending entries.
    const status = await runMigration(h.ctx, { ...h.options, steps: ["status"] });
    expect(status.status!.pending).to.deep.equal([entry]);

    // The node restarted meanwhile and forgot its pool: the run broadcasts the journaled bytes again.
    await ethers.provider.send("hardhat_dropTransaction", [entry!.txHash]);
    await ethers.provider.send("evm_setAutomine", [true]);
    const result = await runMigration(h.ctx, h.options);
    expect(result.finalize!.contracts[0]!.txHash).to.equal(entry!.txHash);
    expect(await finalized(h.c.p)).to.deep.equal([true, true, true]);
    expect(await ethers.provider.getTransactionCount(h.operator, "latest")).to.equal(nonce + 3);
    expect((await h.journal(registry)).entries).to.deep.equal([]);
  });

  it("resumes a finalize mined while the process was down: its receipt is reported, the journal emptied", async () => {
    const h = await setUp();
    const registry = await h.c.p.v2.registry.getAddress();
    await ethers.provider.send("evm_setAutomine", [false]);
    await expectRejection(
      runMigration(h.ctx, { ...h.options, receiptTimeoutMs: 200 }),
      SendError,
      "stays in the journal",
    );
    const [entry] = (await h.journal(registry)).entries;
    // Mine the pool first, then automine: a resend signed meanwhile at the next nonce is queued
    // behind the pool's transaction (EDR refuses a nonce gap while automining).
    await ethers.provider.send("evm_mine", []);
    await ethers.provider.send("evm_setAutomine", [true]);
    await ethers.provider.send("evm_mine", []);
    expect(await h.c.p.v2.registry.migrationFinalized()).to.equal(true);

    const result = await runMigration(h.ctx, h.options);
    expect(result.finalize!.contracts[0]).to.include({ contract: "registry", txHash: entry!.txHash });
    expect(result.finalize!.contracts[0]!.gasUsed).to.not.equal("0");
    expect(await finalized(h.c.p)).to.deep.equal([true, true, true]);
    expect((await h.journal(registry)).entries).to.deep.equal([]);
    expect(await ethers.provider.getTransactionCount(h.operator, "latest")).to.equal(entry!.nonce + 3);
  });

  it("resumes a rollback stopped between a batch's send and its receipt: that batch is taken back once", async () => {
    const h = await setUp();
    const escrowV1 = await h.c.p.v1.escrow.getAddress();
    const batches = await h.c.p.v2.escrow.migrationBatchCount();
    await ethers.provider.send("evm_setAutomine", [false]);
    await expectRejection(
      runMigration(h.ctx, { ...h.options, steps: ["rollback"], receiptTimeoutMs: 200 }),
      SendError,
      "stays in the journal",
    );
    const [entry] = (await h.journal(escrowV1)).entries;
    expect(entry).to.deep.include({ step: "rollback", call: `rolling back deposit batch ${batches - 1n}` });

    // Still pending when the run starts again (blocks now come every 20 ms, as on a real chain):
    // it is followed first, then not sent a second time.
    let stop = false;
    let miner: Promise<void> | undefined;
    const ctx: StepContext = {
      ...h.ctx,
      reporter: (event) => {
        h.events.push(event);
        // The rollback has read its batch counts (the pending one still among them): blocks start.
        if (event.type !== "step-started" || event.step !== "rollback") return;
        miner = (async () => {
          while (!stop) {
            await ethers.provider.send("evm_mine", []);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
      },
    };
    const result = await runMigration(ctx, { ...h.options, steps: ["rollback"] }).finally(() => (stop = true));
    await miner;
    expect(result.rollback!.restored).to.equal(true);
    expect(result.rollback!.batches.escrow).to.equal(Number(batches));
    expect((await ethers.provider.getTransactionReceipt(entry!.txHash))!.status).to.equal(1);
    for (const contract of [h.c.p.v2.registry, h.c.p.v2.marketplace, h.c.p.v2.escrow]) {
      expect(await contract.migratedCount()).to.equal(0n);
    }
    expect((await h.journal(escrowV1)).entries).to.deep.equal([]);
  });

  // ------------------------------------------------------------ call events

  type CallEvent = Extract<MigrationEvent, { type: "call-sent" | "call-confirmed" }>;
  const callEvents = (events: MigrationEvent[]): CallEvent[] =>
    events.filter((event): event is CallEvent => event.type === "call-sent" || event.type === "call-confirmed");

  /** A call-confirmed's figures are its mined receipt's. */
  async function expectReceiptFigures(confirmed: CallEvent): Promise<void> {
    const receipt = (await ethers.provider.getTransactionReceipt(confirmed.txHash))!;
    expect(receipt.status).to.equal(1);
    expect(confirmed).to.deep.include({
      type: "call-confirmed",
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed.toString(),
      l1FeeWei: "0",
    });
  }

  /** Every call-sent is followed by its call-confirmed, for the same transaction (at the nonce it names). */
  async function expectConfirmedPairs(calls: CallEvent[]): Promise<void> {
    expect(calls.length % 2).to.equal(0);
    for (let i = 0; i < calls.length; i += 2) {
      const [sent, confirmed] = [calls[i]!, calls[i + 1]!];
      if (sent.type !== "call-sent") expect.fail(`expected call-sent, got ${sent.type}`);
      expect(confirmed).to.deep.include({
        step: sent.step,
        call: sent.call,
        contract: sent.contract,
        txHash: sent.txHash,
      });
      expect(sent.nonce).to.equal((await ethers.provider.getTransaction(sent.txHash))!.nonce);
      await expectReceiptFigures(confirmed);
    }
  }

  /**
   * Runs `options` with blocks stopped until the receipt wait gives up: the process "crashes" with
   * the first call signed, journaled in `contract`'s journal and in the node's pool. Returns that entry.
   */
  async function stopAfterFirstSend(h: Harness, contract: string, options: RunOptions): Promise<JournalEntry> {
    await ethers.provider.send("evm_setAutomine", [false]);
    await expectRejection(
      runMigration(h.ctx, { ...options, receiptTimeoutMs: 200 }),
      SendError,
      "stays in the journal",
    );
    const { entries } = await h.journal(contract);
    expect(entries).to.have.length(1);
    return entries[0]!;
  }

  it("a finalize reports call-sent then call-confirmed per contract; the dashboard lists each with its link until confirmed", async () => {
    const h = await setUp();
    const result = await runMigration(h.ctx, h.options);
    const calls = callEvents(h.events);
    const names = ["registry", "marketplace", "escrow"] as const;
    expect(calls.map((event) => [event.type, event.call])).to.deep.equal(
      names.flatMap((name) => [
        ["call-sent", `finalizing the V2 ${name}`],
        ["call-confirmed", `finalizing the V2 ${name}`],
      ]),
    );
    await expectConfirmedPairs(calls);
    for (const [i, name] of names.entries()) {
      const [sent] = calls.filter((event) => event.call === `finalizing the V2 ${name}`);
      expect(sent!.contract).to.equal(await h.c.p.v2[name].getAddress());
      expect(sent!.txHash).to.equal(result.finalize!.contracts[i]!.txHash);
    }
    // Calls are not batches: no batch event, and the step's count is its own progress (3 contracts).
    expect(h.events.filter((event) => event.type.startsWith("batch-"))).to.deep.equal([]);
    expect(h.events.flatMap((event) => (event.type === "progress" ? [event.done] : []))).to.deep.equal([1, 2, 3]);

    // Folded by the dashboard: in flight with its explorer link once sent, moved to the recent list once confirmed.
    let state = initialState({ mode: "run", network: "base", chainId: 8453, explorer: "https://basescan.org" });
    for (const event of h.events) {
      state = foldEvent(state, event);
      if (event.type === "call-sent") {
        expect(state.inFlight.map((tx) => [tx.call, tx.url])).to.deep.equal([
          [event.call, `https://basescan.org/tx/${event.txHash}`],
        ]);
      }
      if (event.type === "call-confirmed") {
        expect(state.inFlight).to.deep.equal([]);
        expect(state.recent[0]).to.deep.include({
          call: event.call,
          txHash: event.txHash,
          blockNumber: event.blockNumber,
        });
      }
    }
    expect(state.timeline.filter((entry) => entry.kind === "call")).to.have.length(6);
    expect(state.steps.find((view) => view.step === "finalize")).to.deep.include({ batches: 0, gasUsed: "0", done: 3 });
  });

  it("a journaled finalize followed after a restart reports call-confirmed for the journaled transaction, not sent again", async () => {
    const h = await setUp();
    const registry = await h.c.p.v2.registry.getAddress();
    const entry = await stopAfterFirstSend(h, registry, h.options);
    expect(callEvents(h.events).map((event) => [event.type, event.txHash])).to.deep.equal([
      ["call-sent", entry.txHash],
    ]);

    await ethers.provider.send("hardhat_dropTransaction", [entry.txHash]); // the node forgot it too
    await ethers.provider.send("evm_setAutomine", [true]);
    const events: MigrationEvent[] = [];
    await runMigration({ ...h.ctx, reporter: (event) => events.push(event) }, h.options);
    const calls = callEvents(events);
    expect(calls[0]).to.deep.include({
      type: "call-confirmed",
      call: "finalizing the V2 registry",
      txHash: entry.txHash,
    });
    expect(calls.filter((event) => event.type === "call-sent").map((event) => event.call)).to.deep.equal([
      "finalizing the V2 marketplace",
      "finalizing the V2 escrow",
    ]);
    await expectReceiptFigures(calls[0]!);
    await expectConfirmedPairs(calls.slice(1));
  });

  it("a journaled finalize mined while the process was down is reported as call-confirmed when the run resumes", async () => {
    const h = await setUp();
    const registry = await h.c.p.v2.registry.getAddress();
    const entry = await stopAfterFirstSend(h, registry, h.options);
    // Mine the pool first, then automine (see above).
    await ethers.provider.send("evm_mine", []);
    await ethers.provider.send("evm_setAutomine", [true]);
    await ethers.provider.send("evm_mine", []);
    const receipt = (await ethers.provider.getTransactionReceipt(entry.txHash))!;

    const events: MigrationEvent[] = [];
    await runMigration({ ...h.ctx, reporter: (event) => events.push(event) }, h.options);
    expect(callEvents(events)[0]).to.deep.equal({
      type: "call-confirmed",
      at: callEvents(events)[0]!.at,
      step: "finalize",
      call: "finalizing the V2 registry",
      contract: registry,
      txHash: entry.txHash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed.toString(),
      l1FeeWei: "0",
    });
    expect(callEvents(events).filter((event) => event.call === "finalizing the V2 registry")).to.have.length(1);
    expect((await h.journal(registry)).entries).to.deep.equal([]);
  });

  // ------------------------------------------------------------ handover through the sender

  /** The handover's transactions in their one order: per contract, grants to governance, then the operator's renounces, admin last. */
  function handoverCalls(governance: string): string[] {
    const roles = ["UPGRADER_ROLE", "PAUSER_ROLE", "DEFAULT_ADMIN_ROLE"];
    return ["registry", "escrow", "marketplace"].flatMap((name) => [
      ...roles.map((role) => `granting ${role} on the V2 ${name} to ${governance}`),
      ...roles.map((role) => `renouncing the operator's ${role} on the V2 ${name}`),
    ]);
  }

  const v2Contracts = (p: PreparedMigration) => [p.v2.registry, p.v2.escrow, p.v2.marketplace];

  /** Whether `governance` holds every governing role on the three V2 proxies and the operator none. */
  async function handedOver(p: PreparedMigration, governance: string, operator: string): Promise<boolean> {
    for (const contract of v2Contracts(p)) {
      for (const role of [
        await contract.DEFAULT_ADMIN_ROLE(),
        await contract.UPGRADER_ROLE(),
        await contract.PAUSER_ROLE(),
      ]) {
        if (!(await contract.hasRole(role, governance)) || (await contract.hasRole(role, operator))) return false;
      }
    }
    return true;
  }

  it("hands over through the sender: each grant and renounce journaled while in flight, in the one order; a re-run sends nothing", async () => {
    const h = await setUp();
    const governance = (await ethers.getSigners())[5]!.address;
    // At each call-sent, the call's journal on disk (read synchronously, before the run goes on).
    const journaled: string[][] = [];
    const ctx: StepContext = {
      ...h.ctx,
      reporter: (event) => {
        h.events.push(event);
        if (event.type !== "call-sent") return;
        const file = MigrationJournal.pathFor({
          directory: h.options.journalDir!,
          chainId: 31337,
          contract: event.contract,
        });
        const { entries } = JSON.parse(readFileSync(file, "utf8")) as { entries: { txHash: string; call: string }[] };
        journaled.push(entries.map((entry) => `${entry.call} ${entry.txHash}`));
      },
    };
    await runMigration(ctx, { ...h.options, steps: ["handover"], governance });

    const calls = callEvents(h.events);
    const sent = calls.filter((event) => event.type === "call-sent");
    expect(sent.map((event) => event.call)).to.deep.equal(handoverCalls(governance));
    expect(journaled).to.deep.equal(sent.map((event) => [`${event.call} ${event.txHash}`]));
    await expectConfirmedPairs(calls);
    expect(calls.every((event) => event.step === "handover")).to.equal(true);
    for (const contract of v2Contracts(h.c.p)) {
      expect((await h.journal(await contract.getAddress())).entries).to.deep.equal([]);
    }
    expect(await handedOver(h.c.p, governance, h.operator)).to.equal(true);
    const finished = h.events.find((event) => event.type === "step-finished" && event.step === "handover");
    expect(finished).to.deep.include({
      summary: { governance, transactions: sent.map((event) => ({ call: event.call, txHash: event.txHash })) },
    });

    const nonce = await ethers.provider.getTransactionCount(h.operator, "pending");
    const again: MigrationEvent[] = [];
    await runMigration(
      { ...h.ctx, reporter: (event) => again.push(event) },
      { ...h.options, steps: ["handover"], governance },
    );
    expect(await ethers.provider.getTransactionCount(h.operator, "pending")).to.equal(nonce);
    expect(callEvents(again)).to.deep.equal([]);
    expect(again.find((event) => event.type === "step-finished")).to.deep.include({
      summary: { governance, transactions: [] },
    });
  });

  it("a handover waits while the base fee is above --max-fee-per-gas (one warning), then sends under the cap", async () => {
    const h = await setUp();
    const governance = (await ethers.getSigners())[5]!.address;
    await ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(50n * GWEI)]);
    await ethers.provider.send("evm_mine", []);
    const nonce = await ethers.provider.getTransactionCount(h.operator, "latest");
    const cap = 2n * GWEI;
    // At the warning: the key's pending nonce (nothing may have been sent), then the fee falls.
    let atWarning: Promise<number> | undefined;
    const reporter = (event: MigrationEvent) => {
      h.events.push(event);
      if (event.type !== "warning" || atWarning !== undefined) return;
      atWarning = ethers.provider.getTransactionCount(h.operator, "pending").then(async (pending) => {
        await ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(GWEI)]);
        await ethers.provider.send("evm_mine", []);
        return pending;
      });
    };
    await runMigration({ ...h.ctx, reporter }, { ...h.options, steps: ["handover"], governance, maxFeePerGas: cap });
    const nonceAtWarning = await atWarning;

    expect(h.warnings()).to.deep.equal([
      `base fee ${50n * GWEI} wei is above --max-fee-per-gas ${cap} wei: waiting for it to fall before sending.`,
    ]);
    expect(h.events.find((event) => event.type === "warning")).to.deep.include({ step: "handover" });
    expect(nonceAtWarning).to.equal(nonce); // nothing was sent while the fee was high
    const sent = callEvents(h.events).filter((event) => event.type === "call-sent");
    expect(sent).to.have.length(18);
    for (const { txHash } of sent) {
      expect((await ethers.provider.getTransaction(txHash))!.maxFeePerGas! <= cap).to.equal(true);
    }
    expect(await handedOver(h.c.p, governance, h.operator)).to.equal(true);
  });

  it("a handover stopped between a grant's send and its receipt is finished by the next run: that grant is followed, not sent again", async () => {
    const h = await setUp();
    const governance = (await ethers.getSigners())[5]!.address;
    const registry = await h.c.p.v2.registry.getAddress();
    const nonce = await ethers.provider.getTransactionCount(h.operator, "latest");
    const entry = await stopAfterFirstSend(h, registry, { ...h.options, steps: ["handover"], governance });
    expect(entry).to.deep.include({ step: "handover", call: handoverCalls(governance)[0], nonce });

    // The node restarted meanwhile and forgot its pool: the next run broadcasts the journaled bytes again.
    await ethers.provider.send("hardhat_dropTransaction", [entry.txHash]);
    await ethers.provider.send("evm_setAutomine", [true]);
    const events: MigrationEvent[] = [];
    await runMigration(
      { ...h.ctx, reporter: (event) => events.push(event) },
      { ...h.options, steps: ["handover"], governance },
    );
    const calls = callEvents(events);
    expect(calls[0]).to.deep.include({ type: "call-confirmed", txHash: entry.txHash });
    expect(calls.filter((event) => event.type === "call-sent").map((event) => event.call)).to.deep.equal(
      handoverCalls(governance).slice(1),
    );
    // 18 transactions in all, the first one once.
    expect(await ethers.provider.getTransactionCount(h.operator, "latest")).to.equal(nonce + 18);
    expect(await handedOver(h.c.p, governance, h.operator)).to.equal(true);
    expect((await h.journal(registry)).entries).to.deep.equal([]);
  });
});

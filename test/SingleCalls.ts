import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, Transaction, toQuantity } from "ethers";
import { resolveContracts } from "../lib/migration/contracts.js";
import { runMigration, type RunOptions } from "../lib/migration/engine.js";
import type { MigrationEvent } from "../lib/migration/events.js";
import { MigrationJournal } from "../lib/migration/journal.js";
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
});

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, Transaction, ZeroAddress } from "ethers";
import { MigrationInputError, resolveContracts, type MigrationContracts } from "../lib/migration/contracts.js";
import { ALL_STEPS, runMigration, type RunOptions } from "../lib/migration/engine.js";
import type { MigrationEvent } from "../lib/migration/events.js";
import { MigrationJournal } from "../lib/migration/journal.js";
import { NonceTakenError, signBatch, SendError } from "../lib/migration/sender.js";
import { MAX_NONCE_REPLANS } from "../lib/migration/steps/copy.js";
import type { RpcProvider } from "../lib/transactions.js";
import { MIGRATION_INTERFACES, MigrationStepError, type StepContext } from "../lib/migration/steps/context.js";
import { readSnapshot } from "../lib/snapshot.js";
import { readV1State } from "../lib/v1State.js";
import { prepareMigration, type PreparedMigration } from "./helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import { expectRejection } from "./helpers/rejections.js";

/** Hardhat's first development account: the operator, with its key (batches are signed locally). */
const MNEMONIC = "test test test test test test test test test test test junk";
// 400 jobs at ~8,500 gas each need more than one batch at SMALL_CAP's target (85% of 3M).
const SEED = { nodes: 14, jobs: 400, users: 60, seed: "engine" };
/** A cap low enough that every copy step takes several batches. */
const SMALL_CAP = 3_000_000n;

function prepared(): Promise<PreparedMigration> {
  return prepareMigration({ ethers, upgrades: upgradesApi }, SEED);
}

/** Awaits `promise`, which must reject with an `Error` (of `type`, if given) whose message contains or matches `message`. */

interface Harness {
  p: PreparedMigration;
  ctx: StepContext;
  contracts: MigrationContracts;
  operator: string;
  events: MigrationEvent[];
  dir: string;
  options: RunOptions;
  nonce(): Promise<number>;
}

async function harness(): Promise<Harness> {
  const p = await networkHelpers.loadFixture(prepared);
  const signer = HDNodeWallet.fromPhrase(MNEMONIC).connect(ethers.provider);
  expect(signer.address).to.equal(p.operator.address);
  const overrides = {
    NodeRegistryV1: await p.v1.registry.getAddress(),
    PaymentEscrowV1: await p.v1.escrow.getAddress(),
    JobMarketplaceV1: await p.v1.marketplace.getAddress(),
    NodeRegistryV2: await p.v2.registry.getAddress(),
    PaymentEscrowV2: await p.v2.escrow.getAddress(),
    JobMarketplaceV2: await p.v2.marketplace.getAddress(),
  };
  const contracts = await resolveContracts(ethers.provider, signer, { overrides, requireOpened: true });
  const events: MigrationEvent[] = [];
  const dir = await mkdtemp(path.join(tmpdir(), "engine-"));
  const ctx: StepContext = {
    provider: ethers.provider,
    signer,
    contracts,
    reporter: (event) => events.push(event),
    devChain: true,
  };
  return {
    p,
    ctx,
    contracts,
    operator: signer.address,
    events,
    dir,
    options: {
      snapshotFile: path.join(dir, "v1.ndjson"),
      journalDir: path.join(dir, "journal"),
      maxGasPerTx: SMALL_CAP,
      pollIntervalMs: 10,
    },
    nonce: () => ethers.provider.getTransactionCount(signer.address, "pending"),
  };
}

const sent = (events: MigrationEvent[], step?: string) =>
  events.filter((event) => event.type === "batch-confirmed" && (step === undefined || event.step === step));

/** What V1 and V2 hold in ETH and USDC: a rollback must restore every figure. */
async function balances(p: PreparedMigration): Promise<bigint[]> {
  const holders = [p.v1.registry, p.v1.escrow, p.v2.registry, p.v2.escrow, p.v2.marketplace];
  const out: bigint[] = [];
  for (const holder of holders) {
    const address = await holder.getAddress();
    out.push(await ethers.provider.getBalance(address), await p.v1.usdc.balanceOf(address));
  }
  return out;
}

/**
 * The chain's provider, except that a batch broadcast (the first `times` of them) is taken over
 * by another transaction of the operator's own key at the same nonce, as a wallet or script
 * racing the migration would: the batch reaches the pool, leaves it, and the other transaction
 * is mined instead.
 */
function nonceTaker(ctx: StepContext, times: number): { provider: RpcProvider; taken: string[] } {
  const provider = ctx.provider;
  const taken: string[] = [];
  const proxy = new Proxy(provider, {
    get(target, property) {
      if (property !== "broadcastTransaction") {
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (raw: string) => {
        if (taken.length >= times) return target.broadcastTransaction(raw);
        const batch = Transaction.from(raw);
        await provider.send("evm_setAutomine", [false]);
        try {
          const response = await target.broadcastTransaction(raw);
          await provider.send("hardhat_dropTransaction", [batch.hash]);
          await target.broadcastTransaction(
            await ctx.signer.signTransaction({
              type: 2,
              chainId: batch.chainId,
              nonce: batch.nonce,
              to: await ctx.signer.getAddress(),
              value: 0n,
              gasLimit: 21_000n,
              maxFeePerGas: batch.maxFeePerGas! * 2n,
              maxPriorityFeePerGas: batch.maxPriorityFeePerGas! * 2n + 1n,
            }),
          );
          await provider.send("evm_mine", []);
          taken.push(batch.hash!);
          return response;
        } finally {
          await provider.send("evm_setAutomine", [true]);
        }
      };
    },
  });
  return { provider: proxy, taken };
}

describe("Migration engine (in-process chain)", function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  // The steps install Multicall3 on the shared chain: later files must find it as it was.
  let chainBefore: Awaited<ReturnType<typeof networkHelpers.takeSnapshot>>;
  before(async () => {
    chainBefore = await networkHelpers.takeSnapshot();
  });
  after(async () => {
    await chainBefore.restore();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  async function setUp(): Promise<Harness> {
    const h = await harness();
    dirs.push(h.dir);
    return h;
  }

  it("migrates everything in gas-capped batches, verifies three ways and finalizes", async () => {
    const h = await setUp();
    const result = await runMigration(h.ctx, { ...h.options, steps: ALL_STEPS });
    expect(result.verify?.verified).to.equal(true);
    expect(result.verify?.findings).to.deep.equal([]);
    for (const kind of ["nodes", "jobs", "deposits"] as const) {
      const row = result.verify!.commitments[kind];
      expect([row.v2OnChain, row.v2ReadBack]).to.deep.equal([row.v1, row.v1]);
      expect(row.v1).to.equal(h.p.state[kind].commitment);
    }
    expect(result.finalize?.contracts.map((c) => c.contract)).to.deep.equal(["registry", "marketplace", "escrow"]);
    for (const contract of [h.p.v2.registry, h.p.v2.marketplace, h.p.v2.escrow]) {
      expect(await contract.migrationFinalized()).to.equal(true);
    }
    // Several batches per step, none above the cap.
    for (const step of ["nodes", "jobs", "escrow"]) {
      const batches = sent(h.events, step);
      expect(batches.length, step).to.be.greaterThan(1);
      for (const batch of batches) {
        if (batch.type === "batch-confirmed") expect(BigInt(batch.gasUsed)).to.be.lessThanOrEqual(SMALL_CAP);
      }
    }
    expect(await ethers.provider.getBalance(await h.p.v2.registry.getAddress())).to.equal(h.p.state.nodes.totalStake);
    // The snapshot on disk is the backup: it verifies and holds V1 as it was.
    const snapshot = await readSnapshot(h.options.snapshotFile!);
    expect(snapshot.header.commitments.jobs).to.equal(h.p.state.jobs.commitment);

    // A second run finds everything done: nothing is sent again.
    const nonce = await h.nonce();
    const again = await runMigration(h.ctx, { ...h.options, steps: ["finalize", "status"] });
    expect(again.finalize?.contracts.every((c) => c.txHash === null)).to.equal(true);
    expect(again.status?.v2.nodes.finalized).to.equal(true);
    expect(await h.nonce()).to.equal(nonce);
  });

  it("resumes a run stopped between two finalizations, or after the last: finishes the others, sends nothing twice", async () => {
    const h = await setUp();
    let finalizedSoFar = 0;
    const stopping: StepContext = {
      ...h.ctx,
      reporter: (event) => {
        h.events.push(event);
        if (event.type === "progress" && event.step === "finalize" && ++finalizedSoFar === 1) throw new Error("killed");
      },
    };
    await expectRejection(runMigration(stopping, { ...h.options, steps: ALL_STEPS }), Error, "killed");
    expect(await h.p.v2.registry.migrationFinalized()).to.equal(true);
    expect(await h.p.v2.escrow.migrationFinalized()).to.equal(false);

    // The same command again: the registry is done, the marketplace and the escrow are finalized now.
    const result = await runMigration(h.ctx, { ...h.options, steps: ALL_STEPS });
    expect(result.verify?.verified).to.equal(true);
    expect(result.finalize?.contracts.map((c) => [c.contract, c.txHash === null])).to.deep.equal([
      ["registry", true],
      ["marketplace", false],
      ["escrow", false],
    ]);
    expect(
      sent(h.events, "nodes")
        .filter((e) => e.type === "batch-confirmed")
        .reduce((n, e) => n + e.size, 0),
    ).to.equal(h.p.state.nodes.count);

    // And once more after the last one: everything is done, nothing is sent.
    const nonce = await h.nonce();
    const again = await runMigration(h.ctx, { ...h.options, steps: ALL_STEPS });
    expect(again.finalize?.contracts.every((c) => c.txHash === null)).to.equal(true);
    expect(await h.nonce()).to.equal(nonce);

    // A run that does not finalize still refuses finalized contracts.
    await expectRejection(
      runMigration(h.ctx, { ...h.options, steps: ["nodes"] }),
      MigrationStepError,
      "NodeRegistryV2 is already finalized",
    );
  });

  it("--dry-run plans every copy step with gas, ETH and time, and sends nothing (nonce unchanged)", async () => {
    const h = await setUp();
    const nonce = await h.nonce();
    const result = await runMigration(h.ctx, {
      ...h.options,
      steps: ["check", "snapshot", "nodes", "jobs", "escrow", "verify", "finalize"],
      dryRun: true,
    });
    expect(await h.nonce()).to.equal(nonce);
    expect(result.copies.map((copy) => copy.step)).to.deep.equal(["nodes", "jobs", "escrow"]);
    for (const copy of result.copies) {
      expect(copy.plan!.batches, copy.step).to.be.greaterThan(1);
      expect(BigInt(copy.plan!.costWei)).to.be.greaterThan(0n);
      expect(copy.plan!.seconds).to.be.greaterThan(0);
      expect(BigInt(copy.plan!.firstBatch!.gasEstimate)).to.be.lessThanOrEqual(SMALL_CAP);
    }
    expect(result.estimatedCostWei).to.be.greaterThan(0n);
    expect(sent(h.events)).to.deep.equal([]);
    expect(await h.p.v2.registry.migratedCount()).to.equal(0n);
    expect(await h.p.v2.registry.migrationFinalized()).to.equal(false);
  });

  it("resumes after an interruption between batches: same commitments, no batch twice", async () => {
    const h = await setUp();
    await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] });
    let confirmed = 0;
    const interrupting: StepContext = {
      ...h.ctx,
      reporter: (event) => {
        h.events.push(event);
        if (event.type === "batch-confirmed" && ++confirmed === 2) throw new Error("killed");
      },
    };
    await expectRejection(runMigration(interrupting, { ...h.options, steps: ["nodes"] }), Error, "killed");
    expect(await h.p.v2.registry.migrationBatchCount()).to.equal(2n);

    const result = await runMigration(h.ctx, { ...h.options, steps: ["nodes", "jobs", "escrow", "verify"] });
    expect(result.verify?.verified).to.equal(true);
    expect(await h.p.v2.registry.migrationCommitment()).to.equal(h.p.state.nodes.commitment);
    // Every node went across exactly once: the batches' sizes add up to the count.
    const nodeBatches = sent(h.events, "nodes");
    const moved = nodeBatches.reduce((sum, event) => sum + (event.type === "batch-confirmed" ? event.size : 0), 0);
    expect(moved).to.equal(h.p.state.nodes.count);
    expect(await h.p.v2.registry.migrationBatchCount()).to.equal(BigInt(nodeBatches.length));
  });

  it("resumes a batch sent but not confirmed (automine off, receipt never seen): no duplicate", async () => {
    const h = await setUp();
    await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] });
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      await expectRejection(
        runMigration(h.ctx, { ...h.options, steps: ["jobs"], receiptTimeoutMs: 200 }),
        SendError,
        /stays in the journal/,
      );
      // Signed, journaled and in the node's pool, but not mined: the process "crashed" here.
      const journal = await MigrationJournal.open({
        directory: h.options.journalDir!,
        chainId: 31337,
        contract: await h.p.v2.marketplace.getAddress(),
      });
      expect(journal.entries.length).to.equal(1);
      expect(await ethers.provider.getTransaction(journal.entries[0]!.txHash)).to.not.equal(null);
      expect(await h.p.v2.marketplace.migratedCount()).to.equal(0n);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }

    // The restart finds the entry, follows it to its receipt (the pending transaction is mined
    // with the next block) and continues after it.
    await ethers.provider.send("evm_mine", []);
    await runMigration(h.ctx, { ...h.options, steps: ["jobs"] });
    expect(await h.p.v2.marketplace.migrationCommitment()).to.equal(h.p.state.jobs.commitment);
    expect(await h.p.v2.marketplace.migratedCount()).to.equal(BigInt(h.p.state.jobs.count));
    // The journaled batch is on chain once, first; the run went on from its end.
    const after = sent(h.events, "jobs");
    expect(await h.p.v2.marketplace.migrationBatchCount()).to.equal(BigInt(after.length + 1));
    const second = after[0]!;
    expect((await h.p.v2.marketplace.migrationBatch(1)).start).to.equal(
      BigInt(second.type === "batch-confirmed" ? second.start : -1),
    );
    expect(second.type === "batch-confirmed" && second.start).to.be.greaterThan(0);
    const journal = await MigrationJournal.open({
      directory: h.options.journalDir!,
      chainId: 31337,
      contract: await h.p.v2.marketplace.getAddress(),
    });
    expect(journal.entries).to.deep.equal([]);
  });

  it("re-plans a batch whose nonce another transaction of the operator took: finishes, nothing twice", async () => {
    const h = await setUp();
    await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] });
    const { provider, taken } = nonceTaker(h.ctx, 1);
    await runMigration({ ...h.ctx, provider }, { ...h.options, steps: ["jobs"] });

    expect(taken).to.have.length(1);
    const warnings = h.events.flatMap((event) => (event.type === "warning" ? [event.message] : []));
    expect(await ethers.provider.getTransaction(taken[0]!)).to.equal(null);
    expect(warnings.filter((message) => message.includes("was taken by another transaction"))).to.have.length(1);
    expect(
      warnings.some((message) => message.includes(taken[0]!) && message.includes("re-planning the batch at cursor 0")),
    ).to.equal(true);
    // The taken batch never reached the chain; the same records went once, in a fresh batch.
    const sentEvents = h.events.filter((event) => event.type === "batch-sent");
    const confirmed = sent(h.events, "jobs");
    expect(sentEvents).to.have.length(confirmed.length + 1);
    expect(sentEvents[0]!.type === "batch-sent" && sentEvents[0]!.txHash).to.equal(taken[0]);
    expect(confirmed[0]!.type === "batch-confirmed" && confirmed[0]!.start).to.equal(0);
    expect(await h.p.v2.marketplace.migrationBatchCount()).to.equal(BigInt(confirmed.length));
    expect(await h.p.v2.marketplace.migratedCount()).to.equal(BigInt(h.p.state.jobs.count));
    expect(await h.p.v2.marketplace.migrationCommitment()).to.equal(h.p.state.jobs.commitment);
    const journal = await MigrationJournal.open({
      directory: h.options.journalDir!,
      chainId: 31337,
      contract: await h.p.v2.marketplace.getAddress(),
    });
    expect(journal.entries).to.deep.equal([]);
  });

  it(`stops after ${MAX_NONCE_REPLANS} re-plans when another sender keeps taking the operator's nonces`, async () => {
    const h = await setUp();
    await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] });
    const { provider, taken } = nonceTaker(h.ctx, Number.MAX_SAFE_INTEGER);
    await expectRejection(
      runMigration({ ...h.ctx, provider }, { ...h.options, steps: ["jobs"] }),
      NonceTakenError,
      "was used by another transaction",
    );
    expect(taken).to.have.length(MAX_NONCE_REPLANS + 1);
    const replans = h.events.filter(
      (event) => event.type === "warning" && event.message.includes("was taken by another transaction"),
    );
    expect(replans).to.have.length(MAX_NONCE_REPLANS);
    expect(await h.p.v2.marketplace.migratedCount()).to.equal(0n);
  });

  it("resumes a batch journaled but never broadcast (crash before sending): it is sent once", async () => {
    const h = await setUp();
    await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] });
    const registry = await h.p.v1_1.registry.getAddress();
    const journal = await MigrationJournal.open({
      directory: h.options.journalDir!,
      chainId: 31337,
      contract: registry,
    });
    const entry = await signBatch(
      { provider: ethers.provider, signer: h.ctx.signer, journal, decoder: MIGRATION_INTERFACES },
      {
        step: "nodes",
        data: h.p.v1_1.registry.interface.encodeFunctionData("migrateNodes", [0, h.p.state.nodes.records.slice(0, 5)]),
        cursor: 0,
        size: 5,
        gasLimit: 10_000_000n,
      },
    );
    await journal.record(entry);

    await runMigration(h.ctx, { ...h.options, steps: ["nodes"] });
    const receipt = await ethers.provider.getTransactionReceipt(entry.txHash);
    expect(receipt?.status).to.equal(1);
    expect((await h.p.v2.registry.migrationBatch(0)).start).to.equal(0n);
    expect(await h.p.v2.registry.migratedCount()).to.equal(BigInt(h.p.state.nodes.count));
    expect(await h.p.v2.registry.migrationCommitment()).to.equal(h.p.state.nodes.commitment);
  });

  it("rolls every batch back: V1 equals its snapshot again, every balance restored, then V1 may reopen", async () => {
    const h = await setUp();
    const before = await balances(h.p);
    await runMigration(h.ctx, { ...h.options, steps: ["check", "snapshot", "nodes", "jobs", "escrow", "verify"] });
    expect(await balances(h.p)).to.not.deep.equal(before);

    const result = await runMigration(h.ctx, { ...h.options, steps: ["rollback"] });
    expect(result.rollback?.restored).to.equal(true);
    expect(result.rollback?.differences).to.deep.equal([]);
    expect(result.rollback!.batches.nodes).to.be.greaterThan(1);
    expect(await balances(h.p)).to.deep.equal(before);
    expect(await readV1State(h.p.v1, { blockTag: "latest" })).to.deep.include({
      nodes: h.p.state.nodes,
      jobs: h.p.state.jobs,
      deposits: h.p.state.deposits,
    });
    for (const contract of [h.p.v2.registry, h.p.v2.marketplace, h.p.v2.escrow]) {
      expect(await contract.migratedCount()).to.equal(0n);
    }
    expect(await h.p.v1.registry.paused()).to.equal(true);

    await runMigration(h.ctx, { ...h.options, steps: ["rollback"], unpause: true });
    expect(await h.p.v1.registry.paused()).to.equal(false);
    expect(await h.p.v1.marketplace.paused()).to.equal(false);
  });

  describe("handover", () => {
    /** The three V2 proxies and their governing roles. */
    async function governingRoles(h: Harness) {
      const out: { name: string; contract: (typeof h.p.v2)["registry" | "escrow" | "marketplace"]; roles: string[] }[] =
        [];
      for (const name of ["registry", "escrow", "marketplace"] as const) {
        const contract = h.p.v2[name];
        const roles = [
          await contract.DEFAULT_ADMIN_ROLE(),
          await contract.UPGRADER_ROLE(),
          await contract.PAUSER_ROLE(),
        ];
        out.push({ name, contract, roles });
      }
      return out;
    }

    it("after finalize, hands every governing role of the three V2 proxies to governance; the operator keeps none; a second run sends nothing", async () => {
      const h = await setUp();
      const governance = (await ethers.getSigners())[5]!.address;
      await runMigration(h.ctx, { ...h.options, steps: ALL_STEPS });
      const held = await governingRoles(h);
      for (const { name, contract, roles } of held) {
        for (const role of roles) {
          expect(await contract.hasRole(role, h.operator), `${name} operator before`).to.equal(true);
          expect(await contract.hasRole(role, governance), `${name} governance before`).to.equal(false);
        }
      }

      await runMigration(h.ctx, { ...h.options, steps: ["handover"], governance });
      for (const { name, contract, roles } of held) {
        for (const role of roles) {
          expect(await contract.hasRole(role, governance), `${name} governance`).to.equal(true);
          expect(await contract.hasRole(role, h.operator), `${name} operator`).to.equal(false);
        }
      }
      const finished = h.events.find((event) => event.type === "step-finished" && event.step === "handover");
      expect(finished, "step-finished event").to.not.equal(undefined);

      // Governance really governs: it can pause, which the operator no longer can.
      await (await h.p.v2.registry.connect(await ethers.getSigner(governance)).pause()).wait();
      expect(await h.p.v2.registry.paused()).to.equal(true);
      await expect(h.p.v2.registry.connect(h.p.operator).unpause())
        .to.be.revertedWithCustomError(h.p.v2.registry, "AccessControlUnauthorizedAccount")
        .withArgs(h.operator, held[0]!.roles[2]);

      // A second run finds everything handed over: no transaction.
      const nonce = await h.nonce();
      await runMigration(h.ctx, { ...h.options, steps: ["handover"], governance });
      expect(await h.nonce()).to.equal(nonce);
      for (const { contract, roles } of held) {
        for (const role of roles) expect(await contract.hasRole(role, governance)).to.equal(true);
      }
    });

    it("refuses a zero, malformed or operator governance address before any transaction", async () => {
      const h = await setUp();
      const nonce = await h.nonce();
      const cases: [string, string][] = [
        [ZeroAddress, `--governance must be a nonzero address, got "${ZeroAddress}".`],
        ["0x1234", '--governance must be a nonzero address, got "0x1234".'],
        [h.operator, "the governance address is the operator itself: nothing to hand over."],
      ];
      for (const [governance, message] of cases) {
        await expectRejection(
          runMigration(h.ctx, { ...h.options, steps: ["handover"], governance }),
          MigrationStepError,
          message,
        );
      }
      expect(await h.nonce()).to.equal(nonce);
      for (const { contract, roles } of await governingRoles(h)) {
        for (const role of roles) expect(await contract.hasRole(role, h.operator)).to.equal(true);
      }
    });

    it("refuses a bad governance address before the steps that come first send anything", async () => {
      const h = await setUp();
      // Everything copied and verified: finalize would send its transactions if it ran.
      await runMigration(h.ctx, { ...h.options, steps: ALL_STEPS.filter((step) => step !== "finalize") });
      const nonce = await h.nonce();
      await expectRejection(
        runMigration(h.ctx, { ...h.options, steps: ["finalize", "handover"], governance: ZeroAddress }),
        MigrationStepError,
        `--governance must be a nonzero address, got "${ZeroAddress}".`,
      );
      expect(await h.nonce()).to.equal(nonce);
      expect(await h.p.v2.registry.migrationFinalized()).to.equal(false);
    });

    it("refuses, before any grant, when the operator can no longer grant on one of the proxies", async () => {
      const h = await setUp();
      const governance = (await ethers.getSigners())[5]!.address;
      const held = await governingRoles(h);
      // The operator gave up its admin role on the last proxy the step visits.
      await (await h.p.v2.marketplace.connect(h.p.operator).renounceRole(held[2]!.roles[0]!, h.operator)).wait();
      const nonce = await h.nonce();
      await expectRejection(
        runMigration(h.ctx, { ...h.options, steps: ["handover"], governance }),
        MigrationStepError,
        `The operator ${h.operator} lacks DEFAULT_ADMIN_ROLE on ${await h.p.v2.marketplace.getAddress()}`,
      );
      expect(await h.nonce()).to.equal(nonce);
      // Nothing was handed over on the proxies before it either.
      for (const { contract, roles } of held.slice(0, 2)) {
        for (const role of roles) {
          expect(await contract.hasRole(role, h.operator)).to.equal(true);
          expect(await contract.hasRole(role, governance)).to.equal(false);
        }
      }
    });
  });

  describe("bad input: a clear error and no transaction", () => {
    it("refuses a node on another chain than expected", async () => {
      const h = await setUp();
      await expectRejection(
        resolveContracts(ethers.provider, h.ctx.signer, { expectedChainId: 8453, overrides: h.contracts.addresses }),
        MigrationInputError,
        "The node is on chain 31337, but chain 8453 was expected",
      );
    });

    it("refuses addresses that are not the expected contracts (code and version checked)", async () => {
      const h = await setUp();
      const { addresses } = h.contracts;
      await expectRejection(
        resolveContracts(ethers.provider, h.ctx.signer, { overrides: { ...addresses, NodeRegistryV2: h.operator } }),
        MigrationInputError,
        `NodeRegistryV2 at ${h.operator} has no code on chain 31337`,
      );
      await expectRejection(
        resolveContracts(ethers.provider, h.ctx.signer, {
          overrides: { ...addresses, NodeRegistryV2: addresses.NodeRegistryV1 },
        }),
        MigrationInputError,
        "reports version 1.1.0, expected 2.0.0",
      );
      const usdc = await h.p.v1.usdc.getAddress();
      await expectRejection(
        resolveContracts(ethers.provider, h.ctx.signer, { overrides: { ...addresses, JobMarketplaceV1: usdc } }),
        MigrationInputError,
        "does not answer version()",
      );
      await expectRejection(
        resolveContracts(ethers.provider, h.ctx.signer, { overrides: { ...addresses, PaymentEscrowV1: "0x1234" } }),
        MigrationInputError,
        'PaymentEscrowV1: "0x1234" is not an address.',
      );
      // V1.1 pointed at other V2 contracts than those given.
      await expectRejection(
        resolveContracts(ethers.provider, h.ctx.signer, {
          overrides: { ...addresses, NodeRegistryV2: addresses.PaymentEscrowV2 },
        }),
        MigrationInputError,
        "migrates to",
      );
    });

    it("refuses a missing role, naming it, before any batch", async () => {
      const h = await setUp();
      await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] }); // the nodes step carries its records
      const role = await h.p.v1_1.registry.MIGRATOR_ROLE();
      await (await h.p.v1_1.registry.revokeRole(role, h.operator)).wait();
      const nonce = await h.nonce();
      await expectRejection(
        runMigration(h.ctx, { ...h.options, steps: ["nodes"] }),
        MigrationStepError,
        `The operator ${h.operator} lacks MIGRATOR_ROLE on V1.1's NodeRegistry: grant it.`,
      );
      expect(await h.nonce()).to.equal(nonce);
    });

    it("asks the operator for V2's registry and escrow MIGRATOR_ROLE only when it finalizes (else governance does)", async () => {
      const h = await setUp();
      const role = await h.p.v2.registry.MIGRATOR_ROLE();
      for (const contract of [h.p.v2.registry, h.p.v2.escrow]) {
        await (await contract.revokeRole(role, h.operator)).wait();
      }
      const nonce = await h.nonce();
      await expectRejection(
        runMigration(h.ctx, { ...h.options, steps: ["snapshot", "nodes", "finalize"] }),
        MigrationStepError,
        `The operator ${h.operator} lacks MIGRATOR_ROLE on NodeRegistryV2, which finalizing needs: grant it, or leave the finalize step to governance`,
      );
      expect(await h.nonce()).to.equal(nonce);
      // Without the finalize step the copy goes ahead: the nodes arrive through V1.1's proxy.
      const result = await runMigration(h.ctx, { ...h.options, steps: ["snapshot", "nodes"] });
      expect(result.check?.problems).to.deep.equal([]);
      expect(await h.p.v2.registry.migratedCount()).to.equal(BigInt(h.p.state.nodes.count));
    });

    it("refuses to copy nodes from a snapshot that no longer lists V1's nodes, before any batch", async () => {
      const h = await setUp();
      await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] });
      // V1 reopened and a node registered after the snapshot: its records are not V1's any more.
      const registry = h.p.v1_1.registry;
      await (await registry.unpause()).wait();
      const host = HDNodeWallet.createRandom().connect(ethers.provider);
      await networkHelpers.setBalance(host.address, 10n ** 20n);
      await (
        await registry.connect(host).registerNode("12D3KooWlate", [], "eu", { value: await registry.minimumStake() })
      ).wait();
      await (await registry.pause()).wait();
      const nonce = await h.nonce();
      const count = h.p.state.nodes.count;
      await expectRejection(
        runMigration(h.ctx, { ...h.options, steps: ["nodes"] }),
        MigrationStepError,
        `V1 lists ${count + 1} nodes but the snapshot holds ${count}`,
      );
      expect(await h.nonce()).to.equal(nonce);
    });

    it("refuses to copy while V1 is not paused or still holds open jobs' funds", async () => {
      const h = await setUp();
      await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] }); // the nodes step carries its records
      await (await h.p.v1.marketplace.unpause()).wait();
      const nonce = await h.nonce();
      await expectRejection(
        runMigration(h.ctx, { ...h.options, steps: ["nodes"] }),
        MigrationStepError,
        "JobMarketplaceV1 is not paused: governance must pause V1 first (freeze).",
      );
      expect(await h.nonce()).to.equal(nonce);
    });

    it("refuses out-of-range options before reading anything", async () => {
      const h = await setUp();
      const nonce = await h.nonce();
      const cases: [RunOptions, string][] = [
        [{ batchSize: -1 }, "--batch-size must be a whole number"],
        [{ batchSize: 1.5 }, "--batch-size must be a whole number"],
        [{ confirmations: 0 }, "--confirmations must be from 1 to 1000"],
        [{ maxGasPerTx: 1_000n }, "--max-gas-per-tx must be between 21001 and 16777216"],
        [{ maxGasPerTx: 1n << 25n }, "--max-gas-per-tx must be between 21001 and 16777216"],
        [{ snapshotFile: undefined as unknown as string }, "need a snapshot file"],
        [{ steps: ["handover"] }, "needs --governance"],
      ];
      for (const [options, message] of cases) {
        await expectRejection(
          runMigration(h.ctx, { ...h.options, steps: ["nodes", "jobs"], ...options }),
          MigrationInputError,
          message,
        );
      }
      expect(await h.nonce()).to.equal(nonce);
    });

    it("refuses a snapshot of other contracts before sending", async () => {
      const h = await setUp();
      await runMigration(h.ctx, { ...h.options, steps: ["snapshot"] });
      const other = {
        ...h.contracts,
        addresses: { ...h.contracts.addresses, NodeRegistryV1: ZeroAddress.replace(/0$/, "1") },
      };
      const nonce = await h.nonce();
      await expectRejection(
        runMigration({ ...h.ctx, contracts: other }, { ...h.options, steps: ["jobs"] }),
        Error,
        /registry/,
      );
      expect(await h.nonce()).to.equal(nonce);
    });
  });
});

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet } from "ethers";
import { readJournalDirectory } from "../../lib/dashboard/watch.js";
import { resolveContracts } from "../../lib/migration/contracts.js";
import { ALL_STEPS, runMigration, type RunOptions } from "../../lib/migration/engine.js";
import type { CopyStep, MigrationEvent } from "../../lib/migration/events.js";
import { MigrationJournal } from "../../lib/migration/journal.js";
import type { StepContext } from "../../lib/migration/steps/context.js";
import { prepareMigration, type PreparedMigration } from "../helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { expectRejection } from "../helpers/rejections.js";

/**
 * The engine's one hook for the dashboard: `RunOptions.beforeBatch`, awaited before each batch is
 * planned. While it is pending nothing is sent (pause); when it rejects, the run stops with nothing
 * in flight and a later run continues from the chain's cursor (stop before a rollback).
 */

const MNEMONIC = "test test test test test test test test test test test junk";
const SEED = { nodes: 4, jobs: 24, users: 6, seed: "dashboard-control" };

function prepared(): Promise<PreparedMigration> {
  return prepareMigration({ ethers, upgrades: upgradesApi }, SEED);
}

describe("Engine control hook (RunOptions.beforeBatch)", function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  let chainBefore: Awaited<ReturnType<typeof networkHelpers.takeSnapshot>>;
  before(async () => {
    chainBefore = await networkHelpers.takeSnapshot();
  });
  after(async () => {
    await chainBefore.restore();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function setUp() {
    const p = await networkHelpers.loadFixture(prepared);
    const signer = HDNodeWallet.fromPhrase(MNEMONIC).connect(ethers.provider);
    const contracts = await resolveContracts(ethers.provider, signer, {
      overrides: {
        NodeRegistryV1: await p.v1.registry.getAddress(),
        PaymentEscrowV1: await p.v1.escrow.getAddress(),
        JobMarketplaceV1: await p.v1.marketplace.getAddress(),
        NodeRegistryV2: await p.v2.registry.getAddress(),
        PaymentEscrowV2: await p.v2.escrow.getAddress(),
        JobMarketplaceV2: await p.v2.marketplace.getAddress(),
      },
      requireOpened: true,
    });
    const events: MigrationEvent[] = [];
    const dir = await mkdtemp(path.join(tmpdir(), "engine-control-"));
    dirs.push(dir);
    const ctx: StepContext = {
      provider: ethers.provider,
      signer,
      contracts,
      reporter: (event) => events.push(event),
      devChain: true,
    };
    const options: RunOptions = {
      snapshotFile: path.join(dir, "v1.ndjson"),
      journalDir: path.join(dir, "journal"),
      batchSize: 5,
      pollIntervalMs: 10,
    };
    return { p, ctx, contracts, events, options };
  }

  it("is awaited before every batch: while it is pending nothing is sent, then the run completes", async () => {
    const { p, ctx, events, options } = await setUp();
    const calls: [CopyStep, number][] = [];
    let release: () => void = () => {};
    let held: Promise<void> | undefined;
    const run = runMigration(ctx, {
      ...options,
      steps: ALL_STEPS,
      beforeBatch: (step, cursor) => {
        calls.push([step, cursor]);
        // Hold the jobs step at its second batch.
        if (step === "jobs" && cursor === 5) {
          held = new Promise<void>((resolve) => (release = resolve));
          return held;
        }
        return Promise.resolve();
      },
    });
    while (held === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    const sentBefore = events.filter((event) => event.type === "batch-sent").length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Paused: the batch before was confirmed, no other was sent, the chain's cursor did not move.
    expect(events.filter((event) => event.type === "batch-sent").length).to.equal(sentBefore);
    expect(await p.v2.marketplace.migratedCount()).to.equal(5n);
    const last = events.at(-1)!;
    expect([last.type, last.step]).to.deep.equal(["progress", "jobs"]);
    release();
    const result = await run;
    expect(result.verify?.verified).to.equal(true);
    // One call per batch, at the batch's start.
    const batches = events.flatMap((event) =>
      event.type === "batch-confirmed" ? [[event.step, event.start] as [CopyStep, number]] : [],
    );
    expect(calls).to.deep.equal(batches);
    expect(calls.filter(([step]) => step === "jobs").map(([, cursor]) => cursor)).to.deep.equal([0, 5, 10, 15, 20]);
  });

  it("a rejection stops the run with nothing in flight; the next run continues from the chain's cursor", async () => {
    const { p, ctx, contracts, events, options } = await setUp();
    const stop = new Error("stopped by the operator");
    await expectRejection(
      runMigration(ctx, {
        ...options,
        steps: ALL_STEPS,
        beforeBatch: (step, cursor) => (step === "jobs" && cursor === 10 ? Promise.reject(stop) : Promise.resolve()),
      }),
      Error,
      "stopped by the operator",
    );
    expect(await p.v2.marketplace.migratedCount()).to.equal(10n);
    expect(await p.v2.escrow.migratedCount()).to.equal(0n);
    const journal = await MigrationJournal.open({
      directory: options.journalDir!,
      chainId: contracts.chainId,
      contract: contracts.addresses.JobMarketplaceV2,
    });
    expect(journal.entries).to.deep.equal([]);
    // What the dashboard reads from disk (attach mode, checkpoint): the engine's journal files, none pending.
    const read = await readJournalDirectory(options.journalDir!);
    expect(read.problems).to.deep.equal([]);
    expect(read.files.map((file) => [file.contract, file.pending.length])).to.deep.include.members([
      [contracts.addresses.NodeRegistryV1, 0],
      [contracts.addresses.JobMarketplaceV2, 0],
    ]);
    expect(events.filter((event) => event.type === "batch-sent").length).to.equal(
      events.filter((event) => event.type === "batch-confirmed").length,
    );

    events.length = 0;
    const result = await runMigration(ctx, { ...options, steps: ALL_STEPS });
    expect(result.verify?.verified).to.equal(true);
    const jobs = result.copies.find((copy) => copy.step === "jobs")!;
    expect([jobs.startCursor, jobs.cursor]).to.deep.equal([10, SEED.jobs]);
  });

  it("a dry run does not consult it", async () => {
    const { ctx, options } = await setUp();
    let calls = 0;
    await runMigration(ctx, {
      ...options,
      steps: ["check", "snapshot", "nodes", "jobs", "escrow"],
      dryRun: true,
      beforeBatch: () => {
        calls++;
        return Promise.resolve();
      },
    });
    expect(calls).to.equal(0);
  });
});

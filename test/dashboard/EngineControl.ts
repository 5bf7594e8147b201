import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet } from "ethers";
import { engineDriver } from "../../lib/dashboard/engineDriver.js";
import { startDashboardServer } from "../../lib/dashboard/server.js";
import { MigrationSession } from "../../lib/dashboard/session.js";
import { initialState } from "../../lib/dashboard/state.js";
import { readJournalDirectory } from "../../lib/dashboard/watch.js";
import { resolveContracts } from "../../lib/migration/contracts.js";
import { ALL_STEPS, runMigration, type RunOptions } from "../../lib/migration/engine.js";
import type { CopyStep, MigrationEvent } from "../../lib/migration/events.js";
import { MigrationJournal } from "../../lib/migration/journal.js";
import type { StepContext } from "../../lib/migration/steps/context.js";
import { loadSnapshot, v1Readers } from "../../lib/migration/steps/snapshot.js";
import { readV1State, type V1State } from "../../lib/v1State.js";
import { prepareMigration, type PreparedMigration } from "../helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { expectRejection } from "../helpers/rejections.js";
import { request, STATIC_DIR, until } from "./helpers.js";

/**
 * The engine's one hook for the dashboard: `RunOptions.beforeBatch`, awaited before each batch is
 * planned. While it is pending nothing is sent (pause); when it rejects, the run stops with nothing
 * in flight and a later run continues from the chain's cursor (stop before a rollback).
 */

const MNEMONIC = "test test test test test test test test test test test junk";
const SEED = { nodes: 4, jobs: 24, users: 6, seed: "dashboard-control" };
const TOKEN = "a-control-token-for-the-engine-tests";
const POST_HEADERS = { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` };

/** V1 as read, without what differs between two reads of the same state (the block, the call count). */
function comparable(state: V1State) {
  const { blockNumber: _block, blockHash: _hash, calls: _calls, ...rest } = state;
  return rest;
}

function prepared(): Promise<PreparedMigration> {
  return prepareMigration({ ethers, upgrades: upgradesApi }, SEED);
}

describe("Engine control hook (RunOptions.beforeBatch) and the dashboard's controls on the real engine", function () {
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

  it("the dashboard's rollback (HTTP, the task's driver): paused mid-jobs, every batch back to V1 as snapshotted; then resume runs again", async () => {
    const { p, ctx, contracts, options } = await setUp();
    const balance = (contract: { getAddress(): Promise<string> }) =>
      contract.getAddress().then((address) => ethers.provider.getBalance(address));
    const v1Funds = [await balance(p.v1.registry), await balance(p.v1.escrow)];
    const session = new MigrationSession({
      initial: initialState({ mode: "run", network: "hardhat", chainId: contracts.chainId }),
      driver: engineDriver((reporter) => ({ ...ctx, reporter }), options),
      journalDir: options.journalDir!,
    });
    const server = await startDashboardServer({ session, token: TOKEN, port: 0, staticDir: STATIC_DIR });
    const post = (action: string, body: unknown = {}) =>
      request(new URL(`/api/migration/${action}`, server.url).toString(), {
        method: "POST",
        headers: POST_HEADERS,
        body: JSON.stringify(body),
      });
    const status = async () =>
      (await request(new URL("/api/migration/status", server.url).toString())).json() as {
        phase: string;
        steps: { step: string; status: string; percent: number }[];
        verified: boolean | null;
        errors: number;
        warnings: number;
      };
    const counts = async () =>
      Promise.all([p.v2.registry, p.v2.marketplace, p.v2.escrow].map((contract) => contract.migratedCount()));
    try {
      // The operator presses pause as the first jobs batch is confirmed (the session's own call,
      // synchronously, so the test knows which batch: the HTTP path to it is test/dashboard/Server.ts).
      const unsubscribe = session.subscribe((_state, event) => {
        if (event.type === "batch-confirmed" && event.step === "jobs") {
          unsubscribe();
          session.pause();
        }
      });
      session.start();
      await until(() => session.state.phase === "paused", "the run to pause in the jobs step", 120_000);
      expect(await counts()).to.deep.equal([4n, 5n, 0n]);

      // Without the confirmation: 400, nothing sent, still paused.
      const unconfirmed = await post("rollback", {});
      expect(unconfirmed.status).to.equal(400);
      expect((unconfirmed.json() as { error: string }).error).to.include('{ "confirm": "rollback" }');
      expect((await post("rollback", { confirm: "yes" })).status).to.equal(400);
      expect((await status()).phase).to.equal("paused");
      expect(await counts()).to.deep.equal([4n, 5n, 0n]);

      const confirmed = await post("rollback", { confirm: "rollback" });
      expect([confirmed.status, confirmed.json()]).to.deep.equal([202, { phase: "rolling-back" }]);
      // While it rolls back, no other control starts anything.
      expect((await post("resume")).status).to.equal(409);
      await session.settled();
      const after = await status();
      expect(after.phase, JSON.stringify(session.state.errors)).to.equal("rolled-back");
      expect(after.steps.find((view) => view.step === "rollback")).to.deep.include({
        status: "finished",
        percent: 100,
      });
      expect([after.errors, after.warnings]).to.deep.equal([0, 0]); // the step compares V1 with its snapshot: no difference
      expect(session.state.timeline.map((entry) => entry.text)).to.include.members([
        "stopped: stopped by the operator before its next batch",
        "rolled-back: every batch is back in V1",
      ]);

      // On chain: V2 holds nothing and has no batch; V1 is what it was (records, stakes, free
      // balances, and the ETH behind them), as the snapshot file records it.
      expect(await counts()).to.deep.equal([0n, 0n, 0n]);
      for (const contract of [p.v2.registry, p.v2.marketplace, p.v2.escrow]) {
        expect(await contract.migrationBatchCount()).to.equal(0n);
      }
      const now = await readV1State(v1Readers(contracts), { blockTag: "latest" });
      expect(comparable(now)).to.deep.equal(comparable(p.state));
      const snapshot = await loadSnapshot(contracts, options.snapshotFile!);
      for (const kind of ["nodes", "jobs", "deposits"] as const) {
        expect([now[kind].commitment, now[kind].count], kind).to.deep.equal([
          snapshot.state[kind].commitment,
          snapshot.state[kind].count,
        ]);
      }
      expect([await balance(p.v1.registry), await balance(p.v1.escrow)]).to.deep.equal(v1Funds);
      expect(await balance(p.v2.registry)).to.equal(0n);

      // Rolled back is not a place to roll back from again.
      expect((await post("rollback", { confirm: "rollback" })).status).to.equal(409);
      // Resume runs the migration again from the chain's cursors (all 0 now); while it runs, rollback is 409.
      const resumed = await post("resume");
      expect([resumed.status, resumed.json()]).to.deep.equal([202, { phase: "running" }]);
      const running = await post("rollback", { confirm: "rollback" });
      expect(running.status).to.equal(409);
      expect(running.json()).to.deep.equal({
        error: "Roll back only while paused or stopped: the migration is running.",
      });
      await session.settled();
      const finished = await status();
      expect([finished.phase, finished.verified]).to.deep.equal(["finished", true]);
      expect(await counts()).to.deep.equal([4n, 24n, BigInt(p.state.deposits.count)]);
    } finally {
      await session.settled();
      await server.close();
    }
  });
});

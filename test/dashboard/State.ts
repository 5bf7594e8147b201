import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { transactionUrl } from "../../lib/dashboard/explorer.js";
import { foldEvent, foldEvents, initialState, TIMELINE_LIMIT, type DashboardEvent } from "../../lib/dashboard/state.js";
import { parseEventLine, tailEvents } from "../../lib/dashboard/watch.js";
import type { MigrationEvent, VerifyStepSummary } from "../../lib/migration/events.js";
import { until } from "./helpers.js";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
const start = () => initialState({ mode: "run", network: "base", chainId: 8453, explorer: "https://basescan.org" });

function verifySummary(agree: boolean): VerifyStepSummary {
  const row = (v: string) => ({ v1: v, v2OnChain: agree ? v : "0xdead", v2ReadBack: v });
  const count = { v1: 3, v2OnChain: 3, v2ReadBack: 3 };
  return {
    v1Block: 10,
    v2Block: 20,
    commitments: { nodes: row("0x01"), jobs: row("0x02"), deposits: row("0x03") },
    counts: { nodes: count, jobs: count, deposits: count },
    findings: agree ? [] : ["V2 differs"],
    verified: agree,
  };
}

describe("Dashboard state: folded from the engine's events (pure)", () => {
  it("a copy step's bar: done, percent, batches, gas, rate and ETA from the events' times", () => {
    const events: MigrationEvent[] = [
      { type: "step-started", at: 0, step: "jobs", total: 100, unit: "jobs" },
      // Resumed at 40: the rate counts only what this run moves.
      { type: "progress", at: 0, step: "jobs", done: 40, total: 100 },
      { type: "batch-sent", at: 500, step: "jobs", start: 40, size: 20, txHash: hash(1), nonce: 7 },
    ];
    const sending = foldEvents(start(), events);
    expect(sending.inFlight).to.deep.equal([
      {
        step: "jobs",
        txHash: hash(1),
        url: `https://basescan.org/tx/${hash(1)}`,
        start: 40,
        size: 20,
        nonce: 7,
        sentAt: 500,
        confirmedAt: null,
        blockNumber: null,
        gasUsed: null,
      },
    ]);
    const state = foldEvents(sending, [
      {
        type: "batch-confirmed",
        at: 2_000,
        step: "jobs",
        start: 40,
        size: 20,
        txHash: hash(1),
        blockNumber: 5,
        gasUsed: "1000000",
        l1FeeWei: "7",
      },
      { type: "progress", at: 2_000, step: "jobs", done: 60, total: 100 },
    ]);
    expect(state.inFlight).to.deep.equal([]);
    expect(state.recent[0]).to.deep.include({
      txHash: hash(1),
      nonce: 7,
      sentAt: 500,
      confirmedAt: 2_000,
      blockNumber: 5,
    });
    expect(state.steps).to.have.length(1);
    // 20 jobs in 2 s: 10/s; 40 left: 4 s.
    expect(state.steps[0]).to.deep.include({
      step: "jobs",
      status: "running",
      done: 60,
      total: 100,
      percent: 60,
      batches: 1,
      gasUsed: "1000000",
      l1FeeWei: "7",
      moved: 20,
      ratePerSecond: 10,
      etaMs: 4_000,
    });
    const done = foldEvent(state, { type: "step-finished", at: 3_000, step: "jobs", summary: {} });
    expect(done.steps[0]).to.deep.include({ status: "finished", percent: 100, etaMs: 0, finishedAt: 3_000 });
    // The input is never changed.
    expect(state.steps[0]!.status).to.equal("running");
    expect(sending.inFlight).to.have.length(1);
  });

  it("steps in the engine's order; percent rounds down (never 100 before the end)", () => {
    const state = foldEvents(start(), [
      { type: "step-started", at: 0, step: "escrow", total: 3, unit: "users" },
      { type: "step-started", at: 0, step: "nodes", total: 1000, unit: "nodes" },
      { type: "progress", at: 1, step: "nodes", done: 999, total: 1000 },
      { type: "progress", at: 1, step: "escrow", done: 1, total: 3 },
    ]);
    expect(state.steps.map((step) => [step.step, step.percent])).to.deep.equal([
      ["nodes", 99.9],
      ["escrow", 33.3],
    ]);
  });

  it("V1 commitments from the snapshot; the verify step's three-way result; a malformed one is never 'verified'", () => {
    const snapshotted = foldEvent(start(), {
      type: "step-finished",
      at: 1,
      step: "snapshot",
      summary: { commitments: { nodes: "0x01", jobs: "0x02", deposits: "0x03" } },
    });
    expect(snapshotted.commitments).to.deep.equal({ v1: { nodes: "0x01", jobs: "0x02", deposits: "0x03" }, v2: {} });
    const verified = foldEvent(snapshotted, {
      type: "step-finished",
      at: 2,
      step: "verify",
      summary: { ...verifySummary(true) },
    });
    expect(verified.verification?.verified).to.equal(true);
    expect(verified.commitments.v2).to.deep.equal({ nodes: "0x01", jobs: "0x02", deposits: "0x03" });
    expect(verified.timeline.at(-1)?.text).to.equal("verify finished: verified");

    const differing = foldEvent(snapshotted, {
      type: "step-finished",
      at: 2,
      step: "verify",
      summary: { ...verifySummary(false) },
    });
    expect(differing.verification?.verified).to.equal(false);
    expect(differing.verification?.commitments.nodes.agree).to.equal(false);
    // A summary claiming verified while a row disagrees is not verified.
    const lying = foldEvent(snapshotted, {
      type: "step-finished",
      at: 2,
      step: "verify",
      summary: { ...verifySummary(false), findings: [], verified: true },
    });
    expect(lying.verification?.verified).to.equal(false);
    const malformed = foldEvent(snapshotted, {
      type: "step-finished",
      at: 2,
      step: "verify",
      summary: { verified: true },
    });
    expect(malformed.verification).to.equal(null);
  });

  it("errors fail their step and drop its in-flight batches; warnings are listed; phases are in the timeline", () => {
    const events: DashboardEvent[] = [
      { type: "phase", at: 0, phase: "running", message: "migrating" },
      { type: "step-started", at: 0, step: "nodes", total: 10, unit: "nodes" },
      { type: "batch-sent", at: 1, step: "nodes", start: 0, size: 5, txHash: hash(2), nonce: 1 },
      { type: "warning", at: 2, step: "nodes", message: "base fee high" },
      { type: "error", at: 3, step: "nodes", message: "BatchReverted" },
    ];
    const state = foldEvents(start(), events);
    expect(state.phase).to.equal("running");
    expect(state.steps[0]!.status).to.equal("failed");
    expect(state.inFlight).to.deep.equal([]);
    expect(state.warnings).to.deep.equal([{ at: 2, step: "nodes", message: "base fee high" }]);
    expect(state.errors).to.deep.equal([{ at: 3, step: "nodes", message: "BatchReverted" }]);
    expect(state.timeline.map((entry) => entry.kind)).to.deep.equal(["phase", "step", "batch", "warning", "error"]);
    expect(state.seq).to.equal(5);
  });

  it("a stopped run's step says stopped; after a rollback the copies and their verification say rolled-back, at 0", () => {
    const moved = foldEvents(start(), [
      { type: "step-started", at: 0, step: "snapshot", total: 1, unit: "snapshot" },
      { type: "step-finished", at: 1, step: "snapshot", summary: {} },
      { type: "step-started", at: 2, step: "nodes", total: 4, unit: "nodes" },
      { type: "progress", at: 3, step: "nodes", done: 4, total: 4 },
      { type: "step-finished", at: 4, step: "nodes", summary: {} },
      { type: "step-started", at: 5, step: "jobs", total: 10, unit: "jobs" },
      { type: "progress", at: 6, step: "jobs", done: 3, total: 10 },
    ]);
    const stopped = foldEvent(moved, { type: "phase", at: 7, phase: "stopped", message: "stopped by the operator" });
    const status = (state: typeof moved) => Object.fromEntries(state.steps.map((view) => [view.step, view.status]));
    expect(status(stopped)).to.deep.include({ snapshot: "finished", nodes: "finished", jobs: "stopped" });
    expect(stopped.steps.find((view) => view.step === "jobs")).to.include({ done: 3, etaMs: null });

    const rolledBack = foldEvents(stopped, [
      { type: "phase", at: 8, phase: "rolling-back", message: "taking every batch back to V1" },
      { type: "step-started", at: 8, step: "rollback", total: 2, unit: "batches" },
      { type: "step-finished", at: 9, step: "rollback", summary: {} },
      { type: "phase", at: 9, phase: "rolled-back", message: "every batch is back in V1" },
    ]);
    expect(status(rolledBack)).to.deep.include({
      snapshot: "finished",
      nodes: "rolled-back",
      jobs: "rolled-back",
      rollback: "finished",
    });
    for (const step of ["nodes", "jobs"]) {
      expect(rolledBack.steps.find((view) => view.step === step)).to.include({ done: 0, percent: 0 });
    }
    // Started again, the steps count from the chain's cursors again.
    const again = foldEvent(rolledBack, { type: "step-started", at: 10, step: "nodes", total: 4, unit: "nodes" });
    expect(again.steps.find((view) => view.step === "nodes")).to.include({ status: "running", done: 0 });
  });

  it("the timeline keeps the last entries only and leaves progress to the bars", () => {
    let state = foldEvent(start(), { type: "step-started", at: 0, step: "jobs", total: 10_000, unit: "jobs" });
    for (let i = 0; i < TIMELINE_LIMIT + 50; i++) {
      state = foldEvent(state, { type: "warning", at: i, step: "jobs", message: `w${i}` });
      state = foldEvent(state, { type: "progress", at: i, step: "jobs", done: i, total: 10_000 });
    }
    expect(state.timeline).to.have.length(TIMELINE_LIMIT);
    expect(state.timeline.at(-1)!.text).to.equal(`jobs: w${TIMELINE_LIMIT + 49}`);
    expect(state.timeline.every((entry) => entry.kind === "warning")).to.equal(true);
  });

  it("explorer links only for chains with an explorer and well-formed hashes", () => {
    expect(transactionUrl(null, hash(1))).to.equal(null);
    expect(transactionUrl("https://basescan.org", "0x12")).to.equal(null);
    expect(transactionUrl("https://basescan.org", "javascript:alert(1)")).to.equal(null);
    const local = foldEvent(initialState({ mode: "run", network: "hardhat", chainId: 31337 }), {
      type: "batch-sent",
      at: 0,
      step: "nodes",
      start: 0,
      size: 1,
      txHash: hash(1),
      nonce: 0,
    });
    expect(local.inFlight[0]!.url).to.equal(null);
  });

  it("attach: --json lines are read as events as they are appended; the summary line ends the run", async () => {
    expect(parseEventLine('{"type":"summary","steps":[]}')).to.equal(undefined);
    expect(parseEventLine("not json")).to.equal(undefined);
    expect(parseEventLine('{"at":1,"step":"nodes","type":"progress","done":1,"total":2}')).to.deep.equal({
      at: 1,
      step: "nodes",
      type: "progress",
      done: 1,
      total: 2,
    });
    const dir = await mkdtemp(path.join(tmpdir(), "tail-"));
    try {
      const file = path.join(dir, "run.jsonl");
      const seen: MigrationEvent[] = [];
      let ended = false;
      const watcher = tailEvents(
        file,
        (event) => seen.push(event),
        () => (ended = true),
        20,
      );
      await writeFile(
        file,
        '{"at":1,"step":"nodes","total":2,"type":"step-started","unit":"nodes"}\n{"at":2,"step":"no',
      );
      await until(() => seen.length === 1, "the first line");
      // The half-written line is read once it is complete.
      await writeFile(
        file,
        '{"at":1,"step":"nodes","total":2,"type":"step-started","unit":"nodes"}\n{"at":2,"step":"nodes","type":"progress","done":2,"total":2}\n{"type":"summary"}\n',
      );
      await until(() => ended, "the summary line");
      watcher.stop();
      expect(seen.map((event) => event.type)).to.deep.equal(["step-started", "progress"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a single call (finalize) is a current transaction with its explorer link until confirmed, and moves no figure", () => {
    const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    const call = "finalizing the V2 registry";
    const sending = foldEvents(start(), [
      { type: "step-started", at: 0, step: "finalize", total: 3, unit: "contracts" },
      { type: "call-sent", at: 100, step: "finalize", call, contract: registry, txHash: hash(9), nonce: 4 },
    ]);
    const listed = {
      step: "finalize",
      call,
      txHash: hash(9),
      url: `https://basescan.org/tx/${hash(9)}`,
      start: 0,
      size: 0,
      nonce: 4,
      sentAt: 100,
    };
    expect(sending.inFlight).to.deep.equal([{ ...listed, confirmedAt: null, blockNumber: null, gasUsed: null }]);
    const state = foldEvent(sending, {
      type: "call-confirmed",
      at: 900,
      step: "finalize",
      call,
      contract: registry,
      txHash: hash(9),
      blockNumber: 77,
      gasUsed: "60000",
      l1FeeWei: "3",
    });
    expect(state.inFlight).to.deep.equal([]);
    expect(state.recent).to.deep.equal([{ ...listed, confirmedAt: 900, blockNumber: 77, gasUsed: "60000" }]);
    // Not a batch: the step's batches, gas and done stay where the step's own events put them.
    expect(state.steps[0]).to.deep.include({ step: "finalize", status: "running", done: 0, batches: 0, gasUsed: "0" });
    expect(state.timeline.slice(1)).to.deep.equal([
      { seq: 2, at: 100, kind: "call", step: "finalize", text: `finalize: ${call} sent (nonce 4) ${hash(9)}` },
      {
        seq: 3,
        at: 900,
        kind: "call",
        step: "finalize",
        text: `finalize: ${call} confirmed in block 77, 60000 gas ${hash(9)}`,
      },
    ]);
    // A call confirmed after a restart (never seen sent) is listed with what the event has.
    const resumed = foldEvent(start(), confirmedCall("finalize", call, registry));
    expect(resumed.recent[0]).to.deep.include({ call, nonce: null, sentAt: 5, confirmedAt: 5 });
  });

  it("attach: call events are read from --json lines", () => {
    const line =
      '{"type":"call-sent","at":1,"step":"handover","call":"granting PAUSER_ROLE on the V2 registry to 0x01",' +
      `"contract":"0x02","nonce":3,"txHash":"${hash(1)}"}`;
    expect(parseEventLine(line)).to.deep.equal(JSON.parse(line));
    const confirmed = JSON.stringify(confirmedCall("rollback", "unpausing the V1 registry", "0x02"));
    expect(parseEventLine(confirmed)).to.deep.equal(JSON.parse(confirmed));
  });
});

function confirmedCall(step: "finalize" | "rollback", call: string, contract: string): MigrationEvent {
  return {
    type: "call-confirmed",
    at: 5,
    step,
    call,
    contract,
    txHash: hash(5),
    blockNumber: 1,
    gasUsed: "1",
    l1FeeWei: "0",
  };
}

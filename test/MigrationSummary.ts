import { expect } from "chai";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type {
  CopyStep,
  FinalizeStepSummary,
  MigrationEvent,
  VerifiedKind,
  VerifyStepSummary,
} from "../lib/migration/events.js";
import {
  ReportError,
  formatCompact,
  formatCount,
  formatDuration,
  formatGovernanceSection,
  formatRate,
  formatSummaryTable,
  stableJson,
  writeReport,
} from "../lib/migration/report.js";
import {
  SummaryCollector,
  SummaryError,
  parseVerifySummary,
  summarize,
  verifyStepSummary,
  type MigrationSummary,
} from "../lib/migration/summary.js";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
const COMMITMENT = { nodes: hash(0xa1), jobs: hash(0xb2), deposits: hash(0xc3) };

interface Batch {
  size: number;
  gas: number;
  fill: number;
  l1?: bigint;
}

/** A copy step as the engine reports it: started at `at`, one batch per `interval` ms, then finished. */
function copyStep(step: CopyStep, at: number, unit: string, batches: Batch[], interval = 10_000): MigrationEvent[] {
  const total = batches.reduce((sum, batch) => sum + batch.size, 0);
  const events: MigrationEvent[] = [{ type: "step-started", at, step, total, unit }];
  let start = 0;
  for (const [i, batch] of batches.entries()) {
    const t = at + (i + 1) * interval;
    const txHash = hash(1000 * at + i);
    const gasEstimate = String(batch.gas);
    events.push(
      {
        type: "batch-planned",
        at: t - 3,
        step,
        start,
        size: batch.size,
        gasEstimate,
        fill: batch.fill,
        calldataBytes: 100,
      },
      { type: "batch-sent", at: t - 2, step, start, size: batch.size, txHash, nonce: at + i },
      {
        type: "batch-confirmed",
        at: t,
        step,
        start,
        size: batch.size,
        txHash,
        blockNumber: 100 + i,
        gasUsed: String(batch.gas),
        l1FeeWei: String(batch.l1 ?? 0n),
      },
      { type: "progress", at: t, step, done: start + batch.size, total },
    );
    start += batch.size;
  }
  events.push({ type: "step-finished", at: at + batches.length * interval + 1000, step, summary: {} });
  return events;
}

function verifyEvent(at: number, change?: (summary: VerifyStepSummary) => void): MigrationEvent {
  const counts = { nodes: 250, jobs: 1200, deposits: 40 };
  const summary: VerifyStepSummary = {
    v1Block: 500,
    v2Block: 900,
    commitments: {} as VerifyStepSummary["commitments"],
    counts: {} as VerifyStepSummary["counts"],
    findings: [],
    verified: true,
  };
  for (const kind of ["nodes", "jobs", "deposits"] as VerifiedKind[]) {
    summary.commitments[kind] = { v1: COMMITMENT[kind], v2OnChain: COMMITMENT[kind], v2ReadBack: COMMITMENT[kind] };
    summary.counts[kind] = { v1: counts[kind], v2OnChain: counts[kind], v2ReadBack: counts[kind] };
  }
  change?.(summary);
  return { type: "step-finished", at, step: "verify", summary: summary as unknown as Record<string, unknown> };
}

const NODE_BATCHES: Batch[] = [
  { size: 100, gas: 3_000_000, fill: 0.8, l1: 1_000_000_000n },
  { size: 100, gas: 3_000_000, fill: 0.85, l1: 2_000_000_000n },
  { size: 50, gas: 1_600_001, fill: 0.4, l1: 500_000_000n },
];

describe("summarize", function () {
  it("adds up a copy step: records, batches, gas, gas per record, largest transaction, mean fill, L1 fee, time, rate", () => {
    const summary = summarize(copyStep("nodes", 0, "nodes", NODE_BATCHES));
    expect(summary.steps).to.deep.equal([
      {
        step: "nodes",
        unit: "nodes",
        records: 250,
        batches: 3,
        transactions: 3,
        failedTransactions: 0,
        gasUsed: "7600001",
        gasPerRecord: 30400, // 7,600,001 / 250 = 30,400.004
        largestTransactionGas: "3000000",
        meanFill: 0.6833, // (0.8 + 0.85 + 0.4) / 3
        l1FeeWei: "3500000000",
        wallTimeMs: 31_000, // step-started at 0, finished at 31 s
        recordsPerSecond: 8.06, // 250 / 31
        finished: true,
      },
    ]);
    expect(summary.totals).to.deep.equal({
      batches: 3,
      transactions: 3,
      failedTransactions: 0,
      gasUsed: "7600001",
      l1FeeWei: "3500000000",
    });
    expect(summary.wallTimeMs).to.equal(31_000);
    expect(summary.verify).to.equal(null);
    expect(summary.finalize).to.equal(null);
  });

  it("rounds gas per record half up, and has no per-record figures when nothing moved", () => {
    const half = summarize(copyStep("jobs", 0, "jobs", [{ size: 2, gas: 3, fill: 1 }]));
    expect(half.steps[0]!.gasPerRecord).to.equal(2); // 1.5
    const below = summarize(copyStep("jobs", 0, "jobs", [{ size: 4, gas: 5, fill: 1 }]));
    expect(below.steps[0]!.gasPerRecord).to.equal(1); // 1.25
    const none = summarize([
      { type: "step-started", at: 5, step: "escrow", total: 0, unit: "users" },
      { type: "step-finished", at: 5, step: "escrow", summary: {} },
    ]);
    expect(none.steps[0]).to.include({ records: 0, gasPerRecord: null, meanFill: null, recordsPerSecond: null });
    expect(none.steps[0]!.wallTimeMs).to.equal(0);
  });

  it("counts each failed nonce once: reverted, dropped; a replacement that confirms or a re-reported receipt is no failure", () => {
    const step = "escrow";
    const confirmed = (at: number, txHash: string, size: number, gasUsed: string): MigrationEvent => ({
      type: "batch-confirmed",
      at,
      step,
      start: 0,
      size,
      txHash,
      blockNumber: at,
      gasUsed,
      l1FeeWei: "0",
    });
    const sent = (at: number, txHash: string, nonce: number): MigrationEvent => ({
      type: "batch-sent",
      at,
      step,
      start: 0,
      size: 10,
      txHash,
      nonce,
    });
    const summary = summarize([
      { type: "step-started", at: 0, step, total: 30, unit: "users" },
      sent(1, hash(1), 7), // reverted: never confirmed
      sent(2, hash(1), 7), // the same transaction rebroadcast
      sent(3, hash(2), 8), // stuck, then replaced with a higher fee under the same nonce
      sent(4, hash(3), 8),
      confirmed(5, hash(3), 10, "100"),
      sent(6, hash(4), 9),
      confirmed(7, hash(4), 10, "100"),
      confirmed(8, hash(4), 10, "120"), // re-mined after a reorg: the later receipt counts
      sent(9, hash(5), 10), // dropped
      sent(10, hash(6), 11),
      confirmed(11, hash(6), 10, "90"),
      { type: "step-finished", at: 12, step, summary: {} },
    ]);
    expect(summary.steps[0]).to.include({
      records: 30,
      batches: 3,
      transactions: 5,
      failedTransactions: 2,
      gasUsed: "310",
      largestTransactionGas: "120",
    });
  });

  it("times an unfinished step to its last event, and a step without step-started from its first", () => {
    const events = copyStep("jobs", 1_000, "jobs", [
      { size: 10, gas: 100, fill: 0.5 },
      { size: 10, gas: 100, fill: 0.5 },
    ]);
    const unfinished = summarize(events.slice(0, -1));
    expect(unfinished.steps[0]).to.include({ finished: false, wallTimeMs: 20_000, recordsPerSecond: 1 });
    // From the first batch's plan (11 s - 3 ms) to the last progress (21 s).
    const headless = summarize(events.slice(1, -1));
    expect(headless.steps[0]).to.include({ unit: "records", wallTimeMs: 10_003, finished: false });
  });

  it("keeps copy steps in the order they first reported, and collects warnings and errors of every step", () => {
    const events = [
      { type: "warning", at: 0, step: "check", message: "gas price is high" } as const,
      ...copyStep("jobs", 100, "jobs", [{ size: 5, gas: 50, fill: 0.9 }]),
      ...copyStep("nodes", 200_000, "nodes", [{ size: 5, gas: 70, fill: 0.9 }]),
      { type: "error", at: 300_000, step: "escrow", message: "batch 3 reverted: NonContiguousCursor(3, 4)" } as const,
    ];
    const summary = summarize(events);
    expect(summary.steps.map((step) => step.step)).to.deep.equal(["jobs", "nodes", "escrow"]);
    expect(summary.totals.gasUsed).to.equal("120");
    expect(summary.warnings).to.equal(1);
    expect(summary.errors).to.deep.equal([{ step: "escrow", message: "batch 3 reverted: NonContiguousCursor(3, 4)" }]);
    expect(summary.wallTimeMs).to.equal(300_000);
  });

  it("collects incrementally: a summary mid-run, and the same summary as summarize at the end", () => {
    const events = [...copyStep("nodes", 0, "nodes", NODE_BATCHES), verifyEvent(40_000)];
    const collector = new SummaryCollector();
    for (const event of events.slice(0, 6)) collector.add(event);
    expect(collector.summary().steps[0]).to.include({ records: 100, batches: 1, finished: false });
    for (const event of events.slice(6)) collector.add(event);
    expect(collector.summary()).to.deep.equal(summarize(events));
  });
});

describe("summarize: verify and finalize", function () {
  it("reports the three commitments and counts and calls the run verified when they all agree", () => {
    const verify = summarize([verifyEvent(0)]).verify!;
    expect(verify.verified).to.equal(true);
    expect(verify.commitments.jobs).to.deep.equal({
      v1: COMMITMENT.jobs,
      v2OnChain: COMMITMENT.jobs,
      v2ReadBack: COMMITMENT.jobs,
      agree: true,
    });
    expect(verify.counts.deposits).to.deep.equal({ v1: 40, v2OnChain: 40, v2ReadBack: 40, agree: true });
    expect([verify.v1Block, verify.v2Block]).to.deep.equal([500, 900]);
  });

  it("is NOT verified when a row disagrees, even if the step said verified", () => {
    const verify = summarize([
      verifyEvent(0, (s) => {
        s.commitments.deposits.v2ReadBack = hash(0xdead);
      }),
    ]).verify!;
    expect(verify.commitments.deposits.agree).to.equal(false);
    expect(verify.commitments.nodes.agree).to.equal(true);
    expect(verify.verified).to.equal(false);
    const count = summarize([verifyEvent(0, (s) => (s.counts.nodes.v2OnChain = 249))]).verify!;
    expect([count.counts.nodes.agree, count.verified]).to.deep.equal([false, false]);
  });

  it("is NOT verified when the step found a problem, and keeps the findings", () => {
    const finding = "Job 7's host 0x01 is not a registered V2 node (it left V1 after the job?).";
    const verify = summarize([verifyEvent(0, (s) => ((s.findings = [finding]), (s.verified = false)))]).verify!;
    expect(verify.verified).to.equal(false);
    expect(verify.findings).to.deep.equal([finding]);
  });

  it("refuses a verify summary of the wrong shape, naming the field", () => {
    const bad = (change: (s: Record<string, unknown>) => void) =>
      summarize([verifyEvent(0, (s) => change(s as unknown as Record<string, unknown>))]);
    expect(() => bad((s) => ((s.counts as { jobs: { v2OnChain: unknown } }).jobs.v2OnChain = "1200"))).to.throw(
      SummaryError,
      'verify summary.counts.jobs.v2OnChain must be a non-negative integer, got "1200".',
    );
    expect(() => bad((s) => delete s.verified)).to.throw(
      SummaryError,
      "verify summary.verified must be a boolean, got nothing.",
    );
    expect(() => bad((s) => (s.commitments = []))).to.throw(
      SummaryError,
      "verify summary.commitments must be an object, got an array.",
    );
    expect(() => bad((s) => (s.findings = [1]))).to.throw(
      SummaryError,
      "verify summary.findings[0] must be a string, got 1.",
    );
    expect(() => bad((s) => (s.findings = "none"))).to.throw(
      SummaryError,
      'verify summary.findings must be an array, got "none".',
    );
    expect(() => bad((s) => (s.v1Block = -1))).to.throw(
      SummaryError,
      "verify summary.v1Block must be a non-negative integer",
    );
    expect(() => parseVerifySummary(null)).to.throw(SummaryError, "verify summary must be an object, got null.");
    expect(() => parseVerifySummary({ v1Block: 1n })).to.throw(
      SummaryError,
      "verify summary.v1Block must be a non-negative integer, got 1n.",
    );
  });

  it("builds the verify step's summary from V1 and V2 read-back figures and compareStates' findings", () => {
    const figures = (commitment: string, count: number) => ({ commitment, count });
    const v1 = {
      blockNumber: 10,
      nodes: figures(COMMITMENT.nodes, 3),
      jobs: figures(COMMITMENT.jobs, 4),
      deposits: figures(COMMITMENT.deposits, 5),
    };
    const v2 = {
      blockNumber: 20,
      nodes: { ...figures(COMMITMENT.nodes, 3), onChain: figures(COMMITMENT.nodes, 3) },
      jobs: { ...figures(hash(9), 4), onChain: figures(COMMITMENT.jobs, 4) },
      deposits: { ...figures(COMMITMENT.deposits, 5), onChain: figures(COMMITMENT.deposits, 6) },
    };
    const step = verifyStepSummary(v1, v2, [{ message: "jobs differ" }, { message: "deposit count differs" }]);
    expect(step).to.deep.equal({
      v1Block: 10,
      v2Block: 20,
      commitments: {
        nodes: { v1: COMMITMENT.nodes, v2OnChain: COMMITMENT.nodes, v2ReadBack: COMMITMENT.nodes },
        jobs: { v1: COMMITMENT.jobs, v2OnChain: COMMITMENT.jobs, v2ReadBack: hash(9) },
        deposits: { v1: COMMITMENT.deposits, v2OnChain: COMMITMENT.deposits, v2ReadBack: COMMITMENT.deposits },
      },
      counts: {
        nodes: { v1: 3, v2OnChain: 3, v2ReadBack: 3 },
        jobs: { v1: 4, v2OnChain: 4, v2ReadBack: 4 },
        deposits: { v1: 5, v2OnChain: 6, v2ReadBack: 5 },
      },
      findings: ["jobs differ", "deposit count differs"],
      verified: false,
    });
    expect(parseVerifySummary(JSON.parse(JSON.stringify(step)))).to.deep.equal(step);
    // The step's verdict is its findings; the run summary adds the three-way agreement on top.
    const clean = verifyStepSummary(v1, v2, []);
    expect(clean.verified).to.equal(true);
    const run = summarize([{ type: "step-finished", at: 0, step: "verify", summary: { ...clean } }]);
    expect(run.verify!.verified).to.equal(false);
  });

  it("reports finalize per contract in a fixed order, finalized only when all three are", () => {
    const entry = (contract: string, txHash: string | null) => ({
      contract,
      commitment: hash(1),
      count: 3,
      txHash,
      gasUsed: txHash === null ? "0" : "61000",
    });
    const finalize = (contracts: unknown[]): MigrationEvent => ({
      type: "step-finished",
      at: 0,
      step: "finalize",
      summary: { contracts },
    });
    const all = summarize([
      finalize([entry("escrow", hash(3)), entry("registry", null), entry("marketplace", hash(2))]),
    ]);
    expect(all.finalize!.finalized).to.equal(true);
    expect(all.finalize!.contracts.map((c) => c.contract)).to.deep.equal(["registry", "marketplace", "escrow"]);
    expect(summarize([finalize([entry("registry", hash(1))])]).finalize!.finalized).to.equal(false);
    expect(() => summarize([finalize([entry("proxy", hash(1))])])).to.throw(
      SummaryError,
      'finalize summary.contracts[0].contract must be one of registry, marketplace, escrow, got "proxy".',
    );
    expect(() => summarize([finalize([{ ...entry("escrow", hash(1)), gasUsed: "6.1e4" }])])).to.throw(
      SummaryError,
      "finalize summary.contracts[0].gasUsed must be a decimal string",
    );
    expect(() => summarize([finalize([{ ...entry("escrow", hash(1)), txHash: 5 }])])).to.throw(
      SummaryError,
      "finalize summary.contracts[0].txHash must be a string, got 5.",
    );
    expect(() => summarize([{ type: "step-finished", at: 0, step: "finalize", summary: { contracts: {} } }])).to.throw(
      SummaryError,
      "finalize summary.contracts must be an array, got an object.",
    );
  });
});

// ---------------------------------------------------------------- the report

function fullRun(): MigrationEvent[] {
  return [
    ...copyStep("nodes", 0, "nodes", NODE_BATCHES),
    ...copyStep("jobs", 40_000, "jobs", [
      { size: 600, gas: 12_000_000, fill: 0.84 },
      { size: 600, gas: 11_500_000, fill: 0.81 },
    ]),
    { type: "batch-sent", at: 70_000, step: "escrow", start: 0, size: 40, txHash: hash(77), nonce: 77 },
    ...copyStep("escrow", 70_001, "users", [{ size: 40, gas: 2_000_000, fill: 0.5, l1: 10n ** 15n }]),
    verifyEvent(90_000),
  ];
}

describe("formatGovernanceSection", function () {
  it("lists each proposal with its post-checks, and says FAILED when one did not pass", () => {
    const freeze = { title: "Freeze V1", proposalId: "12", calls: 10, checks: [], passed: true };
    const cutover = {
      title: "Cut over",
      proposalId: "34",
      calls: 10,
      checks: [
        { id: "implementations", status: "pass" as const },
        { id: "balances", status: "fail" as const },
      ],
      passed: false,
    };
    expect(formatGovernanceSection([freeze])).to.deep.equal([
      "**Governance**: 1 proposal through the Governor and the timelock.",
      "- Freeze V1: proposal `12` (10 calls), executed.",
    ]);
    expect(formatGovernanceSection([freeze, cutover])).to.deep.equal([
      "**Governance: FAILED**: 2 proposals through the Governor and the timelock.",
      "- Freeze V1: proposal `12` (10 calls), executed.",
      "- Cut over: proposal `34` (10 calls), **failed**; post-checks: implementations pass, balances fail.",
    ]);
  });
});

describe("formatSummaryTable", function () {
  it("renders steps, totals, the three-way commitments and the verdict as Markdown", () => {
    const commitments = (["nodes", "jobs", "deposits"] as const).map(
      (kind) => `\`${COMMITMENT[kind]}\` | \`${COMMITMENT[kind]}\` | \`${COMMITMENT[kind]}\``,
    );
    expect(formatSummaryTable(summarize(fullRun()))).to.equal(
      [
        "| Step | Records | Batches | Txs | Gas | Gas/record | L1 fee (ETH) | Time |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|",
        "| nodes | 250 nodes | 3 | 3 | 7,600,001 | 30,400 | 0.0000000035 | 31s |",
        "| jobs | 1,200 jobs | 2 | 2 | 23,500,000 | 19,583 | 0.0 | 21s |",
        "| escrow | 40 users | 1 | 2 (1 failed) | 2,000,000 | 50,000 | 0.001 | 11s |",
        "| **total** |  | 6 | 7 (1 failed) | 33,100,001 |  | 0.0010000035 | 1m 30s |",
        "",
        "Commitments: V1 at block 500, V2 at block 900.",
        "",
        "| Records | V1 | V2 on-chain | V2 read-back | Count (V1 / on-chain / read-back) | Agree |",
        "|:---|:---|:---|:---|---:|:---|",
        `| nodes | ${commitments[0]} | 250 / 250 / 250 | yes |`,
        `| jobs | ${commitments[1]} | 1,200 / 1,200 / 1,200 | yes |`,
        `| deposits | ${commitments[2]} | 40 / 40 / 40 | yes |`,
        "",
        "**Verified**",
        "",
      ].join("\n"),
    );
  });

  it("says NOT verified when verify did not run or disagreed, lists findings, finalize and errors, escaped", () => {
    expect(formatSummaryTable(summarize([]))).to.equal(
      "No records were copied in this run.\n\n**NOT verified**: the verify step did not run.\n",
    );
    const text = formatSummaryTable(
      summarize([
        ...copyStep("nodes", 0, "nodes", [{ size: 1, gas: 1, fill: 1 }]).slice(0, -1),
        verifyEvent(50_000, (s) => {
          s.counts.jobs.v2ReadBack = 1199;
          s.findings = ["V2's migratedCount() is 1200 jobs, its read-back holds 1199 | <missing>."];
          s.verified = false;
        }),
        {
          type: "step-finished",
          at: 60_000,
          step: "finalize",
          summary: {
            contracts: [{ contract: "registry", commitment: hash(1), count: 1, txHash: hash(2), gasUsed: "61234" }],
          } satisfies FinalizeStepSummary,
        },
        { type: "warning", at: 60_001, step: "finalize", message: "slow" },
        { type: "error", at: 60_002, step: "finalize", message: "escrow: FinalizeMismatch(*funds*)" },
      ]),
    );
    expect(text).to.contain("| nodes | 1 nodes | 1 | 1 | 1 | 1 | 0.0 | 10s (unfinished) |\n\n");
    expect(text).to.not.contain("**total**");
    expect(text).to.contain("| jobs | ");
    expect(text).to.contain(" | 1,200 / 1,200 / 1,199 | **no** |");
    expect(text).to.contain(
      "**NOT verified**\n- V2's migratedCount() is 1200 jobs, its read-back holds 1199 \\| \\<missing\\>.\n",
    );
    expect(text).to.contain(
      `**NOT finalized**\n- registry: count 1, commitment \`${hash(1)}\` (tx \`${hash(2)}\`, 61,234 gas)\n`,
    );
    expect(text).to.contain("Errors:\n- finalize: escrow: FinalizeMismatch(\\*funds\\*)\n\n1 warning.\n");
  });

  it("lists a step that moved nothing, a complete finalize, contracts finalized earlier, and warnings", () => {
    const entry = (contract: string, txHash: string | null) => ({
      contract,
      commitment: hash(7),
      count: 1234,
      txHash,
      gasUsed: txHash === null ? "0" : "70000",
    });
    const text = formatSummaryTable(
      summarize([
        { type: "step-started", at: 0, step: "escrow", total: 0, unit: "users" },
        { type: "step-finished", at: 0, step: "escrow", summary: {} },
        verifyEvent(0),
        {
          type: "step-finished",
          at: 1,
          step: "finalize",
          summary: { contracts: [entry("registry", null), entry("marketplace", hash(8)), entry("escrow", hash(9))] },
        },
        { type: "warning", at: 2, step: "finalize", message: "a" },
        { type: "warning", at: 3, step: "finalize", message: "b" },
      ]),
    );
    expect(text).to.contain("| escrow | 0 users | 0 | 0 | 0 | – | 0.0 | 0ms |\n\n");
    expect(text).to.contain(
      `**Verified**\n\n**Finalized**\n- registry: count 1,234, commitment \`${hash(7)}\` (in an earlier run)\n` +
        `- marketplace: count 1,234, commitment \`${hash(7)}\` (tx \`${hash(8)}\`, 70,000 gas)\n`,
    );
    expect(text.endsWith("\n\n2 warnings.\n")).to.equal(true);
  });
});

describe("number formats", function () {
  it("are the same on every machine: no locale", () => {
    expect([0, 999, 1000, 1_234_567.4, 12_345_678_901n, "1000000"].map(formatCount)).to.deep.equal([
      "0",
      "999",
      "1,000",
      "1,234,567",
      "12,345,678,901",
      "1,000,000",
    ]);
    expect([950, 1_000, 45_210, 3_000_000, 450_000_000, 16_777_216n, 2_500_000_000].map(formatCompact)).to.deep.equal([
      "950",
      "1.0k",
      "45.2k",
      "3.0M",
      "450M",
      "16.8M",
      "2.5G",
    ]);
    expect([-5, 850, 3_240, 42_400, 62_000, 3_599_000, 3_780_000, 90_000_000].map(formatDuration)).to.deep.equal([
      "0ms",
      "850ms",
      "3.2s",
      "42s",
      "1m 02s",
      "59m 59s",
      "1h 03m",
      "25h 00m",
    ]);
    expect([0.5, 8.333, 16.666, 99.99, 1234.5].map(formatRate)).to.deep.equal([
      "0.50",
      "8.33",
      "16.7",
      "100.0",
      "1,235",
    ]);
  });
});

describe("writeReport", function () {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "fabstir-report-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes <name>.md and <name>.json, and nothing else", async () => {
    const summary = summarize(fullRun());
    const files = await writeReport(path.join(dir, "reports", "base"), summary, { name: "run-1" });
    expect(files).to.deep.equal({
      markdown: path.join(dir, "reports", "base", "run-1.md"),
      json: path.join(dir, "reports", "base", "run-1.json"),
    });
    expect(await readdir(path.join(dir, "reports", "base"))).to.deep.equal(["run-1.json", "run-1.md"]);
    expect(await readFile(files.markdown, "utf8")).to.equal(
      `# Migration run summary\n\n${formatSummaryTable(summary)}`,
    );
    expect(JSON.parse(await readFile(files.json, "utf8"))).to.deep.equal(summary);
    await writeReport(dir, summary);
    expect((await readdir(dir)).sort()).to.deep.equal(["migration-summary.json", "migration-summary.md", "reports"]);
  });

  it("is deterministic: the same run gives the same bytes, whatever order its objects' keys were built in", async () => {
    const events = fullRun();
    const scrambled = events.map(
      (event) => Object.fromEntries(Object.entries(event).reverse()) as unknown as MigrationEvent,
    );
    await writeReport(dir, summarize(events), { name: "a" });
    await writeReport(dir, summarize(scrambled), { name: "b" });
    const a = await readFile(path.join(dir, "a.json"), "utf8");
    const b = await readFile(path.join(dir, "b.json"), "utf8");
    expect(b).to.equal(a);
    expect(await readFile(path.join(dir, "b.md"), "utf8")).to.equal(await readFile(path.join(dir, "a.md"), "utf8"));
    // Keys sorted at every level, two-space indented, one trailing newline.
    const keys = Object.keys(JSON.parse(a) as MigrationSummary);
    expect(keys).to.deep.equal(["errors", "finalize", "steps", "totals", "verify", "wallTimeMs", "warnings"]);
    expect(a).to.match(/^\{\n {2}"errors": \[\],\n/);
    expect(a).to.contain('{\n      "step": "nodes",\n      "batches": 3,');
    expect(a.endsWith("}\n")).to.equal(true);
  });

  it("leaves the previous report and no temporary file behind when a write fails", async () => {
    const before = summarize(copyStep("nodes", 0, "nodes", NODE_BATCHES));
    await writeReport(dir, before, { name: "run" });
    const oldMarkdown = await readFile(path.join(dir, "run.md"), "utf8");
    // Something that cannot be replaced by a file now sits where the JSON goes.
    await rm(path.join(dir, "run.json"));
    await mkdir(path.join(dir, "run.json", "occupied"), { recursive: true });
    const error = await writeReport(dir, summarize(fullRun()), { name: "run" }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ReportError);
    expect((error as Error).message).to.match(new RegExp(`^Could not write the report to ${dir}: `));
    expect(await readFile(path.join(dir, "run.md"), "utf8")).to.equal(oldMarkdown);
    expect((await readdir(dir)).sort()).to.deep.equal(["run.json", "run.md"]);
  });

  it("refuses a name that is not a plain file name before touching the disk", async () => {
    for (const name of ["../escape", ".hidden", "a/b", ""]) {
      const target = path.join(dir, "never");
      const error = await writeReport(target, summarize([]), { name }).catch((e: unknown) => e);
      expect(error, name).to.be.instanceOf(ReportError);
      expect((error as Error).message).to.contain(`Report name "${name}" must start with a letter or digit`);
      expect(await readdir(dir)).to.deep.equal([]);
    }
  });

  it("fails clearly when the directory cannot be created", async () => {
    await writeFile(path.join(dir, "file"), "x");
    const target = path.join(dir, "file", "sub");
    const error = await writeReport(target, summarize([])).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ReportError);
    expect((error as Error).message).to.match(new RegExp(`^Could not write the report to ${target}: ENOTDIR`));
  });
});

describe("stableJson", function () {
  it("puts type, at and step first, sorts the rest at every level, and writes bigints as decimals", () => {
    expect(stableJson({ z: 1, step: "jobs", nested: { b: [{ y: 2n, a: 1 }], a: null }, at: 5, type: "x" })).to.equal(
      '{"type":"x","at":5,"step":"jobs","nested":{"a":null,"b":[{"a":1,"y":"2"}]},"z":1}',
    );
  });
});

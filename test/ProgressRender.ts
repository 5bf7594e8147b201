import { expect } from "chai";
import type { CopyStep, MigrationEvent } from "../lib/migration/events.js";
import { createRenderer, pickMode, type RendererOptions } from "../lib/migration/render.js";
import { formatSummaryTable } from "../lib/migration/report.js";
import { summarize, verifyStepSummary } from "../lib/migration/summary.js";

const ESC = "\x1b[";
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

/** A renderer writing into a string, with a clock the test sets. */
function capture(options: Omit<RendererOptions, "write" | "now"> & { now?: number }) {
  const output = { text: "", writes: [] as string[], now: options.now ?? 0 };
  const renderer = createRenderer({
    color: false,
    ...options,
    write: (text) => {
      output.text += text;
      output.writes.push(text);
    },
    now: () => output.now,
  });
  return { renderer, output, render: (events: MigrationEvent[]) => events.forEach(renderer.report) };
}

function confirmed(step: CopyStep, at: number, start: number, size: number, gasUsed = 3_000_000): MigrationEvent {
  return {
    type: "batch-confirmed",
    at,
    step,
    start,
    size,
    txHash: hash(at),
    blockNumber: at / 1000,
    gasUsed: String(gasUsed),
    l1FeeWei: "0",
  };
}

/** 1,000 nodes: 100 confirmed at 10 s, 150 more at 15 s (16.7 nodes/s over the step, 45 s to go). */
const NODES: MigrationEvent[] = [
  { type: "step-started", at: 0, step: "nodes", total: 1000, unit: "nodes" },
  {
    type: "batch-planned",
    at: 1,
    step: "nodes",
    start: 0,
    size: 100,
    gasEstimate: "3100000",
    fill: 0.22,
    calldataBytes: 70_000,
  },
  { type: "batch-sent", at: 2, step: "nodes", start: 0, size: 100, txHash: hash(10_000), nonce: 4 },
  confirmed("nodes", 10_000, 0, 100),
  { type: "progress", at: 10_000, step: "nodes", done: 100, total: 1000 },
  confirmed("nodes", 15_000, 100, 150, 4_500_000),
  { type: "progress", at: 15_000, step: "nodes", done: 250, total: 1000 },
];

/** A verify step summary in which everything agrees. */
function verifySummary() {
  const figures = { commitment: hash(1), count: 1 };
  const v1 = { blockNumber: 1, nodes: figures, jobs: figures, deposits: figures };
  const v2Figures = { ...figures, onChain: figures };
  return verifyStepSummary(v1, { blockNumber: 2, nodes: v2Figures, jobs: v2Figures, deposits: v2Figures }, []);
}

describe("pickMode", function () {
  it("uses JSON lines when asked, bars on a terminal, plain lines in pipes and on dumb terminals", () => {
    expect(pickMode({ json: true, isTTY: true })).to.equal("json");
    expect(pickMode({ json: true, isTTY: false })).to.equal("json");
    expect(pickMode({ json: false, isTTY: true, term: "xterm-256color" })).to.equal("tty");
    expect(pickMode({ json: false, isTTY: true })).to.equal("tty");
    expect(pickMode({ json: false, isTTY: true, term: "dumb" })).to.equal("plain");
    expect(pickMode({ json: false, isTTY: false, term: "xterm" })).to.equal("plain");
  });
});

describe("renderer: json", function () {
  it("writes one JSON object per event with a stable key order, and exactly one summary object last", () => {
    const { renderer, output, render } = capture({ mode: "json" });
    // The same event built with its keys in another order serializes identically.
    const scrambled = Object.fromEntries(Object.entries(NODES[3]!).reverse()) as unknown as MigrationEvent;
    const events: MigrationEvent[] = [
      ...NODES,
      scrambled,
      { type: "warning", at: 16_000, step: "nodes", message: 'slow "RPC"\nretrying' },
    ];
    render(events);
    renderer.end();
    const lines = output.text.split("\n");
    expect(lines.pop()).to.equal(""); // every line ends with a newline
    expect(lines).to.have.length(NODES.length + 3);
    expect(lines.map((line) => JSON.parse(line) as unknown).slice(0, NODES.length)).to.deep.equal(NODES);
    expect(lines[3]).to.equal(
      `{"type":"batch-confirmed","at":10000,"step":"nodes","blockNumber":10,"gasUsed":"3000000","l1FeeWei":"0",` +
        `"size":100,"start":0,"txHash":"${hash(10_000)}"}`,
    );
    expect(lines[NODES.length]).to.equal(lines[3]);
    expect(JSON.parse(lines[NODES.length + 1]!)).to.deep.equal({
      type: "warning",
      at: 16_000,
      step: "nodes",
      message: 'slow "RPC"\nretrying',
    });
    const summaries = lines.filter((line) => (JSON.parse(line) as { type: string }).type === "summary");
    expect(summaries).to.deep.equal([lines.at(-1)]);
    const summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(Object.keys(summary)[0]).to.equal("type");
    const { type, ...rest } = summary;
    expect(type).to.equal("summary");
    expect(rest).to.deep.equal(JSON.parse(JSON.stringify(summarize(events))));
    expect(output.text).to.not.contain(ESC);
  });

  it("ends with the summary it is given, and refuses to render or end after the end", () => {
    const { renderer, output, render } = capture({ mode: "json" });
    render(NODES.slice(0, 2));
    const given = summarize([]);
    renderer.end(given);
    expect(output.text.split("\n").at(-2)).to.equal(
      '{"type":"summary","errors":[],"finalize":null,"steps":[],"totals":{"batches":0,"failedTransactions":0,' +
        '"gasUsed":"0","l1FeeWei":"0","transactions":0},"verify":null,"wallTimeMs":0,"warnings":0}',
    );
    const before = output.text;
    expect(() => renderer.report(NODES[2]!)).to.throw("The renderer has ended; cannot render a batch-sent event.");
    expect(() => renderer.end()).to.throw("The renderer has already ended.");
    renderer.refresh();
    expect(output.text).to.equal(before);
  });
});

describe("renderer: plain", function () {
  it("writes one line per step start, batch and finish, with rate and ETA from the events' times", () => {
    const { renderer, output, render } = capture({ mode: "plain" });
    render([
      ...NODES,
      { type: "warning", at: 16_000, step: "nodes", message: "base fee 3 gwei is above --max-fee 2 gwei: waiting" },
      { type: "step-finished", at: 20_000, step: "nodes", summary: {} },
      { type: "step-started", at: 21_000, step: "verify", total: 0, unit: "records" },
      { type: "error", at: 22_000, step: "verify", message: "RPC timeout" },
      { type: "step-finished", at: 30_000, step: "verify", summary: { ...verifySummary(), verified: false } },
    ]);
    expect(output.text.split("\n")).to.deep.equal([
      "nodes: started, 1,000 nodes",
      `nodes: batch 1 confirmed: 100 nodes from 0, 3,000,000 gas, block 10, tx ${hash(10_000)}; ` +
        "100/1,000 nodes (10%), 10.0 nodes/s, ETA 1m 30s",
      `nodes: batch 2 confirmed: 150 nodes from 100, 4,500,000 gas, block 15, tx ${hash(15_000)}; ` +
        "250/1,000 nodes (25%), 16.7 nodes/s, ETA 45s",
      "nodes: warning: base fee 3 gwei is above --max-fee 2 gwei: waiting",
      "nodes: finished: 250 nodes in 2 batches, 7,500,000 gas, 20s, 16.7 nodes/s",
      "verify: started",
      "verify: error: RPC timeout",
      "verify: finished: 9.0s, NOT verified",
      "",
    ]);
    renderer.end();
    expect(output.text).to.not.contain("\x1b");
  });

  it("reports a step without step-started or total, and finished steps of one batch or without batches", () => {
    const { renderer, output, render } = capture({ mode: "plain" });
    render([
      confirmed("escrow", 4_000, 0, 12, 900_000),
      { type: "step-finished", at: 5_000, step: "escrow", summary: {} },
      { type: "step-started", at: 5_000, step: "check", total: 3, unit: "checks" },
      { type: "progress", at: 6_000, step: "check", done: 3, total: 3 },
      { type: "step-finished", at: 7_000, step: "check", summary: { verified: true } },
      { type: "progress", at: 8_000, step: "snapshot", done: 10, total: 0 },
      { type: "error", at: 9_000, step: "rollback", message: "nothing to roll back" }, // no step of its own
    ]);
    renderer.end();
    expect(output.text.split("\n").slice(0, 8)).to.deep.equal([
      `escrow: batch 1 confirmed: 12 records from 0, 900,000 gas, block 4, tx ${hash(4_000)}`,
      // Without step-started the step is timed from its first event, too short to rate.
      "escrow: finished: 12 records in 1 batch, 900,000 gas, 1.0s",
      "check: started, 3 checks",
      "check: 3/3 checks (100%), 3.00 checks/s, ETA 0ms",
      "check: finished: 3 checks, 2.0s, verified",
      "rollback: error: nothing to roll back",
      "snapshot stopped at 10 records",
      "",
    ]);
  });

  it("logs steps without batches each tenth of the way, not each page", () => {
    const { output, render } = capture({ mode: "plain" });
    const events: MigrationEvent[] = [{ type: "step-started", at: 0, step: "snapshot", total: 1000, unit: "jobs" }];
    for (let done = 40; done <= 1000; done += 40) {
      events.push({ type: "progress", at: done * 10, step: "snapshot", done, total: 1000 });
    }
    render(events);
    const lines = output.text.trimEnd().split("\n");
    expect(lines).to.have.length(11);
    expect(lines.slice(1, 3)).to.deep.equal([
      "snapshot: 120/1,000 jobs (12%), 100 jobs/s, ETA 8.8s",
      "snapshot: 200/1,000 jobs (20%), 100 jobs/s, ETA 8.0s",
    ]);
    expect(lines[10]).to.equal("snapshot: 1,000/1,000 jobs (100%), 100 jobs/s, ETA 0ms");
  });

  it("writes the stopped steps and the summary table at the end", () => {
    const { renderer, output, render } = capture({ mode: "plain" });
    render(NODES);
    const before = output.text.length;
    renderer.end();
    expect(output.text.slice(before)).to.equal(
      `nodes    stopped at 250/1,000 nodes\n\n${formatSummaryTable(summarize(NODES))}`,
    );
  });
});

describe("renderer: tty", function () {
  const up = (lines: number) => `${ESC}${lines}A\r${ESC}J`;

  it("draws a bar per running step and redraws it in place as batches confirm", () => {
    const { output, render } = capture({ mode: "tty", columns: 120 });
    render(NODES);
    const empty = "░".repeat(23);
    expect(output.writes).to.deep.equal([
      `nodes    [${empty}]   0%  0/1,000 nodes  ETA --\n`,
      // batch-planned and batch-sent change nothing on screen
      `${up(1)}nodes    [██${"░".repeat(21)}]  10%  100/1,000 nodes  ETA 1m 30s  10.0/s  1 batch  3.0M gas\n`,
      `${up(1)}nodes    [██${"░".repeat(21)}]  10%  100/1,000 nodes  ETA 1m 30s  10.0/s  1 batch  3.0M gas\n`,
      `${up(1)}nodes    [█████${"░".repeat(18)}]  25%  250/1,000 nodes  ETA 45s  16.7/s  2 batches  7.5M gas\n`,
      `${up(1)}nodes    [█████${"░".repeat(18)}]  25%  250/1,000 nodes  ETA 45s  16.7/s  2 batches  7.5M gas\n`,
    ]);
  });

  it("prints warnings and errors above the bars, and leaves one line per finished step", () => {
    const { output, render } = capture({ mode: "tty", columns: 60, color: true });
    render([
      NODES[0]!,
      { type: "step-started", at: 1000, step: "jobs", total: 0, unit: "jobs" },
      { type: "warning", at: 2000, step: "jobs", message: "history is long" },
      { type: "step-finished", at: 3000, step: "jobs", summary: {} },
      { type: "error", at: 4000, step: "nodes", message: "batch reverted" },
    ]);
    const bar = `nodes    [${"░".repeat(11)}]   0%  0/1,000 nodes  ETA --`;
    expect(output.writes.slice(1)).to.deep.equal([
      `${up(1)}${bar}\njobs     0 jobs\n`,
      `${up(2)}${ESC}33mwarning [jobs] history is long${ESC}0m\n${bar}\njobs     0 jobs\n`,
      `${up(2)}${ESC}32m✔${ESC}0m jobs     0 jobs in 0 batches, 0 gas, 2.0s\n${bar}\n`,
      `${up(1)}${ESC}31merror [nodes] batch reverted${ESC}0m\n${bar}\n`,
    ]);
  });

  it("reads the system clock and colours its output unless told otherwise", () => {
    let text = "";
    const renderer = createRenderer({ mode: "tty", write: (chunk) => (text += chunk) });
    renderer.report({ ...NODES[0]!, at: Date.now() });
    renderer.report(confirmed("nodes", Date.now(), 0, 1));
    text = "";
    renderer.refresh();
    expect(text).to.match(/ 0%  1\/1,000 nodes  ETA /);
    renderer.report({ type: "error", at: Date.now(), step: "nodes", message: "x" });
    expect(text).to.contain(`${ESC}31merror [nodes] x${ESC}0m`);
  });

  it("moves the ETA with the clock between events, and shows elapsed work only", () => {
    const { renderer, output, render } = capture({ mode: "tty", columns: 120 });
    renderer.refresh();
    expect(output.writes).to.deep.equal([]); // nothing on screen yet: nothing to redraw
    render(NODES);
    output.now = 25_000; // 10 s after the last batch: 45 s - 10 s
    renderer.refresh();
    expect(output.writes.at(-1)).to.contain("  25%  250/1,000 nodes  ETA 35s  16.7/s");
    output.now = 90_000; // long overdue: the ETA stops at zero
    renderer.refresh();
    expect(output.writes.at(-1)).to.contain("ETA 0ms");
  });

  it("rates a resumed step by the records this run moved, not by where its cursor started", () => {
    const { output, render } = capture({ mode: "tty", columns: 120 });
    render([
      { type: "step-started", at: 0, step: "jobs", total: 10_000, unit: "jobs" },
      { type: "progress", at: 100, step: "jobs", done: 8_000, total: 10_000 }, // already imported
    ]);
    expect(output.writes.at(-1)).to.contain("  80%  8,000/10,000 jobs  ETA --\n");
    render([
      confirmed("jobs", 20_000, 8_000, 500),
      { type: "progress", at: 20_000, step: "jobs", done: 8_500, total: 10_000 },
    ]);
    expect(output.writes.at(-1)).to.contain("  85%  8,500/10,000 jobs  ETA 1m 00s  25.0/s  1 batch");
  });

  it("degrades on narrow terminals: drops gas, batches, rate, ETA, then the bar, and never wraps", () => {
    const line = (columns: number) => {
      const { output, render } = capture({ mode: "tty", columns });
      render(NODES.slice(0, 4));
      return output.writes.at(-1)!.slice(up(1).length, -1);
    };
    expect(line(120)).to.match(/ 1 batch {2}3\.0M gas$/);
    expect(line(80)).to.match(/ETA 1m 30s {2}10\.0\/s {2}1 batch$/);
    expect(line(64)).to.match(/\] {2}10% {2}100\/1,000 nodes {2}ETA 1m 30s$/);
    expect(line(44)).to.equal("nodes    [█░░░░░░░░░]  10%  100/1,000 nodes");
    expect(line(31)).to.equal("nodes     10%  100/1,000 nodes");
    expect(line(30)).to.equal("nodes     10%  100/1,000 nod…");
    expect(line(21)).to.equal("nodes     10%  100/…");
    for (let columns = 1; columns <= 160; columns++) {
      const { output, renderer, render } = capture({ mode: "tty", columns: 200 });
      render([...NODES, { type: "step-started", at: 15_000, step: "snapshot", total: 0, unit: "jobs" }]);
      renderer.resize(columns);
      const bars = output.writes.at(-1)!.slice(up(2).length).split("\n").slice(0, -1);
      expect(bars, `${columns} columns`).to.have.length(2);
      for (const bar of bars) expect(bar.length, `${columns} columns: ${bar}`).to.be.at.most(Math.max(1, columns - 1));
    }
  });

  it("ends by replacing the bars with the stopped steps and the summary table", () => {
    const { renderer, output, render } = capture({ mode: "tty", columns: 100 });
    render(NODES);
    renderer.end();
    expect(output.writes.at(-1)).to.equal(
      `${up(1)}✖ nodes    stopped at 250/1,000 nodes\n\n${formatSummaryTable(summarize(NODES))}`,
    );
    renderer.refresh();
    expect(output.writes).to.have.length(6);
  });
});

describe("renderer: single calls (finalize, rollback, handover)", function () {
  const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const up = (lines: number) => `${ESC}${lines}A\r${ESC}J`;
  /** The finalize step sending the registry's finalize: a call, not a batch. */
  const FINALIZE: MigrationEvent[] = [
    { type: "step-started", at: 0, step: "finalize", total: 3, unit: "contracts" },
    {
      type: "call-sent",
      at: 1_000,
      step: "finalize",
      call: "finalizing the V2 registry",
      contract: REGISTRY,
      txHash: hash(1),
      nonce: 9,
    },
    {
      type: "call-confirmed",
      at: 3_000,
      step: "finalize",
      call: "finalizing the V2 registry",
      contract: REGISTRY,
      txHash: hash(1),
      blockNumber: 42,
      gasUsed: "61234",
      l1FeeWei: "5",
    },
    { type: "progress", at: 3_000, step: "finalize", done: 1, total: 3 },
  ];

  it("json: one line per call event, keys in the stable order; no batch is counted", () => {
    const { renderer, output, render } = capture({ mode: "json" });
    render(FINALIZE);
    const summary = renderer.end();
    const lines = output.text.trimEnd().split("\n");
    expect(lines.slice(1, 3)).to.deep.equal([
      `{"type":"call-sent","at":1000,"step":"finalize","call":"finalizing the V2 registry","contract":"${REGISTRY}",` +
        `"nonce":9,"txHash":"${hash(1)}"}`,
      `{"type":"call-confirmed","at":3000,"step":"finalize","blockNumber":42,"call":"finalizing the V2 registry",` +
        `"contract":"${REGISTRY}","gasUsed":"61234","l1FeeWei":"5","txHash":"${hash(1)}"}`,
    ]);
    expect(lines.map((line) => JSON.parse(line) as unknown).slice(0, FINALIZE.length)).to.deep.equal(FINALIZE);
    expect(summary.totals).to.deep.include({ batches: 0, transactions: 0 });
  });

  it("plain: one line per call event, and the step's count moves only with its own progress", () => {
    const { output, render } = capture({ mode: "plain" });
    render(FINALIZE);
    expect(output.text.split("\n")).to.deep.equal([
      "finalize: started, 3 contracts",
      `finalize: finalizing the V2 registry: sent (nonce 9), tx ${hash(1)}`,
      `finalize: finalizing the V2 registry: confirmed in block 42, 61,234 gas, tx ${hash(1)}`,
      "finalize: 1/3 contracts (33%), 0.33 contracts/s, ETA 6.0s",
      "",
    ]);
  });

  it("tty: the confirmed call is printed above the bars (the sent one changes nothing), and starts no bar", () => {
    const { output, render } = capture({ mode: "tty", columns: 100 });
    render(FINALIZE.slice(0, 3));
    const bar = `finalize [${"░".repeat(19)}]   0%  0/3 contracts  ETA --`;
    expect(output.writes).to.deep.equal([
      `${bar}\n`,
      `${up(1)}✔ finalize finalizing the V2 registry: confirmed in block 42, 61,234 gas, tx ${hash(1)}\n${bar}\n`,
    ]);
    // A call of a step that has no bar (model names after the check step finished) prints its line only.
    const alone = capture({ mode: "tty", columns: 100 });
    alone.render([{ ...(FINALIZE[2] as Extract<MigrationEvent, { type: "call-confirmed" }>), step: "check" }]);
    expect(alone.output.writes).to.deep.equal([
      `✔ check    finalizing the V2 registry: confirmed in block 42, 61,234 gas, tx ${hash(1)}\n`,
    ]);
  });
});

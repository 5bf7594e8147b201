import { expect } from "chai";
import {
  calldataFloorGas,
  depositFloor,
  jobFloor,
  minimumTransactions,
  nodeFloor,
  nodeFreshSlots,
  stringSlots,
} from "../../lib/bench/floor.js";
import { meanFill, ComponentTally } from "../../lib/bench/figures.js";
import { MAX_TX_BYTES } from "../../lib/migration/planner.js";
import {
  BenchOptionError,
  DEFAULT_SEED,
  DEFAULT_SIZES,
  MAX_SIZE,
  QUICK_SIZES,
  benchCommand,
  resolveBenchOptions,
} from "../../lib/bench/options.js";
import { benchJson, renderMarkdown } from "../../lib/bench/render.js";
import { checkTargets, missedTargets } from "../../lib/bench/targets.js";
import { ToolkitTally } from "../../lib/bench/toolkit.js";
import type { BenchFigures, ComponentFigures } from "../../lib/bench/types.js";

const ADDRESS_1 = `0x${"11".repeat(20)}`;
const ADDRESS_2 = `0x${"22".repeat(20)}`;
const ADDRESS_3 = `0x${"33".repeat(20)}`;
const ZERO_ADDRESS = `0x${"00".repeat(20)}`;
const ZERO_HASH = `0x${"00".repeat(32)}`;

describe("bench: the floor", function () {
  it("counts a string's slots as Solidity stores it", function () {
    expect([0, 1, 31, 32, 33, 64, 65].map(stringSlots)).to.deep.equal([0, 1, 1, 2, 3, 3, 4]);
  });

  it("counts a node's fresh slots from its actual sizes (UTF-8 bytes)", function () {
    // 2 packed words + operator-list entry + peerId 52 bytes (1 + 2) + region 6 bytes (1) + 3 models (1 + 3)
    expect(
      nodeFreshSlots({ peerId: "p".repeat(52), region: "東京", models: [ZERO_HASH, ZERO_HASH, ZERO_HASH] }),
    ).to.equal(11);
    // Empty strings and an empty model list write nothing.
    expect(nodeFreshSlots({ peerId: "", region: "", models: [] })).to.equal(3);
  });

  it("prices calldata at 10 gas per zero byte and 40 per non-zero byte", function () {
    expect(calldataFloorGas(new Uint8Array([0, 1, 0, 255]))).to.equal(100);
    expect(calldataFloorGas(new Uint8Array())).to.equal(0);
  });

  it("takes the fewest transactions under the cap, each carrying its own 21,000", function () {
    expect(minimumTransactions(0)).to.equal(0);
    expect(minimumTransactions(1)).to.equal(1);
    expect(minimumTransactions(16_777_216 - 21_000)).to.equal(1);
    expect(minimumTransactions(16_777_216 - 21_000 + 1)).to.equal(2);
  });

  it("gives a deposit its balance slot, its 96 encoded bytes and the transactions' share", function () {
    const eth = { user: ADDRESS_1, token: ZERO_ADDRESS, amount: 1n };
    // user word 12×10 + 20×40 = 920; token word 320; amount word 31×10 + 40 = 350 → 1,590
    const one = depositFloor([eth]);
    expect(one).to.deep.equal({
      records: 1,
      freshSlots: 1,
      calldataFloorGas: 1_590,
      transactions: 1,
      totalGas: 22_100 + 1_590 + 21_000,
      gasPerRecord: 44_690,
    });
    // Two records share one transaction: (2 × 23,690 + 21,000) / 2.
    expect(depositFloor([eth, eth]).gasPerRecord).to.equal(34_190);
    expect(depositFloor([]).gasPerRecord).to.equal(0);
  });

  it("gives a historical job no slot: its 12 encoded words and the transaction", function () {
    const job = {
      jobId: 1n, // 350
      renter: ADDRESS_2, // 920
      host: ADDRESS_3, // 920
      token: ZERO_ADDRESS, // 320
      amount: 0n, // 320
      modelId: `0x${"44".repeat(32)}`, // 1,280
      inputHash: `0x${"55".repeat(32)}`, // 1,280
      resultHash: ZERO_HASH, // 320
      postedAt: 1n, // 350
      deadline: 2n, // 350
      completedAt: 0n, // 320
      status: 3n, // 350
    };
    const floor = jobFloor([job]);
    expect(floor.freshSlots).to.equal(0);
    expect(floor.calldataFloorGas).to.equal(7_080);
    expect(floor.gasPerRecord).to.equal(28_080);
  });

  it("gives a node its slots and its encoding with offsets and tails", function () {
    const node = {
      operator: ADDRESS_1,
      stake: 1n,
      registeredAt: 1n,
      unstakeRequestedAt: 0n,
      reputation: 100n,
      active: true,
      peerId: "peer",
      region: "",
      models: [`0x${"aa".repeat(32)}`],
    };
    // Slots: 2 packed + list entry + peerId 1 + models 2 = 6.
    // Calldata: tuple offset 350, operator 920, stake 350, registeredAt 350, unstake 320,
    // reputation 350, active 350, three tail offsets (0x120, 0x160, 0x180: 2 non-zero bytes) 3 × 380,
    // peerId length 350 + data 4 × 40 + 28 × 10 = 440, region length 320, models length 350 + id 1,280.
    const floor = nodeFloor([node]);
    expect(floor.freshSlots).to.equal(6);
    expect(floor.calldataFloorGas).to.equal(6_870);
    expect(floor.gasPerRecord).to.equal(6 * 22_100 + 6_870 + 21_000);
  });
});

function component(overrides: Partial<ComponentFigures> = {}): ComponentFigures {
  return {
    records: 1_000,
    txs: 10,
    failedTxs: 0,
    gas: 10_000_000,
    gasPerRecord: 10_000,
    floorGasPerRecord: 9_000,
    maxTxGas: 14_000_000,
    meanFill: 0.9,
    meanGasFill: 0.9,
    l1FeeWei: "123",
    wallMs: 2_000,
    ...overrides,
  };
}

/** Figures that meet every target. */
function passing(): BenchFigures {
  const guide = component({ txs: 1_000, gas: 20_000_000, gasPerRecord: 20_000 });
  return {
    arms: {
      guide: { nodes: guide, jobs: guide, escrow: guide },
      toolkit: { nodes: component(), jobs: component(), escrow: component() },
    },
    read: { roundTrips: 100, snapshotMs: 500 },
    hashing: { recordsPerSecond: 100_000 },
  };
}

const TARGET_KEYS = [
  "toolkit.nodes.floorRatio",
  "toolkit.jobs.floorRatio",
  "toolkit.escrow.floorRatio",
  "toolkit.jobs.gasPerRecord",
  "toolkit.failedTxs",
  "toolkit.maxTxGas",
  "toolkit.nodes.meanFill",
  "toolkit.jobs.meanFill",
  "toolkit.escrow.meanFill",
  "txRatio",
  "nodes.fewerTxs",
  "jobs.fewerTxs",
  "escrow.fewerTxs",
  "nodes.lessGas",
  "jobs.lessGas",
  "escrow.lessGas",
  "read.roundTrips",
  "hashing.recordsPerSecond",
];

describe("bench: the targets", function () {
  it("checks every target of the issue, under stable keys, and passes figures that meet them", function () {
    const targets = checkTargets(passing());
    expect(Object.keys(targets)).to.deep.equal(TARGET_KEYS);
    expect(missedTargets(targets)).to.deep.equal([]);
    expect(targets["txRatio"]).to.deep.include({ value: 100, limit: 10, pass: true });
  });

  it("misses each target on the figure it is about, with the value and limit", function () {
    const cases: [string, (f: BenchFigures) => void][] = [
      ["toolkit.nodes.floorRatio", (f) => (f.arms.toolkit.nodes.gasPerRecord = 11_701)], // 1.3001
      [
        "toolkit.jobs.gasPerRecord",
        (f) => (f.arms.toolkit.jobs = component({ gasPerRecord: 15_001, floorGasPerRecord: 15_000 })),
      ],
      ["toolkit.failedTxs", (f) => (f.arms.toolkit.escrow.failedTxs = 1)],
      ["toolkit.maxTxGas", (f) => (f.arms.toolkit.jobs.maxTxGas = 16_777_217)],
      ["toolkit.escrow.meanFill", (f) => (f.arms.toolkit.escrow.meanFill = 0.79)],
      ["escrow.fewerTxs", (f) => (f.arms.toolkit.escrow.txs = 1_000)],
      ["nodes.lessGas", (f) => (f.arms.toolkit.nodes.gas = 20_000_000)],
      ["read.roundTrips", (f) => (f.read.roundTrips = 121)],
      ["hashing.recordsPerSecond", (f) => (f.hashing.recordsPerSecond = 49_999)],
    ];
    for (const [key, change] of cases) {
      const figures = passing();
      change(figures);
      const targets = checkTargets(figures);
      expect(missedTargets(targets), key).to.include(key);
      expect(targets[key]!.pass, key).to.equal(false);
    }
    const ratio = passing();
    ratio.arms.toolkit.nodes.gasPerRecord = 11_700; // exactly 1.3×: met
    expect(checkTargets(ratio)["toolkit.nodes.floorRatio"]).to.deep.include({ value: 1.3, pass: true });
  });

  it("counts failed transactions in the transaction ratio", function () {
    const figures = passing();
    figures.arms.guide.nodes = component({ txs: 1, failedTxs: 3_000, gas: 20_000_000 });
    expect(checkTargets(figures)["txRatio"]!.value).to.equal(Math.round(((3_001 + 2_000) / 30) * 10_000) / 10_000);
  });

  it("calls a fill that does not exist (one batch) not applicable, not missed", function () {
    const figures = passing();
    figures.arms.toolkit.escrow.meanFill = null;
    const targets = checkTargets(figures);
    expect(targets["toolkit.escrow.meanFill"]!.pass).to.equal(null);
    expect(missedTargets(targets)).to.deep.equal([]);
  });
});

describe("bench: figures", function () {
  it("leaves the last batch out of the mean fill", function () {
    expect(meanFill([])).to.equal(null);
    expect(meanFill([0.9])).to.equal(null);
    expect(meanFill([0.8, 0.9, 0.1])).to.equal(0.85);
  });

  it("fills each batch against the limit that binds it, gas or size, and keeps the gas fill beside it", function () {
    const tally = new ComponentTally();
    tally.addFill(0.2, 0.95 * MAX_TX_BYTES); // a history batch: bound by size
    tally.addFill(0.9, 0.1 * MAX_TX_BYTES); // a node batch: bound by gas
    tally.addFill(0.05, 100); // the last batch: left out
    expect(tally.figures(1)).to.deep.include({ meanFill: 0.925, meanGasFill: 0.55 });
    const one = new ComponentTally();
    one.addFill(0.5, 0);
    expect(one.figures(1)).to.deep.include({ meanFill: null, meanGasFill: null });
  });

  it("tallies mined and failed transactions, the largest, L1 fees and gas per record (rounded up)", function () {
    const tally = new ComponentTally();
    tally.records = 3;
    tally.addTx(100n, 5n);
    tally.addTx(300n, 7n);
    tally.addFailed();
    tally.addFill(0.5, 1_000);
    tally.addFill(0.2, 1_000);
    tally.wallMs = 12.4;
    expect(tally.figures(50)).to.deep.equal({
      records: 3,
      txs: 2,
      failedTxs: 1,
      gas: 400,
      gasPerRecord: 134,
      floorGasPerRecord: 50,
      maxTxGas: 300,
      meanFill: 0.5,
      meanGasFill: 0.5,
      l1FeeWei: "12",
      wallMs: 12,
    });
  });

  it("reads the toolkit's figures from its copy steps' events only", function () {
    const forwarded: string[] = [];
    const tally = new ToolkitTally((event) => forwarded.push(event.type));
    const at = 1_000;
    tally.reporter({ type: "step-started", at, step: "jobs", total: 10, unit: "jobs" });
    tally.reporter({
      type: "batch-planned",
      at,
      step: "jobs",
      start: 0,
      size: 6,
      gasEstimate: "1",
      fill: 0.2,
      calldataBytes: 117_965,
    });
    tally.reporter({
      type: "batch-confirmed",
      at,
      step: "jobs",
      start: 0,
      size: 6,
      txHash: "0x",
      blockNumber: 1,
      gasUsed: "70000",
      l1FeeWei: "9",
    });
    tally.reporter({
      type: "batch-planned",
      at,
      step: "jobs",
      start: 6,
      size: 4,
      gasEstimate: "1",
      fill: 0.3,
      calldataBytes: 100,
    });
    tally.reporter({ type: "error", at, step: "jobs", message: "reverted" });
    tally.reporter({ type: "step-finished", at: at + 250, step: "jobs", summary: {} });
    tally.reporter({ type: "step-started", at, step: "verify", total: 1, unit: "check" });
    tally.tallies.jobs.records = 10;
    expect(tally.tallies.jobs.figures(1)).to.deep.include({
      txs: 1,
      failedTxs: 1,
      gas: 70_000,
      meanFill: 0.9,
      meanGasFill: 0.2,
      l1FeeWei: "9",
      wallMs: 250,
    });
    expect(tally.tallies.nodes.figures(1).txs).to.equal(0);
    expect(forwarded).to.have.length(7);
  });
});

describe("bench: options", function () {
  const none = { quick: false, json: false, nodes: 0, jobs: 0, users: 0, seed: DEFAULT_SEED };

  it("takes the default sizes, the quick ones, and explicit sizes over either", function () {
    expect(resolveBenchOptions(none)).to.deep.equal({ json: false, quick: false, seed: "bench", ...DEFAULT_SIZES });
    expect(resolveBenchOptions({ ...none, quick: true, json: true })).to.deep.equal({
      json: true,
      quick: true,
      seed: "bench",
      ...QUICK_SIZES,
    });
    expect(resolveBenchOptions({ ...none, quick: true, jobs: 50, nodes: 7, seed: "x" })).to.deep.include({
      nodes: 7,
      jobs: 50,
      users: QUICK_SIZES.users,
      seed: "x",
    });
    expect(resolveBenchOptions({ ...none, users: MAX_SIZE }).users).to.equal(MAX_SIZE);
  });

  it("refuses sizes out of range, naming the option, and an empty seed", function () {
    for (const bad of [-1, MAX_SIZE + 1, 1.5]) {
      expect(() => resolveBenchOptions({ ...none, users: bad }), String(bad)).to.throw(
        BenchOptionError,
        `--users must be a whole number from 1 to 1000000, got ${bad}.`,
      );
    }
    expect(() => resolveBenchOptions({ ...none, quick: true, nodes: -5 })).to.throw(BenchOptionError, "--nodes must");
    expect(() => resolveBenchOptions({ ...none, seed: "" })).to.throw(BenchOptionError, "--seed needs a value.");
  });

  it("quotes the npm command that repeats the run, with the options given and no others", function () {
    expect(benchCommand(none)).to.equal("npm run bench");
    expect(benchCommand({ ...none, quick: true, json: true })).to.equal("npm run bench -- --quick --json");
    expect(benchCommand({ ...none, nodes: 500, jobs: 5000, users: 500, seed: "other" })).to.equal(
      "npm run bench -- --nodes 500 --jobs 5000 --users 500 --seed other",
    );
    expect(benchCommand({ ...none, seed: "two words" })).to.equal('npm run bench -- --seed "two words"');
  });
});

describe("bench: output", function () {
  const FIGURE_KEYS = [
    "records",
    "txs",
    "failedTxs",
    "gas",
    "gasPerRecord",
    "floorGasPerRecord",
    "maxTxGas",
    "meanFill",
    "meanGasFill",
    "l1FeeWei",
    "wallMs",
  ];

  it("shapes the JSON with exactly the issue's stable keys, in a fixed order, plus targets", function () {
    const figures = passing();
    // A figure object with extra fields and another key order must not change the output.
    (figures.arms.toolkit.jobs as unknown as Record<string, unknown>)["extra"] = 1;
    const json = JSON.parse(JSON.stringify(benchJson(figures, checkTargets(figures)))) as Record<string, any>;
    expect(Object.keys(json)).to.deep.equal(["arms", "read", "hashing", "targets"]);
    expect(Object.keys(json.arms)).to.deep.equal(["guide", "toolkit"]);
    for (const arm of ["guide", "toolkit"]) {
      expect(Object.keys(json.arms[arm])).to.deep.equal(["nodes", "jobs", "escrow"]);
      for (const c of ["nodes", "jobs", "escrow"]) expect(Object.keys(json.arms[arm][c])).to.deep.equal(FIGURE_KEYS);
    }
    expect(Object.keys(json.read)).to.deep.equal(["roundTrips", "snapshotMs"]);
    expect(Object.keys(json.hashing)).to.deep.equal(["recordsPerSecond"]);
    expect(Object.keys(json.targets)).to.deep.equal(TARGET_KEYS);
    for (const t of Object.values(json.targets))
      expect(Object.keys(t as object)).to.deep.equal(["rule", "value", "limit", "pass"]);
  });

  it("renders a table row per component and arm, the targets with ✓/✗, and says what was missed", function () {
    const figures = passing();
    figures.read.roundTrips = 500;
    const markdown = renderMarkdown(benchJson(figures, checkTargets(figures)), {
      sizes: { nodes: 2, jobs: 3, users: 4 },
      command: "npm run bench",
      guideRules: ["Guide arm: rules."],
      totalMs: 1_500,
    });
    expect(markdown).to.contain("| nodes | guide | 1,000 | 1,000 | 0 | 20,000,000 | 20,000 | 9,000 | 2.22 |");
    figures.arms.toolkit.jobs.meanFill = 0.991;
    figures.arms.toolkit.jobs.meanGasFill = 0.2;
    const withFills = renderMarkdown(benchJson(figures, checkTargets(figures)), {
      sizes: { nodes: 2, jobs: 3, users: 4 },
      command: "npm run bench",
      guideRules: [],
      totalMs: 1_500,
    });
    expect(markdown).to.contain(
      "| escrow | toolkit | 1,000 | 10 | 0 | 10,000,000 | 10,000 | 9,000 | 1.11 | 14,000,000 | 90.0% | 90.0% | 0.000000 | 2.0 | 500 |",
    );
    // The binding limit's fill, then the gas fill alone.
    expect(withFills).to.contain("| 14,000,000 | 99.1% | 20.0% | 0.000000 |");
    expect(withFills).to.contain("| mean fill | gas fill |");
    expect(markdown).to.contain("| V1 snapshot in ≤ 120 RPC round trips | 500 | 120 | ✗ |");
    expect(markdown).to.contain("| commitment hashing ≥ 50,000 records/s | 100,000 | 50,000 | ✓ |");
    expect(markdown).to.contain("MISSED 1 target(s): read.roundTrips.");
    expect(markdown).to.contain("Floor per record =");
    expect(markdown).to.contain("Guide arm: rules.");
  });
});

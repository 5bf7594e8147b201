import { FLOOR_EXPLANATION } from "./floor.js";
import { missedTargets } from "./targets.js";
import { ARMS, COMPONENTS, type BenchFigures, type BenchSizes, type TargetCheck } from "./types.js";

/** The `--json` object: exactly the stable keys, plus `targets`, in a fixed order. */
export interface BenchJson extends BenchFigures {
  targets: Record<string, TargetCheck>;
}

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
] as const;

/** Rebuilds the object key by key so that its key order is the same on every run. */
export function benchJson(figures: BenchFigures, targets: Record<string, TargetCheck>): BenchJson {
  const arms = {} as BenchJson["arms"];
  for (const arm of ARMS) {
    arms[arm] = {} as BenchJson["arms"][typeof arm];
    for (const c of COMPONENTS) {
      const source = figures.arms[arm][c];
      const out = {} as Record<string, unknown>;
      for (const key of FIGURE_KEYS) out[key] = source[key];
      arms[arm][c] = out as unknown as BenchJson["arms"][typeof arm][typeof c];
    }
  }
  const orderedTargets: Record<string, TargetCheck> = {};
  for (const [key, t] of Object.entries(targets)) {
    orderedTargets[key] = { rule: t.rule, value: t.value, limit: t.limit, pass: t.pass };
  }
  return {
    arms,
    read: { roundTrips: figures.read.roundTrips, snapshotMs: figures.read.snapshotMs },
    hashing: { recordsPerSecond: figures.hashing.recordsPerSecond },
    targets: orderedTargets,
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

function eth(wei: string): string {
  const value = BigInt(wei);
  const whole = value / 10n ** 18n;
  const fraction = (value % 10n ** 18n).toString().padStart(18, "0").slice(0, 6);
  return `${whole}.${fraction}`;
}

function mark(pass: boolean | null): string {
  return pass === null ? "n/a" : pass ? "✓" : "✗";
}

function percent(fill: number | null): string {
  return fill === null ? "–" : `${(fill * 100).toFixed(1)}%`;
}

function shown(value: number | null): string {
  if (value === null) return "–";
  return Number.isInteger(value) ? int(value) : String(value);
}

export interface RenderContext {
  sizes: BenchSizes;
  command: string;
  /** The guide arm's rules, stated as the output must state them. */
  guideRules: readonly string[];
  totalMs: number;
}

/** The Markdown report: figures per component and arm, the targets with ✓/✗, and how to read them. */
export function renderMarkdown(json: BenchJson, context: RenderContext): string {
  const lines: string[] = [];
  const { sizes } = context;
  lines.push(
    `# Migration benchmark: ${int(sizes.nodes)} nodes, ${int(sizes.jobs)} jobs, ${int(sizes.users)} users`,
    "",
    `Command: \`${context.command}\` (total ${(context.totalMs / 1000).toFixed(1)} s)`,
    "",
    "| component | arm | records | txs | failed | gas | gas/record | floor/record | × floor | max tx gas | mean fill | gas fill | L1 fee (ETH) | wall (s) | records/s |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const c of COMPONENTS) {
    for (const arm of ARMS) {
      const f = json.arms[arm][c];
      const times = f.floorGasPerRecord === 0 ? "–" : (f.gasPerRecord / f.floorGasPerRecord).toFixed(2);
      const rate = f.wallMs === 0 ? "–" : int((f.records * 1000) / f.wallMs);
      lines.push(
        `| ${c} | ${arm} | ${int(f.records)} | ${int(f.txs)} | ${int(f.failedTxs)} | ${int(f.gas)} | ${int(f.gasPerRecord)} | ${int(f.floorGasPerRecord)} | ${times} | ${int(f.maxTxGas)} | ${percent(f.meanFill)} | ${percent(f.meanGasFill)} | ${eth(f.l1FeeWei)} | ${(f.wallMs / 1000).toFixed(1)} | ${rate} |`,
      );
    }
  }
  lines.push(
    "",
    `Read side: V1 snapshot in ${int(json.read.roundTrips)} RPC round trips, ${(json.read.snapshotMs / 1000).toFixed(2)} s. ` +
      `Commitment hashing (TypeScript): ${int(json.hashing.recordsPerSecond)} records/s.`,
    "",
    "## Targets (defined at the default size: 2,000 nodes, 20,000 jobs, 2,000 users)",
    "",
    "| target | value | limit | |",
    "|---|---:|---:|:-:|",
  );
  for (const t of Object.values(json.targets)) {
    lines.push(`| ${t.rule} | ${shown(t.value)} | ${shown(t.limit)} | ${mark(t.pass)} |`);
  }
  const missed = missedTargets(json.targets);
  lines.push(
    "",
    missed.length === 0 ? "Every target is met." : `MISSED ${missed.length} target(s): ${missed.join(", ")}.`,
    "",
    "## How to read it",
    "",
    FLOOR_EXPLANATION,
    "",
    ...context.guideRules,
    "Toolkit arm: `runMigration` as shipped (check, snapshot, nodes, jobs, escrow, verify, finalize); the figures are its",
    "three copy steps, from its batch events. Mean fill: of the limit that bound each batch, the planner's estimate /",
    "its gas target of 85% of 2^24 or the batch's calldata / the 128 KiB transaction size, whichever is larger; gas",
    "fill: the first alone. Job batches are bound by size, not gas.",
    "Gas is the receipts' gasUsed (21,000 per transaction and calldata included). Model names are registered in V2",
    "before the two arms (the same permissionless step for both) and are counted in neither.",
  );
  return lines.join("\n");
}

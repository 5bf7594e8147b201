import { COMPONENTS, type BenchFigures, type Component, type TargetCheck } from "./types.js";

/** The targets, checked against the figures (they are defined at the default size). */

export const FLOOR_RATIO_LIMIT = 1.3;
export const JOB_GAS_LIMIT = 15_000;
export const TX_GAS_CAP = 16_777_216;
export const MEAN_FILL_LIMIT = 0.8;
export const TX_RATIO_LIMIT = 10;
export const SNAPSHOT_ROUND_TRIPS_LIMIT = 120;
export const HASHING_RATE_LIMIT = 50_000;

type Comparison = "<=" | ">=" | "<";

function check(rule: string, value: number | null, comparison: Comparison, limit: number): TargetCheck {
  let pass: boolean | null = null;
  if (value !== null) {
    pass = comparison === "<=" ? value <= limit : comparison === ">=" ? value >= limit : value < limit;
  }
  return { rule, value, limit, pass };
}

/** Rounds a ratio for display and JSON (4 decimals), keeping null. */
function ratio(numerator: number, denominator: number): number | null {
  if (denominator === 0) return null;
  return Math.round((numerator / denominator) * 10_000) / 10_000;
}

/** Every target by a stable key, in a fixed order. */
export function checkTargets(figures: BenchFigures): Record<string, TargetCheck> {
  const { guide, toolkit } = figures.arms;
  const out: Record<string, TargetCheck> = {};
  for (const c of COMPONENTS) {
    out[`toolkit.${c}.floorRatio`] = check(
      `toolkit ${c}: gas per record ≤ ${FLOOR_RATIO_LIMIT}× the floor`,
      ratio(toolkit[c].gasPerRecord, toolkit[c].floorGasPerRecord),
      "<=",
      FLOOR_RATIO_LIMIT,
    );
  }
  out["toolkit.jobs.gasPerRecord"] = check(
    `toolkit: a historical job ≤ ${JOB_GAS_LIMIT.toLocaleString("en-US")} gas all-in`,
    toolkit.jobs.records === 0 ? null : toolkit.jobs.gasPerRecord,
    "<=",
    JOB_GAS_LIMIT,
  );
  out["toolkit.failedTxs"] = check(
    "toolkit: zero failed transactions",
    sum(COMPONENTS, (c) => toolkit[c].failedTxs),
    "<=",
    0,
  );
  out["toolkit.maxTxGas"] = check(
    "toolkit: no transaction above 2^24 gas",
    Math.max(...COMPONENTS.map((c) => toolkit[c].maxTxGas)),
    "<=",
    TX_GAS_CAP,
  );
  for (const c of COMPONENTS) {
    out[`toolkit.${c}.meanFill`] = check(
      `toolkit ${c}: mean fill ≥ ${MEAN_FILL_LIMIT * 100}% of the binding limit, gas or size (last batch excluded)`,
      toolkit[c].meanFill,
      ">=",
      MEAN_FILL_LIMIT,
    );
  }
  const guideTxs = sum(COMPONENTS, (c) => guide[c].txs + guide[c].failedTxs);
  const toolkitTxs = sum(COMPONENTS, (c) => toolkit[c].txs + toolkit[c].failedTxs);
  out["txRatio"] = check(
    `guide/toolkit transactions overall ≥ ${TX_RATIO_LIMIT}`,
    ratio(guideTxs, toolkitTxs),
    ">=",
    TX_RATIO_LIMIT,
  );
  for (const c of COMPONENTS) {
    out[`${c}.fewerTxs`] = check(
      `${c}: toolkit transactions < guide's`,
      toolkit[c].txs + toolkit[c].failedTxs,
      "<",
      guide[c].txs + guide[c].failedTxs,
    );
  }
  for (const c of COMPONENTS) {
    out[`${c}.lessGas`] = check(`${c}: toolkit gas < guide's`, toolkit[c].gas, "<", guide[c].gas);
  }
  out["read.roundTrips"] = check(
    `V1 snapshot in ≤ ${SNAPSHOT_ROUND_TRIPS_LIMIT} RPC round trips`,
    figures.read.roundTrips,
    "<=",
    SNAPSHOT_ROUND_TRIPS_LIMIT,
  );
  out["hashing.recordsPerSecond"] = check(
    `commitment hashing ≥ ${HASHING_RATE_LIMIT.toLocaleString("en-US")} records/s`,
    figures.hashing.recordsPerSecond,
    ">=",
    HASHING_RATE_LIMIT,
  );
  return out;
}

function sum(components: readonly Component[], f: (c: Component) => number): number {
  return components.reduce((total, c) => total + f(c), 0);
}

/** The keys of the targets that were missed (pass false); not-applicable ones are not misses. */
export function missedTargets(targets: Record<string, TargetCheck>): string[] {
  return Object.entries(targets)
    .filter(([, t]) => t.pass === false)
    .map(([key]) => key);
}

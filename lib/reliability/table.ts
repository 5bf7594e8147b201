import type { ContractsResult } from "./contracts.js";
import type { FaultKind } from "./faultProxy.js";
import type { HostileResult } from "./hostile/index.js";
import type { ReliabilityRun } from "./run.js";
import type { Family, TrialResult } from "./trial.js";

/**
 * The figures per trial family, as a Markdown table (the bench's look) or one JSON object with
 * stable keys. `retries`: for the RPC family, the faults the proxy injected (each one a request
 * the client had to retry, whether Hardhat's provider retried it (429) or the engine did); the
 * engine's own count is in the JSON and the note under the table.
 */

export interface FamilyFigures {
  family: Family;
  trials: number;
  passed: number;
  failed: number;
  recordsLost: number;
  /** Decimal string: wei do not fit a JSON number. */
  weiLost: string;
  duplicates: number;
  retries: number;
  engineRetries: number;
}

export interface ReliabilityJson {
  families: FamilyFigures[];
  faults: Record<FaultKind, number>;
  trials: {
    family: Family;
    label: string;
    passed: boolean;
    recordsLost: number;
    weiLost: string;
    duplicates: number;
    problems: string[];
    /** The chain families' injected events and the engine's answers (empty elsewhere). */
    counters: Record<string, number>;
    ms: number;
  }[];
  /** Hostile input, per input kind (records/wei lost and duplicates do not apply: shown as n/a). */
  hostile: HostileResult[];
  contracts: ContractsResult | null;
  ok: boolean;
  totalMs: number;
}

const FAMILIES: readonly Family[] = ["reference", "crash", "rpc", "reorg", "nonce-fee"];

export function familyFigures(trials: readonly TrialResult[]): FamilyFigures[] {
  return FAMILIES.map((family) => {
    const mine = trials.filter((t) => t.family === family);
    const passed = mine.filter((t) => t.outcome.passed).length;
    return {
      family,
      trials: mine.length,
      passed,
      failed: mine.length - passed,
      recordsLost: mine.reduce((a, t) => a + t.outcome.recordsLost, 0),
      weiLost: mine.reduce((a, t) => a + t.outcome.weiLost, 0n).toString(),
      duplicates: mine.reduce((a, t) => a + t.outcome.duplicates, 0),
      retries: mine.reduce((a, t) => a + t.faults, 0),
      engineRetries: mine.reduce((a, t) => a + t.engineRetries, 0),
    };
  }).filter((f) => f.trials > 0);
}

/** Whether the run meets the promise: every trial passed, nothing lost or duplicated. */
export function reliabilityOk(families: readonly FamilyFigures[]): boolean {
  return families.every((f) => f.failed === 0 && f.recordsLost === 0 && f.weiLost === "0" && f.duplicates === 0);
}

export function reliabilityJson(run: ReliabilityRun): ReliabilityJson {
  const families = familyFigures(run.trials);
  return {
    families,
    faults: { ...run.faults },
    trials: run.trials.map((t) => ({
      family: t.family,
      label: t.label,
      passed: t.outcome.passed,
      recordsLost: t.outcome.recordsLost,
      weiLost: t.outcome.weiLost.toString(),
      duplicates: t.outcome.duplicates,
      problems: t.outcome.problems,
      counters: { ...t.counters },
      ms: Math.round(t.ms),
    })),
    hostile: (run.hostile ?? []).map((h) => ({ ...h, ms: Math.round(h.ms) })),
    contracts: run.contracts === undefined ? null : { ...run.contracts, ms: Math.round(run.contracts.ms) },
    ok:
      reliabilityOk(families) &&
      (run.hostile ?? []).every((h) => h.failed === 0) &&
      (run.contracts === undefined || run.contracts.ok),
    totalMs: Math.round(run.totalMs),
  };
}

const int = (n: number | string) => BigInt(n).toLocaleString("en-US");

/** One family's counters summed over its trials. */
function countersOf(json: ReliabilityJson, family: Family): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const t of json.trials) {
    if (t.family !== family) continue;
    for (const [name, n] of Object.entries(t.counters)) sum[name] = (sum[name] ?? 0) + n;
  }
  return sum;
}

/** What the `retries` column means for the reorg and nonce-fee rows, with their own figures. */
function chainFamilyNotes(json: ReliabilityJson): string[] {
  const notes: string[] = [];
  const has = (family: Family) => json.families.some((f) => f.family === family);
  if (has("reorg")) {
    const c = countersOf(json, "reorg");
    notes.push(
      `Reorgs injected: ${c.reorgs ?? 0}, dropped batches: ${c.drops ?? 0} (the reorg row's retries); the engine resent ${c.resends ?? 0} batch(es).`,
    );
  }
  if (has("nonce-fee")) {
    const c = countersOf(json, "nonce-fee");
    notes.push(
      `Nonce conflicts injected: ${c.nonceConflicts ?? 0}, handled (re-planned with a new nonce): ${c.replans ?? 0}; base-fee spikes above --max-fee-per-gas: ${c.feeSpikes ?? 0}, waits observed: ${c.waits ?? 0}, batches above the cap: ${c.aboveCap ?? 0}.`,
    );
  }
  return notes;
}

export function renderReliability(json: ReliabilityJson, command: string): string {
  const lines = [
    "# Reliability",
    "",
    `Command: \`${command}\` (total ${(json.totalMs / 1000).toFixed(1)} s)`,
    "",
    "| family | trials | passed | failed | records lost | wei lost | duplicates | retries |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const f of json.families) {
    lines.push(
      `| ${f.family} | ${int(f.trials)} | ${int(f.passed)} | ${int(f.failed)} | ${int(f.recordsLost)} | ${int(f.weiLost)} | ${int(f.duplicates)} | ${int(f.retries)} |`,
    );
  }
  for (const h of json.hostile) {
    lines.push(
      `| hostile: ${h.kind} | ${int(h.cases)} | ${int(h.passed)} | ${int(h.failed)} | n/a | n/a | n/a | n/a |`,
    );
  }
  if (json.contracts !== null) {
    const c = json.contracts;
    lines.push(
      `| contracts (${int(c.runs)} runs × depth ${c.depth}) | ${int(c.passed + c.failed)} | ${int(c.passed)} | ${int(c.failed)} | n/a | n/a | n/a | n/a |`,
    );
  }
  const faults = Object.entries(json.faults)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
  const rpc = json.families.find((f) => f.family === "rpc");
  lines.push("");
  if (rpc !== undefined) {
    lines.push(
      `RPC faults injected: ${faults}; retried by the engine: ${rpc.engineRetries} (429s are retried by Hardhat's provider).`,
      "",
    );
  }
  for (const note of chainFamilyNotes(json)) lines.push(note, "");
  for (const t of json.trials) {
    lines.push(
      `- ${t.family} ${t.label}: ${t.passed ? "passed" : `FAILED: ${t.problems.join(" ")}`} (${(t.ms / 1000).toFixed(1)} s)`,
    );
  }
  for (const h of json.hostile) {
    if (h.counterexample !== undefined) {
      lines.push(
        `- hostile ${h.kind} FAILED (fast-check seed ${h.seed}): ${h.counterexample.error} on ${h.counterexample.input}`,
      );
    }
  }
  if (json.contracts !== null && !json.contracts.ok) lines.push(`- contracts FAILED:\n${json.contracts.tail ?? ""}`);
  lines.push("", json.ok ? "Nothing lost, nothing duplicated, every trial passed." : "FAILED: see the trials above.");
  return lines.join("\n");
}

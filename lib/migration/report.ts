import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { formatEther } from "ethers";
import { writeTemporary } from "../files.js";
import type { VerifiedKind } from "./events.js";
import type { AdapterCheckSummary, Agreement, GovernanceProposalSummary, MigrationSummary } from "./summary.js";

/**
 * The run summary as people and machines read it: a Markdown table and a JSON file with a fixed
 * key order, written so that a crash leaves either the old files or the new ones, never half of one.
 */

/** A report name or directory that cannot be written. */
export class ReportError extends Error {
  override name = "ReportError";
}

// ---------------------------------------------------------------- stable JSON

/** Keys written first, in this order, wherever they occur; every other key follows alphabetically. */
const LEADING_KEYS = ["type", "at", "step"];

function ordered(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(ordered);
  if (typeof value !== "object" || value === null) return value;
  const keys = Object.keys(value).sort((a, b) => {
    const [i, j] = [LEADING_KEYS.indexOf(a), LEADING_KEYS.indexOf(b)];
    if (i >= 0 || j >= 0) return (i < 0 ? LEADING_KEYS.length : i) - (j < 0 ? LEADING_KEYS.length : j);
    return a < b ? -1 : 1; // keys of one object are distinct
  });
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = ordered((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * JSON with a key order that does not depend on how an object was built: `type`, `at`, `step`
 * first, the rest sorted; bigints as decimal strings. (JavaScript itself puts integer-like keys
 * first, in numeric order; that is deterministic too.)
 */
export function stableJson(value: unknown, indent?: number): string {
  return JSON.stringify(ordered(value), null, indent);
}

// ---------------------------------------------------------------- number formats
// Written out by hand rather than with toLocaleString, whose output depends on the machine's locale.

/** 1234567 → "1,234,567" (for counts, gas and other non-negative figures). */
export function formatCount(value: number | bigint | string): string {
  const digits = typeof value === "number" ? Math.round(value).toString() : value.toString();
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 45_210_000 → "45.2M": for gas in a progress bar. */
export function formatCompact(value: number | bigint | string): string {
  const n = Number(value);
  for (const [scale, suffix] of [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const) {
    if (n >= scale) return `${(n / scale).toFixed(n >= scale * 100 ? 0 : 1)}${suffix}`;
  }
  return n.toString();
}

/** Milliseconds as "850ms", "3.2s", "42s", "1m 02s" or "1h 03m". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const pad = (n: number) => n.toString().padStart(2, "0");
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
}

/** A rate with three significant digits below 100, whole numbers above. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 100) return formatCount(perSecond);
  return perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2);
}

// ---------------------------------------------------------------- Markdown

/** Escapes text that Markdown (and a table cell) would otherwise interpret. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}

function table(header: string[], align: ("l" | "r")[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${align.map((a) => (a === "r" ? "---:" : ":---")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

const KINDS: readonly VerifiedKind[] = ["nodes", "jobs", "deposits"];

/**
 * The run summary in Markdown that renders on GitHub: one row per copy step (records, batches,
 * transactions, gas, gas per record, L1 fee, wall time) and a total; then, when the run verified,
 * the three commitments and counts per record set and the verdict; finalize and errors if any.
 */
export function formatSummaryTable(summary: MigrationSummary): string {
  const lines: string[] = [];
  const txs = (count: number, failed: number) => (failed === 0 ? formatCount(count) : `${count} (${failed} failed)`);
  const rows = summary.steps.map((step) => [
    step.step,
    `${formatCount(step.records)} ${escapeMarkdown(step.unit)}`,
    formatCount(step.batches),
    txs(step.transactions, step.failedTransactions),
    formatCount(step.gasUsed),
    step.gasPerRecord === null ? "–" : formatCount(step.gasPerRecord),
    formatEther(step.l1FeeWei),
    formatDuration(step.wallTimeMs) + (step.finished ? "" : " (unfinished)"),
  ]);
  const total = summary.totals;
  if (summary.steps.length > 1) {
    rows.push([
      "**total**",
      "",
      formatCount(total.batches),
      txs(total.transactions, total.failedTransactions),
      formatCount(total.gasUsed),
      "",
      formatEther(total.l1FeeWei),
      formatDuration(summary.wallTimeMs),
    ]);
  }
  if (rows.length === 0) lines.push("No records were copied in this run.");
  else {
    lines.push(
      ...table(
        ["Step", "Records", "Batches", "Txs", "Gas", "Gas/record", "L1 fee (ETH)", "Time"],
        ["l", "r", "r", "r", "r", "r", "r", "r"],
        rows,
      ),
    );
  }
  lines.push("");

  const verify = summary.verify;
  if (verify === null) {
    lines.push("**NOT verified**: the verify step did not run.");
  } else {
    const counts = (row: Agreement<number>) =>
      [row.v1, row.v2OnChain, row.v2ReadBack].map((count) => formatCount(count)).join(" / ");
    const hash = (value: string) => `\`${value.replace(/`/g, "")}\``;
    lines.push(`Commitments: V1 at block ${verify.v1Block}, V2 at block ${verify.v2Block}.`, "");
    lines.push(
      ...table(
        ["Records", "V1", "V2 on-chain", "V2 read-back", "Count (V1 / on-chain / read-back)", "Agree"],
        ["l", "l", "l", "l", "r", "l"],
        KINDS.map((kind) => {
          const c = verify.commitments[kind];
          const n = verify.counts[kind];
          return [
            kind,
            hash(c.v1),
            hash(c.v2OnChain),
            hash(c.v2ReadBack),
            counts(n),
            c.agree && n.agree ? "yes" : "**no**",
          ];
        }),
      ),
      "",
    );
    lines.push(verify.verified ? "**Verified**" : "**NOT verified**");
    for (const finding of verify.findings) lines.push(`- ${escapeMarkdown(finding)}`);
  }

  if (summary.finalize !== null) {
    lines.push("", summary.finalize.finalized ? "**Finalized**" : "**NOT finalized**");
    for (const entry of summary.finalize.contracts) {
      const how =
        entry.txHash === null ? "in an earlier run" : `tx \`${entry.txHash}\`, ${formatCount(entry.gasUsed)} gas`;
      lines.push(`- ${entry.contract}: count ${formatCount(entry.count)}, commitment \`${entry.commitment}\` (${how})`);
    }
  }
  if (summary.governance !== undefined) lines.push("", ...formatGovernanceSection(summary.governance));
  if (summary.adapters !== undefined) lines.push("", ...formatAdapterSection(summary.adapters));
  if (summary.errors.length > 0) {
    lines.push("", "Errors:");
    for (const error of summary.errors) lines.push(`- ${error.step}: ${escapeMarkdown(error.message)}`);
  }
  if (summary.warnings > 0) lines.push("", `${summary.warnings} warning${summary.warnings === 1 ? "" : "s"}.`);
  return `${lines.join("\n")}\n`;
}

/** The proposals the run passed through the Governor, one line each with its post-checks. */
export function formatGovernanceSection(proposals: readonly GovernanceProposalSummary[]): string[] {
  const passed = proposals.every((proposal) => proposal.passed);
  const lines = [
    `${passed ? "**Governance**" : "**Governance: FAILED**"}: ${proposals.length} proposal${proposals.length === 1 ? "" : "s"} through the Governor and the timelock.`,
  ];
  for (const proposal of proposals) {
    const checks =
      proposal.checks.length === 0
        ? ""
        : `; post-checks: ${proposal.checks.map((check) => `${check.id} ${check.status}`).join(", ")}`;
    lines.push(
      `- ${escapeMarkdown(proposal.title)}: proposal \`${proposal.proposalId}\` (${formatCount(proposal.calls)} calls), ${proposal.passed ? "executed" : "**failed**"}${checks}.`,
    );
  }
  return lines;
}

/**
 * The V1 API through the adapters in a few lines: how many records the V1 addresses answered
 * identically, and the job taken through V1's ABI; or what differed.
 */
export function formatAdapterSection(adapters: AdapterCheckSummary): string[] {
  const read = `${formatCount(adapters.nodes)} nodes, ${formatCount(adapters.jobs)} jobs, ${formatCount(adapters.balances)} balances`;
  const trip = adapters.roundTrip;
  const lines = [
    adapters.passed
      ? `**V1 API through the adapters**: ${read} read back identical; a job posted, claimed and completed with V1's ABI.`
      : `**V1 API through the adapters: FAILED**: ${read} read back, ${formatCount(adapters.mismatches)} differ from V1's snapshot; ${trip === null ? "the job through V1's ABI did not complete" : "a job posted, claimed and completed with V1's ABI"}.`,
  ];
  if (trip !== null) {
    lines.push(
      `- job ${trip.jobId} (model ${escapeMarkdown(trip.model)}, ${formatEther(trip.price)} ETH): posted by ${trip.renter}, ` +
        `claimed and completed by ${trip.host}, whose \`balanceOf\` grew by ${formatEther(trip.hostCredit)} ETH (the price less the ${trip.feeBps} bps fee)`,
    );
  }
  for (const finding of adapters.findings) lines.push(`- ${escapeMarkdown(finding)}`);
  return lines;
}

// ---------------------------------------------------------------- files

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Writes `<dir>/<name>.json` (the summary, stable keys) and `<dir>/<name>.md` (a heading and
 * `formatSummaryTable`). Each goes to a flushed temporary file first and is renamed into place,
 * JSON first; if anything fails, the temporary files are removed and the previous reports stay
 * as they were (both of them, unless the Markdown rename itself fails after the JSON's).
 */
export async function writeReport(
  dir: string,
  summary: MigrationSummary,
  options: { name?: string; title?: string } = {},
): Promise<{ markdown: string; json: string }> {
  const name = options.name ?? "migration-summary";
  if (!NAME.test(name)) {
    throw new ReportError(
      `Report name "${name}" must start with a letter or digit and hold only letters, digits, ".", "_" and "-".`,
    );
  }
  const json = path.join(dir, `${name}.json`);
  const markdown = path.join(dir, `${name}.md`);
  const title = options.title ?? "Migration run summary";
  const contents: [string, string][] = [
    [json, `${stableJson(summary, 2)}\n`],
    [markdown, `# ${escapeMarkdown(title)}\n\n${formatSummaryTable(summary)}`],
  ];
  const pending: string[] = [];
  try {
    await mkdir(dir, { recursive: true });
    for (const [file, text] of contents) pending.push(await writeTemporary(file, text));
    for (const [i, [file]] of contents.entries()) {
      await rename(pending[i]!, file);
      pending[i] = "";
    }
  } catch (error) {
    await Promise.all(pending.filter((file) => file !== "").map((file) => rm(file, { force: true })));
    throw new ReportError(`Could not write the report to ${dir}: ${(error as Error).message}`, { cause: error });
  }
  return { markdown, json };
}

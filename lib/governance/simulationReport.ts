import type { CheckStatus, DecodedEvent, SimulationReport } from "./simulation.js";

/**
 * The simulation report as GitHub-flavoured Markdown (for people and pull requests) and as JSON
 * (for machines). Both are functions of the report alone: equal reports render byte for byte
 * equal, so a committed report diffs cleanly.
 */

const STATUS: Record<CheckStatus, string> = { pass: "✅ PASS", fail: "❌ FAIL", skip: "⏭️ SKIP" };

/** A table cell: pipes escaped, line breaks folded, so that a value cannot break the table. */
function cell(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** Inline code that survives backticks inside the value. */
function code(value: string): string {
  return value.includes("`") ? `\`\` ${value} \`\`` : `\`${value}\``;
}

function argument(value: unknown): string {
  return typeof value === "string"
    ? value
    : JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function eventArguments(event: DecodedEvent): string {
  const entries = Object.entries(event.args);
  if (entries.length === 0) return "";
  return entries.map(([name, value]) => `${name}: ${code(argument(value))}`).join(", ");
}

export function renderSimulationMarkdown(report: SimulationReport): string {
  const lines: string[] = [];
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const check of report.checks) counts[check.status]++;
  lines.push(`# Simulation: ${report.title}`, "");
  lines.push(
    `**${report.passed ? "PASSED" : "FAILED"}**: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped.`,
    "",
  );
  lines.push("| | |", "| --- | --- |");
  lines.push(`| Chain | ${report.chainId} |`);
  lines.push(`| Proposal id | ${code(report.proposalId)} |`);
  lines.push(`| Action | ${cell(report.action)} |`);
  lines.push(`| Started at block | ${report.forkBlock} |`, "");

  lines.push("## Steps", "");
  if (report.steps.length === 0) lines.push("No transaction was sent.", "");
  else {
    lines.push("| Step | From | Transaction | Block | Gas used |", "| --- | --- | --- | ---: | ---: |");
    for (const step of report.steps) {
      const name = step.note === undefined ? step.step : `${step.step} (${cell(step.note)})`;
      lines.push(`| ${name} | ${code(step.from)} | ${code(step.txHash)} | ${step.block} | ${step.gasUsed} |`);
    }
    lines.push("");
  }

  lines.push("## Checks", "");
  lines.push("| Check | Result |", "| --- | --- |");
  for (const check of report.checks)
    lines.push(`| [${cell(check.title)}](#${anchor(check.title, check.status)}) | ${STATUS[check.status]} |`);
  lines.push("");
  for (const check of report.checks) {
    lines.push(`### ${check.title}: ${check.status.toUpperCase()}`, "");
    if (check.details.length === 0) lines.push("Nothing to report.");
    for (const detail of check.details) lines.push(`- ${detail}`);
    lines.push("");
  }

  lines.push("## Events", "");
  if (report.events.length === 0) lines.push("The execution emitted no event.", "");
  else {
    lines.push("| # | Contract | Event | Arguments |", "| ---: | --- | --- | --- |");
    report.events.forEach((event, i) => {
      const signature = event.signature === null ? `unknown ${code(event.topic0)}` : code(event.signature);
      lines.push(`| ${i + 1} | ${cell(event.contract)} | ${signature} | ${cell(eventArguments(event))} |`);
    });
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** GitHub's heading anchor for `### <title>: <STATUS>`: lowercase, punctuation dropped, spaces to dashes. */
function anchor(title: string, status: CheckStatus): string {
  return `${title}: ${status}`
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Plain JSON data with object keys sorted at every depth and bigints as decimal strings. */
function canonical(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** The report as JSON: keys sorted at every depth, two-space indent, a trailing newline. */
export function simulationJson(report: SimulationReport): string {
  return `${JSON.stringify(canonical(report), null, 2)}\n`;
}

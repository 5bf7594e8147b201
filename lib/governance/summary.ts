import type { ProposalCall, ProposalFile } from "./types.js";

/**
 * The Markdown summary written next to a proposal (README.md): what voters read. It is a pure
 * function of the proposal file (no clock, no paths other than those given), so regenerating it
 * gives the same bytes.
 */

export interface SummaryOptions {
  /** The path of proposal.json as the reader should pass it to `upgrade:simulate`. */
  proposalPath?: string;
  /** The path from the summary's directory to the repository root, for links to audits/ (default: links as written). */
  rootLink?: string;
  /** Things the builder noticed that do not stop the proposal (already paused contracts…). */
  warnings?: readonly string[];
}

/** Escapes what would break a table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function link(relative: string, options: SummaryOptions): string {
  const base =
    options.rootLink === undefined || options.rootLink === "" ? "" : `${options.rootLink.replace(/\/$/, "")}/`;
  return `[${relative}](${base}${relative})`;
}

function functionName(call: ProposalCall): string {
  return call.signature === null ? `\`${call.data.slice(0, 10)}\` (undecoded)` : `\`${call.signature}\``;
}

/** The decoded arguments as an indented list; nested calls (an upgrade's) one level deeper. */
function argumentLines(args: Record<string, unknown>, indent: string): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(args)) {
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "signature" in value) {
      const inner = value as { signature: string; args: Record<string, unknown> };
      lines.push(`${indent}- \`${name}\`: call \`${inner.signature}\``);
      lines.push(...argumentLines(inner.args, `${indent}  `));
    } else {
      lines.push(`${indent}- \`${name}\`: \`${typeof value === "string" ? value : JSON.stringify(value)}\``);
    }
  }
  return lines;
}

/** The README.md of a proposal. */
export function renderProposalSummary(proposal: ProposalFile, options: SummaryOptions = {}): string {
  const actions = proposal.actions ?? [proposal.action];
  const lines: string[] = [
    `# ${proposal.title}`,
    "",
    `Governance proposal on chain ${proposal.chainId} (${actions.map((a) => `\`${a}\``).join(", ")}), built by \`npx hardhat upgrade:propose\`.`,
    "",
    "| | |",
    "| --- | --- |",
    `| Proposer | \`${proposal.proposer}\` |`,
    `| Governor | \`${proposal.governor}\` |`,
    `| Timelock | \`${proposal.timelock}\` |`,
    `| Proposal id | \`${proposal.proposalId}\` |`,
    `| Description hash | \`${proposal.descriptionHash}\` |`,
    `| Timelock operation id | \`${proposal.timelockOperationId}\` |`,
    `| Calls | ${proposal.calls.length} |`,
    "",
    "## Calls",
    "",
    "| # | Contract | Function | Value (wei) | Review |",
    "| --- | --- | --- | --- | --- |",
  ];
  proposal.calls.forEach((call, i) => {
    const review = call.audit === undefined ? "" : link(call.audit, options);
    lines.push(`| ${i + 1} | ${cell(call.contract)} | ${cell(functionName(call))} | ${call.value} | ${cell(review)} |`);
  });
  lines.push("");
  proposal.calls.forEach((call, i) => {
    lines.push(`### ${i + 1}. ${call.contract}: ${call.signature ?? "undecoded call"}`, "");
    lines.push(call.summary, "");
    lines.push(`- target: \`${call.target}\``, `- value: ${call.value} wei`);
    const args = argumentLines(call.args, "  ");
    if (args.length > 0) lines.push("- arguments:", ...args);
    if (call.audit !== undefined) lines.push(`- review: ${link(call.audit, options)}`);
    lines.push(`- calldata: \`${call.data}\``, "");
  });

  lines.push("## Expected upgrades", "");
  if (proposal.upgrades.length === 0) {
    lines.push("This proposal upgrades no proxy.", "");
  } else {
    lines.push(
      "| Proxy | Address | Implementation before | Implementation after | Contract | version() |",
      "| --- | --- | --- | --- | --- | --- |",
    );
    for (const upgrade of proposal.upgrades) {
      lines.push(
        `| ${upgrade.name} | \`${upgrade.proxy}\` | \`${upgrade.implementationBefore}\` | \`${upgrade.implementation}\` | ${upgrade.contractName} | \`${upgrade.version}\` |`,
      );
    }
    lines.push(
      "",
      "Each new implementation was deployed by hardhat-upgrades `prepareUpgrade`, which validated it against the implementation the proxy runs.",
      "",
    );
  }

  if (options.warnings !== undefined && options.warnings.length > 0) {
    lines.push("## Warnings", "", ...options.warnings.map((warning) => `- ${warning}`), "");
  }

  const file = options.proposalPath ?? "proposal.json";
  lines.push(
    "## Simulate before voting",
    "",
    "Rehearse the whole proposal (propose, vote, queue, wait the timelock's delay, execute) on a fork or a local node, with the post-checks:",
    "",
    "```sh",
    `npx hardhat upgrade:simulate --proposal ${file}`,
    "```",
    "",
    "## Without the Governor: a Safe",
    "",
    "`safe-batch.json` holds the same calls as a Safe{Wallet} Transaction Builder batch, for a Safe that holds the roles itself and executes them directly (no vote, no timelock). Import it in the Transaction Builder; each transaction carries its exact calldata.",
    "",
    "## Description",
    "",
    "The exact description the Governor hashes (it ends with the proposer suffix, which only that address may propose with):",
    "",
    "````text",
    proposal.description,
    "````",
    "",
  );
  return lines.join("\n");
}

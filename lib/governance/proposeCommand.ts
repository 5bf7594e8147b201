import { readFile } from "node:fs/promises";
import path from "node:path";
import { getAddress, type Signer } from "ethers";
import { deployGovernedStack } from "../../deploy/governedStack.js";
import type { DeployContext } from "../../deploy/steps.js";
import { writeFileAtomically } from "../files.js";
import { ProposalInputError, parseActions, type ImplementationPreparer } from "./actions/index.js";
import { composeProposal } from "./compose.js";
import { DescriptionError } from "./description.js";
import { proposalDescription, submitProposal, type SubmittedProposal } from "./proposal.js";
import { buildSafeBatch } from "./safeBatch.js";
import { renderProposalSummary } from "./summary.js";
import type { ProposalFile } from "./types.js";

/**
 * `upgrade:propose` without Hardhat: the options checked (nothing sent before they are), the
 * proposal composed, its three files written, and with `submit` proposed. tasks/upgrade-propose.ts
 * parses the options and opens the network.
 */

/** The task's options as typed ("" = not given). */
export interface ProposeOptions {
  action: string;
  title: string;
  body: string;
  bodyFile: string;
  proposer: string;
  upgrade: string;
  upgradeCall: string;
  operator: string;
  snapshot: string;
  calls: string;
  safe: string;
  out: string;
  submit: boolean;
  json: boolean;
}

/** The refusals the task prints as one line with exit code 1. */
export function isProposeRefusal(error: unknown): error is Error {
  return error instanceof ProposalInputError || error instanceof DescriptionError;
}

/** The marker of OpenZeppelin's front-running guard; the toolkit appends it itself. */
const PROPOSER_MARKER = "#proposer=";

/** Checks what needs no chain: actions, title, body, addresses. Returns the actions and the body. */
export async function checkProposeOptions(args: ProposeOptions) {
  const actions = parseActions(args.action);
  if (args.title.trim() === "") throw new ProposalInputError("Give the proposal a --title.");
  if (args.body !== "" && args.bodyFile !== "") throw new ProposalInputError("Give --body or --body-file, not both.");
  let body = args.body;
  if (args.bodyFile !== "") {
    try {
      body = (await readFile(args.bodyFile, "utf8")).trimEnd();
    } catch (error) {
      throw new ProposalInputError(
        `--body-file ${args.bodyFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
      );
    }
  }
  for (const [option, text] of [
    ["--title", args.title],
    [args.bodyFile === "" ? "--body" : "--body-file", body],
  ] as const) {
    if (text.includes(PROPOSER_MARKER)) {
      throw new DescriptionError(
        `${option} contains "${PROPOSER_MARKER}": leave it out, the toolkit appends "${PROPOSER_MARKER}<proposer>" as the description's very end (text after it would silently disable the front-running guard).`,
      );
    }
  }
  for (const [option, value] of [
    ["--proposer", args.proposer],
    ["--operator", args.operator],
    ["--safe", args.safe],
  ] as const) {
    if (value !== "" && !/^0x[0-9a-fA-F]{40}$/.test(value)) {
      throw new ProposalInputError(`${option} "${value}" is not an address.`);
    }
  }
  return { actions, body };
}

/** `proposals/<chainId>/<actions>-<first 8 digits of the id>/`. */
function defaultOut(proposal: ProposalFile): string {
  const actions = proposal.actions ?? [proposal.action];
  return path.join("proposals", String(proposal.chainId), `${actions.join("-")}-${proposal.proposalId.slice(0, 8)}`);
}

/** Where the proposal is built: the network (with its signer and record), the preparer, the project root. */
export interface ProposeEnvironment {
  ctx: DeployContext & { deployer: Signer & { address: string } };
  /** The in-process chain, new on every run: it gets a governed stack to propose to. */
  inProcess: boolean;
  preparer: ImplementationPreparer;
  root: string;
  /** What goes to stdout (the proposal as JSON, where the files went, the submission). */
  print: (text: string) => void;
  /** Warnings, one line each (stderr). */
  warn: (line: string) => void;
}

/** What was done: the proposal, the files written (unless `json`), the submission (with `submit`). */
export interface ProposeResult {
  proposal: ProposalFile;
  written?: { dir: string; files: string[] };
  submitted?: SubmittedProposal;
}

export async function runPropose(args: ProposeOptions, env: ProposeEnvironment): Promise<ProposeResult> {
  const { ctx, root, print } = env;
  const { actions, body } = await checkProposeOptions(args);
  const signer = getAddress(ctx.deployer.address);
  const proposer = args.proposer === "" ? signer : getAddress(args.proposer);
  if (args.submit && proposer !== signer) {
    throw new ProposalInputError(
      `--submit proposes from the signer ${signer}, but the description binds the proposer ${proposer}: only that address can propose it. Run with its key, or drop --proposer.`,
    );
  }
  // The description is built (and checked) before anything is deployed.
  proposalDescription(args.title, body, proposer);

  if (env.inProcess && ctx.store.get("FabstirGovernor") === undefined) {
    await deployGovernedStack({ ...ctx, log: () => {} }, { treasury: ctx.deployer.address });
    print(
      "In-process chain: deployed a governed development stack (Governor, timelock, V1 and V2 under the timelock) to propose to.",
    );
  }
  const snapshot =
    args.snapshot === "" ? path.join(root, "snapshots", `v1-${ctx.chainId}.ndjson`) : path.resolve(args.snapshot);
  const calls = args.calls === "" ? "" : path.resolve(args.calls);
  const { proposal, warnings } = await composeProposal(
    {
      provider: ctx.ethers.provider,
      chainId: ctx.chainId,
      record: ctx.store.record,
      preparer: env.preparer,
      proposer,
      root,
    },
    {
      actions,
      options: { upgrade: args.upgrade, upgradeCall: args.upgradeCall, operator: args.operator, snapshot, calls },
      title: args.title,
      body,
    },
  );
  for (const warning of warnings) env.warn(`Warning: ${warning}`);
  const result: ProposeResult = { proposal };
  if (args.json) print(JSON.stringify(proposal, null, 2));
  else {
    const written = await writeProposalFiles(proposal, warnings, args, root);
    result.written = written;
    const shown = path.relative(process.cwd(), written.dir) || ".";
    print(`Proposal ${proposal.proposalId} (${proposal.calls.length} calls) written to ${shown}:`);
    for (const file of written.files) print(`  ${path.join(shown, file)}`);
  }
  if (args.submit) {
    const submitted = await submitProposal(proposal, ctx.deployer);
    result.submitted = submitted;
    print(
      `Proposed in transaction ${submitted.txHash} (block ${submitted.blockNumber}): proposal id ${submitted.proposalId}.`,
    );
  }
  return result;
}

/** proposal.json, safe-batch.json and README.md in `--out` (default `defaultOut`). */
async function writeProposalFiles(
  proposal: ProposalFile,
  warnings: string[],
  args: ProposeOptions,
  root: string,
): Promise<{ dir: string; files: string[] }> {
  const out = path.resolve(root, args.out === "" ? defaultOut(proposal) : args.out);
  const text = proposal.description.slice(0, proposal.description.lastIndexOf(PROPOSER_MARKER)).trim();
  const batch = buildSafeBatch({
    chainId: proposal.chainId,
    name: proposal.title,
    description: text,
    calls: proposal.calls,
    ...(args.safe === "" ? {} : { safe: args.safe }),
  });
  const summary = renderProposalSummary(proposal, {
    proposalPath: path.relative(root, path.join(out, "proposal.json")),
    rootLink: path.relative(out, root).split(path.sep).join("/"),
    warnings,
  });
  await writeFileAtomically(path.join(out, "proposal.json"), `${JSON.stringify(proposal, null, 2)}\n`);
  await writeFileAtomically(path.join(out, "safe-batch.json"), `${JSON.stringify(batch, null, 2)}\n`);
  await writeFileAtomically(path.join(out, "README.md"), summary);
  return { dir: out, files: ["proposal.json", "safe-batch.json", "README.md"] };
}

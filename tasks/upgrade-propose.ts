import { readFile } from "node:fs/promises";
import path from "node:path";
import { getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { deployGovernedStack } from "../deploy/governedStack.js";
import { upgradesPreparer } from "../deploy/preparer.js";
import { writeFileAtomically } from "../lib/files.js";
import { ProposalInputError, parseActions } from "../lib/governance/actions/index.js";
import { composeProposal } from "../lib/governance/compose.js";
import { DescriptionError } from "../lib/governance/description.js";
import { proposalDescription, submitProposal } from "../lib/governance/proposal.js";
import { buildSafeBatch } from "../lib/governance/safeBatch.js";
import { renderProposalSummary } from "../lib/governance/summary.js";
import type { ProposalFile } from "../lib/governance/types.js";
import { openTaskContext } from "./context.js";

interface UpgradeProposeArguments {
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

/** The marker of OpenZeppelin's front-running guard; the toolkit appends it itself. */
const PROPOSER_MARKER = "#proposer=";

/** Checks what needs no chain: actions, title, body, addresses. Returns the actions and the body. */
async function checkArguments(args: UpgradeProposeArguments) {
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

export default async function upgradeProposeAction(
  args: UpgradeProposeArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  try {
    await propose(args, hre);
  } catch (error) {
    if (error instanceof ProposalInputError || error instanceof DescriptionError) {
      console.error(`Error: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

async function propose(args: UpgradeProposeArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  const root = hre.config.paths.root;
  const { actions, body } = await checkArguments(args);

  const ctx = await openTaskContext(hre);
  const signer = getAddress(ctx.deployer.address);
  const proposer = args.proposer === "" ? signer : getAddress(args.proposer);
  if (args.submit && proposer !== signer) {
    throw new ProposalInputError(
      `--submit proposes from the signer ${signer}, but the description binds the proposer ${proposer}: only that address can propose it. Run with its key, or drop --proposer.`,
    );
  }
  // The description is built (and checked) before anything is deployed.
  proposalDescription(args.title, body, proposer);

  if (ctx.connection.networkConfig.type === "edr-simulated" && ctx.store.get("FabstirGovernor") === undefined) {
    // The in-process chain is new on every run: give it the governed shape of Base to propose to.
    await deployGovernedStack({ ...ctx, log: () => {} }, { treasury: ctx.deployer.address });
    console.log(
      "In-process chain: deployed a governed development stack (Governor, timelock, V1 and V2 under the timelock) to propose to.",
    );
  }
  const snapshot =
    args.snapshot === "" ? path.join(root, "snapshots", `v1-${ctx.chainId}.ndjson`) : path.resolve(args.snapshot);
  const { proposal, warnings } = await composeProposal(
    {
      provider: ctx.ethers.provider,
      chainId: ctx.chainId,
      record: ctx.store.record,
      preparer: upgradesPreparer({
        ethers: ctx.ethers,
        upgrades: ctx.upgrades,
        signer: ctx.deployer,
        artifacts: hre.artifacts,
      }),
      proposer,
      root,
    },
    {
      actions,
      options: {
        upgrade: args.upgrade,
        upgradeCall: args.upgradeCall,
        operator: args.operator,
        snapshot,
        calls: args.calls === "" ? "" : path.resolve(args.calls),
      },
      title: args.title,
      body,
    },
  );
  for (const warning of warnings) console.error(`Warning: ${warning}`);
  const calls = proposal.calls;

  if (args.json) {
    process.stdout.write(`${JSON.stringify(proposal, null, 2)}\n`);
  } else {
    const out = path.resolve(root, args.out === "" ? defaultOut(proposal) : args.out);
    const text = proposal.description.slice(0, proposal.description.lastIndexOf(PROPOSER_MARKER)).trim();
    const batch = buildSafeBatch({
      chainId: ctx.chainId,
      name: proposal.title,
      description: text,
      calls,
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
    const shown = path.relative(process.cwd(), out) || ".";
    console.log(`Proposal ${proposal.proposalId} (${proposal.calls.length} calls) written to ${shown}:`);
    for (const file of ["proposal.json", "safe-batch.json", "README.md"]) {
      console.log(`  ${path.join(shown, file)}`);
    }
  }

  if (args.submit) {
    const submitted = await submitProposal(proposal, ctx.deployer);
    console.log(
      `Proposed in transaction ${submitted.txHash} (block ${submitted.blockNumber}): proposal id ${submitted.proposalId}.`,
    );
  }
}

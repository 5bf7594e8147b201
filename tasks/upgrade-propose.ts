import { readFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatUpgrades } from "@openzeppelin/hardhat-upgrades";
import { getAddress, type Signer } from "ethers";
import type { ArtifactManager } from "hardhat/types/artifacts";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DEFAULT_GOVERNANCE_PARAMETERS, deployGovernance } from "../deploy/governance.js";
import { DEFAULT_V1_PARAMETERS, deployV1 } from "../deploy/v1.js";
import { deployV2 } from "../deploy/v2.js";
import { writeFileAtomically } from "../lib/files.js";
import {
  ProposalInputError,
  buildActions,
  parseActions,
  requireRecorded,
  type ImplementationPreparer,
} from "../lib/governance/actions/index.js";
import { decodeCalls } from "../lib/governance/decode.js";
import { DescriptionError } from "../lib/governance/description.js";
import { buildProposal, proposalDescription, submitProposal } from "../lib/governance/proposal.js";
import { buildSafeBatch } from "../lib/governance/safeBatch.js";
import { renderProposalSummary } from "../lib/governance/summary.js";
import type { ProposalFile } from "../lib/governance/types.js";
import { openTaskContext, type TaskContext } from "./context.js";

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

/** The parts of an artifact that identify deployed code (immutables differ per deployment). */
interface DeployedArtifact {
  deployedBytecode: string;
  immutableReferences?: Record<string, readonly { start: number; length: number }[]>;
}

/** Runtime code with its immutable values zeroed, as hex without 0x. */
function maskImmutables(code: string, artifact: DeployedArtifact): string {
  const bytes = Buffer.from(code.replace(/^0x/, ""), "hex");
  // Other code of another length is no match; its immutable ranges would not fit either.
  if (bytes.length !== (artifact.deployedBytecode.length - 2) / 2) return "";
  for (const ranges of Object.values(artifact.immutableReferences ?? {})) {
    for (const { start, length } of ranges) bytes.fill(0, start, start + length);
  }
  return bytes.toString("hex");
}

/**
 * `prepareUpgrade` through hardhat-upgrades: validates the new implementation against the one the
 * proxy runs and deploys it once. A proxy deployed by another process is not in the plugin's
 * manifest: its current implementation is identified among `current` by its code and imported
 * with `forceImport` first.
 */
export function upgradesPreparer(env: {
  ethers: HardhatEthers;
  upgrades: HardhatUpgrades;
  signer: Signer;
  artifacts: ArtifactManager;
}): ImplementationPreparer {
  const prepare = async (proxy: string, contractName: string) =>
    (await env.upgrades.prepareUpgrade(proxy, await env.ethers.getContractFactory(contractName, env.signer), {
      kind: "uups",
    })) as string;
  return {
    async prepareUpgrade(proxy, contractName, current) {
      try {
        return await prepare(proxy, contractName);
      } catch (error) {
        if (!/is not registered/.test((error as Error).message)) throw error;
      }
      const implementation = await env.upgrades.erc1967.getImplementationAddress(proxy);
      const code = await env.ethers.provider.getCode(implementation);
      for (const name of current) {
        const artifact = (await env.artifacts.readArtifact(name)) as unknown as DeployedArtifact;
        const masked = maskImmutables(code, artifact);
        if (masked === "" || masked !== maskImmutables(artifact.deployedBytecode, artifact)) continue;
        await env.upgrades.forceImport(proxy, await env.ethers.getContractFactory(name, env.signer), { kind: "uups" });
        return prepare(proxy, contractName);
      }
      throw new Error(
        `The proxy ${proxy} is not in hardhat-upgrades' manifest and its implementation ${implementation} is none of ${current.join(
          ", ",
        )}: import it with upgrades.forceImport(proxy, <its contract factory>, { kind: "uups" }) first.`,
      );
    },
  };
}

/**
 * On the in-process chain (new on every run) there is nothing to propose to: deploy the governed
 * shape of a chain first, as on Base (Governor and timelock, V1 and V2 under the timelock, the
 * signer holding the FAB supply delegated to itself), so the task can be tried from a fresh clone.
 */
async function deployGovernedDevStack(ctx: TaskContext): Promise<void> {
  const deployContext = { ...ctx, log: () => {} };
  const governance = await deployGovernance(deployContext, {
    ...DEFAULT_GOVERNANCE_PARAMETERS,
    holder: ctx.deployer.address,
  });
  await (await governance.token.delegate(ctx.deployer.address)).wait();
  const timelock = await governance.timelock.getAddress();
  const v1 = await deployV1(deployContext, {
    ...DEFAULT_V1_PARAMETERS,
    admin: timelock,
    treasury: ctx.deployer.address,
  });
  await deployV2(deployContext, {
    ...DEFAULT_V1_PARAMETERS,
    admin: timelock,
    migrator: timelock,
    treasury: ctx.deployer.address,
    tokens: [await v1.usdc.getAddress()],
  });
  console.log(
    "In-process chain: deployed a governed development stack (Governor, timelock, V1 and V2 under the timelock) to propose to.",
  );
}

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
    await deployGovernedDevStack(ctx);
  }
  const record = ctx.store.record;
  const governor = requireRecorded(record, "FabstirGovernor", "A proposal");
  const timelock = requireRecorded(record, "FabstirTimelock", "A proposal");
  const snapshot =
    args.snapshot === "" ? path.join(root, "snapshots", `v1-${ctx.chainId}.ndjson`) : path.resolve(args.snapshot);

  const built = await buildActions(
    actions,
    {
      upgrade: args.upgrade,
      upgradeCall: args.upgradeCall,
      operator: args.operator,
      snapshot,
      calls: args.calls === "" ? "" : path.resolve(args.calls),
    },
    {
      provider: ctx.ethers.provider,
      chainId: ctx.chainId,
      record,
      preparer: upgradesPreparer({
        ethers: ctx.ethers,
        upgrades: ctx.upgrades,
        signer: ctx.deployer,
        artifacts: hre.artifacts,
      }),
    },
  );
  for (const warning of built.warnings) console.error(`Warning: ${warning}`);

  const calls = decodeCalls(built.calls, { record, upgrades: built.upgrades, root });
  const proposal = buildProposal({
    action: actions,
    chainId: ctx.chainId,
    governor,
    timelock,
    proposer,
    title: args.title,
    body,
    calls,
    upgrades: built.upgrades,
  });

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
      warnings: built.warnings,
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

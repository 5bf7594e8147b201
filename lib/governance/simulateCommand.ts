import { existsSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { getAddress, isAddress, type Signer } from "ethers";
import { prepareGovernedCutover } from "../../deploy/governedMigration.js";
import type { DeployContext } from "../../deploy/steps.js";
import { FabstirGovernor__factory } from "../../typechain-types/index.js";
import type { DeploymentRecord } from "../deployments.js";
import { writeFileAtomically } from "../files.js";
import type { ImplementationPreparer } from "./actions/index.js";
import { DescriptionError } from "./description.js";
import { ProposalFileError } from "./proposalFile.js";
import {
  governorAddress,
  governorFromBlock,
  proposalFileFromChain,
  ProposalRecoveryError,
  recoverProposal,
} from "./recover.js";
import { simulateProposal, SimulationError, type SimulationProvider } from "./simulate.js";
import type { SimulationReport } from "./simulation.js";
import { renderSimulationMarkdown } from "./simulationReport.js";
import type { ProposalFile } from "./types.js";
import { upgradesFromChain, type RuntimeArtifact } from "./upgradesFromChain.js";

/**
 * `upgrade:simulate` without Hardhat: which proposal (a file, an id on chain, or the local
 * cut-over scenario), the simulation, the report files and the verdict. tasks/upgrade-simulate.ts
 * parses the options, opens the network and prints.
 */

/** A mistake in the command line: reported as one line, not a stack trace. */
export class SimulateInputError extends Error {
  override name = "SimulateInputError";
}

/** The refusals the task prints as one line with exit code 1 (anything else is a bug: a stack trace). */
export function isSimulateRefusal(error: unknown): error is Error {
  return [SimulateInputError, ProposalFileError, ProposalRecoveryError, SimulationError, DescriptionError].some(
    (kind) => error instanceof kind,
  );
}

export const DEFAULT_REPORT_DIRECTORY = path.join("reports", "simulations");

/** `--report`, or the default directory when it is empty. */
export function reportDirectory(report: string): string {
  return report === "" ? DEFAULT_REPORT_DIRECTORY : report;
}

/** `--proposal` is a file when one exists at that path, a proposal id when it is a decimal number. */
export function proposalKind(proposal: string): "none" | "file" | "id" {
  if (proposal === "") return "none";
  if (existsSync(proposal) && statSync(proposal).isFile()) return "file";
  if (/^[0-9]+$/.test(proposal)) return "id";
  throw new SimulateInputError(
    `--proposal "${proposal}" is neither an existing file nor a decimal proposal id: give the JSON file upgrade:propose wrote, or the id it printed.`,
  );
}

/** `--voters a,b`: checksummed addresses, or undefined (the largest delegates vote). */
export function parseVoters(list: string): string[] | undefined {
  if (list.trim() === "") return undefined;
  return list.split(",").map((entry) => {
    const voter = entry.trim();
    if (!isAddress(voter)) throw new SimulateInputError(`--voters: "${voter}" is not an address.`);
    return getAddress(voter);
  });
}

/** The chain a simulation runs on. */
export interface SimulationChain {
  provider: SimulationProvider;
  chainId: number;
  record: DeploymentRecord;
  devChain: boolean;
}

/** Reads the project's compiled artifacts (Hardhat's `artifacts` fits). */
export interface ArtifactSource {
  getAllFullyQualifiedNames(): Promise<ReadonlySet<string>>;
  readArtifact(name: string): Promise<RuntimeArtifact>;
}

/** Every artifact with runtime code (interfaces and abstract contracts have none). */
export async function runtimeArtifacts(source: ArtifactSource): Promise<RuntimeArtifact[]> {
  const artifacts: RuntimeArtifact[] = [];
  for (const name of [...(await source.getAllFullyQualifiedNames())].sort()) {
    const artifact = await source.readArtifact(name);
    if (artifact.deployedBytecode.length > 2) artifacts.push(artifact);
  }
  return artifacts;
}

/**
 * A proposal already on chain, by id: its exact arguments from the Governor's ProposalCreated
 * event, its calls decoded and its upgrades derived from them (lib/governance/upgradesFromChain.ts),
 * so that the post-checks compare implementations and versions as for a file.
 */
export async function proposalById(
  chain: SimulationChain,
  id: bigint,
  options: { fromBlock: number; artifacts: readonly RuntimeArtifact[]; root?: string; governor?: string },
): Promise<ProposalFile> {
  const governor = governorAddress(options.governor ?? "", chain.record, chain.chainId);
  const recovered = await recoverProposal(chain.provider, governor, id, {
    fromBlock: governorFromBlock(chain.record, options.fromBlock, chain.devChain),
  });
  const timelock = await FabstirGovernor__factory.connect(governor, chain.provider).timelock();
  const upgrades = await upgradesFromChain(chain.provider, recovered, {
    record: chain.record,
    artifacts: options.artifacts,
  });
  return proposalFileFromChain(recovered, {
    chainId: chain.chainId,
    governor,
    timelock,
    record: chain.record,
    upgrades,
    ...(options.root === undefined ? {} : { root: options.root }),
  });
}

/** What a simulation produced: the report, its renderings, where they were written, the verdict. */
export interface SimulationOutcome {
  report: SimulationReport;
  markdown: string;
  json: string;
  /** The Markdown report's path (the JSON one is beside it). */
  file: string;
  passed: boolean;
  /** One line: passed, or which checks failed. */
  verdict: string;
}

/** Simulates `proposal`, writes `<id>.md` and `<id>.json` under `dir`, and says whether it passed. */
export async function simulateAndWrite(
  chain: SimulationChain,
  proposal: ProposalFile,
  options: { dir: string; voters?: string[]; fromBlock: number; log: (line: string) => void },
): Promise<SimulationOutcome> {
  const report = await simulateProposal({
    provider: chain.provider,
    proposal,
    record: chain.record,
    ...(options.voters === undefined ? {} : { voters: options.voters }),
    ...(options.fromBlock >= 0 ? { fromBlock: options.fromBlock } : {}),
    log: options.log,
  });
  const markdown = renderSimulationMarkdown(report);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const file = path.join(options.dir, `${report.proposalId}.md`);
  await writeFileAtomically(file, markdown);
  await writeFileAtomically(path.join(options.dir, `${report.proposalId}.json`), json);
  const failed = report.checks.filter((check) => check.status === "fail");
  const passed = failed.length === 0 && report.passed;
  const skipped = report.checks.filter((check) => check.status === "skip").length;
  const verdict = passed
    ? `Simulation passed: proposal ${report.proposalId} executed; ${report.checks.length - skipped} checks passed, ${skipped} skipped.`
    : `Simulation FAILED: ${failed.length} of ${report.checks.length} checks failed (${failed.map((check) => check.id).join(", ")}).`;
  return { report, markdown, json, file, passed, verdict };
}

/** Writes the proposal that was simulated beside its report (`<id>.proposal.json`), for reading with it. */
export async function writeSimulatedProposal(dir: string, proposal: ProposalFile): Promise<string> {
  const file = path.join(dir, `${proposal.proposalId}.proposal.json`);
  await writeFileAtomically(file, `${JSON.stringify(proposal, null, 2)}\n`);
  return file;
}

/** The seeded V1 of the local scenario: small enough to run in about a minute. */
export const LOCAL_SEED = { nodes: 12, jobs: 120, users: 12, seed: "upgrade:simulate" };

/**
 * The cut-over proposal of the local scenario (deploy/governedMigration.ts): the in-process chain
 * gets the governed shape of Base, a seeded V1, the freeze-and-open proposal executed, the
 * operator's copy and verification; the cut-over proposal is built as upgrade:propose builds it.
 */
export async function localCutoverProposal(
  ctx: DeployContext,
  options: { treasury: string; operator: Signer; preparer: ImplementationPreparer; root: string },
  log: (line: string) => void,
): Promise<ProposalFile> {
  const work = await mkdtemp(path.join(tmpdir(), "fabstir-simulate-"));
  log(
    `No --proposal: rehearsing the cut-over on the in-process chain (V1 under governance, ${LOCAL_SEED.nodes} nodes, ${LOCAL_SEED.jobs} jobs, ${LOCAL_SEED.users} users; freeze proposal executed, migration copied and verified).`,
  );
  const m = await prepareGovernedCutover(
    { ...ctx, log: () => {} },
    {
      seed: LOCAL_SEED,
      ...options,
      snapshotFile: path.join(work, "v1.ndjson"),
      journalDir: path.join(work, "journal"),
    },
  );
  log(
    `Freeze proposal ${m.openProposal.proposalId} executed; the operator copied V1 (verified: ${String(m.copy.verify?.verified)}).`,
  );
  log(`Cut-over proposal ${m.cutover.proposalId}: ${m.cutover.calls.length} calls.`);
  return m.cutover;
}

import { existsSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { getAddress, isAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { prepareGovernedCutover } from "../deploy/governedMigration.js";
import { upgradesPreparer } from "../deploy/preparer.js";
import { writeFileAtomically } from "../lib/files.js";
import { DescriptionError } from "../lib/governance/description.js";
import { loadProposalFile, ProposalFileError } from "../lib/governance/proposalFile.js";
import {
  governorFromBlock,
  proposalFileFromChain,
  ProposalRecoveryError,
  recoverProposal,
} from "../lib/governance/recover.js";
import { simulateProposal, SimulationError, type SimulationProvider } from "../lib/governance/simulate.js";
import { renderSimulationMarkdown } from "../lib/governance/simulationReport.js";
import type { ProposalFile } from "../lib/governance/types.js";
import { FabstirGovernor__factory } from "../typechain-types/index.js";
import { openTaskContext, type TaskContext } from "./context.js";
import { operatorWallet } from "./migrate-shared.js";

interface UpgradeSimulateArguments {
  proposal: string;
  voters: string;
  report: string;
  json: boolean;
  fromBlock: number;
}

/** A mistake in the command line: reported as one line, not a stack trace. */
class SimulateInputError extends Error {}

const DEFAULT_REPORT_DIRECTORY = path.join("reports", "simulations");

function reportDirectory(args: UpgradeSimulateArguments): string {
  return args.report === "" ? DEFAULT_REPORT_DIRECTORY : args.report;
}

/** `--proposal` is a file when one exists at that path, a proposal id when it is a decimal number. */
function proposalKind(proposal: string): "none" | "file" | "id" {
  if (proposal === "") return "none";
  if (existsSync(proposal) && statSync(proposal).isFile()) return "file";
  if (/^[0-9]+$/.test(proposal)) return "id";
  throw new SimulateInputError(
    `--proposal "${proposal}" is neither an existing file nor a decimal proposal id: give the JSON file upgrade:propose wrote, or the id it printed.`,
  );
}

function votersOf(list: string): string[] | undefined {
  if (list.trim() === "") return undefined;
  return list.split(",").map((entry) => {
    const voter = entry.trim();
    if (!isAddress(voter)) throw new SimulateInputError(`--voters: "${voter}" is not an address.`);
    return getAddress(voter);
  });
}

/** A proposal already on chain, by id: its exact arguments from the Governor's ProposalCreated event. */
async function proposalOnChain(ctx: TaskContext, id: bigint, fromBlock: number): Promise<ProposalFile> {
  const recorded = ctx.store.get("FabstirGovernor");
  if (recorded === undefined || !("address" in recorded)) {
    throw new SimulateInputError(
      `deployments/${ctx.chainId}.json records no FabstirGovernor: simulate a proposal file instead (--proposal <file>).`,
    );
  }
  const governor = getAddress(recorded.address);
  const provider = ctx.ethers.provider;
  const recovered = await recoverProposal(provider, governor, id, {
    fromBlock: governorFromBlock(ctx.store.record, fromBlock, ctx.devChain),
  });
  const timelock = await FabstirGovernor__factory.connect(governor, provider).timelock();
  return proposalFileFromChain(recovered, { chainId: ctx.chainId, governor, timelock, record: ctx.store.record });
}

export default async function upgradeSimulateAction(
  args: UpgradeSimulateArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  try {
    const kind = proposalKind(args.proposal);
    const voters = votersOf(args.voters);
    if (kind === "none") {
      const ctx = await openTaskContext(hre);
      if (ctx.connection.networkConfig.type !== "edr-simulated") {
        throw new SimulateInputError(
          "give --proposal <file|id>: the proposal JSON upgrade:propose wrote, or the id of a proposal on chain. Without it the task rehearses the local cut-over scenario, on the in-process chain only.",
        );
      }
      const proposal = await localCutoverProposal(ctx, hre);
      // What was rehearsed, for reading beside the report (upgrade:propose writes the same file).
      const file = path.join(reportDirectory(args), `${proposal.proposalId}.proposal.json`);
      await writeFileAtomically(file, `${JSON.stringify(proposal, null, 2)}\n`);
      console.error(`Cut-over proposal written to ${file}.`);
      await simulateAndReport(ctx, proposal, args, voters);
      return;
    }
    // A file is checked before the network is opened: a tampered one costs no build or RPC call.
    const file = kind === "file" ? await loadProposalFile(args.proposal) : undefined;
    const ctx = await openTaskContext(hre);
    const proposal = file ?? (await proposalOnChain(ctx, BigInt(args.proposal), args.fromBlock));
    await simulateAndReport(ctx, proposal, args, voters);
  } catch (error) {
    if (
      error instanceof SimulateInputError ||
      error instanceof ProposalFileError ||
      error instanceof ProposalRecoveryError ||
      error instanceof SimulationError ||
      error instanceof DescriptionError
    ) {
      console.error(`Error: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

/** Simulates `proposal`, prints the report, writes it, and sets a failing exit code when a check fails. */
async function simulateAndReport(
  ctx: TaskContext,
  proposal: ProposalFile,
  args: UpgradeSimulateArguments,
  voters: string[] | undefined,
): Promise<void> {
  const report = await simulateProposal({
    provider: ctx.ethers.provider as unknown as SimulationProvider,
    proposal,
    record: ctx.store.record,
    ...(voters === undefined ? {} : { voters }),
    ...(args.fromBlock >= 0 ? { fromBlock: args.fromBlock } : {}),
    // Progress goes to stderr: stdout carries only the report.
    log: (line) => console.error(line),
  });
  const markdown = renderSimulationMarkdown(report);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const dir = reportDirectory(args);
  await writeFileAtomically(path.join(dir, `${report.proposalId}.md`), markdown);
  await writeFileAtomically(path.join(dir, `${report.proposalId}.json`), json);
  const say = args.json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  if (args.json) process.stdout.write(json);
  else process.stdout.write(markdown.endsWith("\n") ? markdown : `${markdown}\n`);
  say(`Report written to ${path.join(dir, `${report.proposalId}.md`)} and .json.`);
  const failed = report.checks.filter((check) => check.status === "fail");
  if (failed.length > 0 || !report.passed) {
    process.exitCode = 1;
    say(
      `Simulation FAILED: ${failed.length} of ${report.checks.length} checks failed (${failed.map((check) => check.id).join(", ")}).`,
    );
    return;
  }
  const skipped = report.checks.filter((check) => check.status === "skip").length;
  say(
    `Simulation passed: proposal ${report.proposalId} executed; ${report.checks.length - skipped} checks passed, ${skipped} skipped.`,
  );
}

/** The seeded V1 of the local scenario: small enough to run in about a minute. */
const LOCAL_SEED = { nodes: 12, jobs: 120, users: 12, seed: "upgrade:simulate" };

/**
 * The cut-over proposal of the local scenario (deploy/governedMigration.ts): the in-process chain
 * gets the governed shape of Base, a seeded V1, the freeze-and-open proposal executed, the
 * operator's copy and verification; the cut-over proposal is built as upgrade:propose builds it,
 * and written beside the report.
 */
async function localCutoverProposal(ctx: TaskContext, hre: HardhatRuntimeEnvironment): Promise<ProposalFile> {
  const work = await mkdtemp(path.join(tmpdir(), "fabstir-simulate-"));
  console.error(
    `No --proposal: rehearsing the cut-over on the in-process chain (V1 under governance, ${LOCAL_SEED.nodes} nodes, ${LOCAL_SEED.jobs} jobs, ${LOCAL_SEED.users} users; freeze proposal executed, migration copied and verified).`,
  );
  const m = await prepareGovernedCutover(
    { ...ctx, log: () => {} },
    {
      seed: LOCAL_SEED,
      treasury: ctx.deployer.address,
      operator: await operatorWallet(ctx),
      preparer: upgradesPreparer({
        ethers: ctx.ethers,
        upgrades: ctx.upgrades,
        signer: ctx.deployer,
        artifacts: hre.artifacts,
      }),
      root: hre.config.paths.root,
      snapshotFile: path.join(work, "v1.ndjson"),
      journalDir: path.join(work, "journal"),
    },
  );
  const verify = m.copy.verify;
  console.error(
    `Freeze proposal ${m.openProposal.proposalId} executed; the operator copied V1 (verified: ${String(verify?.verified)}).`,
  );
  console.error(`Cut-over proposal ${m.cutover.proposalId}: ${m.cutover.calls.length} calls.`);
  return m.cutover;
}

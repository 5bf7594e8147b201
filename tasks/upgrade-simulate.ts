import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { upgradesPreparer } from "../deploy/preparer.js";
import { loadProposalFile } from "../lib/governance/proposalFile.js";
import * as simulate from "../lib/governance/simulateCommand.js";
import type { SimulationProvider } from "../lib/governance/simulate.js";
import { openTaskContext, type TaskContext } from "./context.js";
import { operatorWallet } from "./migrate-shared.js";

interface UpgradeSimulateArguments {
  proposal: string;
  voters: string;
  report: string;
  json: boolean;
  fromBlock: number;
  governor: string;
}

/** Options in, report out: the logic is lib/governance/simulateCommand.ts. Progress goes to stderr. */
export default async function upgradeSimulateAction(args: UpgradeSimulateArguments, hre: HardhatRuntimeEnvironment) {
  const dir = simulate.reportDirectory(args.report);
  const progress = (line: string) => console.error(line);
  try {
    const kind = simulate.proposalKind(args.proposal);
    const voters = simulate.parseVoters(args.voters);
    // A file is checked before the network is opened: a tampered one costs no build or RPC call.
    const file = kind === "file" ? await loadProposalFile(args.proposal) : undefined;
    const ctx = await openTaskContext(hre);
    // Read when used: the local scenario records the contracts it deploys.
    const chain = () => ({
      ...ctx,
      provider: ctx.ethers.provider as unknown as SimulationProvider,
      record: ctx.store.record,
    });
    let proposal = file;
    if (kind === "none") {
      proposal = await localCutover(ctx, hre);
    } else if (kind === "id") {
      const artifacts = await simulate.runtimeArtifacts(hre.artifacts as unknown as simulate.ArtifactSource);
      const options = { fromBlock: args.fromBlock, artifacts, root: hre.config.paths.root, governor: args.governor };
      proposal = await simulate.proposalById(chain(), BigInt(args.proposal), options);
    }
    if (kind !== "file") progress(`Proposal written to ${await simulate.writeSimulatedProposal(dir, proposal!)}.`);
    const outcome = await simulate.simulateAndWrite(chain(), proposal!, { ...args, dir, voters, log: progress });
    // stdout carries only the report (Markdown, or JSON with --json); the rest goes beside it.
    const say = args.json ? progress : (line: string) => console.log(line);
    process.stdout.write(args.json ? outcome.json : outcome.markdown);
    say(`Report written to ${outcome.file} and .json.`);
    say(outcome.verdict);
    if (!outcome.passed) process.exitCode = 1;
  } catch (error) {
    if (!simulate.isSimulateRefusal(error)) throw error;
    console.error(`Error: ${error.message}`);
    process.exitCode = 1;
  }
}

/** The local cut-over scenario, on the in-process chain only (it deploys and seeds a whole stack). */
async function localCutover(ctx: TaskContext, hre: HardhatRuntimeEnvironment) {
  if (ctx.connection.networkConfig.type !== "edr-simulated") {
    throw new simulate.SimulateInputError(
      "give --proposal <file|id>: the proposal JSON upgrade:propose wrote, or the id of a proposal on chain. Without it the task rehearses the local cut-over scenario, on the in-process chain only.",
    );
  }
  const env = { ethers: ctx.ethers, upgrades: ctx.upgrades, signer: ctx.deployer, artifacts: hre.artifacts };
  const options = { treasury: ctx.deployer.address, operator: await operatorWallet(ctx), root: hre.config.paths.root };
  return simulate.localCutoverProposal(ctx, { ...options, preparer: upgradesPreparer(env) }, (line) =>
    console.error(line),
  );
}

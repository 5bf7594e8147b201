import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ExecuteError, executeProposal } from "../lib/governance/execute.js";
import { governorAddress, governorFromBlock, ProposalRecoveryError } from "../lib/governance/recover.js";
import { openTaskContext } from "./context.js";

interface UpgradeExecuteArguments {
  proposalId: string;
  fromBlock: number;
  dryRun: boolean;
  governor: string;
}

/** A mistake in the command line: reported as one line, not a stack trace. */
class ExecuteInputError extends Error {}

export default async function upgradeExecuteAction(
  args: UpgradeExecuteArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  try {
    if (!/^[0-9]+$/.test(args.proposalId)) {
      throw new ExecuteInputError(
        `--proposal-id "${args.proposalId}" is not a decimal proposal id: give the id upgrade:propose printed.`,
      );
    }
    const ctx = await openTaskContext(hre);
    const governor = governorAddress(args.governor, ctx.store.record, ctx.chainId);
    const result = await executeProposal({
      runner: ctx.deployer,
      governor,
      id: BigInt(args.proposalId),
      fromBlock: governorFromBlock(ctx.store.record, args.fromBlock, ctx.devChain),
      dryRun: args.dryRun,
    });
    console.log(result.message);
  } catch (error) {
    if (error instanceof ExecuteInputError || error instanceof ExecuteError || error instanceof ProposalRecoveryError) {
      console.error(`Error: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

import { getAddress, type Signer } from "ethers";
import { FabstirGovernor__factory, type FabstirGovernor } from "../../typechain-types/index.js";
import { descriptionHash } from "./description.js";
import { clockModeOf, PROPOSAL_STATES, type ProposalStateName } from "./lifecycle.js";
import { recoverProposal, type RecoveredProposal } from "./recover.js";
import { describeRevert } from "./revert.js";
import { duration, formatVotes, isoTime } from "./format.js";

/**
 * Moves a passed proposal on, on any network: a Succeeded proposal is queued in the timelock, a
 * Queued one executed once the timelock's delay is over. Anyone may send these two calls; the
 * exact arguments come from the Governor's own `ProposalCreated` event (`recoverProposal`).
 */

export interface ExecuteOptions {
  /** Sends the transaction (any funded account: queue and execute are open to all). */
  runner: Signer;
  governor: string;
  id: bigint;
  /** Where the search for `ProposalCreated` starts (`governorFromBlock`). */
  fromBlock: number;
  /** Estimate the gas and send nothing. */
  dryRun?: boolean;
}

export interface ExecuteResult {
  /** The state the proposal was in. */
  state: "Succeeded" | "Queued";
  action: "queue" | "execute";
  /** False on a dry run. */
  sent: boolean;
  /** Gas used, or estimated on a dry run. */
  gas: bigint;
  txHash?: string;
  /** After a queue: when the timelock lets it execute (seconds since the epoch). */
  eta?: bigint;
  proposal: RecoveredProposal;
  /** One line on what was done and what comes next. */
  message: string;
}

/** The proposal cannot be queued or executed now; the message says why and when it can. */
export class ExecuteError extends Error {
  override name = "ExecuteError";
  constructor(
    message: string,
    readonly state: ProposalStateName | undefined,
  ) {
    super(message);
  }
}

export async function executeProposal(options: ExecuteOptions): Promise<ExecuteResult> {
  const { runner, id } = options;
  const provider = runner.provider;
  if (provider === null) throw new Error("the runner has no provider");
  const address = getAddress(options.governor);
  if ((await provider.getCode(address)) === "0x") {
    throw new ExecuteError(
      `No contract at the Governor address ${address}: check the network and the address.`,
      undefined,
    );
  }
  const governor = FabstirGovernor__factory.connect(address, runner);
  if ((await governor.proposalSnapshot(id)) === 0n) {
    throw new ExecuteError(`The Governor ${address} has no proposal ${id}: check the id and the network.`, undefined);
  }
  const state = PROPOSAL_STATES[Number(await governor.state(id))]!;
  if (state !== "Succeeded" && state !== "Queued") throw new ExecuteError(await explain(governor, id, state), state);

  const now = BigInt((await provider.getBlock("latest"))!.timestamp);
  if (state === "Queued") {
    const eta = await governor.proposalEta(id);
    if (eta > now) {
      throw new ExecuteError(
        `Queued: the timelock's delay ends at ${isoTime(eta)} (in ${duration(eta - now)}); run upgrade:execute again then.`,
        state,
      );
    }
  }

  const proposal = await recoverProposal(provider, address, id, { fromBlock: options.fromBlock });
  const args = [proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal.description)] as const;
  const action = state === "Succeeded" ? "queue" : "execute";
  const value = proposal.values.reduce((sum, v) => sum + v, 0n);
  const estimate = () =>
    action === "queue" ? governor.queue.estimateGas(...args) : governor.execute.estimateGas(...args, { value });
  let gas: bigint;
  try {
    gas = await estimate();
  } catch (error) {
    throw new ExecuteError(`${action} would revert: ${describeRevert(error)}. Nothing was sent.`, state);
  }
  if (options.dryRun === true) {
    return {
      state,
      action,
      sent: false,
      gas,
      proposal,
      message: `Dry run: ${action} of proposal ${id} would use about ${gas} gas${action === "execute" && value > 0n ? ` and send ${value} wei` : ""}; nothing was sent.`,
    };
  }
  const response = action === "queue" ? await governor.queue(...args) : await governor.execute(...args, { value });
  const receipt = await response.wait();
  if (receipt === null) throw new Error(`the ${action} transaction ${response.hash} has no receipt`);
  if (action === "queue") {
    const eta = await governor.proposalEta(id);
    return {
      state,
      action,
      sent: true,
      gas: receipt.gasUsed,
      txHash: receipt.hash,
      eta,
      proposal,
      message: `Queued proposal ${id} (transaction ${receipt.hash}); it can execute from ${isoTime(eta)}: run upgrade:execute again then.`,
    };
  }
  return {
    state,
    action,
    sent: true,
    gas: receipt.gasUsed,
    txHash: receipt.hash,
    proposal,
    message: `Executed proposal ${id} (transaction ${receipt.hash}, block ${receipt.blockNumber}).`,
  };
}

/** Why a proposal in `state` cannot be queued or executed, and what happens next. */
async function explain(governor: FabstirGovernor, id: bigint, state: ProposalStateName): Promise<string> {
  const runner = governor.runner!;
  const clockMode = await clockModeOf(await governor.getAddress(), runner);
  const when = async (timepoint: bigint): Promise<string> => {
    if (!clockMode.includes("mode=timestamp")) return `block ${timepoint}`;
    const now = BigInt((await runner.provider!.getBlock("latest"))!.timestamp);
    return timepoint > now ? `${isoTime(timepoint)} (in ${duration(timepoint - now)})` : isoTime(timepoint);
  };
  const tally = async (): Promise<string> => {
    const [against, inFavour, abstain] = await governor.proposalVotes(id);
    const quorum = await governor.quorum(await governor.proposalSnapshot(id));
    return `for ${formatVotes(inFavour)}, against ${formatVotes(against)}, abstain ${formatVotes(abstain)}; quorum ${formatVotes(quorum)}`;
  };
  switch (state) {
    case "Pending":
      return `Pending: voting starts after ${await when(await governor.proposalSnapshot(id))}; it can be queued once the vote has passed.`;
    case "Active":
      return `Active: voting ends at ${await when(await governor.proposalDeadline(id))} (${await tally()}); it can be queued once the vote has passed.`;
    case "Defeated":
      return `Defeated (${await tally()}): it can never run; propose it again.`;
    case "Canceled":
      return "Canceled: it can never run; propose it again.";
    case "Expired":
      return "Expired: it was not executed in time and can never run; propose it again.";
    default:
      return "Executed already: there is nothing left to do.";
  }
}

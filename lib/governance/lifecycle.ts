import type { ContractRunner, ContractTransactionReceipt } from "ethers";
import {
  FabstirGovernor__factory,
  FabstirTimelock__factory,
  FabstirVotes__factory,
} from "../../typechain-types/index.js";
import { descriptionHash } from "./description.js";
import type { ProposalCalls } from "./proposalId.js";

/**
 * A proposal's way through the Governor on a development chain: propose, wait out the voting
 * delay, vote, wait out the period, queue, wait the timelock's delay, execute. Time travels with
 * `evm_increaseTime` (timestamp clocks) or `hardhat_mine` (block-number clocks), which the
 * in-process chain, `npx hardhat node` and anvil all answer.
 */

/** A JSON-RPC endpoint that can travel in time (a development chain). */
export interface DevChainProvider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/** Governor `ProposalState` values, in the contract's order. */
export const PROPOSAL_STATES = [
  "Pending",
  "Active",
  "Canceled",
  "Defeated",
  "Succeeded",
  "Queued",
  "Expired",
  "Executed",
] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];

export interface ProposalToRun extends ProposalCalls {
  description: string;
}

/** Moves the Governor's clock past `units` (seconds or blocks, whichever the token counts). */
export async function advanceClock(provider: DevChainProvider, clockMode: string, units: bigint): Promise<void> {
  if (clockMode.includes("mode=timestamp")) {
    await provider.send("evm_increaseTime", [Number(units)]);
    await provider.send("evm_mine", []);
  } else {
    await provider.send("hardhat_mine", [`0x${units.toString(16)}`]);
  }
}

/** The Governor's clock mode, read from its token (ERC-6372); block numbers when the token does not say. */
export async function clockModeOf(governor: string, runner: ContractRunner): Promise<string> {
  const token = await FabstirGovernor__factory.connect(governor, runner).token();
  try {
    return await FabstirVotes__factory.connect(token, runner).CLOCK_MODE();
  } catch {
    return "mode=blocknumber&from=default";
  }
}

/**
 * Proposes (as `proposer`), has each voter vote for, and waits until voting ends: past
 * `proposalDeadline`, which a quorum reached late pushes back (GovernorPreventLateQuorum), not
 * merely the voting period. Returns the proposal id. Voters must hold delegated votes at the
 * proposal's snapshot.
 */
export async function proposeAndPass(
  provider: DevChainProvider,
  governorAddress: string,
  proposal: ProposalToRun,
  proposer: ContractRunner,
  voters: readonly ContractRunner[],
): Promise<bigint> {
  const governor = FabstirGovernor__factory.connect(governorAddress, proposer);
  const clockMode = await clockModeOf(governorAddress, proposer);
  const args: [string[], bigint[], string[], string] = [
    [...proposal.targets],
    [...proposal.values],
    [...proposal.calldatas],
    proposal.description,
  ];
  const id = await governor.propose.staticCall(...args);
  await (await governor.propose(...args)).wait();
  await advanceClock(provider, clockMode, (await governor.votingDelay()) + 1n);
  for (const voter of voters) await (await governor.connect(voter).castVote(id, 1)).wait();
  await advanceClockPast(provider, clockMode, await governor.clock(), await governor.proposalDeadline(id));
  return id;
}

/** Queues a succeeded proposal, waits the timelock's delay and executes it. Returns the execution receipt. */
export async function queueAndExecute(
  provider: DevChainProvider,
  governorAddress: string,
  proposal: ProposalToRun,
  runner: ContractRunner,
): Promise<ContractTransactionReceipt> {
  const governor = FabstirGovernor__factory.connect(governorAddress, runner);
  const hash = descriptionHash(proposal.description);
  const args: [string[], bigint[], string[], string] = [
    [...proposal.targets],
    [...proposal.values],
    [...proposal.calldatas],
    hash,
  ];
  await (await governor.queue(...args)).wait();
  const delay = await FabstirTimelock__factory.connect(await governor.timelock(), runner).getMinDelay();
  await provider.send("evm_increaseTime", [Number(delay) + 1]);
  await provider.send("evm_mine", []);
  const receipt = await (await governor.execute(...args)).wait();
  if (receipt === null) throw new Error("the execution transaction has no receipt");
  return receipt;
}

/** Moves a clock that reads `current` (seconds or blocks) until it reads more than `target`; nothing when it already does. */
export async function advanceClockPast(
  provider: DevChainProvider,
  clockMode: string,
  current: bigint,
  target: bigint,
): Promise<void> {
  if (current > target) return;
  await advanceClock(provider, clockMode, target - current + 1n);
}

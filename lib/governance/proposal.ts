import { getAddress, type ContractRunner } from "ethers";
import { FabstirGovernor__factory } from "../../typechain-types/index.js";
import { ProposalInputError } from "./actions/common.js";
import { DescriptionError, descriptionHash, proposerOf, withProposerSuffix } from "./description.js";
import { proposalId, timelockOperationId } from "./proposalId.js";
import {
  PROPOSAL_FORMAT,
  type ExpectedUpgrade,
  type ProposalAction,
  type ProposalCall,
  type ProposalFile,
} from "./types.js";

/** What a proposal is built from: the decoded calls and who proposes it to which Governor. */
export interface ProposalInput {
  /** The actions, in the order their calls were concatenated (the file's `action` is the first). */
  action: ProposalAction | readonly ProposalAction[];
  chainId: number;
  governor: string;
  timelock: string;
  proposer: string;
  title: string;
  body: string;
  calls: readonly ProposalCall[];
  upgrades: readonly ExpectedUpgrade[];
}

/**
 * `# <title>`, a blank line, the body and a blank line, then the toolkit's own
 * `#proposer=<address>` suffix. The title is one line; neither part may carry the marker.
 */
export function proposalDescription(title: string, body: string, proposer: string): string {
  const heading = title.trim();
  if (heading === "") throw new DescriptionError("The proposal needs a title (--title).");
  if (/[\r\n]/.test(heading)) throw new DescriptionError("The title must be one line: put the rest in the body.");
  const text = body === "" ? `# ${heading}\n\n` : `# ${heading}\n\n${body}\n\n`;
  const description = withProposerSuffix(text, proposer);
  // The suffix must be the very end, once: checked on the result, not only on the parts.
  proposerOf(description);
  return description;
}

/** The proposal file: the Governor's arguments, the description, its hash, the proposal and operation ids. */
export function buildProposal(input: ProposalInput): ProposalFile {
  const actions = typeof input.action === "string" ? [input.action] : [...input.action];
  if (actions.length === 0) throw new Error("buildProposal: no action");
  if (input.calls.length === 0) throw new Error("buildProposal: a proposal needs at least one call");
  const proposer = getAddress(input.proposer);
  const description = proposalDescription(input.title, input.body, proposer);
  const hash = descriptionHash(description);
  const targets = input.calls.map((call) => getAddress(call.target));
  const values = input.calls.map((call) => call.value);
  const calldatas = input.calls.map((call) => call.data);
  const ids = { targets, values: values.map((value) => BigInt(value)), calldatas };
  const governor = getAddress(input.governor);
  const file: ProposalFile = {
    format: PROPOSAL_FORMAT,
    action: actions[0]!,
    chainId: input.chainId,
    governor,
    timelock: getAddress(input.timelock),
    proposer,
    title: input.title.trim(),
    description,
    descriptionHash: hash,
    proposalId: proposalId(ids, hash).toString(),
    timelockOperationId: timelockOperationId(ids, governor, hash),
    targets,
    values,
    calldatas,
    calls: [...input.calls],
    upgrades: [...input.upgrades],
  };
  if (actions.length > 1) file.actions = actions;
  return file;
}

/** A proposal submitted to its Governor. */
export interface SubmittedProposal {
  txHash: string;
  blockNumber: number;
  proposalId: bigint;
}

/**
 * Calls the Governor's `propose` with the file's arguments, from `signer`, which must be the
 * proposer the description binds and hold the proposal threshold in votes. Refuses a file whose
 * id the Governor computes differently.
 */
export async function submitProposal(
  proposal: ProposalFile,
  signer: ContractRunner & { getAddress(): Promise<string> },
): Promise<SubmittedProposal> {
  const from = getAddress(await signer.getAddress());
  if (from !== getAddress(proposal.proposer)) {
    throw new ProposalInputError(
      `The description binds the proposer ${proposal.proposer}, but the signer is ${from}: only the proposer can submit it.`,
    );
  }
  const governor = FabstirGovernor__factory.connect(proposal.governor, signer);
  const id = await governor.hashProposal(
    proposal.targets,
    proposal.values,
    proposal.calldatas,
    proposal.descriptionHash,
  );
  if (id.toString() !== proposal.proposalId) {
    throw new ProposalInputError(
      `The Governor at ${proposal.governor} computes proposal id ${id}, the file says ${proposal.proposalId}: the file was changed or is for another Governor.`,
    );
  }
  const threshold = await governor.proposalThreshold();
  const votes = await governor.getVotes(from, (await governor.clock()) - 1n);
  if (votes < threshold) {
    throw new ProposalInputError(
      `${from} has ${votes} votes, below the proposal threshold of ${threshold}: delegate enough FAB to it first (votes count from the block after the delegation).`,
    );
  }
  const tx = await governor.propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description);
  const receipt = await tx.wait();
  return { txHash: tx.hash, blockNumber: receipt!.blockNumber, proposalId: id };
}

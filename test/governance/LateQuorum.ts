import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { DEFAULT_GOVERNANCE_PARAMETERS } from "../../deploy/governance.js";
import { descriptionHash, withProposerSuffix } from "../../lib/governance/description.js";
import {
  PROPOSAL_STATES,
  proposeAndPass,
  queueAndExecute,
  type ProposalToRun,
} from "../../lib/governance/lifecycle.js";
import { proposalId } from "../../lib/governance/proposalId.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";

/**
 * GovernorPreventLateQuorum on FabstirGovernor: a vote that reaches the quorum late moves the
 * deadline to `lateQuorumVoteExtension()` after it, so a large holder cannot pass an upgrade in
 * the last second of a vote; the extension itself changes only by proposal. FabstirVotes' clock is
 * the timestamp: every timepoint here is in seconds.
 */

const { time } = networkHelpers;
const FAB = 10n ** 18n;
const VOTE = { Against: 0, For: 1, Abstain: 2 } as const;
const EXTENSION = DEFAULT_GOVERNANCE_PARAMETERS.voteExtension;
const PERIOD = DEFAULT_GOVERNANCE_PARAMETERS.votingPeriod;

function stack(): Promise<GovernedFixture> {
  return networkHelpers.loadFixture(governedStack);
}

async function stateOf(f: GovernedFixture, id: bigint): Promise<string> {
  return PROPOSAL_STATES[Number(await f.governance.governor.state(id))]!;
}

/** Gives `account` `amount` FAB delegated to itself (before the proposal: votes count at its snapshot). */
async function votingPower(f: GovernedFixture, account: HardhatEthersSigner, amount: bigint): Promise<void> {
  const { token } = f.governance;
  await (await token.transfer(account.address, amount)).wait();
  await (await token.connect(account).delegate(account.address)).wait();
}

/** Proposes pausing the V1 NodeRegistry as signer 0 (the holder); returns the proposal and its id. */
async function proposePause(f: GovernedFixture, text: string): Promise<{ proposal: ProposalToRun; id: bigint }> {
  const registry = f.v1.registry;
  const proposal: ProposalToRun = {
    targets: [await registry.getAddress()],
    values: [0n],
    calldatas: [registry.interface.encodeFunctionData("pause")],
    description: withProposerSuffix(text, f.signers[0]!.address),
  };
  // propose reads the proposer's votes at clock() - 1: a delegation in the previous block must be past.
  await time.increase(1);
  const { governor } = f.governance;
  await (
    await governor.propose([...proposal.targets], [...proposal.values], [...proposal.calldatas], proposal.description)
  ).wait();
  return { proposal, id: proposalId(proposal, descriptionHash(proposal.description)) };
}

/** Casts `support` from `voter` in a block with timestamp `at`; returns the transaction. */
async function voteAt(f: GovernedFixture, voter: HardhatEthersSigner, id: bigint, support: number, at: bigint) {
  await time.setNextBlockTimestamp(at);
  const tx = await f.governance.governor.connect(voter).castVote(id, support);
  await tx.wait();
  return tx;
}

/** A proposal the Governor runs on itself through the timelock (its settings are `onlyGovernance`). */
async function settingsProposal(f: GovernedFixture, data: string, text: string): Promise<ProposalToRun> {
  return {
    targets: [await f.governance.governor.getAddress()],
    values: [0n],
    calldatas: [data],
    description: withProposerSuffix(text, f.signers[0]!.address),
  };
}

describe("governance: late quorum (GovernorPreventLateQuorum)", function () {
  this.timeout(120_000);

  it("is deployed with the default extension of two days, within the voting period", async () => {
    const { governor } = (await stack()).governance;
    expect(EXTENSION).to.equal(2n * 86_400n);
    expect(await governor.lateQuorumVoteExtension()).to.equal(EXTENSION);
    expect(EXTENSION).to.be.lessThanOrEqual(await governor.votingPeriod());
  });

  it("a quorum reached at the last second moves the deadline by the extension; the state stays Active until then", async () => {
    const f = await stack();
    const { governor } = f.governance;
    const { id } = await proposePause(f, "Pause V1");
    const scheduled = await governor.proposalDeadline(id);
    expect(scheduled).to.equal((await governor.proposalSnapshot(id)) + PERIOD);

    // The holder's 100M votes for, at the deadline itself: the last second the vote is open.
    const tx = await voteAt(f, f.signers[0]!, id, VOTE.For, scheduled);
    await expect(tx)
      .to.emit(governor, "ProposalExtended")
      .withArgs(id, scheduled + EXTENSION);
    expect(await governor.proposalDeadline(id)).to.equal(scheduled + EXTENSION);

    // Without the extension the vote would be Succeeded from here on.
    await time.increaseTo(scheduled + 1n);
    expect(await stateOf(f, id)).to.equal("Active");
    await time.increaseTo(scheduled + EXTENSION);
    expect(await stateOf(f, id)).to.equal("Active");
    await time.increase(1);
    expect(await stateOf(f, id)).to.equal("Succeeded");
  });

  it("the extension gives opponents the time to vote against a last-second swing and defeat it", async () => {
    const f = await stack();
    const { governor } = f.governance;
    const [, , whale, opponent, late] = f.signers;
    await votingPower(f, whale!, 10_000_000n * FAB);
    await votingPower(f, opponent!, 20_000_000n * FAB);
    await votingPower(f, late!, 1n * FAB);
    const { proposal, id } = await proposePause(f, "Pause V1");
    const deadline = await governor.proposalDeadline(id);

    // 10M for (above the 4M quorum) in the last minute; the holder of the rest abstains from voting.
    await voteAt(f, whale!, id, VOTE.For, deadline - 60n);
    expect(await governor.proposalDeadline(id)).to.equal(deadline - 60n + EXTENSION);
    // A day after the original end, the opponent still votes, and outweighs it.
    await voteAt(f, opponent!, id, VOTE.Against, deadline + 86_400n);
    // The quorum was already reached: a later vote does not move the deadline again.
    expect(await governor.proposalDeadline(id)).to.equal(deadline - 60n + EXTENSION);
    await time.increaseTo(deadline - 60n + EXTENSION + 1n);
    await expect(governor.connect(late!).castVote(id, VOTE.For))
      .to.be.revertedWithCustomError(governor, "GovernorUnexpectedProposalState")
      .withArgs(id, 3n /* Defeated */, ethers.toBeHex(1n << 1n, 32) /* Active */);
    expect(await stateOf(f, id)).to.equal("Defeated");
    await expect(
      governor.queue(
        [...proposal.targets],
        [...proposal.values],
        [...proposal.calldatas],
        descriptionHash(proposal.description),
      ),
    )
      .to.be.revertedWithCustomError(governor, "GovernorUnexpectedProposalState")
      .withArgs(id, 3n /* Defeated */, ethers.toBeHex(1n << 4n, 32) /* Succeeded */);
    expect(await f.v1.registry.paused()).to.equal(false);
  });

  it("a quorum reached early does not extend, nor does a late vote that leaves the quorum unreached", async () => {
    const f = await stack();
    const { governor } = f.governance;
    const [, , small] = f.signers;
    await votingPower(f, small!, 1_000_000n * FAB);

    const early = await proposePause(f, "Pause V1");
    const earlyDeadline = await governor.proposalDeadline(early.id);
    const snapshot = await governor.proposalSnapshot(early.id);
    await expect(voteAt(f, f.signers[0]!, early.id, VOTE.For, snapshot + 1n)).to.not.emit(governor, "ProposalExtended");
    expect(await governor.proposalDeadline(early.id)).to.equal(earlyDeadline);
    await time.increaseTo(earlyDeadline + 1n);
    expect(await stateOf(f, early.id)).to.equal("Succeeded");

    // 1M for at the last second: under the 4M quorum, so the vote ends on time, defeated.
    const short = await proposePause(f, "Pause V1, short of the quorum");
    const shortDeadline = await governor.proposalDeadline(short.id);
    await expect(voteAt(f, small!, short.id, VOTE.For, shortDeadline)).to.not.emit(governor, "ProposalExtended");
    expect(await governor.proposalDeadline(short.id)).to.equal(shortDeadline);
    await time.increase(1);
    expect(await stateOf(f, short.id)).to.equal("Defeated");
  });

  it("extends only a quorum reached less than the extension before the deadline (boundary to the second)", async () => {
    const f = await stack();
    const { governor } = f.governance;
    const onTime = await proposePause(f, "Pause V1");
    const late = await proposePause(f, "Pause V1, later");
    const onTimeDeadline = await governor.proposalDeadline(onTime.id);
    const lateDeadline = await governor.proposalDeadline(late.id);
    expect(lateDeadline).to.be.greaterThan(onTimeDeadline);

    // Exactly the extension before the deadline: the vote already ends that late.
    await expect(voteAt(f, f.signers[0]!, onTime.id, VOTE.For, onTimeDeadline - EXTENSION)).to.not.emit(
      governor,
      "ProposalExtended",
    );
    expect(await governor.proposalDeadline(onTime.id)).to.equal(onTimeDeadline);
    // One second later: one second longer.
    await expect(voteAt(f, f.signers[0]!, late.id, VOTE.Abstain, lateDeadline - EXTENSION + 1n))
      .to.emit(governor, "ProposalExtended")
      .withArgs(late.id, lateDeadline + 1n);
    expect(await governor.proposalDeadline(late.id)).to.equal(lateDeadline + 1n);
  });

  it("the extension is set only by proposal: a direct call reverts GovernorOnlyExecutor, the voting period bounds it", async () => {
    const f = await stack();
    const { governor, timelock } = f.governance;
    const [holder, , stranger] = f.signers;
    for (const caller of [holder!, stranger!]) {
      await expect(governor.connect(caller).setLateQuorumVoteExtension(3_600n))
        .to.be.revertedWithCustomError(governor, "GovernorOnlyExecutor")
        .withArgs(caller.address);
    }
    // Not even the timelock (the executor) outside a proposal the Governor is executing: the call
    // must be one the Governor queued, and its queue of governance calls is empty (a panic, 0x31).
    await networkHelpers.impersonateAccount(await timelock.getAddress());
    await networkHelpers.setBalance(await timelock.getAddress(), 10n ** 18n);
    const asTimelock = await ethers.getSigner(await timelock.getAddress());
    await expect(governor.connect(asTimelock).setLateQuorumVoteExtension(3_600n)).to.be.revertedWithPanic(0x31);
    expect(await governor.lateQuorumVoteExtension()).to.equal(EXTENSION);

    const address = await governor.getAddress();
    const shorter = await settingsProposal(
      f,
      governor.interface.encodeFunctionData("setLateQuorumVoteExtension", [3_600n]),
      "Late-quorum extension: one hour",
    );
    await proposeAndPass(ethers.provider, address, shorter, holder!, [holder!]);
    const receipt = await queueAndExecute(ethers.provider, address, shorter, holder!);
    await expect(receipt.hash).to.emit(governor, "LateQuorumVoteExtensionSet").withArgs(EXTENSION, 3_600n);
    expect(await governor.lateQuorumVoteExtension()).to.equal(3_600n);

    // Proposals voted from now on use the new extension.
    const { id } = await proposePause(f, "Pause V1");
    const deadline = await governor.proposalDeadline(id);
    await expect(voteAt(f, holder!, id, VOTE.For, deadline - 60n))
      .to.emit(governor, "ProposalExtended")
      .withArgs(id, deadline - 60n + 3_600n);

    // Above the voting period the Governor refuses it, even by proposal: the execution reverts.
    const tooLong = await settingsProposal(
      f,
      governor.interface.encodeFunctionData("setLateQuorumVoteExtension", [PERIOD + 1n]),
      "Late-quorum extension: longer than the vote",
    );
    await proposeAndPass(ethers.provider, address, tooLong, holder!, [holder!]);
    await expect(queueAndExecute(ethers.provider, address, tooLong, holder!))
      .to.be.revertedWithCustomError(governor, "GovernorPreventLateQuorumVoteExtensionTooLarge")
      .withArgs(PERIOD + 1n, PERIOD);
    expect(await governor.lateQuorumVoteExtension()).to.equal(3_600n);
  });

  it("the constructor checks the extension against the voting period it sets (at most equal)", async () => {
    const f = await stack();
    const { token, timelock } = f.governance;
    const factory = await ethers.getContractFactory("FabstirGovernor", f.signers[0]!);
    const args = (extension: bigint) =>
      [
        token.getAddress(),
        timelock.getAddress(),
        DEFAULT_GOVERNANCE_PARAMETERS.votingDelay,
        3_600n,
        DEFAULT_GOVERNANCE_PARAMETERS.proposalThreshold,
        DEFAULT_GOVERNANCE_PARAMETERS.quorumPercent,
        extension,
      ] as const;
    await expect(factory.deploy(...args(3_601n)))
      .to.be.revertedWithCustomError(factory, "GovernorPreventLateQuorumVoteExtensionTooLarge")
      .withArgs(3_601n, 3_600n);
    const atPeriod = await factory.deploy(...args(3_600n));
    expect(await atPeriod.lateQuorumVoteExtension()).to.equal(3_600n);
    const none = await factory.deploy(...args(0n));
    expect(await none.lateQuorumVoteExtension()).to.equal(0n);
  });
});

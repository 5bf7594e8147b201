import { expect } from "chai";
import { ExecuteError, executeProposal } from "../../lib/governance/execute.js";
import { duration } from "../../lib/governance/format.js";
import { advanceClockPast, PROPOSAL_STATES } from "../../lib/governance/lifecycle.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";
import { pauseAndUpgrade, proposeOnChain } from "../helpers/handProposal.js";
import { expectRejection } from "../helpers/rejections.js";

const CLOCK = "mode=timestamp";

async function toSnapshot(f: GovernedFixture, id: bigint) {
  const { governor, token } = f.governance;
  await advanceClockPast(ethers.provider, CLOCK, await token.clock(), await governor.proposalSnapshot(id));
}
async function toDeadline(f: GovernedFixture, id: bigint) {
  const { governor, token } = f.governance;
  await advanceClockPast(ethers.provider, CLOCK, await token.clock(), await governor.proposalDeadline(id));
}
const iso = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");

describe("governance: upgrade:execute (executeProposal)", function () {
  it("queues a succeeded proposal, refuses an early execute with the ready time, executes once ready", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const { governor } = f.governance;
    const proposal = await pauseAndUpgrade(f);
    const id = await proposeOnChain(f, proposal);
    await toSnapshot(f, id);
    await (await governor.castVote(id, 1)).wait();
    await toDeadline(f, id);
    // Anyone may queue and execute: a signer with no votes and no role does it.
    const runner = f.signers[4]!;
    const options = { runner, governor: await governor.getAddress(), id, fromBlock: 0 };

    const dryQueue = await executeProposal({ ...options, dryRun: true });
    expect(dryQueue).to.deep.include({ state: "Succeeded", action: "queue", sent: false });
    expect(dryQueue.gas).to.be.greaterThan(50_000n);
    expect(dryQueue.message).to.match(/^Dry run: queue of proposal \d+ would use about \d+ gas; nothing was sent\.$/);
    expect(PROPOSAL_STATES[Number(await governor.state(id))]).to.equal("Succeeded");

    const queued = await executeProposal(options);
    expect(queued).to.deep.include({ state: "Succeeded", action: "queue", sent: true });
    expect(queued.proposal.description).to.equal(proposal.description);
    expect(PROPOSAL_STATES[Number(await governor.state(id))]).to.equal("Queued");
    const eta = await governor.proposalEta(id);
    expect(queued.eta).to.equal(eta);
    expect(queued.message).to.equal(
      `Queued proposal ${id} (transaction ${queued.txHash}); it can execute from ${iso(eta)}: run upgrade:execute again then.`,
    );
    expect(await f.governance.timelock.isOperationPending(proposal.timelockOperationId)).to.equal(true);

    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const early = await expectRejection(
      executeProposal(options),
      ExecuteError,
      `Queued: the timelock's delay ends at ${iso(eta)} (in ${duration(eta - now)}); run upgrade:execute again then.`,
    );
    expect(early.state).to.equal("Queued");
    expect(duration(eta - now)).to.match(/^(1 d 23 h 59 min|2 d)$/);
    expect(await f.v1.registry.paused()).to.equal(false);

    await advanceClockPast(ethers.provider, CLOCK, now, eta);
    const dryExecute = await executeProposal({ ...options, dryRun: true });
    expect(dryExecute).to.deep.include({ state: "Queued", action: "execute", sent: false });
    expect(await f.v1.registry.paused()).to.equal(false);

    const executed = await executeProposal(options);
    expect(executed).to.deep.include({ state: "Queued", action: "execute", sent: true });
    const receipt = await ethers.provider.getTransactionReceipt(executed.txHash!);
    expect(receipt?.from).to.equal(runner.address);
    expect(executed.message).to.equal(
      `Executed proposal ${id} (transaction ${executed.txHash}, block ${receipt!.blockNumber}).`,
    );
    expect(PROPOSAL_STATES[Number(await governor.state(id))]).to.equal("Executed");
    expect(await f.v1.registry.paused()).to.equal(true);
    expect(
      await ethers.provider.getStorage(
        await f.v1.registry.getAddress(),
        ethers.toBeHex(BigInt(ethers.id("eip1967.proxy.implementation")) - 1n, 32),
      ),
    ).to.equal(ethers.zeroPadValue(proposal.upgrades[0]!.implementation.toLowerCase(), 32));

    await expectRejection(executeProposal(options), ExecuteError, "Executed already: there is nothing left to do.");
  });

  it("explains a pending, active, defeated or canceled proposal instead of sending", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const { governor } = f.governance;
    const runner = f.signers[4]!;
    const proposal = await pauseAndUpgrade(f);
    const id = await proposeOnChain(f, proposal);
    const options = { runner, governor: await governor.getAddress(), id, fromBlock: 0 };
    const snapshot = await governor.proposalSnapshot(id);
    const deadline = await governor.proposalDeadline(id);
    const pending = await expectRejection(
      executeProposal(options),
      ExecuteError,
      `Pending: voting starts after ${iso(snapshot)} (in `,
    );
    expect(pending.state).to.equal("Pending");

    await toSnapshot(f, id);
    await (await governor.castVote(id, 0)).wait();
    await expectRejection(
      executeProposal(options),
      ExecuteError,
      `Active: voting ends at ${iso(deadline)} (in 6 d 23 h 59 min) (for 0 votes, against 100,000,000 votes, abstain 0 votes; quorum 4,000,000 votes); it can be queued once the vote has passed.`,
    );
    await toDeadline(f, id);
    await expectRejection(
      executeProposal(options),
      ExecuteError,
      "Defeated (for 0 votes, against 100,000,000 votes, abstain 0 votes; quorum 4,000,000 votes): it can never run; propose it again.",
    );

    const canceled = await pauseAndUpgrade(f, { title: "Canceled" });
    const canceledId = await proposeOnChain(f, canceled);
    await (
      await governor.cancel(canceled.targets, canceled.values.map(BigInt), canceled.calldatas, canceled.descriptionHash)
    ).wait();
    await expectRejection(
      executeProposal({ ...options, id: canceledId }),
      ExecuteError,
      "Canceled: it can never run; propose it again.",
    );
    await expectRejection(
      executeProposal({ ...options, id: 42n }),
      ExecuteError,
      `The Governor ${options.governor} has no proposal 42: check the id and the network.`,
    );
    await expectRejection(
      executeProposal({ ...options, governor: runner.address }),
      ExecuteError,
      `No contract at the Governor address ${runner.address}`,
    );
  });

  it("refuses an execution that would revert, with the decoded error, and sends nothing", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const { governor } = f.governance;
    const registry = f.v1.registry;
    const proposal = await pauseAndUpgrade(f, {
      extra: [{ target: await registry.getAddress(), data: registry.interface.encodeFunctionData("pause") }],
    });
    const id = await proposeOnChain(f, proposal);
    await toSnapshot(f, id);
    await (await governor.castVote(id, 1)).wait();
    await toDeadline(f, id);
    const options = { runner: f.signers[4]!, governor: await governor.getAddress(), id, fromBlock: 0 };
    await executeProposal(options);
    await advanceClockPast(
      ethers.provider,
      CLOCK,
      BigInt((await ethers.provider.getBlock("latest"))!.timestamp),
      await governor.proposalEta(id),
    );
    const nonce = await ethers.provider.getTransactionCount(options.runner.address);
    await expectRejection(
      executeProposal(options),
      ExecuteError,
      "execute would revert: EnforcedPause(). Nothing was sent.",
    );
    expect(await ethers.provider.getTransactionCount(options.runner.address)).to.equal(nonce);
  });
});

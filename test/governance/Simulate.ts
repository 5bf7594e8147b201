import { expect } from "chai";
import type { TransactionReceipt } from "ethers";
import { PROPOSAL_STATES, advanceClockPast } from "../../lib/governance/lifecycle.js";
import {
  simulateProposal,
  SimulationError,
  type PostCheckInput,
  type PostChecks,
  type SimulationProvider,
} from "../../lib/governance/simulate.js";
import type { SimulationReport } from "../../lib/governance/simulation.js";
import type { ProposalFile } from "../../lib/governance/types.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";
import { handProposal, pauseAndUpgrade, proposeOnChain } from "../helpers/handProposal.js";
import { expectRejection } from "../helpers/rejections.js";

const FAB = 10n ** 18n;
/** EIP-1967: `keccak256("eip1967.proxy.implementation") - 1`. */
const IMPLEMENTATION_SLOT = ethers.toBeHex(BigInt(ethers.id("eip1967.proxy.implementation")) - 1n, 32);

/**
 * A minimal stand-in for lib/governance/checks (another branch): the implementation behind each
 * upgraded proxy, before and after, compared with the proposal's expectation.
 */
const implementationCheck: PostChecks<Record<string, string>> = {
  async observe({ provider, proposal }: PostCheckInput) {
    const slots: Record<string, string> = {};
    for (const upgrade of proposal.upgrades) {
      const word = await provider.getStorage(upgrade.proxy, IMPLEMENTATION_SLOT);
      slots[upgrade.proxy] = ethers.getAddress(`0x${word.slice(26)}`);
    }
    return slots;
  },
  async runChecks({ proposal, before, after, execution }) {
    const details = proposal.upgrades.map(
      (u) => `${u.name}: ${before[u.proxy]} → ${after[u.proxy]} (expected ${u.implementation})`,
    );
    const ok = proposal.upgrades.every((u) => after[u.proxy] === u.implementation);
    return {
      checks: [{ id: "implementations", title: "Implementations", status: ok ? "pass" : "fail", details }],
      events: execution.logs.map((log) => ({
        address: log.address,
        contract: log.address,
        signature: null,
        args: {},
        topic0: log.topics[0]!,
      })),
    };
  },
};

const provider = ethers.provider as unknown as SimulationProvider;

function simulate(
  f: GovernedFixture,
  proposal: ProposalFile,
  extra: { voters?: string[]; log?: (line: string) => void } = {},
) {
  return simulateProposal({
    provider,
    proposal,
    record: f.ctx.store.record,
    ...extra,
  });
}

async function stateOf(f: GovernedFixture, proposal: ProposalFile): Promise<string> {
  return PROPOSAL_STATES[Number(await f.governance.governor.state(BigInt(proposal.proposalId)))]!;
}

const stepsOf = (report: SimulationReport) => report.steps.map((s) => `${s.step}:${s.from}`);

describe("governance: upgrade:simulate (simulateProposal)", function () {
  it("takes a hand-built proposal through propose, vote, queue and execute, then runs the checks", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const proposal = await pauseAndUpgrade(f);
    const deployer = f.signers[0]!.address;
    const startBlock = await ethers.provider.getBlockNumber();
    const lines: string[] = [];

    const report = await simulateProposal({
      provider,
      proposal,
      record: f.ctx.store.record,
      log: (line) => lines.push(line),
    });

    expect(stepsOf(report)).to.deep.equal([
      `propose:${deployer}`,
      `vote:${deployer}`,
      `queue:${deployer}`,
      `execute:${deployer}`,
    ]);
    expect(report).to.deep.include({
      chainId: 31337,
      proposalId: proposal.proposalId,
      action: "custom",
      title: proposal.title,
      forkBlock: startBlock,
      passed: true,
    });
    const blocks = report.steps.map((s) => s.block);
    expect(blocks).to.deep.equal([...blocks].sort((a, b) => a - b));
    for (const step of report.steps) {
      expect(BigInt(step.gasUsed)).to.be.greaterThan(0n);
      const receipt = (await ethers.provider.getTransactionReceipt(step.txHash)) as TransactionReceipt;
      expect(receipt.status).to.equal(1);
      expect(receipt.from).to.equal(step.from);
    }
    expect(report.steps[1]!.note).to.equal("votes for with 100,000,000 votes");
    expect(report.checks.map((c) => [c.id, c.status])).to.deep.equal([
      ["implementations", "pass"],
      ["versions", "pass"],
      ["commitments", "pass"],
      ["permissions", "pass"],
      ["balances", "pass"],
      ["events", "pass"],
    ]);
    // Paused(timelock) and Upgraded(implementation) at least.
    expect(report.events.length).to.be.greaterThanOrEqual(2);
    expect(await stateOf(f, proposal)).to.equal("Executed");
    expect(await f.v1.registry.paused()).to.equal(true);
    expect(lines[0]).to.equal(`proposal ${proposal.proposalId}: not proposed yet at block ${startBlock}`);
  });

  it("reports a failing post-check as a failed simulation", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const proposal = await pauseAndUpgrade(f);
    // The proposal upgrades to the implementation it names; expecting another one must fail.
    const [upgrade] = proposal.upgrades;
    const expectingOther = { ...proposal, upgrades: [{ ...upgrade!, implementation: upgrade!.implementationBefore }] };
    const report = await simulate(f, expectingOther);
    expect(report.passed).to.equal(false);
    expect(report.checks.filter((c) => c.status === "fail").map((c) => c.id)).to.deep.equal(["implementations"]);
  });

  it("continues from a pending proposal already on chain", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const deployer = f.signers[0]!.address;
    const pending = await pauseAndUpgrade(f, { title: "Pending" });
    await proposeOnChain(f, pending);
    expect(await stateOf(f, pending)).to.equal("Pending");
    const fromPending = await simulate(f, pending);
    expect(stepsOf(fromPending)).to.deep.equal([`vote:${deployer}`, `queue:${deployer}`, `execute:${deployer}`]);
    expect(fromPending.passed).to.equal(true);
    expect(await stateOf(f, pending)).to.equal("Executed");
  });

  it("continues from a queued proposal already on chain", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const deployer = f.signers[0]!.address;
    const queued = await pauseAndUpgrade(f, { title: "Queued" });
    const id = await proposeOnChain(f, queued);
    const { governor, token } = f.governance;
    const clock = "mode=timestamp";
    await advanceClockPast(ethers.provider, clock, await token.clock(), await governor.proposalSnapshot(id));
    await (await governor.castVote(id, 1)).wait();
    expect(await stateOf(f, queued)).to.equal("Active");
    await advanceClockPast(ethers.provider, clock, await token.clock(), await governor.proposalDeadline(id));
    await (
      await governor.queue(queued.targets, queued.values.map(BigInt), queued.calldatas, queued.descriptionHash)
    ).wait();
    expect(await stateOf(f, queued)).to.equal("Queued");
    const fromQueued = await simulate(f, queued);
    expect(stepsOf(fromQueued)).to.deep.equal([`execute:${deployer}`]);
    expect(fromQueued.passed).to.equal(true);
    expect(await stateOf(f, queued)).to.equal("Executed");
  });

  it("mines past the deadline a late quorum moved (GovernorPreventLateQuorum), not the one it had", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const { governor, token } = f.governance;
    const proposal = await pauseAndUpgrade(f, { title: "Late" });
    const id = await proposeOnChain(f, proposal);
    const scheduled = await governor.proposalDeadline(id);
    // The simulation starts a minute before the vote ends: its votes reach the quorum late.
    await advanceClockPast(ethers.provider, "mode=timestamp", await token.clock(), scheduled - 61n);
    expect(await stateOf(f, proposal)).to.equal("Active");
    const lines: string[] = [];
    const report = await simulate(f, proposal, { log: (line) => lines.push(line) });

    expect(report.steps.map((s) => s.step)).to.deep.equal(["vote", "queue", "execute"]);
    const timeOf = async (block: number) => BigInt((await ethers.provider.getBlock(block))!.timestamp);
    const votedAt = await timeOf(report.steps[0]!.block);
    const extended = votedAt + (await governor.lateQuorumVoteExtension());
    expect(extended).to.be.greaterThan(scheduled);
    expect(await governor.proposalDeadline(id)).to.equal(extended);
    expect(lines).to.include(
      `the quorum was reached late: voting now ends at ${extended} instead of ${scheduled} (mode=timestamp)`,
    );
    // Queued only once the moved deadline had passed: before it the proposal was still Active.
    expect(await timeOf(report.steps[1]!.block)).to.be.greaterThan(extended);
    expect(report.passed).to.equal(true);
    expect(await stateOf(f, proposal)).to.equal("Executed");
  });

  it("votes with the voters it is given, skipping those who already voted", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const [deployer, , second] = f.signers;
    const proposal = await pauseAndUpgrade(f);
    // A voter without votes counts for nothing: the vote is lost and the simulation says so.
    await expectRejection(
      simulate(f, proposal, { voters: [second!.address] }),
      SimulationError,
      /is Defeated after the vote \(for 0 votes, against 0 votes, abstain 0 votes, quorum 4,000,000 votes\): give --voters/,
    );
    const again = await pauseAndUpgrade(f, { title: "Again" });
    const id = await proposeOnChain(f, again);
    const { governor, token } = f.governance;
    await advanceClockPast(ethers.provider, "mode=timestamp", await token.clock(), await governor.proposalSnapshot(id));
    await (await governor.connect(deployer!).castVote(id, 1)).wait();
    const report = await simulate(f, again, { voters: [deployer!.address.toLowerCase(), second!.address] });
    expect(stepsOf(report)).to.deep.equal([
      `vote:${second!.address}`,
      `queue:${deployer!.address}`,
      `execute:${deployer!.address}`,
    ]);
  });

  it("sends the calls' ETH with execute: the timelock forwards it", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const recipient = f.signers[9]!.address;
    const proposal = handProposal({
      chainId: 31337,
      governor: await f.governance.governor.getAddress(),
      timelock: await f.governance.timelock.getAddress(),
      proposer: f.signers[0]!.address,
      title: "Pay a grant",
      calls: [{ target: recipient, data: "0x", value: 5n * 10n ** 18n }],
    });
    const before = await ethers.provider.getBalance(recipient);
    const report = await simulate(f, proposal);
    expect(report.steps.map((s) => s.step)).to.deep.equal(["propose", "vote", "queue", "execute"]);
    expect(await ethers.provider.getBalance(recipient)).to.equal(before + 5n * 10n ** 18n);
    expect(await ethers.provider.getBalance(await f.governance.timelock.getAddress())).to.equal(0n);
  });

  it("refuses a defeated or a canceled proposal, naming its state", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const { governor, token } = f.governance;
    const defeated = await pauseAndUpgrade(f, { title: "Defeated" });
    const id = await proposeOnChain(f, defeated);
    await advanceClockPast(ethers.provider, "mode=timestamp", await token.clock(), await governor.proposalSnapshot(id));
    await (await governor.castVote(id, 0)).wait();
    await advanceClockPast(ethers.provider, "mode=timestamp", await token.clock(), await governor.proposalDeadline(id));
    await expectRejection(
      simulate(f, defeated),
      SimulationError,
      `Proposal ${id} is Defeated on chain 31337: it can no longer run. Build a new proposal with upgrade:propose.`,
    );

    const canceled = await pauseAndUpgrade(f, { title: "Canceled" });
    const canceledId = await proposeOnChain(f, canceled);
    await (
      await governor.cancel(canceled.targets, canceled.values.map(BigInt), canceled.calldatas, canceled.descriptionHash)
    ).wait();
    await expectRejection(simulate(f, canceled), SimulationError, `Proposal ${canceledId} is Canceled on chain 31337`);
    await expectRejection(simulate(f, canceled), SimulationError, "it can no longer run");
  });

  it("reports an execution that reverts as failed, with the decoded error, without crashing", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const registry = f.v1.registry;
    // Pausing twice: the second pause reverts EnforcedPause() inside the timelock's batch.
    const proposal = await pauseAndUpgrade(f, {
      extra: [{ target: await registry.getAddress(), data: registry.interface.encodeFunctionData("pause") }],
    });
    const report = await simulate(f, proposal);
    expect(report.passed).to.equal(false);
    expect(report.steps.map((s) => s.step)).to.deep.equal(["propose", "vote", "queue"]);
    expect(report.checks).to.have.length(1);
    expect(report.checks[0]).to.deep.include({ id: "execution", status: "fail", data: { reason: "EnforcedPause()" } });
    expect(report.checks[0]!.details[0]).to.match(/^execute reverts: EnforcedPause\(\)\./);
    expect(report.events).to.deep.equal([]);
    // Nothing was executed: the proposal waits in the timelock, V1 is not paused.
    expect(await stateOf(f, proposal)).to.equal("Queued");
    expect(await registry.paused()).to.equal(false);
  });

  it("finds the voters among the largest delegates, from the token's delegation events", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const [deployer, , a, b, c, d] = f.signers;
    const token = f.governance.token;
    // Quorum is 4 % of 100M = 4M: the two largest delegates (3M + 2M) reach it, the 1M one is not needed.
    for (const [holder, amount] of [
      [a!, 3_000_000n],
      [b!, 2_000_000n],
      [c!, 1_000_000n],
    ] as const) {
      await (await token.connect(deployer!).transfer(holder.address, amount * FAB)).wait();
      await (await token.connect(holder).delegate(holder.address)).wait();
    }
    // The rest goes to a holder who never delegates: it cannot vote.
    const rest = (await token.balanceOf(deployer!.address)) - 150_000n * FAB;
    await (await token.connect(deployer!).transfer(d!.address, rest)).wait();

    const report = await simulate(f, await pauseAndUpgrade(f));
    expect(stepsOf(report)).to.deep.equal([
      `propose:${deployer!.address}`,
      `vote:${a!.address}`,
      `vote:${b!.address}`,
      `queue:${deployer!.address}`,
      `execute:${deployer!.address}`,
    ]);
    expect(report.steps.slice(1, 3).map((s) => s.note)).to.deep.equal([
      "votes for with 3,000,000 votes",
      "votes for with 2,000,000 votes",
    ]);
    expect(report.passed).to.equal(true);
  });

  it("has the largest holders delegate to themselves when too few votes are delegated", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const [deployer, , , , , , small, large] = f.signers;
    const token = f.governance.token;
    const kept = 150_000n * FAB;
    await (await token.connect(deployer!).transfer(small!.address, 5_000_000n * FAB)).wait();
    const rest = (await token.balanceOf(deployer!.address)) - kept;
    await (await token.connect(deployer!).transfer(large!.address, rest)).wait();

    const report = await simulate(f, await pauseAndUpgrade(f));
    expect(stepsOf(report)).to.deep.equal([
      `delegate:${large!.address}`,
      `propose:${deployer!.address}`,
      `vote:${deployer!.address}`,
      `vote:${large!.address}`,
      `queue:${deployer!.address}`,
      `execute:${deployer!.address}`,
    ]);
    expect(report.steps[0]!.note).to.equal("delegates its 94,850,000 votes to itself");
    expect(await token.delegates(large!.address)).to.equal(large!.address);
    expect(await token.delegates(small!.address)).to.equal(ethers.ZeroAddress);
    expect(report.passed).to.equal(true);
  });

  it("refuses when the votes cannot reach the quorum", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const proposal = await pauseAndUpgrade(f);
    const id = await proposeOnChain(f, proposal);
    const { governor, token } = f.governance;
    await advanceClockPast(ethers.provider, "mode=timestamp", await token.clock(), await governor.proposalSnapshot(id));
    // The only delegate votes against while the vote is open: nobody is left to outvote it.
    await (await governor.castVote(id, 0)).wait();
    await expectRejection(
      simulate(f, proposal),
      SimulationError,
      "The votes found reach 0 votes for and abstaining against a quorum of 4,000,000 votes and 100,000,000 votes against: give --voters",
    );
  });

  it("refuses a node that cannot impersonate (a real network), and a proposal for another chain", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const proposal = await pauseAndUpgrade(f);
    const real = ethers.provider;
    // A real network's node: everything works except the development methods.
    const realNode = new Proxy(real, {
      get(target, property) {
        if (property === "send") {
          return async (method: string, params: unknown[]) => {
            if (method.endsWith("_impersonateAccount")) throw new Error(`the method ${method} does not exist`);
            return target.send(method, params);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as unknown as SimulationProvider;
    await expectRejection(
      simulateProposal({ provider: realNode, proposal, record: f.ctx.store.record, checks: implementationCheck }),
      SimulationError,
      "Chain 31337 is not a development chain: its node answers neither hardhat_impersonateAccount nor anvil_impersonateAccount. Simulate on a fork",
    );
    await expectRejection(
      simulate(f, { ...proposal, chainId: 8453 }),
      SimulationError,
      "The proposal is for chain 8453 but the node is on chain 31337: simulate on a fork of chain 8453 (--network).",
    );
    const record = { chainId: 31337, contracts: { FabstirGovernor: { address: f.signers[5]!.address } } };
    await expectRejection(
      simulateProposal({ provider, proposal, record, checks: implementationCheck }),
      SimulationError,
      `The proposal is for the Governor ${proposal.governor} but the deployment record's is ${f.signers[5]!.address}`,
    );
    expect(await f.governance.governor.proposalSnapshot(BigInt(proposal.proposalId))).to.equal(0n);
  });
});

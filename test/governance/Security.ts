import { expect } from "chai";
import type { BaseContract, FunctionFragment, Interface } from "ethers";
import { DEFAULT_GOVERNANCE_PARAMETERS } from "../../deploy/governance.js";
import { DescriptionError, descriptionHash, proposerOf, withProposerSuffix } from "../../lib/governance/description.js";
import { PROPOSAL_STATES, proposeAndPass, type ProposalToRun } from "../../lib/governance/lifecycle.js";
import { proposalId, timelockOperationId } from "../../lib/governance/proposalId.js";
import { ACCESS_MATRIX, type Access } from "../access/matrix.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";

const { time } = networkHelpers;
const FAB = 10n ** 18n;
const STATE = Object.fromEntries(PROPOSAL_STATES.map((name, index) => [name, BigInt(index)])) as Record<
  (typeof PROPOSAL_STATES)[number],
  bigint
>;
const VOTE = { Against: 0, For: 1, Abstain: 2 } as const;

/** Governor `_encodeStateBitmap`: one bit per allowed ProposalState. */
function states(...names: (typeof PROPOSAL_STATES)[number][]): string {
  return ethers.toBeHex(
    names.reduce((bits, name) => bits | (1n << STATE[name]), 0n),
    32,
  );
}

function stack(): Promise<GovernedFixture> {
  return networkHelpers.loadFixture(governedStack);
}

// ------ access after setup

/** The functions that can change state, straight from the ABI (as test/AccessMatrix.ts enumerates them). */
function stateChangingFunctions(iface: Interface): FunctionFragment[] {
  const functions: FunctionFragment[] = [];
  iface.forEachFunction((fragment) => {
    if (fragment.stateMutability !== "view" && fragment.stateMutability !== "pure") functions.push(fragment);
  });
  return functions.sort((a, b) => a.format().localeCompare(b.format()));
}

/** Arguments of the right types and nothing else: enough to reach the access check. */
function placeholderArguments(fragment: FunctionFragment): unknown[] {
  return fragment.inputs.map((input) => {
    if (input.baseType === "array") return [];
    if (input.type === "address") return ethers.ZeroAddress;
    if (input.type === "string") return "";
    if (input.type === "bytes") return "0x";
    if (input.type === "bool") return false;
    if (input.type.startsWith("bytes")) return ethers.ZeroHash;
    return 0n;
  });
}

/** The custom error a call reverts with (name and arguments), or undefined when it does not revert or reverts otherwise. */
async function revertOf(
  contract: BaseContract,
  fragment: FunctionFragment,
  caller: string,
): Promise<{ name: string; args: unknown[] } | "passed"> {
  const data = contract.interface.encodeFunctionData(fragment, placeholderArguments(fragment));
  try {
    await ethers.provider.call({ from: caller, to: await contract.getAddress(), data });
    return "passed";
  } catch (error) {
    const revertData = (error as { data?: string }).data ?? "0x";
    const parsed = revertData.length >= 10 ? contract.interface.parseError(revertData) : null;
    return parsed === null ? { name: "other", args: [] } : { name: parsed.name, args: [...parsed.args] };
  }
}

/**
 * Who may call the timelock's and the Governor's state-changing functions. Like
 * test/access/matrix.ts for the proxies: a function missing here fails the test, so a new one
 * cannot ship unclassified. `onlyGovernance` (GovernorOnlyExecutor) and `onlySelf`
 * (TimelockUnauthorizedCaller) are the two non-role guards.
 */
type GovernanceAccess = Access | "onlyGovernance" | "onlySelf";

const TIMELOCK_ACCESS: Record<string, GovernanceAccess> = {
  "schedule(address,uint256,bytes,bytes32,bytes32,uint256)": ["PROPOSER_ROLE"],
  "scheduleBatch(address[],uint256[],bytes[],bytes32,bytes32,uint256)": ["PROPOSER_ROLE"],
  "execute(address,uint256,bytes,bytes32,bytes32)": ["EXECUTOR_ROLE"],
  "executeBatch(address[],uint256[],bytes[],bytes32,bytes32)": ["EXECUTOR_ROLE"],
  "cancel(bytes32)": ["CANCELLER_ROLE"],
  "grantRole(bytes32,address)": ["DEFAULT_ADMIN_ROLE"],
  "revokeRole(bytes32,address)": ["DEFAULT_ADMIN_ROLE"],
  "updateDelay(uint256)": "onlySelf",
  // Only ever affects the caller's own roles.
  "renounceRole(bytes32,address)": "anyone",
  // Token receipt hooks: no state of the timelock's changes.
  "onERC721Received(address,address,uint256,bytes)": "anyone",
  "onERC1155Received(address,address,uint256,uint256,bytes)": "anyone",
  "onERC1155BatchReceived(address,address,uint256[],uint256[],bytes)": "anyone",
};

const GOVERNOR_ACCESS: Record<string, GovernanceAccess> = {
  "relay(address,uint256,bytes)": "onlyGovernance",
  "setVotingDelay(uint48)": "onlyGovernance",
  "setVotingPeriod(uint32)": "onlyGovernance",
  "setProposalThreshold(uint256)": "onlyGovernance",
  "setLateQuorumVoteExtension(uint48)": "onlyGovernance",
  "updateQuorumNumerator(uint256)": "onlyGovernance",
  "updateTimelock(address)": "onlyGovernance",
  // Open by design: proposing needs the threshold's votes, voting needs votes, queueing and
  // executing need a passed proposal, cancelling is the proposer's while Pending.
  "propose(address[],uint256[],bytes[],string)": "anyone",
  "queue(address[],uint256[],bytes[],bytes32)": "anyone",
  "execute(address[],uint256[],bytes[],bytes32)": "anyone",
  "cancel(address[],uint256[],bytes[],bytes32)": "anyone",
  "castVote(uint256,uint8)": "anyone",
  "castVoteBySig(uint256,uint8,address,bytes)": "anyone",
  "castVoteWithReason(uint256,uint8,string)": "anyone",
  "castVoteWithReasonAndParams(uint256,uint8,string,bytes)": "anyone",
  "castVoteWithReasonAndParamsBySig(uint256,uint8,address,string,bytes,bytes)": "anyone",
  // Refuse deposits (GovernorDisabledDeposit) since the timelock, not the Governor, executes.
  "onERC721Received(address,address,uint256,bytes)": "anyone",
  "onERC1155Received(address,address,uint256,uint256,bytes)": "anyone",
  "onERC1155BatchReceived(address,address,uint256[],uint256[],bytes)": "anyone",
};

interface Guarded {
  contract: BaseContract;
  name: string;
  fragment: FunctionFragment;
  access: Exclude<GovernanceAccess, "anyone" | "initializer">;
}

/** Every guarded state-changing function of `contract`, from its ABI; fails naming functions `table` lacks. */
function guardedFunctions(name: string, contract: BaseContract, table: Record<string, GovernanceAccess>): Guarded[] {
  const functions = stateChangingFunctions(contract.interface);
  const unclassified = functions.map((f) => f.format()).filter((signature) => table[signature] === undefined);
  expect(unclassified, `${name}: state-changing functions nobody classified`).to.deep.equal([]);
  const guarded: Guarded[] = [];
  for (const fragment of functions) {
    const access = table[fragment.format()]!;
    if (access !== "anyone" && access !== "initializer") guarded.push({ contract, name, fragment, access });
  }
  return guarded;
}

/** Checks one caller against one guarded function: the exact error of the guard, with the caller in it. */
async function denial(guarded: Guarded, caller: string, roleIds: Map<string, string>): Promise<string | undefined> {
  const outcome = await revertOf(guarded.contract, guarded.fragment, caller);
  const where = `${guarded.name}.${guarded.fragment.format()} as ${caller}`;
  if (outcome === "passed") return `${where}: passed`;
  const { access } = guarded;
  if (access === "onlyGovernance") {
    return outcome.name === "GovernorOnlyExecutor" && outcome.args[0] === caller
      ? undefined
      : `${where}: ${outcome.name}(${outcome.args.join(", ")})`;
  }
  if (access === "onlySelf") {
    return outcome.name === "TimelockUnauthorizedCaller" && outcome.args[0] === caller
      ? undefined
      : `${where}: ${outcome.name}(${outcome.args.join(", ")})`;
  }
  const allowed = access.map((role) => roleIds.get(role));
  return outcome.name === "AccessControlUnauthorizedAccount" &&
    outcome.args[0] === caller &&
    allowed.includes(outcome.args[1] as string)
    ? undefined
    : `${where}: ${outcome.name}(${outcome.args.join(", ")}), expected a denial for ${access.join(" or ")}`;
}

/** Every `*_ROLE` a contract declares, by name. */
async function declaredRoles(contract: BaseContract): Promise<Map<string, string>> {
  const roles = new Map<string, string>();
  const getters: string[] = [];
  contract.interface.forEachFunction((fragment) => {
    if (fragment.name.endsWith("_ROLE") && fragment.inputs.length === 0) getters.push(fragment.name);
  });
  for (const getter of getters) roles.set(getter, (await contract.getFunction(getter).staticCall()) as string);
  return roles;
}

// ------ proposals

/** A proposal the timelock can run (it holds PAUSER_ROLE on V1): pause the V1 NodeRegistry. */
async function pauseProposal(fixture: GovernedFixture, text: string): Promise<ProposalToRun> {
  const registry = fixture.v1.registry;
  return {
    targets: [await registry.getAddress()],
    values: [0n],
    calldatas: [registry.interface.encodeFunctionData("pause")],
    description: withProposerSuffix(text, fixture.signers[0]!.address),
  };
}

function callArgs(proposal: ProposalToRun): [string[], bigint[], string[], string] {
  return [[...proposal.targets], [...proposal.values], [...proposal.calldatas], descriptionHash(proposal.description)];
}

async function propose(fixture: GovernedFixture, proposal: ProposalToRun): Promise<bigint> {
  const { governor } = fixture.governance;
  const [targets, values, calldatas] = callArgs(proposal);
  await (await governor.propose(targets, values, calldatas, proposal.description)).wait();
  return proposalId(proposal, descriptionHash(proposal.description));
}

/** Both ways out of a proposal that must not run: queue and execute, each with the Governor's exact refusal. */
async function expectCannotRun(
  fixture: GovernedFixture,
  proposal: ProposalToRun,
  state: (typeof PROPOSAL_STATES)[number],
): Promise<void> {
  const { governor } = fixture.governance;
  const id = proposalId(proposal, descriptionHash(proposal.description));
  expect(PROPOSAL_STATES[Number(await governor.state(id))]).to.equal(state);
  await expect(governor.queue(...callArgs(proposal)))
    .to.be.revertedWithCustomError(governor, "GovernorUnexpectedProposalState")
    .withArgs(id, STATE[state], states("Succeeded"));
  // Through a timelock only a Queued proposal executes.
  await expect(governor.execute(...callArgs(proposal)))
    .to.be.revertedWithCustomError(governor, "GovernorUnexpectedProposalState")
    .withArgs(id, STATE[state], states("Queued"));
  expect(await fixture.v1.registry.paused()).to.equal(false);
}

describe("governance security", () => {
  describe("after setup no externally owned account can govern", () => {
    it("no test account, the deployer included, passes the role check of any guarded V1 or V2 proxy function", async () => {
      const fixture = await stack();
      const { v1, v2, signers, governance } = fixture;
      const proxies: [string, BaseContract][] = [
        ["NodeRegistryV1", v1.registry],
        ["PaymentEscrowV1", v1.escrow],
        ["JobMarketplaceV1", v1.marketplace],
        ["NodeRegistryV2", v2.registry],
        ["PaymentEscrowV2", v2.escrow],
        ["JobMarketplaceV2", v2.marketplace],
      ];
      const timelock = await governance.timelock.getAddress();
      const failures: string[] = [];
      for (const [name, contract] of proxies) {
        const guarded = guardedFunctions(name, contract, ACCESS_MATRIX[name]!);
        // The matrix cannot quietly open the governing functions themselves.
        expect(guarded.map((g) => g.fragment.format())).to.include.members([
          "upgradeToAndCall(address,bytes)",
          "pause()",
          "unpause()",
          "grantRole(bytes32,address)",
          "revokeRole(bytes32,address)",
        ]);
        const roles = await declaredRoles(contract);
        for (const governing of ["DEFAULT_ADMIN_ROLE", "UPGRADER_ROLE", "PAUSER_ROLE"]) {
          const held = await (contract as unknown as HasRole).hasRole(roles.get(governing)!, timelock);
          expect(held, `the timelock holds ${governing} on ${name}`).to.equal(true);
        }
        for (const g of guarded) {
          for (const signer of signers) {
            const failure = await denial(g, signer.address, roles);
            if (failure !== undefined) failures.push(failure);
          }
          // Not vacuous: where the timelock holds the role, it gets past the check.
          const needed = (g.access as readonly string[]).map((role) => roles.get(role)!);
          const holds = await Promise.all(
            needed.map((role) => (contract as unknown as HasRole).hasRole(role, timelock)),
          );
          if (holds.includes(true)) {
            const outcome = await revertOf(contract, g.fragment, timelock);
            if (outcome !== "passed" && outcome.name === "AccessControlUnauthorizedAccount") {
              failures.push(`${name}.${g.fragment.format()}: the timelock was denied`);
            }
          }
        }
        // And no test account holds any role there at all.
        for (const [roleName, role] of roles) {
          for (const signer of signers) {
            if (await (contract as unknown as HasRole).hasRole(role, signer.address)) {
              failures.push(`${signer.address} holds ${roleName} on ${name}`);
            }
          }
        }
      }
      expect(failures).to.deep.equal([]);
    });

    it("no test account can schedule, execute, cancel or administer on the timelock", async () => {
      const { governance, signers } = await stack();
      const { timelock, governor } = governance;
      const guarded = guardedFunctions("FabstirTimelock", timelock, TIMELOCK_ACCESS);
      expect(guarded.map((g) => g.fragment.format())).to.include.members([
        "schedule(address,uint256,bytes,bytes32,bytes32,uint256)",
        "scheduleBatch(address[],uint256[],bytes[],bytes32,bytes32,uint256)",
        "execute(address,uint256,bytes,bytes32,bytes32)",
        "executeBatch(address[],uint256[],bytes[],bytes32,bytes32)",
        "cancel(bytes32)",
        "updateDelay(uint256)",
      ]);
      const roles = await declaredRoles(timelock);
      const failures: string[] = [];
      for (const g of guarded) {
        for (const signer of signers) {
          const failure = await denial(g, signer.address, roles);
          if (failure !== undefined) failures.push(failure);
        }
      }
      expect(failures).to.deep.equal([]);
      // Not vacuous: the Governor gets past the role checks (its scheduling fails later, on the empty call).
      const schedule = timelock.interface.getFunction("scheduleBatch")!;
      const outcome = await revertOf(timelock, schedule, await governor.getAddress());
      expect(outcome === "passed" ? "passed" : outcome.name).to.not.equal("AccessControlUnauthorizedAccount");
    });

    it("no test account can change the Governor's settings or relay through it (GovernorOnlyExecutor)", async () => {
      const { governance, signers } = await stack();
      const { governor } = governance;
      const guarded = guardedFunctions("FabstirGovernor", governor, GOVERNOR_ACCESS);
      expect(guarded.map((g) => g.fragment.format()).sort()).to.deep.equal([
        "relay(address,uint256,bytes)",
        "setLateQuorumVoteExtension(uint48)",
        "setProposalThreshold(uint256)",
        "setVotingDelay(uint48)",
        "setVotingPeriod(uint32)",
        "updateQuorumNumerator(uint256)",
        "updateTimelock(address)",
      ]);
      const failures: string[] = [];
      for (const g of guarded) {
        for (const signer of signers) {
          const failure = await denial(g, signer.address, new Map());
          if (failure !== undefined) failures.push(failure);
        }
      }
      expect(failures).to.deep.equal([]);
    });
  });

  describe("the timelock's delay", () => {
    it("a passed, queued proposal cannot execute a second before minDelay, and can at minDelay", async () => {
      const fixture = await stack();
      const { governor, timelock } = fixture.governance;
      const deployer = fixture.signers[0]!;
      const proposal = await pauseProposal(fixture, "Pause V1");
      const id = await proposeAndPass(ethers.provider, await governor.getAddress(), proposal, deployer, [deployer]);
      // Passed is not enough: it must wait in the timelock first.
      await expect(governor.execute(...callArgs(proposal)))
        .to.be.revertedWithCustomError(governor, "GovernorUnexpectedProposalState")
        .withArgs(id, STATE.Succeeded, states("Queued"));
      await (await governor.queue(...callArgs(proposal))).wait();
      const eta = await governor.proposalEta(id);
      expect(eta).to.equal(BigInt(await time.latest()) + DEFAULT_GOVERNANCE_PARAMETERS.minDelay);
      const operation = timelockOperationId(
        proposal,
        await governor.getAddress(),
        descriptionHash(proposal.description),
      );

      // Mined at eta - 1 (an explicit gas limit skips the estimate, which would run in a later block).
      await time.setNextBlockTimestamp(eta - 1n);
      await expect(governor.execute(...callArgs(proposal), { gasLimit: 1_000_000n }))
        .to.be.revertedWithCustomError(timelock, "TimelockUnexpectedOperationState")
        .withArgs(operation, ethers.toBeHex(1n << 2n, 32)); // only Ready (OperationState 2) is allowed
      expect(await fixture.v1.registry.paused()).to.equal(false);

      await time.setNextBlockTimestamp(eta);
      await expect(governor.execute(...callArgs(proposal)))
        .to.emit(governor, "ProposalExecuted")
        .withArgs(id);
      expect(await fixture.v1.registry.paused()).to.equal(true);
      expect(await timelock.isOperationDone(operation)).to.equal(true);
    });
  });

  describe("a cancelled proposal cannot run", () => {
    it("the proposer cancels it while Pending; nobody else can, nor the proposer once voting starts", async () => {
      const fixture = await stack();
      const { governor } = fixture.governance;
      const stranger = fixture.signers[2]!;
      const proposal = await pauseProposal(fixture, "Pause V1");
      const id = await propose(fixture, proposal);
      await expect(governor.connect(stranger).cancel(...callArgs(proposal)))
        .to.be.revertedWithCustomError(governor, "GovernorUnableToCancel")
        .withArgs(id, stranger.address);
      await expect(governor.cancel(...callArgs(proposal)))
        .to.emit(governor, "ProposalCanceled")
        .withArgs(id);
      await expectCannotRun(fixture, proposal, "Canceled");
      // Not even once its vote would have ended.
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingDelay + DEFAULT_GOVERNANCE_PARAMETERS.votingPeriod + 1n);
      await expectCannotRun(fixture, proposal, "Canceled");

      const active = await pauseProposal(fixture, "Pause V1, again");
      const activeId = await propose(fixture, active);
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingDelay + 1n);
      await expect(governor.cancel(...callArgs(active)))
        .to.be.revertedWithCustomError(governor, "GovernorUnableToCancel")
        .withArgs(activeId, fixture.signers[0]!.address);
    });

    it("the timelock's canceller (the Governor, by proposal) cancels a queued operation, which then cannot run", async () => {
      const fixture = await stack();
      const { governor, timelock } = fixture.governance;
      const deployer = fixture.signers[0]!;
      const governorAddress = await governor.getAddress();
      const doomed = await pauseProposal(fixture, "Pause V1");
      const operation = timelockOperationId(doomed, governorAddress, descriptionHash(doomed.description));
      // The veto: the Governor relays timelock.cancel(operation); it holds CANCELLER_ROLE.
      const veto: ProposalToRun = {
        targets: [governorAddress],
        values: [0n],
        calldatas: [
          governor.interface.encodeFunctionData("relay", [
            await timelock.getAddress(),
            0n,
            timelock.interface.encodeFunctionData("cancel", [operation]),
          ]),
        ],
        description: withProposerSuffix("Veto the pause", deployer.address),
      };
      // Both are voted side by side (the veto is built from the operation id the lib computes ahead).
      const doomedId = await propose(fixture, doomed);
      const vetoId = await propose(fixture, veto);
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingDelay + 1n);
      await (await governor.castVote(doomedId, VOTE.For)).wait();
      await (await governor.castVote(vetoId, VOTE.For)).wait();
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingPeriod + 1n);
      await (await governor.queue(...callArgs(doomed))).wait();
      await (await governor.queue(...callArgs(veto))).wait();
      expect(await timelock.isOperationPending(operation)).to.equal(true);

      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.minDelay);
      await expect(governor.execute(...callArgs(veto)))
        .to.emit(timelock, "Cancelled")
        .withArgs(operation);
      expect(await timelock.isOperation(operation)).to.equal(false);
      await expectCannotRun(fixture, doomed, "Canceled");
    });
  });

  describe("a defeated proposal cannot run", () => {
    it("when the votes are against it", async () => {
      const fixture = await stack();
      const { governor } = fixture.governance;
      const proposal = await pauseProposal(fixture, "Pause V1");
      const id = await propose(fixture, proposal);
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingDelay + 1n);
      await (await governor.castVote(id, VOTE.Against)).wait();
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingPeriod + 1n);
      await expectCannotRun(fixture, proposal, "Defeated");
    });

    it("when the votes for it do not reach the quorum", async () => {
      const fixture = await stack();
      const { governor, token } = fixture.governance;
      const voter = fixture.signers[2]!;
      // 1 % of the supply, all for: under the 4 % quorum; the holder of the rest does not vote.
      const stake = DEFAULT_GOVERNANCE_PARAMETERS.supply / 100n;
      await (await token.transfer(voter.address, stake)).wait();
      await (await token.connect(voter).delegate(voter.address)).wait();
      const proposal = await pauseProposal(fixture, "Pause V1");
      const id = await propose(fixture, proposal);
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingDelay + 1n);
      await (await governor.connect(voter).castVote(id, VOTE.For)).wait();
      const [against, forVotes] = await governor.proposalVotes(id);
      expect([against, forVotes]).to.deep.equal([0n, stake]);
      expect(await governor.quorum(await governor.proposalSnapshot(id))).to.equal(4_000_000n * FAB);
      await time.increase(DEFAULT_GOVERNANCE_PARAMETERS.votingPeriod + 1n);
      await expectCannotRun(fixture, proposal, "Defeated");
    });
  });

  describe("the proposer suffix", () => {
    it("the tool refuses a description with anything after #proposer=<address>", () => {
      const proposer = ethers.Wallet.createRandom().address;
      const bound = withProposerSuffix("Upgrade V1 to V1.1", proposer);
      expect(proposerOf(bound)).to.equal(proposer);
      for (const tail of ["\n", " ", "\t", ".", "\n\n(see audits/v1-to-v1_1)", `#proposer=${proposer}`]) {
        expect(() => proposerOf(`${bound}${tail}`), JSON.stringify(tail)).to.throw(DescriptionError);
      }
    });
  });
});

interface HasRole {
  hasRole(role: string, account: string): Promise<boolean>;
}

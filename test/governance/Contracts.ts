import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { DEFAULT_GOVERNANCE_PARAMETERS } from "../../deploy/governance.js";
import { DescriptionError, descriptionHash, proposerOf, withProposerSuffix } from "../../lib/governance/description.js";
import { proposeAndPass } from "../../lib/governance/lifecycle.js";
import { proposalId, timelockOperationId, timelockSalt } from "../../lib/governance/proposalId.js";
import type { FabstirTimelock } from "../../typechain-types/index.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";

const FAB = 10n ** 18n;
const { time } = networkHelpers;

function stack(): Promise<GovernedFixture> {
  return networkHelpers.loadFixture(governedStack);
}

/** A proposal the timelock can run: pause the V1 NodeRegistry (the timelock holds PAUSER_ROLE). */
async function pauseProposal(fixture: GovernedFixture, text: string, proposer: string) {
  const registry = fixture.v1.registry;
  return {
    targets: [await registry.getAddress()],
    values: [0n],
    calldatas: [registry.interface.encodeFunctionData("pause")],
    description: withProposerSuffix(text, proposer),
  };
}

/** Gives `account` `amount` FAB delegated to itself, counted from the next second on. */
async function votingPower(fixture: GovernedFixture, account: HardhatEthersSigner, amount: bigint): Promise<void> {
  const { token } = fixture.governance;
  await (await token.transfer(account.address, amount)).wait();
  await (await token.connect(account).delegate(account.address)).wait();
  // propose reads votes at clock() - 1: the checkpoint must be in the past.
  await time.increase(1);
}

/** Who holds each role of the timelock, replayed from every RoleGranted and RoleRevoked it ever emitted. */
async function roleHolders(timelock: FabstirTimelock): Promise<Map<string, Set<string>>> {
  const holders = new Map<string, Set<string>>();
  const granted = await timelock.queryFilter(timelock.filters.RoleGranted(), 0);
  const revoked = await timelock.queryFilter(timelock.filters.RoleRevoked(), 0);
  const events = [...granted, ...revoked].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  for (const event of events) {
    const [role, account] = [event.args[0], event.args[1]];
    const set = holders.get(role) ?? new Set<string>();
    if (event.eventName === "RoleGranted") set.add(account);
    else set.delete(account);
    holders.set(role, set);
  }
  return holders;
}

describe("governance contracts", () => {
  describe("FabstirVotes", () => {
    it("mints the whole supply to the holder, as Fabstir (FAB) with 18 decimals", async () => {
      const { governance, signers } = await stack();
      const { token } = governance;
      expect(await token.name()).to.equal("Fabstir");
      expect(await token.symbol()).to.equal("FAB");
      expect(await token.decimals()).to.equal(18n);
      expect(await token.totalSupply()).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.supply);
      expect(await token.balanceOf(signers[0]!.address)).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.supply);
    });

    it("accepts an EIP-2612 permit signed by the owner, once, and refuses an expired one", async () => {
      const { governance, signers } = await stack();
      const { token } = governance;
      const [owner, spender, relayer] = [signers[0]!, signers[2]!, signers[3]!];
      const domain = {
        name: "Fabstir",
        version: "1",
        chainId: (await ethers.provider.getNetwork()).chainId,
        verifyingContract: await token.getAddress(),
      };
      const types = {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      };
      const deadline = BigInt(await time.latest()) + 3600n;
      const message = { owner: owner.address, spender: spender.address, value: 500n * FAB, nonce: 0n, deadline };
      const signature = ethers.Signature.from(await owner.signTypedData(domain, types, message));

      await expect(
        token
          .connect(relayer)
          .permit(owner.address, spender.address, message.value, deadline, signature.v, signature.r, signature.s),
      )
        .to.emit(token, "Approval")
        .withArgs(owner.address, spender.address, message.value);
      expect(await token.allowance(owner.address, spender.address)).to.equal(message.value);
      expect(await token.nonces(owner.address)).to.equal(1n);

      // Replayed, the signature now recovers to someone else: the nonce it signed is spent.
      const recovered = ethers.verifyTypedData(domain, types, { ...message, nonce: 1n }, signature);
      await expect(
        token
          .connect(relayer)
          .permit(owner.address, spender.address, message.value, deadline, signature.v, signature.r, signature.s),
      )
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(recovered, owner.address);

      const late = { ...message, nonce: 1n, deadline: BigInt(await time.latest()) - 1n };
      const expired = ethers.Signature.from(await owner.signTypedData(domain, types, late));
      await expect(
        token.permit(owner.address, spender.address, late.value, late.deadline, expired.v, expired.r, expired.s),
      )
        .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
        .withArgs(late.deadline);
    });

    it("counts votes only once delegated, and moves them with delegate()", async () => {
      const { governance, signers } = await stack();
      const { token } = governance;
      const [holder, alice, bob] = [signers[0]!, signers[2]!, signers[3]!];
      await (await token.transfer(alice.address, 1_000n * FAB)).wait();
      // Balances are not votes until delegated.
      expect(await token.getVotes(alice.address)).to.equal(0n);
      expect(await token.getVotes(holder.address)).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.supply - 1_000n * FAB);

      await expect(token.connect(alice).delegate(bob.address))
        .to.emit(token, "DelegateChanged")
        .withArgs(alice.address, ethers.ZeroAddress, bob.address)
        .and.to.emit(token, "DelegateVotesChanged")
        .withArgs(bob.address, 0n, 1_000n * FAB);
      expect(await token.delegates(alice.address)).to.equal(bob.address);
      expect(await token.getVotes(bob.address)).to.equal(1_000n * FAB);
      expect(await token.getVotes(alice.address)).to.equal(0n);
    });

    it("delegates by signature (delegateBySig), once, before the expiry", async () => {
      const { governance, signers } = await stack();
      const { token } = governance;
      const [delegator, delegatee, relayer] = [signers[4]!, signers[5]!, signers[6]!];
      await (await token.transfer(delegator.address, 2_000n * FAB)).wait();
      const domain = {
        name: "Fabstir",
        version: "1",
        chainId: (await ethers.provider.getNetwork()).chainId,
        verifyingContract: await token.getAddress(),
      };
      const types = {
        Delegation: [
          { name: "delegatee", type: "address" },
          { name: "nonce", type: "uint256" },
          { name: "expiry", type: "uint256" },
        ],
      };
      const expiry = BigInt(await time.latest()) + 3600n;
      const signature = ethers.Signature.from(
        await delegator.signTypedData(domain, types, { delegatee: delegatee.address, nonce: 0n, expiry }),
      );
      await expect(
        token.connect(relayer).delegateBySig(delegatee.address, 0n, expiry, signature.v, signature.r, signature.s),
      )
        .to.emit(token, "DelegateChanged")
        .withArgs(delegator.address, ethers.ZeroAddress, delegatee.address);
      expect(await token.delegates(delegator.address)).to.equal(delegatee.address);
      expect(await token.getVotes(delegatee.address)).to.equal(2_000n * FAB);
      expect(await token.nonces(delegator.address)).to.equal(1n);

      await expect(
        token.connect(relayer).delegateBySig(delegatee.address, 0n, expiry, signature.v, signature.r, signature.s),
      )
        .to.be.revertedWithCustomError(token, "InvalidAccountNonce")
        .withArgs(delegator.address, 1n);

      const past = BigInt(await time.latest()) - 1n;
      const stale = ethers.Signature.from(
        await delegator.signTypedData(domain, types, { delegatee: relayer.address, nonce: 1n, expiry: past }),
      );
      await expect(token.delegateBySig(relayer.address, 1n, past, stale.v, stale.r, stale.s))
        .to.be.revertedWithCustomError(token, "VotesExpiredSignature")
        .withArgs(past);
    });

    it("runs on the block timestamp (ERC-6372), and the Governor with it", async () => {
      const { governance } = await stack();
      const { token, governor } = governance;
      await time.increase(1000);
      const now = BigInt(await time.latest());
      expect(await token.clock()).to.equal(now);
      expect(await token.CLOCK_MODE()).to.equal("mode=timestamp");
      expect(await governor.clock()).to.equal(now);
      expect(await governor.CLOCK_MODE()).to.equal("mode=timestamp");
    });

    it("checkpoints votes and supply: getPastVotes answers for a past second, not a future one", async () => {
      const { governance, signers } = await stack();
      const { token } = governance;
      const holder = signers[0]!;
      const before = BigInt(await time.latest());
      await time.increase(60);
      await (await token.transfer(signers[2]!.address, 10_000n * FAB)).wait();
      const after = BigInt(await time.latest());
      await time.increase(1);

      expect(await token.getPastVotes(holder.address, before)).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.supply);
      expect(await token.getPastVotes(holder.address, after)).to.equal(
        DEFAULT_GOVERNANCE_PARAMETERS.supply - 10_000n * FAB,
      );
      expect(await token.getPastTotalSupply(before)).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.supply);
      const clock = await token.clock();
      await expect(token.getPastVotes(holder.address, clock))
        .to.be.revertedWithCustomError(token, "ERC5805FutureLookup")
        .withArgs(clock, clock);
    });
  });

  describe("FabstirGovernor", () => {
    it("runs with the settings it was deployed with, on the FAB token and the timelock", async () => {
      const { governance } = await stack();
      const { token, timelock, governor } = governance;
      expect(await governor.name()).to.equal("FabstirGovernor");
      expect(await governor.version()).to.equal("1");
      expect(await governor.token()).to.equal(await token.getAddress());
      expect(await governor.timelock()).to.equal(await timelock.getAddress());
      expect(await governor.votingDelay()).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.votingDelay);
      expect(await governor.votingPeriod()).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.votingPeriod);
      expect(await governor.proposalThreshold()).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.proposalThreshold);
      expect(await governor["quorumNumerator()"]()).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.quorumPercent);
      expect(await governor.lateQuorumVoteExtension()).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.voteExtension);
      expect(await governor.quorumDenominator()).to.equal(100n);
      expect(await governor.COUNTING_MODE()).to.equal("support=bravo&quorum=for,abstain");
    });

    it("sets the quorum at 4 % of the supply at the timepoint, and not for the future", async () => {
      const { governance } = await stack();
      const { token, governor } = governance;
      const timepoint = BigInt(await time.latest());
      await time.increase(1);
      const supply = await token.getPastTotalSupply(timepoint);
      expect(await governor.quorum(timepoint)).to.equal((supply * 4n) / 100n);
      expect(await governor.quorum(timepoint)).to.equal(4_000_000n * FAB);
      const clock = await governor.clock();
      await expect(governor.quorum(clock))
        .to.be.revertedWithCustomError(token, "ERC5805FutureLookup")
        .withArgs(clock, clock);
    });

    it("refuses a proposer one wei below the threshold (GovernorInsufficientProposerVotes), accepts one at it", async () => {
      const fixture = await stack();
      const { governor } = fixture.governance;
      const [, , poor, rich] = fixture.signers;
      const threshold = DEFAULT_GOVERNANCE_PARAMETERS.proposalThreshold;
      await votingPower(fixture, poor!, threshold - 1n);
      await votingPower(fixture, rich!, threshold);

      const proposal = await pauseProposal(fixture, "Pause V1", poor!.address);
      await expect(
        governor.connect(poor!).propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description),
      )
        .to.be.revertedWithCustomError(governor, "GovernorInsufficientProposerVotes")
        .withArgs(poor!.address, threshold - 1n, threshold);

      const enough = await pauseProposal(fixture, "Pause V1", rich!.address);
      await expect(
        governor.connect(rich!).propose(enough.targets, enough.values, enough.calldatas, enough.description),
      ).to.emit(governor, "ProposalCreated");
    });
  });

  describe("FabstirTimelock", () => {
    it("administers itself: DEFAULT_ADMIN_ROLE is the timelock's alone; the Governor proposes, cancels and alone executes", async () => {
      const { governance, signers } = await stack();
      const { timelock, governor } = governance;
      const self = await timelock.getAddress();
      const governorAddress = await governor.getAddress();
      const roles = {
        DEFAULT_ADMIN_ROLE: await timelock.DEFAULT_ADMIN_ROLE(),
        PROPOSER_ROLE: await timelock.PROPOSER_ROLE(),
        CANCELLER_ROLE: await timelock.CANCELLER_ROLE(),
        EXECUTOR_ROLE: await timelock.EXECUTOR_ROLE(),
      };
      const holders = await roleHolders(timelock);
      const current = Object.fromEntries(
        Object.entries(roles).map(([name, role]) => [name, [...(holders.get(role) ?? [])]]),
      );
      expect(current).to.deep.equal({
        DEFAULT_ADMIN_ROLE: [self],
        PROPOSER_ROLE: [governorAddress],
        CANCELLER_ROLE: [governorAddress],
        EXECUTOR_ROLE: [governorAddress],
      });
      // The replay agrees with hasRole, and no test account (the deployer first) holds anything.
      for (const [name, role] of Object.entries(roles)) {
        for (const account of current[name]!) expect(await timelock.hasRole(role, account)).to.equal(true);
        for (const signer of signers) expect(await timelock.hasRole(role, signer.address), name).to.equal(false);
      }
      // Executing is not open to everyone (address(0) would mean that).
      expect(await timelock.hasRole(roles.EXECUTOR_ROLE, ethers.ZeroAddress)).to.equal(false);
      expect(await timelock.getMinDelay()).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.minDelay);
    });
  });

  describe("lib/governance/proposalId.ts against the chain", () => {
    it("computes the id the Governor computes and the timelock operation a queued proposal becomes", async () => {
      const fixture = await stack();
      const { governor, timelock } = fixture.governance;
      const deployer = fixture.signers[0]!;
      const proposal = await pauseProposal(fixture, "Pause V1 for the migration", deployer.address);
      const hash = descriptionHash(proposal.description);
      const governorAddress = await governor.getAddress();

      const expected = proposalId(proposal, hash);
      expect(await governor.hashProposal(proposal.targets, proposal.values, proposal.calldatas, hash)).to.equal(
        expected,
      );
      const id = await proposeAndPass(ethers.provider, governorAddress, proposal, deployer, [deployer]);
      expect(id).to.equal(expected);

      const operation = timelockOperationId(proposal, governorAddress, hash);
      expect(
        await timelock.hashOperationBatch(
          proposal.targets,
          proposal.values,
          proposal.calldatas,
          ethers.ZeroHash,
          timelockSalt(governorAddress, hash),
        ),
      ).to.equal(operation);
      expect(await timelock.isOperation(operation)).to.equal(false);
      await expect(governor.queue(proposal.targets, proposal.values, proposal.calldatas, hash))
        .to.emit(timelock, "CallScheduled")
        .withArgs(
          operation,
          0n,
          proposal.targets[0],
          0n,
          proposal.calldatas[0],
          ethers.ZeroHash,
          await timelock.getMinDelay(),
        );
      expect(await timelock.isOperationPending(operation)).to.equal(true);
    });
  });

  describe("lib/governance/description.ts", () => {
    const proposer = "0x1234567890abcdef1234567890abcdef12345678";
    const checksummed = ethers.getAddress(proposer);

    it("appends the checksummed proposer suffix, and reads it back", () => {
      const description = withProposerSuffix("# Pause V1\n\nBefore the migration.", proposer);
      expect(description).to.equal(`# Pause V1\n\nBefore the migration.#proposer=${checksummed}`);
      expect(proposerOf(description)).to.equal(checksummed);
      // A lowercase suffix written by hand is the same proposer.
      expect(proposerOf(`text#proposer=${proposer}`)).to.equal(checksummed);
    });

    it("refuses to append to a non-address or to text that has a suffix already", () => {
      expect(() => withProposerSuffix("text", "0x1234")).to.throw(
        DescriptionError,
        'The proposer "0x1234" is not an address.',
      );
      expect(() => withProposerSuffix(`text#proposer=${checksummed}`, checksummed)).to.throw(
        DescriptionError,
        'already contains "#proposer="',
      );
    });

    it("refuses a description without the suffix, with text after it, or with the marker twice", () => {
      expect(() => proposerOf("Pause V1")).to.throw(DescriptionError, "does not end in");
      for (const tail of ["\n", " ", "\r\n", "\n\nSigned, the team", "!"]) {
        expect(() => proposerOf(`Pause V1#proposer=${checksummed}${tail}`), JSON.stringify(tail)).to.throw(
          DescriptionError,
          "has text after",
        );
      }
      expect(() => proposerOf(`a#proposer=${checksummed}#proposer=${checksummed}`)).to.throw(
        DescriptionError,
        "more than once (first at character 1)",
      );
    });

    it("hashes the description as the Governor does (keccak256 of its UTF-8 bytes)", () => {
      const description = withProposerSuffix("Mise à jour ✓", proposer);
      expect(descriptionHash(description)).to.equal(ethers.keccak256(ethers.toUtf8Bytes(description)));
    });

    it("on chain: the suffix binds the proposal to its proposer (GovernorRestrictedProposer for anyone else)", async () => {
      const fixture = await stack();
      const { governor } = fixture.governance;
      const [deployer, , other] = fixture.signers;
      const proposal = await pauseProposal(fixture, "Pause V1", other!.address);
      await expect(
        governor
          .connect(deployer!)
          .propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description),
      )
        .to.be.revertedWithCustomError(governor, "GovernorRestrictedProposer")
        .withArgs(deployer!.address);
    });

    it("on chain: a newline after the suffix switches the guard off, which is why proposerOf refuses it", async () => {
      const fixture = await stack();
      const { governor } = fixture.governance;
      const [deployer, , other] = fixture.signers;
      const proposal = await pauseProposal(fixture, "Pause V1", other!.address);
      const tampered = `${proposal.description}\n`;
      expect(() => proposerOf(tampered)).to.throw(DescriptionError, "has text after");
      // Bound to `other`, yet the deployer proposes it: the Governor ignored the suffix.
      const id = proposalId(proposal, descriptionHash(tampered));
      await expect(
        governor.connect(deployer!).propose(proposal.targets, proposal.values, proposal.calldatas, tampered),
      ).to.emit(governor, "ProposalCreated");
      expect(await governor.proposalProposer(id)).to.equal(deployer!.address);
    });
  });
});

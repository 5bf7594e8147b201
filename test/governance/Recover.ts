import { expect } from "chai";
import {
  governorAddress,
  governorFromBlock,
  proposalFileFromChain,
  ProposalRecoveryError,
  recoverProposal,
} from "../../lib/governance/recover.js";
import { parseProposalFile } from "../../lib/governance/proposalFile.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { governedStack } from "../helpers/governedStack.js";
import { pauseAndUpgrade, proposeOnChain } from "../helpers/handProposal.js";
import { expectRejection } from "../helpers/rejections.js";

describe("governance: recovering a proposal from ProposalCreated (recoverProposal)", function () {
  it("recovers the exact arguments, the description byte for byte, across pages of blocks", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const governor = await f.governance.governor.getAddress();
    // Another proposal first: recovery must pick the one asked for.
    await proposeOnChain(f, await pauseAndUpgrade(f, { title: "Another one" }));
    const startBlock = await ethers.provider.getBlockNumber();
    await networkHelpers.mine(25);
    const proposal = await pauseAndUpgrade(f, { title: "Recovered\twith a tab, é and 🚀" });
    const id = await proposeOnChain(f, proposal);
    await networkHelpers.mine(7);

    const recovered = await recoverProposal(ethers.provider, governor, id, { fromBlock: 0, pageBlocks: 4 });
    expect(recovered.id).to.equal(id);
    expect(recovered.description).to.equal(proposal.description);
    expect(Buffer.from(recovered.description, "utf8").equals(Buffer.from(proposal.description, "utf8"))).to.equal(true);
    expect(recovered.targets).to.deep.equal(proposal.targets);
    expect(recovered.values).to.deep.equal(proposal.values.map(BigInt));
    expect(recovered.calldatas).to.deep.equal(proposal.calldatas);
    expect(recovered.proposer).to.equal(f.signers[0]!.address);
    expect(recovered.voteStart).to.equal(await f.governance.governor.proposalSnapshot(id));
    expect(recovered.voteEnd).to.equal(await f.governance.governor.proposalDeadline(id));
    const receipt = await ethers.provider.getTransactionReceipt(recovered.transactionHash);
    expect(receipt?.blockNumber).to.equal(recovered.blockNumber);
    expect(recovered.blockNumber).to.be.greaterThan(startBlock + 25);

    // The proposal file rebuilt from the event passes every check of a file written by upgrade:propose.
    const chainId = 31337;
    const file = proposalFileFromChain(recovered, {
      chainId,
      governor,
      timelock: await f.governance.timelock.getAddress(),
      record: f.ctx.store.record,
    });
    expect(parseProposalFile(JSON.parse(JSON.stringify(file)), "recovered")).to.deep.equal(file);
    expect(file).to.deep.include({
      proposalId: proposal.proposalId,
      descriptionHash: proposal.descriptionHash,
      timelockOperationId: proposal.timelockOperationId,
      title: "Recovered\twith a tab, é and 🚀",
      action: "custom",
    });
    expect(file.calls.map((call) => call.contract)).to.deep.equal(["NodeRegistryV1", "NodeRegistryV1"]);
  });

  it("retries a page the node refuses in halves", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const proposal = await pauseAndUpgrade(f);
    const id = await proposeOnChain(f, proposal);
    const ranges: number[] = [];
    // A node that caps getLogs at 8 blocks, as public endpoints cap theirs.
    const capped = new Proxy(ethers.provider, {
      get(target, property) {
        if (property === "getLogs") {
          return async (filter: { fromBlock: number; toBlock: number }) => {
            const span = filter.toBlock - filter.fromBlock + 1;
            ranges.push(span);
            if (span > 8) throw new Error("query exceeds max block range 8");
            return target.getLogs(filter);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const recovered = await recoverProposal(capped, await f.governance.governor.getAddress(), id, { fromBlock: 0 });
    expect(recovered.description).to.equal(proposal.description);
    expect(ranges[0]).to.be.greaterThan(8);
    expect(ranges.filter((span) => span > 8).length).to.be.lessThan(ranges.length);
  });

  it("refuses an unknown id, a search that starts after the proposal, and an address without code", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const governor = await f.governance.governor.getAddress();
    await expectRejection(
      recoverProposal(ethers.provider, governor, 12345n, { fromBlock: 0 }),
      ProposalRecoveryError,
      `The Governor ${governor} has no proposal 12345: check the id`,
    );
    const id = await proposeOnChain(f, await pauseAndUpgrade(f));
    const after = (await ethers.provider.getBlockNumber()) + 1;
    await networkHelpers.mine(2);
    await expectRejection(
      recoverProposal(ethers.provider, governor, id, { fromBlock: after }),
      ProposalRecoveryError,
      `No ProposalCreated event for proposal ${id} on the Governor ${governor} in blocks ${after}–${after + 1}: give --from-block at or before the block the proposal was created in.`,
    );
    const nobody = f.signers[3]!.address;
    await expectRejection(
      recoverProposal(ethers.provider, nobody, id, { fromBlock: 0 }),
      ProposalRecoveryError,
      `No contract at the Governor address ${nobody}`,
    );
  });

  it("starts from --from-block, the recorded Governor block, or 0 on a development chain only", () => {
    const record = { chainId: 8453, contracts: { FabstirGovernor: { address: ethers.ZeroAddress } } };
    expect(governorFromBlock(record, 120, false)).to.equal(120);
    expect(governorFromBlock(record, -1, true)).to.equal(0);
    const recorded = { chainId: 8453, contracts: { FabstirGovernor: { address: ethers.ZeroAddress, block: 777 } } };
    expect(governorFromBlock(recorded, undefined, false)).to.equal(777);
    expect(() => governorFromBlock(record, -1, false)).to.throw(
      ProposalRecoveryError,
      "The deployment record does not say in which block the Governor was deployed: give --from-block",
    );
  });

  it("finds the Governor from --governor first, else the deployment record, else says to give --governor", () => {
    const governor = "0x00000000000000000000000000000000000000aa";
    const other = "0x00000000000000000000000000000000000000bb";
    const record = { chainId: 8453, contracts: { FabstirGovernor: { address: governor.toLowerCase() } } };
    expect(governorAddress("", record, 8453)).to.equal(ethers.getAddress(governor));
    expect(governorAddress(other.toLowerCase(), record, 8453)).to.equal(ethers.getAddress(other));
    expect(() => governorAddress("0x1234", record, 8453)).to.throw(
      ProposalRecoveryError,
      '--governor "0x1234" is not an address.',
    );
    for (const none of [undefined, { chainId: 8453, contracts: {} }]) {
      expect(() => governorAddress("", none, 8453)).to.throw(
        ProposalRecoveryError,
        "deployments/8453.json records no FabstirGovernor: give --governor <address>.",
      );
    }
  });
});

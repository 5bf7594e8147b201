import { writeFile } from "node:fs/promises";
import path from "node:path";
import { getAddress, Interface } from "ethers";
import { descriptionHash, withProposerSuffix } from "../../governance/description.js";
import { loadProposalFile, ProposalFileError } from "../../governance/proposalFile.js";
import { proposalId, timelockOperationId } from "../../governance/proposalId.js";
import { PROPOSAL_FORMAT, type ProposalFile } from "../../governance/types.js";
import type { HostileKind } from "./core.js";
import { hostileJson } from "./mutate.js";

/** Governance proposal files (lib/governance/proposalFile.ts), as upgrade:simulate and upgrade:execute load them. */

const GOVERNOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const TIMELOCK = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const PROPOSER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const REGISTRY = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";

export function validProposal(): ProposalFile {
  const description = withProposerSuffix("# Pause V1\n\nPauses the V1 registry.\n", PROPOSER);
  const hash = descriptionHash(description);
  const data = new Interface(["function pause()"]).encodeFunctionData("pause");
  const target = getAddress(REGISTRY);
  const calls = { targets: [target], values: [0n], calldatas: [data] };
  return {
    format: PROPOSAL_FORMAT,
    action: "pause-v1",
    chainId: 31337,
    governor: GOVERNOR,
    timelock: TIMELOCK,
    proposer: PROPOSER,
    title: "Pause V1",
    description,
    descriptionHash: hash,
    proposalId: proposalId(calls, hash).toString(),
    timelockOperationId: timelockOperationId(calls, GOVERNOR, hash),
    targets: [target],
    values: ["0"],
    calldatas: [data],
    calls: [{ target, value: "0", data, contract: "NodeRegistryV1", signature: "pause()", args: {}, summary: "pause" }],
    upgrades: [],
  };
}

export function proposalKind(valid: ProposalFile): HostileKind<Buffer> {
  return {
    name: "proposal",
    arbitrary: hostileJson(valid, 2),
    refusals: [ProposalFileError],
    async read(bytes, dir) {
      const file = path.join(dir, "proposal.json");
      await writeFile(file, bytes);
      await loadProposalFile(file);
    },
  };
}

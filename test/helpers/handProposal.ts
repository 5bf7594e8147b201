import { getAddress } from "ethers";
import { descriptionHash, withProposerSuffix } from "../../lib/governance/description.js";
import { proposalId, timelockOperationId } from "../../lib/governance/proposalId.js";
import {
  PROPOSAL_FORMAT,
  type ExpectedUpgrade,
  type ProposalAction,
  type ProposalCall,
  type ProposalFile,
} from "../../lib/governance/types.js";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatUpgrades } from "@openzeppelin/hardhat-upgrades";
import { ethers as inProcessEthers, upgradesApi } from "./fixtures.js";
import type { GovernedFixture } from "./governedStack.js";

/** One call of a hand-built proposal. */
export interface HandCall {
  target: string;
  data: string;
  value?: bigint;
  contract?: string;
  signature?: string | null;
  summary?: string;
}

/**
 * A proposal file assembled from the lib/governance helpers, as upgrade:propose writes one, for
 * tests that need a proposal without the propose task.
 */
export function handProposal(params: {
  chainId: number;
  governor: string;
  timelock: string;
  proposer: string;
  title: string;
  body?: string;
  calls: HandCall[];
  upgrades?: ExpectedUpgrade[];
  action?: ProposalAction;
}): ProposalFile {
  const description = withProposerSuffix(`# ${params.title}\n\n${params.body ?? ""}\n`, params.proposer);
  const hash = descriptionHash(description);
  const calls: ProposalCall[] = params.calls.map((call) => ({
    target: getAddress(call.target),
    value: (call.value ?? 0n).toString(),
    data: call.data,
    contract: call.contract ?? getAddress(call.target),
    signature: call.signature ?? null,
    args: {},
    summary: call.summary ?? "",
  }));
  const ids = {
    targets: calls.map((call) => call.target),
    values: calls.map((call) => BigInt(call.value)),
    calldatas: calls.map((call) => call.data),
  };
  return {
    format: PROPOSAL_FORMAT,
    action: params.action ?? "custom",
    chainId: params.chainId,
    governor: getAddress(params.governor),
    timelock: getAddress(params.timelock),
    proposer: getAddress(params.proposer),
    title: params.title,
    description,
    descriptionHash: hash,
    proposalId: proposalId(ids, hash).toString(),
    timelockOperationId: timelockOperationId(ids, params.governor, hash),
    targets: ids.targets,
    values: ids.values.map(String),
    calldatas: ids.calldatas,
    calls,
    upgrades: params.upgrades ?? [],
  };
}

/**
 * On the governed stack: pause the V1 NodeRegistry and upgrade its proxy to a freshly deployed
 * NodeRegistryV1 implementation (`prepareUpgrade`, validated), proposed by signer 0. `extra`
 * calls are appended (a second pause makes the execution revert).
 */
export async function pauseAndUpgrade(
  f: Pick<GovernedFixture, "governance" | "v1" | "signers">,
  options: { title?: string; extra?: HandCall[]; chain?: { ethers: HardhatEthers; upgrades: HardhatUpgrades } } = {},
): Promise<ProposalFile> {
  const { ethers, upgrades } = options.chain ?? { ethers: inProcessEthers, upgrades: upgradesApi };
  const registry = await f.v1.registry.getAddress();
  const implementationBefore = await upgrades.erc1967.getImplementationAddress(registry);
  const factory = await ethers.getContractFactory("NodeRegistryV1", f.signers[0]);
  const prepare = async () =>
    (await upgrades.prepareUpgrade(registry, factory, { kind: "uups", redeployImplementation: "always" })) as string;
  let implementation: string;
  try {
    implementation = await prepare();
  } catch (error) {
    // The plugin's manifest outlives the chain snapshots loadFixture reverts to: after another test
    // file's fixture, it may have dropped this proxy. It runs NodeRegistryV1: import it again.
    if (!/is not registered/.test((error as Error).message)) throw error;
    await upgrades.forceImport(registry, factory, { kind: "uups" });
    implementation = await prepare();
  }
  const iface = f.v1.registry.interface;
  return handProposal({
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    governor: await f.governance.governor.getAddress(),
    timelock: await f.governance.timelock.getAddress(),
    proposer: f.signers[0]!.address,
    title: options.title ?? "Pause V1 and redeploy the NodeRegistry implementation",
    body: "A rehearsal: é, ✓ and 🚀 survive the round trip.",
    calls: [
      { target: registry, data: iface.encodeFunctionData("pause"), contract: "NodeRegistryV1", signature: "pause()" },
      {
        target: registry,
        data: iface.encodeFunctionData("upgradeToAndCall", [implementation, "0x"]),
        contract: "NodeRegistryV1",
        signature: "upgradeToAndCall(address,bytes)",
      },
      ...(options.extra ?? []),
    ],
    upgrades: [
      {
        name: "NodeRegistryV1",
        proxy: registry,
        implementationBefore,
        implementation,
        contractName: "NodeRegistryV1",
        version: await f.v1.registry.version(),
      },
    ],
    action: "custom",
  });
}

/** Proposes `proposal` on chain as signer 0 (its proposer in these tests). */
export async function proposeOnChain(
  f: Pick<GovernedFixture, "governance" | "signers">,
  proposal: ProposalFile,
): Promise<bigint> {
  const governor = f.governance.governor.connect(f.signers[0]!);
  await (
    await governor.propose(proposal.targets, proposal.values.map(BigInt), proposal.calldatas, proposal.description)
  ).wait();
  return BigInt(proposal.proposalId);
}

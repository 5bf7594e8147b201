import hre from "hardhat";
import { expect } from "chai";
import { ContractFactory } from "ethers";
import { upgradesPreparer } from "../../deploy/preparer.js";
import { composeProposal } from "../../lib/governance/compose.js";
import { recoverProposal } from "../../lib/governance/recover.js";
import { simulateProposal, type SimulationProvider } from "../../lib/governance/simulate.js";
import { proposalById, runtimeArtifacts, type ArtifactSource } from "../../lib/governance/simulateCommand.js";
import type { CheckResult, SimulationReport } from "../../lib/governance/simulation.js";
import type { ExpectedUpgrade, ProposalFile } from "../../lib/governance/types.js";
import {
  artifactsMatching,
  runtimeCodeMatches,
  upgradesFromChain,
  type RuntimeArtifact,
} from "../../lib/governance/upgradesFromChain.js";
import type { DeploymentRecord } from "../../lib/deployments.js";
import { knownContracts } from "../../lib/governance/checks/chain.js";
import { checkVersions } from "../../lib/governance/checks/implementations.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";
import { handProposal, pauseAndUpgrade, proposeOnChain } from "../helpers/handProposal.js";

const provider = ethers.provider as unknown as SimulationProvider;
let artifacts: RuntimeArtifact[];

/** The checks as a reviewer compares them: id, status, and the facts, without how a by-id expectation was derived. */
function verdicts(checks: CheckResult[], upgrades: readonly ExpectedUpgrade[]) {
  const derived = new Set(upgrades.flatMap((u) => (u.derivation ?? []).map((line) => `${u.name}: ${line}`)));
  return checks.map((check) => ({
    id: check.id,
    status: check.status,
    details: check.details.filter((line) => !derived.has(line)),
  }));
}

/** Simulates the proposal (already on chain) from its file, then, from the same state, by its id. */
async function byFileAndById(
  record: DeploymentRecord,
  file: ProposalFile,
): Promise<{ byFile: SimulationReport; byId: SimulationReport; recovered: ProposalFile }> {
  const start = await networkHelpers.takeSnapshot();
  const byFile = await simulateProposal({ provider, proposal: file, record });
  await start.restore();
  const chain = { provider, chainId: 31337, record, devChain: true };
  const options = { fromBlock: 0, artifacts, root: hre.config.paths.root };
  const recovered = await proposalById(chain, BigInt(file.proposalId), options);
  const byId = await simulateProposal({ provider, proposal: recovered, record });
  return { byFile, byId, recovered };
}

const withoutDerivation = (upgrades: readonly ExpectedUpgrade[]) =>
  upgrades.map(({ derivation: _derivation, ...upgrade }) => upgrade);

describe("governance: simulating a proposal by id derives its upgrades from chain", function () {
  this.timeout(300_000);

  before(async () => {
    artifacts = await runtimeArtifacts(hre.artifacts as unknown as ArtifactSource);
  });

  it("matches deployed code to its artifact without metadata and immutables, and nothing else", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const registry = await f.v1.registry.getAddress();
    const code = await ethers.provider.getCode(
      ethers.getAddress(`0x${(await ethers.provider.getStorage(registry, IMPLEMENTATION_SLOT)).slice(-40)}`),
    );
    expect(artifactsMatching(code, artifacts)).to.deep.equal(["NodeRegistryV1"]);
    const artifact = artifacts.find((a) => a.contractName === "NodeRegistryV1")!;
    // UUPS's `__self` immutable is the implementation's own address: the code differs there.
    expect(code).to.not.equal(artifact.deployedBytecode);
    expect(runtimeCodeMatches(code, { ...artifact, immutableReferences: {} })).to.equal(false);
    // Another build's metadata (the source hash) does not matter; one byte of code does.
    const metadataByte = code.length - 20;
    const otherMetadata = `${code.slice(0, metadataByte)}${code[metadataByte] === "0" ? "1" : "0"}${code.slice(metadataByte + 1)}`;
    expect(runtimeCodeMatches(otherMetadata, artifact)).to.equal(true);
    const otherCode = `${code.slice(0, 100)}${code[100] === "0" ? "1" : "0"}${code.slice(101)}`;
    expect(artifactsMatching(otherCode, artifacts)).to.deep.equal([]);
    expect(runtimeCodeMatches("0x", artifact)).to.equal(false);
  });

  it("an upgrade proposal: decoded calls and the file's upgrades, and the same check results by file and by id", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const file = await pauseAndUpgrade(f);
    await proposeOnChain(f, file);
    const { byFile, byId, recovered } = await byFileAndById(f.ctx.store.record, file);

    expect(recovered.calls.map((call) => [call.contract, call.signature])).to.deep.equal([
      ["NodeRegistryV1", "pause()"],
      ["NodeRegistryV1", "upgradeToAndCall(address,bytes)"],
    ]);
    expect(recovered.calls[0]!.summary).to.equal(
      "Pauses NodeRegistryV1: its user functions revert until it is unpaused.",
    );
    expect(recovered.calls[1]!.args).to.deep.equal({ newImplementation: file.upgrades[0]!.implementation, data: "0x" });
    expect(withoutDerivation(recovered.upgrades)).to.deep.equal(file.upgrades);
    const created = await recoverProposal(ethers.provider, file.governor, BigInt(file.proposalId), { fromBlock: 0 });
    const derivation = recovered.upgrades[0]!.derivation!;
    expect(derivation.slice(0, 3)).to.deep.equal([
      "recovered from upgradeToAndCall in call 2 of the proposal on chain.",
      `implementation before: the EIP-1967 slot at block ${created.blockNumber - 1}, before the proposal was created.`,
      "artifact: NodeRegistryV1, matched by runtime code (without metadata and immutables).",
    ]);
    expect(derivation[3]).to.match(/^version: "1\.0\.0", from version\(\) of the implementation at block \d+\.$/);

    expect(byId.passed).to.equal(true);
    expect(verdicts(byId.checks, recovered.upgrades)).to.deep.equal(verdicts(byFile.checks, []));
    const implementations = byId.checks.find((check) => check.id === "implementations")!;
    expect(implementations.details).to.include(
      "NodeRegistryV1: artifact: NodeRegistryV1, matched by runtime code (without metadata and immutables).",
    );
  });

  it("a proxy the record does not name is named by its address", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const file = await pauseAndUpgrade(f);
    const id = await proposeOnChain(f, file);
    const recovered = await recoverProposal(ethers.provider, file.governor, id, { fromBlock: 0 });
    const [upgrade] = await upgradesFromChain(ethers.provider, recovered, { artifacts });
    expect(upgrade).to.deep.include({ ...file.upgrades[0]!, name: file.upgrades[0]!.proxy });
  });

  it("a node without old state and an implementation without version() are said, and the version check fails", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const file = await pauseAndUpgrade(f);
    const id = await proposeOnChain(f, file);
    const recovered = await recoverProposal(ethers.provider, file.governor, id, { fromBlock: 0 });
    const latest = await ethers.provider.getBlockNumber();
    // A pruned node: state before the latest block is gone; and version() reverts.
    const pruned = new Proxy(ethers.provider, {
      get(target, property) {
        if (property === "getStorage") {
          return async (address: string, slot: string, block: number) => {
            if (block < latest) throw new Error("missing trie node");
            return target.getStorage(address, slot, block);
          };
        }
        if (property === "call") return async () => Promise.reject(new Error("execution reverted"));
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const [upgrade] = await upgradesFromChain(pruned, recovered, { record: f.ctx.store.record, artifacts });
    expect(upgrade).to.deep.include({
      implementationBefore: file.upgrades[0]!.implementationBefore,
      version: "unknown",
    });
    expect(upgrade!.derivation![1]).to.equal(
      `implementation before: the node cannot read block ${recovered.blockNumber - 1} (missing trie node), so the slot was read at the latest block ${latest}; a change since the proposal was created goes unnoticed (simulate on an archive node to see it).`,
    );
    expect(upgrade!.derivation![3]).to.equal(
      "version: unknown, the implementation does not answer version() (execution reverted).",
    );
    const known = knownContracts(f.ctx.store.record);
    const registry = upgrade!.proxy;
    const check = checkVersions(
      { ...file, upgrades: [upgrade!] },
      known,
      { [registry]: "1.0.0" },
      { [registry]: "1.0.0" },
    );
    expect(check.status).to.equal("fail");
    expect(check.details).to.deep.equal([
      "NodeRegistryV1: version() is 1.0.0 after the proposal, and no expected version is known (the new implementation does not answer version()).",
    ]);
  });

  it("an implementation that is no artifact (its version() says 9.0.0, not NodeRegistryV1's 1.0.0) fails the check, naming the proxy", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const patched = await deployPatchedRegistry(f);
    const registry = await f.v1.registry.getAddress();
    const file = handProposal({
      chainId: 31337,
      governor: await f.governance.governor.getAddress(),
      timelock: await f.governance.timelock.getAddress(),
      proposer: f.signers[0]!.address,
      title: "Upgrade the registry to an implementation built elsewhere",
      calls: [
        { target: registry, data: f.v1.registry.interface.encodeFunctionData("upgradeToAndCall", [patched, "0x"]) },
      ],
    });
    const id = await proposeOnChain(f, file);
    const chain = { provider, chainId: 31337, record: f.ctx.store.record, devChain: true };
    const recovered = await proposalById(chain, id, { fromBlock: 0, artifacts });
    expect(recovered.upgrades[0]).to.deep.include({
      name: "NodeRegistryV1",
      contractName: "unknown",
      version: "9.0.0",
    });
    expect(recovered.calls[0]!.summary).to.match(
      /^Upgrades the NodeRegistryV1 proxy to an implementation whose code matches none of the project's artifacts \(0x[0-9a-fA-F]{40}, version 9\.0\.0\), with no upgrade call; no audits\/ report can be matched to it/,
    );

    const report = await simulateProposal({ provider, proposal: recovered, record: f.ctx.store.record });
    expect(report.passed).to.equal(false);
    const implementations = report.checks.find((check) => check.id === "implementations")!;
    expect(implementations.status).to.equal("fail");
    expect(implementations.details).to.include(
      `NodeRegistryV1: the new implementation ${patched} is not one of the project's contracts (no artifact has its code): review its source and bytecode by hand, or build the project at the commit that compiled it.`,
    );
    expect(implementations.details).to.include(
      `NodeRegistryV1: artifact: unknown, the runtime code of ${patched} matches none of the project's ${artifacts.length} compiled artifacts (compared without metadata and immutables).`,
    );
    expect(await f.v1.registry.version()).to.equal("9.0.0");
  });

  it("the freeze-and-open proposal as upgrade:propose builds it: the same upgrades and check results by file and by id", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const [deployer, , operator] = f.signers;
    const { proposal: file } = await composeProposal(
      {
        provider: ethers.provider,
        chainId: 31337,
        record: f.ctx.store.record,
        preparer: upgradesPreparer({ ethers, upgrades: upgradesApi, signer: deployer!, artifacts: hre.artifacts }),
        proposer: deployer!.address,
        root: hre.config.paths.root,
      },
      {
        actions: ["pause-v1", "upgrade", "grant-migrator"],
        options: { operator: operator!.address },
        title: "Freeze V1 and open the migration",
        body: "",
      },
    );
    await proposeOnChain(f, file);
    const { byFile, byId, recovered } = await byFileAndById(f.ctx.store.record, file);
    expect(file.upgrades.map((u) => u.contractName)).to.deep.equal(["NodeRegistryV1_1", "PaymentEscrowV1_1"]);
    expect(withoutDerivation(recovered.upgrades)).to.deep.equal(file.upgrades);
    // Decoded as upgrade:propose decoded them, the reviews under audits/ linked.
    expect(recovered.calls).to.deep.equal(file.calls);
    expect(recovered.calls[3]!.audit).to.equal("audits/v1-to-v2/NodeRegistryV1-to-NodeRegistryV1_1.md");
    expect(byFile.passed).to.equal(true);
    expect(verdicts(byId.checks, recovered.upgrades)).to.deep.equal(verdicts(byFile.checks, []));
  });
});

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

/** NodeRegistryV1 with its version literal changed from "1.0.0" to "9.0.0": a build the project has no artifact of. */
async function deployPatchedRegistry(f: GovernedFixture): Promise<string> {
  const artifact = await hre.artifacts.readArtifact("NodeRegistryV1");
  // solc pushes "1.0.0" as 0x0312e302e3 shifted left by 220 bits.
  const literal = "640312e302e360dc1b";
  expect(artifact.bytecode.split(literal)).to.have.length(2);
  const factory = new ContractFactory(
    artifact.abi,
    artifact.bytecode.replace(literal, "640392e302e360dc1b"),
    f.signers[0],
  );
  const contract = await factory.deploy();
  await contract.waitForDeployment();
  return contract.getAddress();
}

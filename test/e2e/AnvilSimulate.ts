import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { getAddress } from "ethers";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { DEFAULT_GOVERNANCE_PARAMETERS, deployGovernance, type GovernanceStack } from "../../deploy/governance.js";
import { DEFAULT_V1_PARAMETERS, deployV1, type V1Stack } from "../../deploy/v1.js";
import { DeploymentStore } from "../../lib/deployments.js";
import { loadProposalFile } from "../../lib/governance/proposalFile.js";
import { advanceClock, advanceClockPast, PROPOSAL_STATES } from "../../lib/governance/lifecycle.js";
import type { SimulationReport } from "../../lib/governance/simulation.js";
import type { ProposalFile } from "../../lib/governance/types.js";
import { runTask, startAnvil, type AnvilNode } from "../helpers/anvil.js";
import { handProposal, pauseAndUpgrade, proposeOnChain } from "../helpers/handProposal.js";

const lastLine = (text: string) => text.trimEnd().split("\n").at(-1);

describe("end to end on anvil: upgrade:simulate and upgrade:execute as child processes", function () {
  this.timeout(600_000);
  let anvil: AnvilNode;
  let dir: string;
  let close: (() => Promise<void>) | undefined;
  let chain: {
    ethers: Awaited<ReturnType<typeof hre.network.create>>["ethers"];
    upgrades: Awaited<ReturnType<typeof upgrades>>;
  };
  let stack: { governance: GovernanceStack; v1: V1Stack; signers: Awaited<ReturnType<typeof chain.ethers.getSigners>> };

  before(async () => {
    anvil = await startAnvil();
    dir = await mkdtemp(path.join(tmpdir(), "anvil-simulate-"));
    const connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
    close = () => connection.close();
    chain = { ethers: connection.ethers, upgrades: await upgrades(hre, connection) };
    // The governed shape of test/helpers/governedStack.ts, on anvil (V1 is all these proposals touch).
    const signers = await chain.ethers.getSigners();
    const [deployer, treasury] = signers;
    const store = await DeploymentStore.open(31337, undefined);
    const ctx = { ...chain, deployer: deployer!, store, chainId: 31337 };
    const governance = await deployGovernance(ctx, { ...DEFAULT_GOVERNANCE_PARAMETERS, holder: deployer!.address });
    await (await governance.token.delegate(deployer!.address)).wait();
    // The Governor counts the proposer's votes at `clock() - 1`: anvil may mine the first
    // proposal in the delegation's second, so the clock moves on first.
    await advanceClock(chain.ethers.provider, "mode=timestamp", 1n);
    const v1 = await deployV1(ctx, {
      ...DEFAULT_V1_PARAMETERS,
      admin: await governance.timelock.getAddress(),
      treasury: treasury!.address,
    });
    stack = { governance, v1, signers };
  });
  after(async () => {
    await close?.();
    await anvil?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function writeProposal(proposal: ProposalFile): Promise<string> {
    const file = path.join(dir, `${proposal.proposalId}.proposal.json`);
    await writeFile(file, JSON.stringify(proposal, null, 2));
    return file;
  }

  it("refuses a --proposal that is neither a file nor an id, and a tampered file, before sending anything", async function () {
    const bogus = await runTask(anvil.url, ["upgrade:simulate", "--proposal", "no-such-file.json"]);
    expect(bogus.code).to.equal(1);
    expect(bogus.stderr).to.include(
      '--proposal "no-such-file.json" is neither an existing file nor a decimal proposal id',
    );
    const proposal = await pauseAndUpgrade(stack, { chain, title: "Tampered" });
    const file = await writeProposal({ ...proposal, description: `${proposal.description} ` });
    const tampered = await runTask(anvil.url, ["upgrade:simulate", "--proposal", file]);
    expect(tampered.code).to.equal(1);
    expect(tampered.stderr).to.include('description: The description has text after "#proposer=<address>"');
    const none = await runTask(anvil.url, ["upgrade:simulate"]);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.include("give --proposal <file|id>");
  });

  it("simulates a proposal file: prints the report, writes it, and the chain shows the execution", async function () {
    const proposal = await pauseAndUpgrade(stack, { chain });
    const file = await writeProposal(proposal);
    const reports = path.join(dir, "reports");
    const run = await runTask(anvil.url, ["upgrade:simulate", "--proposal", file, "--report", reports]);
    expect(run.code, run.stderr + run.stdout).to.equal(0);
    expect(lastLine(run.stdout)).to.match(
      /^Simulation passed: proposal \d+ executed; \d+ checks passed, \d+ skipped\.$/,
    );
    expect(run.stdout).to.include(proposal.proposalId);
    const report = JSON.parse(
      await readFile(path.join(reports, `${proposal.proposalId}.json`), "utf8"),
    ) as SimulationReport;
    expect(report.passed).to.equal(true);
    expect(report.steps.map((s) => s.step)).to.deep.equal(["propose", "vote", "queue", "execute"]);
    expect(existsSync(path.join(reports, `${proposal.proposalId}.md`))).to.equal(true);
    // Read back independently of the task: the proposal ran on anvil.
    const id = BigInt(proposal.proposalId);
    expect(PROPOSAL_STATES[Number(await stack.governance.governor.state(id))]).to.equal("Executed");
    expect(await stack.v1.registry.paused()).to.equal(true);
    expect(await chain.upgrades.erc1967.getImplementationAddress(await stack.v1.registry.getAddress())).to.equal(
      proposal.upgrades[0]!.implementation,
    );
  });

  it("a proposal whose execution reverts fails the simulation with a non-zero exit", async function () {
    // V1 is paused by now: pausing it again reverts.
    const registry = stack.v1.registry;
    const proposal = await pauseAndUpgrade(stack, { chain, title: "Pause again" });
    const file = await writeProposal(proposal);
    const run = await runTask(anvil.url, ["upgrade:simulate", "--proposal", file, "--report", dir, "--json"]);
    expect(run.code).to.equal(1);
    const report = JSON.parse(run.stdout) as SimulationReport;
    expect(report.passed).to.equal(false);
    expect(report.checks[0]).to.deep.include({ id: "execution", status: "fail", data: { reason: "EnforcedPause()" } });
    expect(lastLine(run.stderr)).to.equal("Simulation FAILED: 1 of 1 checks failed (execution).");
    expect(await registry.paused()).to.equal(true);
  });

  it("simulates a proposal on chain by its id: the upgrades derived from chain and checked as for its file", async function () {
    const built = await pauseAndUpgrade(stack, { chain, title: "Redeploy the registry" });
    const upgrade = built.calls[1]!;
    const proposal = handProposal({
      chainId: 31337,
      governor: built.governor,
      timelock: built.timelock,
      proposer: built.proposer,
      title: "Redeploy the registry, simulated by id",
      calls: [{ target: upgrade.target, data: upgrade.data, contract: upgrade.contract, signature: upgrade.signature }],
      upgrades: built.upgrades,
    });
    const id = await proposeOnChain(stack, proposal);
    // The Governor by --governor: this project records no deployment for anvil's chain, so the
    // proxies are named by their addresses and the implementations by the artifacts they run.
    const reports = path.join(dir, "by-id");
    const run = await runTask(anvil.url, [
      ...["upgrade:simulate", "--proposal", id.toString(), "--governor", built.governor],
      ...["--report", reports, "--json"],
    ]);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as SimulationReport;
    expect(report.passed).to.equal(true);
    const implementations = report.checks.find((check) => check.id === "implementations")!;
    const expected = built.upgrades[0]!;
    const proxy = getAddress(expected.proxy);
    expect(implementations.details).to.include.members([
      `${proxy}: artifact: NodeRegistryV1, matched by runtime code (without metadata and immutables).`,
      `${proxy}: implementation ${expected.implementationBefore} → ${expected.implementation} (NodeRegistryV1), as expected.`,
    ]);
    expect(report.checks.find((check) => check.id === "versions")!.details).to.include(
      `${proxy}: version() 1.0.0 → 1.0.0, as expected.`,
    );
    // The proposal it rebuilt from chain is written beside the report: a valid file, its calls decoded.
    const rebuilt = await loadProposalFile(path.join(reports, `${id}.proposal.json`));
    expect(rebuilt.upgrades.map(({ derivation: _derivation, ...rest }) => rest)).to.deep.equal(
      built.upgrades.map((upgrade) => ({ ...upgrade, name: proxy })),
    );
    expect(rebuilt.calls[0]!.signature).to.equal("upgradeToAndCall(address,bytes)");
  });

  it("upgrade:execute queues a passed proposal, refuses to execute early, executes once ready", async () => {
    const { governor, token, timelock } = stack.governance;
    // Independent of the other tests' state: the timelock confirms its own delay (onlySelf).
    const delay = await timelock.getMinDelay();
    const proposal = handProposal({
      chainId: 31337,
      governor: await governor.getAddress(),
      timelock: await timelock.getAddress(),
      proposer: stack.signers[0]!.address,
      title: "Confirm the timelock's delay through upgrade:execute",
      calls: [
        { target: await timelock.getAddress(), data: timelock.interface.encodeFunctionData("updateDelay", [delay]) },
      ],
    });
    const id = await proposeOnChain(stack, proposal);
    const provider = chain.ethers.provider;
    await advanceClockPast(provider, "mode=timestamp", await token.clock(), await governor.proposalSnapshot(id));
    await (await governor.castVote(id, 1)).wait();
    const execute = (...extra: string[]) =>
      runTask(anvil.url, [
        "upgrade:execute",
        "--proposal-id",
        id.toString(),
        "--governor",
        proposal.governor,
        ...extra,
      ]);
    const active = await execute();
    expect(active.code).to.equal(1);
    expect(active.stderr).to.match(/Active: voting ends at .*; it can be queued once the vote has passed\./);
    await advanceClockPast(provider, "mode=timestamp", await token.clock(), await governor.proposalDeadline(id));

    const queued = await execute();
    expect(queued.code, queued.stderr).to.equal(0);
    expect(queued.stdout).to.match(
      new RegExp(`Queued proposal ${id} \\(transaction 0x[0-9a-f]{64}\\); it can execute from `),
    );
    const early = await execute();
    expect(early.code).to.equal(1);
    expect(early.stderr).to.match(/Queued: the timelock's delay ends at .* \(in (1 d 23 h 59 min|2 d)\)/);

    const latest = await provider.getBlock("latest");
    await advanceClockPast(provider, "mode=timestamp", BigInt(latest!.timestamp), await governor.proposalEta(id));
    const dry = await execute("--dry-run");
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/Dry run: execute of proposal \d+ would use about \d+ gas; nothing was sent\./);
    expect(PROPOSAL_STATES[Number(await governor.state(id))]).to.equal("Queued");

    const executed = await execute();
    expect(executed.code, executed.stderr).to.equal(0);
    expect(executed.stdout).to.match(
      new RegExp(`Executed proposal ${id} \\(transaction 0x[0-9a-f]{64}, block \\d+\\)\\.`),
    );
    expect(PROPOSAL_STATES[Number(await governor.state(id))]).to.equal("Executed");
    const hash = /transaction (0x[0-9a-f]{64})/.exec(executed.stdout)![1]!;
    const changes = await timelock.queryFilter(timelock.filters.MinDelayChange());
    // The constructor's change (0 → delay), then the proposal's.
    const last = changes.at(-1)!;
    expect(changes).to.have.length(2);
    expect([last.transactionHash, last.args.oldDuration, last.args.newDuration]).to.deep.equal([hash, delay, delay]);
  });
});

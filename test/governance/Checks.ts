import { expect } from "chai";
import { Wallet, ZeroAddress, ZeroHash, getAddress, id, parseEther, type TransactionReceipt } from "ethers";
import { EMPTY_COMMITMENT } from "../../lib/commitment.js";
import { seedV1 } from "../../lib/fixtures/seed.js";
import { planSeed } from "../../lib/fixtures/plan.js";
import { readV1State } from "../../lib/v1State.js";
import { roleId, roleName } from "../../lib/governance/abis.js";
import { INITIALIZABLE_SLOT } from "../../lib/governance/checks/chain.js";
import { checkEvents } from "../../lib/governance/checks/events.js";
import { observe, runChecks } from "../../lib/governance/checks/index.js";
import { descriptionHash, withProposerSuffix } from "../../lib/governance/description.js";
import { proposeAndPass, queueAndExecute } from "../../lib/governance/lifecycle.js";
import { proposalId, timelockOperationId } from "../../lib/governance/proposalId.js";
import type { CheckResult } from "../../lib/governance/simulation.js";
import type { ExpectedUpgrade, ProposalAction, ProposalFile } from "../../lib/governance/types.js";
import { PROPOSAL_FORMAT } from "../../lib/governance/types.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";
import { proposalArguments } from "../../lib/governance/proposalFile.js";

/** One call of a test proposal. */
interface TestCall {
  target: string;
  value?: bigint;
  data: string;
}

/** A proposal file as `upgrade:propose` writes it, for `calls` and `upgrades`. */
async function proposalFile(
  f: GovernedFixture,
  action: ProposalAction,
  title: string,
  calls: TestCall[],
  upgrades: ExpectedUpgrade[] = [],
): Promise<ProposalFile> {
  const governor = await f.governance.governor.getAddress();
  const proposer = f.signers[0]!.address;
  const description = withProposerSuffix(`# ${title}\n\nA test proposal.`, proposer);
  const hash = descriptionHash(description);
  const targets = calls.map((call) => getAddress(call.target));
  const values = calls.map((call) => call.value ?? 0n);
  const calldatas = calls.map((call) => call.data);
  return {
    format: PROPOSAL_FORMAT,
    action,
    chainId: f.ctx.chainId,
    governor,
    timelock: await f.governance.timelock.getAddress(),
    proposer,
    title,
    description,
    descriptionHash: hash,
    proposalId: proposalId({ targets, values, calldatas }, hash).toString(),
    timelockOperationId: timelockOperationId({ targets, values, calldatas }, governor, hash),
    targets,
    values: values.map(String),
    calldatas,
    calls: calls.map((call, i) => ({
      target: targets[i]!,
      value: values[i]!.toString(),
      data: call.data,
      contract: targets[i]!,
      signature: null,
      args: {},
      summary: "",
    })),
    upgrades,
  };
}

interface Simulated {
  proposal: ProposalFile;
  execution: TransactionReceipt;
  checks: CheckResult[];
  check: (id: string) => CheckResult;
}

/** Observes, passes the proposal through the Governor, executes it, observes again and runs the checks. */
async function simulate(f: GovernedFixture, proposal: ProposalFile): Promise<Simulated> {
  const input = { provider: ethers.provider, proposal, record: f.ctx.store.record };
  const before = await observe(input);
  const deployer = f.signers[0]!;
  const governor = await f.governance.governor.getAddress();
  const run = proposalArguments(proposal);
  const id = await proposeAndPass(ethers.provider, governor, run, deployer, [deployer]);
  expect(id.toString()).to.equal(proposal.proposalId);
  const execution = await queueAndExecute(ethers.provider, governor, run, deployer);
  const after = await observe(input);
  const { checks, events } = await runChecks({ ...input, before, after, execution });
  expect(events.length).to.equal(execution.logs.length);
  const check = (id: string) => {
    const found = checks.find((c) => c.id === id);
    if (found === undefined) throw new Error(`no check ${id}`);
    return found;
  };
  return { proposal, execution, checks, check };
}

/** `status` of each check by id, for one-line assertions. */
function statuses(checks: CheckResult[]): Record<string, string> {
  return Object.fromEntries(checks.map((check) => [check.id, check.status]));
}

/** An upgrade of V1's `recordName` proxy to `contractName`, its implementation deployed by `prepareUpgrade`. */
async function prepared(f: GovernedFixture, recordName: "NodeRegistryV1" | "PaymentEscrowV1", contractName: string) {
  const proxy = (f.ctx.store.get(recordName) as { proxy: string }).proxy;
  const factory = await ethers.getContractFactory(contractName, f.signers[0]!);
  const implementation = (await upgradesApi.prepareUpgrade(proxy, factory, { kind: "uups" })) as string;
  const upgrade: ExpectedUpgrade = {
    name: recordName,
    proxy: getAddress(proxy),
    implementationBefore: await upgradesApi.erc1967.getImplementationAddress(proxy),
    implementation: getAddress(implementation),
    contractName,
    version: "1.1.0",
  };
  return upgrade;
}

/** `upgradeToAndCall(implementation, initializeMigration(target))` on `proxy`. */
async function upgradeCall(
  f: GovernedFixture,
  proxy: string,
  implementation: string,
  target: string,
): Promise<TestCall> {
  const v1_1 = await ethers.getContractAt("NodeRegistryV1_1", proxy);
  const init = v1_1.interface.encodeFunctionData("initializeMigration", [target]);
  return { target: proxy, data: v1_1.interface.encodeFunctionData("upgradeToAndCall", [implementation, init]) };
}

async function registryUpgrade(f: GovernedFixture, implementation?: string) {
  const upgrade = await prepared(f, "NodeRegistryV1", "NodeRegistryV1_1");
  const call = await upgradeCall(
    f,
    upgrade.proxy,
    implementation ?? upgrade.implementation,
    await f.v2.registry.getAddress(),
  );
  return { upgrade, call };
}

async function registerNode(f: GovernedFixture, signer = f.signers[3]!) {
  await (
    await f.v1.registry.connect(signer).registerNode("peer-1", ["llama-3"], "eu-west", { value: parseEther("0.05") })
  ).wait();
  return signer;
}

describe("governance: the simulation's post-checks", function () {
  this.timeout(300_000);

  it("passes an upgrade of the V1 NodeRegistry to V1.1 with initializeMigration", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    await registerNode(f);
    const { upgrade, call } = await registryUpgrade(f);
    const result = await simulate(f, await proposalFile(f, "upgrade", "Upgrade the registry", [call], [upgrade]));
    expect(statuses(result.checks)).to.deep.equal({
      implementations: "pass",
      versions: "pass",
      commitments: "pass",
      permissions: "pass",
      balances: "pass",
      events: "pass",
    });
    expect(result.check("implementations").details).to.include(
      `NodeRegistryV1: implementation ${upgrade.implementationBefore} → ${upgrade.implementation} (NodeRegistryV1_1), as expected.`,
    );
    expect(result.check("implementations").details.join("\n")).to.match(
      /initializers are disabled \(initialize\(address,address,uint256,uint256\) reverts InvalidInitialization\(\); initializeMigration\(address\) reverts InvalidInitialization\(\)\)/,
    );
    expect(result.check("versions").details).to.include("NodeRegistryV1: version() 1.0.0 → 1.1.0, as expected.");
    expect(result.check("versions").details).to.include("PaymentEscrowV1: version() 1.0.0, unchanged.");
    const commitments = result.check("commitments").details;
    expect(commitments).to.include("V1 nodes count: unchanged (1).");
    expect(commitments).to.include("V1 totalStaked: unchanged (50000000000000000).");
    expect(commitments).to.include("NodeRegistryV2 migratedCount(): unchanged (0).");
    expect(commitments).to.include(`V2 nodes read-back commitment: unchanged (${EMPTY_COMMITMENT}).`);
    expect(result.check("permissions").details[0]).to.equal("The execution granted and revoked no role.");
  });

  it("finds a seeded V1's commitments unchanged across the pause and the V1.1 upgrades", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const plan = planSeed(
      { nodes: 4, jobs: 12, users: 4, seed: "checks" },
      { minimumStake: await f.v1.registry.minimumStake(), maxModels: 32 },
    );
    // The seed slashes as the slasher, which is the timelock here: it pays through an impersonated account.
    const timelock = await f.governance.timelock.getAddress();
    await networkHelpers.impersonateAccount(timelock);
    await networkHelpers.setBalance(timelock, parseEther("1"));
    const summary = await seedV1(
      { provider: ethers.provider, funder: await ethers.getSigner(timelock), stack: f.v1, devChain: true },
      plan,
    );
    await networkHelpers.stopImpersonatingAccount(timelock);
    expect(summary.mismatches).to.deep.equal([]);
    await networkHelpers.setBalance(timelock, 0n);

    const registry = await registryUpgrade(f);
    const escrow = await prepared(f, "PaymentEscrowV1", "PaymentEscrowV1_1");
    const escrowCall = await upgradeCall(f, escrow.proxy, escrow.implementation, await f.v2.escrow.getAddress());
    const pause = (target: string) => ({ target, data: f.v1.registry.interface.encodeFunctionData("pause") });
    const calls = [
      pause(await f.v1.registry.getAddress()),
      pause(await f.v1.escrow.getAddress()),
      pause(await f.v1.marketplace.getAddress()),
      registry.call,
      escrowCall,
    ];
    const result = await simulate(
      f,
      await proposalFile(f, "upgrade", "Open the migration", calls, [registry.upgrade, escrow]),
    );
    expect(statuses(result.checks)).to.deep.equal({
      implementations: "pass",
      versions: "pass",
      commitments: "pass",
      permissions: "pass",
      balances: "pass",
      events: "pass",
    });
    const details = result.check("commitments").details;
    expect(details).to.include(`V1 nodes count: unchanged (4).`);
    expect(details).to.include(`V1 jobs count: unchanged (12).`);
    expect(details.find((line) => line.startsWith("V1 deposits count"))).to.match(/unchanged \([1-9]\d*\)/);
    expect(details.filter((line) => line.includes("changed from"))).to.deep.equal([]);
  });

  it("fails commitments and balances when a proposal slashes a V1 node's stake to the treasury", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const node = await registerNode(f);
    const slash = {
      target: await f.v1.registry.getAddress(),
      data: f.v1.registry.interface.encodeFunctionData("slash", [node.address, parseEther("0.01"), "misbehaved"]),
    };
    const result = await simulate(f, await proposalFile(f, "custom", "Slash a node", [slash]));
    expect(result.check("commitments").status).to.equal("fail");
    expect(result.check("commitments").details).to.include(
      "V1 totalStaked: changed from 50000000000000000 to 40000000000000000.",
    );
    expect(result.check("balances").status).to.equal("fail");
    expect(result.check("balances").details).to.include(
      "NodeRegistryV1: ETH 50000000000000000 → 40000000000000000 (-10000000000000000).",
    );
    expect(result.check("balances").details).to.include(
      "Our contracts and the timelock together lost 10000000000000000 ETH: funds must not leave them unless a custom proposal's calls send them.",
    );
  });

  it("fails permissions when a proposal grants UPGRADER_ROLE to an account without code", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const eoa = Wallet.createRandom().address;
    const grant = {
      target: await f.v2.registry.getAddress(),
      data: f.v2.registry.interface.encodeFunctionData("grantRole", [roleId("UPGRADER_ROLE"), eoa]),
    };
    const result = await simulate(f, await proposalFile(f, "custom", "Grant an upgrader", [grant]));
    const permissions = result.check("permissions");
    expect(permissions.status).to.equal("fail");
    expect(permissions.details).to.deep.equal([
      `NodeRegistryV2: UPGRADER_ROLE granted to ${eoa}.`,
      `NodeRegistryV2: UPGRADER_ROLE is held by ${eoa} (an account without code), not only by the timelock.`,
    ]);
    expect(result.check("implementations").status).to.equal("pass");
  });

  it("fails implementations when the proxy ends up on another implementation than the expected one", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const other = await (await ethers.deployContract("NodeRegistryV1_1", f.signers[0]!)).getAddress();
    const { upgrade, call } = await registryUpgrade(f, other);
    const result = await simulate(f, await proposalFile(f, "upgrade", "Upgrade to the wrong one", [call], [upgrade]));
    expect(result.check("implementations").status).to.equal("fail");
    expect(result.check("implementations").details).to.include(
      `NodeRegistryV1: implementation is ${other} after the proposal, expected ${upgrade.implementation} (NodeRegistryV1_1).`,
    );
    // The version is the expected one: only the slot tells the implementations apart.
    expect(result.check("versions").status).to.equal("pass");
  });

  it("fails implementations when the new implementation can be initialized by anyone", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const upgrade = await prepared(f, "NodeRegistryV1", "NodeRegistryV1_1");
    // As if its constructor had not called _disableInitializers(): the implementation's own version is 0.
    await networkHelpers.setStorageAt(upgrade.implementation, INITIALIZABLE_SLOT, ZeroHash);
    const call = await upgradeCall(f, upgrade.proxy, upgrade.implementation, await f.v2.registry.getAddress());
    const result = await simulate(f, await proposalFile(f, "upgrade", "Upgrade to an open one", [call], [upgrade]));
    const implementations = result.check("implementations");
    expect(implementations.status).to.equal("fail");
    expect(implementations.details.join("\n")).to.include(
      `NodeRegistryV1: the implementation ${upgrade.implementation} can be initialized by anyone (Initializable version 0; initialize(address,address,uint256,uint256) succeeds from any account)`,
    );
  });

  it("fails balances when a non-custom proposal sends the timelock's ETH to an account, passes when a custom one declares it", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const timelock = await f.governance.timelock.getAddress();
    await (await f.signers[0]!.sendTransaction({ to: timelock, value: parseEther("2") })).wait();
    const recipient = Wallet.createRandom().address;
    const calls = [
      { target: await f.v1.marketplace.getAddress(), data: f.v1.marketplace.interface.encodeFunctionData("pause") },
      { target: recipient, value: parseEther("1"), data: "0x" },
    ];
    const before = await networkHelpers.takeSnapshot();
    const undeclared = await simulate(f, await proposalFile(f, "pause-v1", "Pause, and pay someone", calls));
    expect(undeclared.check("balances").status).to.equal("fail");
    expect(undeclared.check("balances").details).to.include(
      "FabstirTimelock: ETH 2000000000000000000 → 1000000000000000000 (-1000000000000000000).",
    );
    expect(undeclared.check("balances").details).to.include(
      "Our contracts and the timelock together lost 1000000000000000000 ETH: funds must not leave them unless a custom proposal's calls send them.",
    );
    await before.restore();

    const declared = await simulate(f, await proposalFile(f, "custom", "Pay someone", calls));
    expect(declared.check("balances").status).to.equal("pass");
    expect(declared.check("balances").details).to.include(
      "Expected outflow: 1000000000000000000 ETH, as the proposal's calls say.",
    );
    expect(declared.check("balances").data).to.deep.include({ outflows: { ETH: "1000000000000000000" } });
  });

  it("passes the V2 commitments check for a finalize, which moves no record", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const v2 = f.v2;
    const finalize = async (contract: typeof v2.registry | typeof v2.escrow | typeof v2.marketplace) => {
      const tokens = [...(await contract.migrationTokens())];
      return {
        target: await contract.getAddress(),
        data: contract.interface.encodeFunctionData("finalizeMigration", [
          EMPTY_COMMITMENT,
          0,
          tokens,
          tokens.map(() => 0n),
        ]),
      };
    };
    const calls = [await finalize(v2.registry), await finalize(v2.marketplace), await finalize(v2.escrow)];
    const result = await simulate(f, await proposalFile(f, "cutover", "Finalize an empty migration", calls));
    expect(statuses(result.checks)).to.deep.include({ commitments: "pass", permissions: "pass", events: "pass" });
    const commitments = result.check("commitments").details;
    for (const name of ["NodeRegistryV2", "JobMarketplaceV2", "PaymentEscrowV2"]) {
      expect(commitments).to.include(`${name}: migration finalized by the proposal.`);
      expect(commitments).to.include(`${name} migrationCommitment(): unchanged (${EMPTY_COMMITMENT}).`);
    }
    expect(commitments).to.include(`V2 deposits read-back count: unchanged (0).`);
    // finalizeMigration revokes MIGRATOR_ROLE from every migrator: the diff names it.
    expect(result.check("permissions").details).to.include(
      "JobMarketplaceV2: MIGRATOR_ROLE revoked from FabstirTimelock.",
    );
    expect(await v2.escrow.migrationFinalized()).to.equal(true);
  });

  it("passes the V2 commitments check for a setTokenAllowed proposal and names the events", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const token = await (await ethers.deployContract("TestUSDC", f.signers[0]!)).getAddress();
    const allow = {
      target: await f.v2.escrow.getAddress(),
      data: f.v2.escrow.interface.encodeFunctionData("setTokenAllowed", [token, true]),
    };
    const result = await simulate(f, await proposalFile(f, "custom", "Allow a token", [allow]));
    expect(result.checks.every((check) => check.status === "pass")).to.equal(true);
    expect(result.check("events").details).to.include(
      `The Governor emitted ProposalExecuted(${result.proposal.proposalId}).`,
    );
    expect(result.check("events").details.some((line) => line.startsWith("FabstirTimelock CallExecuted("))).to.equal(
      true,
    );
  });
});

/**
 * A V1 history of one cancelled job (its funds withdrawn), then the cut-over proposal: finalize
 * the three V2 contracts, trust each V1 proxy as an adapter, upgrade the V1 proxies to the
 * adapters. With `importHistory` the job is imported into V2 first, as the operator would.
 */
async function cutOver(f: GovernedFixture, importHistory: boolean): Promise<Simulated> {
  const user = f.signers[4]!;
  await (await f.v1.escrow.connect(user).deposit(ZeroAddress, parseEther("1"), { value: parseEther("1") })).wait();
  const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
  await (
    await f.v1.marketplace.connect(user).postJob("llama-3", id("input"), parseEther("0.1"), deadline, ZeroAddress)
  ).wait();
  await (await f.v1.marketplace.connect(user).cancelJob(1)).wait();
  await (await f.v1.escrow.connect(user).withdraw(ZeroAddress, parseEther("1"))).wait();
  const { v1, v2 } = f;
  if (importHistory) {
    const state = await readV1State(v1, { blockTag: "latest" });
    await (await v2.registry.connect(user).registerModels(state.modelNames)).wait();
    // The timelock is V2's migrator here: the operator's import runs as it.
    const timelock = await ethers.getImpersonatedSigner(await f.governance.timelock.getAddress());
    await networkHelpers.setBalance(timelock.address, parseEther("1"));
    await (await v2.marketplace.connect(timelock).importHistoricalJobs(0, state.jobs.records)).wait();
    await networkHelpers.setBalance(timelock.address, 0n);
  }
  const calls: TestCall[] = [];
  for (const contract of [v2.registry, v2.marketplace, v2.escrow] as const) {
    const tokens = [...(await contract.migrationTokens())];
    const args = [await contract.migrationCommitment(), await contract.migratedCount(), tokens, tokens.map(() => 0n)];
    calls.push({
      target: await contract.getAddress(),
      data: v2.registry.interface.encodeFunctionData("finalizeMigration", args as never),
    });
  }
  const adapterRole = roleId("ADAPTER_ROLE");
  const pairs = [
    ["NodeRegistry", v1.registry, v2.registry],
    ["PaymentEscrow", v1.escrow, v2.escrow],
    ["JobMarketplace", v1.marketplace, v2.marketplace],
  ] as const;
  const grant = async (v2Contract: (typeof pairs)[number][2], account: string) => ({
    target: await v2Contract.getAddress(),
    data: v2.registry.interface.encodeFunctionData("grantRole", [adapterRole, account]),
  });
  for (const [, proxy, target] of pairs) calls.push(await grant(target, await proxy.getAddress()));
  calls.push(await grant(v2.registry, await v1.marketplace.getAddress()));
  const upgrades: ExpectedUpgrade[] = [];
  for (const [name, proxy, target] of pairs) {
    const address = await proxy.getAddress();
    const contractName = `${name}V1Adapter`;
    const factory = await ethers.getContractFactory(contractName, f.signers[0]!);
    const implementation = (await upgradesApi.prepareUpgrade(address, factory, { kind: "uups" })) as string;
    upgrades.push({
      name: `${name}V1`,
      proxy: address,
      implementationBefore: await upgradesApi.erc1967.getImplementationAddress(address),
      implementation: getAddress(implementation),
      contractName,
      version: "1.0.0-adapter",
    });
    const adapter = await ethers.getContractAt("NodeRegistryV1Adapter", address);
    const init = adapter.interface.encodeFunctionData("initializeAdapter", [await target.getAddress()]);
    calls.push({
      target: address,
      data: adapter.interface.encodeFunctionData("upgradeToAndCall", [implementation, init]),
    });
  }
  return simulate(f, await proposalFile(f, "cutover", "Cut over", calls, upgrades));
}

describe("governance: the post-checks of a cut-over", function () {
  this.timeout(300_000);

  it("finds V1's history answering through the adapter as before", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const result = await cutOver(f, true);
    expect(statuses(result.checks)).to.deep.equal({
      implementations: "pass",
      versions: "pass",
      commitments: "pass",
      permissions: "pass",
      balances: "pass",
      events: "pass",
    });
    const details = result.check("commitments").details;
    expect(details).to.include("V1 history through the adapter: all 1 jobs answer as before.");
    expect(details).to.include(
      "Skipped: V1 nodes: NodeRegistryV1 moves to its adapter; its nodes are V2's now (see V2's commitments).",
    );
    expect(details).to.include("JobMarketplaceV2 migratedCount(): unchanged (1).");
    expect(result.check("versions").details).to.include(
      "JobMarketplaceV1: version() 1.0.0 → 1.0.0-adapter, as expected.",
    );
    expect(result.check("implementations").details.join("\n")).to.include(
      "initializeAdapter(address) reverts InvalidInitialization()",
    );
  });

  it("fails commitments when V1's history was not imported before the cut-over", async () => {
    const f = await networkHelpers.loadFixture(governedStack);
    const result = await cutOver(f, false);
    expect(result.check("commitments").status).to.equal("fail");
    expect(result.check("commitments").details).to.include(
      "V1 history through the adapter: 0 jobs answer, 1 did before.",
    );
  });
});

describe("governance: the events check", () => {
  const proposal = { governor: "0x00000000000000000000000000000000000000AA", proposalId: "7" } as ProposalFile;
  const executed = {
    address: getAddress(proposal.governor),
    contract: "FabstirGovernor",
    signature: "ProposalExecuted(uint256)",
    args: { proposalId: "7" },
    topic0: ZeroHash,
  };
  const unknown = {
    address: ZeroAddress,
    contract: ZeroAddress,
    signature: null,
    args: {},
    topic0: `0x${"11".repeat(32)}`,
  };

  it("lists an undecodable log as unknown and passes", () => {
    const result = checkEvents(proposal, [executed, unknown]);
    expect(result.status).to.equal("pass");
    expect(result.details).to.include(`${ZeroAddress} unknown 0x${"11".repeat(32)}`);
    expect(result.details).to.include("1 log(s) no known ABI decodes (listed as unknown).");
  });

  it("fails when the Governor did not report this proposal executed", () => {
    expect(checkEvents(proposal, [unknown]).status).to.equal("fail");
    expect(checkEvents(proposal, [{ ...executed, args: { proposalId: "8" } }]).status).to.equal("fail");
  });

  it("names roles by their ids", () => {
    expect(roleName(ZeroHash)).to.equal("DEFAULT_ADMIN_ROLE");
    expect(roleName(roleId("MIGRATOR_ROLE"))).to.equal("MIGRATOR_ROLE");
    expect(roleName(`0x${"22".repeat(32)}`)).to.equal(`0x${"22".repeat(32)}`);
  });
});

import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { ContractFactory, Interface, ZeroAddress, getAddress, id, type InterfaceAbi } from "ethers";
import type { DeploymentRecord } from "../../lib/deployments.js";
import {
  IMPLEMENTATION_SLOT,
  ProposalInputError,
  buildActions,
  parseActions,
  parseCustomCalls,
  recordedAddress,
  type ActionContext,
  type ActionOptions,
} from "../../lib/governance/actions/index.js";
import { decodeCalls } from "../../lib/governance/decode.js";
import { DescriptionError, descriptionHash, proposerOf } from "../../lib/governance/description.js";
import { queueAndExecute, proposeAndPass } from "../../lib/governance/lifecycle.js";
import { buildProposal, proposalDescription, submitProposal } from "../../lib/governance/proposal.js";
import { timelockSalt } from "../../lib/governance/proposalId.js";
import { validateSafeBatch } from "../../lib/governance/safeBatch.js";
import { renderProposalSummary } from "../../lib/governance/summary.js";
import { PROPOSAL_FORMAT, type ProposalAction, type ProposalFile } from "../../lib/governance/types.js";
import { v1SnapshotSource, writeSnapshot } from "../../lib/snapshot.js";
import { finalizeExpectations } from "../../lib/v2State.js";
import { readSnapshot } from "../../lib/snapshot.js";
import { upgradesPreparer } from "../../deploy/preparer.js";
import { NodeRegistryV1_1__factory } from "../../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";
import { runTaskCapturing } from "../helpers/taskOutput.js";
import { proposalArguments } from "../../lib/governance/proposalFile.js";

const require = createRequire(import.meta.url);
const ROOT = hre.config.paths.root;
const MIGRATOR_ROLE = id("MIGRATOR_ROLE");
const ADAPTER_ROLE = id("ADAPTER_ROLE");

function actionContext(f: GovernedFixture, record: DeploymentRecord = f.ctx.store.record): ActionContext {
  return {
    provider: ethers.provider,
    chainId: f.ctx.chainId,
    record,
    preparer: upgradesPreparer({ ethers, upgrades: upgradesApi, signer: f.signers[0]!, artifacts: hre.artifacts }),
  };
}

async function build(
  f: GovernedFixture,
  actions: ProposalAction[],
  options: ActionOptions = {},
  record?: DeploymentRecord,
) {
  const ctx = actionContext(f, record);
  const built = await buildActions(actions, options, ctx);
  const calls = decodeCalls(built.calls, { record: ctx.record, upgrades: built.upgrades, root: ROOT });
  return { ...built, decoded: calls };
}

async function proposalOf(f: GovernedFixture, actions: ProposalAction[], options: ActionOptions = {}) {
  const built = await build(f, actions, options);
  const proposal = buildProposal({
    action: actions,
    chainId: f.ctx.chainId,
    governor: await f.governance.governor.getAddress(),
    timelock: await f.governance.timelock.getAddress(),
    proposer: f.signers[0]!.address,
    title: "Open the migration",
    body: "Pause V1, upgrade its registry and escrow to V1.1 and let the operator migrate.",
    calls: built.decoded,
    upgrades: built.upgrades,
  });
  return { built, proposal };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: Error) => error,
  );
}

async function addresses(f: GovernedFixture) {
  return {
    v1Registry: await f.v1.registry.getAddress(),
    v1Escrow: await f.v1.escrow.getAddress(),
    v1Marketplace: await f.v1.marketplace.getAddress(),
    v2Registry: await f.v2.registry.getAddress(),
    v2Escrow: await f.v2.escrow.getAddress(),
    v2Marketplace: await f.v2.marketplace.getAddress(),
  };
}

/** The deployed implementations' count, to show that refused input deployed nothing. */
async function nonceOf(f: GovernedFixture): Promise<number> {
  return ethers.provider.getTransactionCount(f.signers[0]!.address);
}

describe("upgrade:propose", function () {
  this.timeout(600_000);
  let temp: string;

  before(async () => {
    temp = await mkdtemp(path.join(tmpdir(), "propose-"));
  });
  after(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  describe("actions", () => {
    it("pause-v1: pause() on the three V1 proxies, and a warning for one already paused", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const a = await addresses(f);
      const { calls, decoded, warnings, upgrades } = await build(f, ["pause-v1"]);
      expect(upgrades).to.deep.equal([]);
      expect(warnings).to.deep.equal([]);
      expect(calls.map((c) => c.target)).to.deep.equal([a.v1Registry, a.v1Escrow, a.v1Marketplace]);
      expect(decoded.map((c) => [c.contract, c.signature, c.value, c.data])).to.deep.equal([
        ["NodeRegistryV1", "pause()", "0", "0x8456cb59"],
        ["PaymentEscrowV1", "pause()", "0", "0x8456cb59"],
        ["JobMarketplaceV1", "pause()", "0", "0x8456cb59"],
      ]);
      expect(decoded[0]!.summary).to.equal("Pauses NodeRegistryV1: its user functions revert until it is unpaused.");

      const timelock = await f.governance.timelock.getAddress();
      await networkHelpers.impersonateAccount(timelock);
      await networkHelpers.setBalance(timelock, 10n ** 18n);
      await (await f.v1.escrow.connect(await ethers.getSigner(timelock)).pause()).wait();
      const again = await build(f, ["pause-v1"]);
      expect(again.calls).to.deep.equal(calls);
      expect(again.warnings).to.deep.equal([
        `PaymentEscrowV1 (${a.v1Escrow}) is already paused: pause() would revert with EnforcedPause() if executed now.`,
      ]);
    });

    it("upgrade: upgradeToAndCall(prepared V1.1, initializeMigration(V2 proxy)) for the registry and the escrow", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const a = await addresses(f);
      const record = f.ctx.store.record;
      const { calls, decoded, upgrades } = await build(f, ["upgrade"], {
        upgrade: "NodeRegistryV1=NodeRegistryV1_1,PaymentEscrowV1=PaymentEscrowV1_1",
      });
      expect(upgrades).to.have.length(2);
      const [registry, escrow] = upgrades;
      expect(registry).to.deep.include({
        name: "NodeRegistryV1",
        proxy: a.v1Registry,
        implementationBefore: getAddress(
          (record.contracts.NodeRegistryV1 as { implementation: string }).implementation,
        ),
        contractName: "NodeRegistryV1_1",
        version: "1.1.0",
      });
      expect(escrow).to.deep.include({ name: "PaymentEscrowV1", proxy: a.v1Escrow, contractName: "PaymentEscrowV1_1" });
      // prepareUpgrade deployed real V1.1 code, not the V1 it replaces.
      expect(await NodeRegistryV1_1__factory.connect(registry!.implementation, ethers.provider).version()).to.equal(
        "1.1.0",
      );
      expect(registry!.implementation).to.not.equal(registry!.implementationBefore);

      const v11 = new Interface(NodeRegistryV1_1__factory.abi);
      expect(calls[0]).to.deep.equal({
        target: a.v1Registry,
        value: 0n,
        data: v11.encodeFunctionData("upgradeToAndCall", [
          registry!.implementation,
          v11.encodeFunctionData("initializeMigration", [a.v2Registry]),
        ]),
      });
      expect(decoded[0]).to.deep.equal({
        target: a.v1Registry,
        value: "0",
        data: calls[0]!.data,
        contract: "NodeRegistryV1",
        signature: "upgradeToAndCall(address,bytes)",
        args: {
          newImplementation: registry!.implementation,
          data: { signature: "initializeMigration(address)", args: { target: a.v2Registry } },
        },
        summary: `Upgrades the NodeRegistryV1 proxy to NodeRegistryV1_1 (implementation ${registry!.implementation}, version 1.1.0), calling initializeMigration(address) in the same transaction; reviewed in audits/v1-to-v2/NodeRegistryV1-to-NodeRegistryV1_1.md.`,
        audit: "audits/v1-to-v2/NodeRegistryV1-to-NodeRegistryV1_1.md",
      });
      expect(decoded[1]!.audit).to.equal("audits/v1-to-v2/PaymentEscrowV1-to-PaymentEscrowV1_1.md");
      expect((decoded[1]!.args.data as { args: unknown }).args).to.deep.equal({ target: a.v2Escrow });

      // The default is the migration's pair; prepareUpgrade deploys an implementation only once.
      const again = await build(f, ["upgrade"]);
      expect(again.upgrades.map((u) => u.implementation)).to.deep.equal(upgrades.map((u) => u.implementation));
    });

    it("upgrade: --upgrade-call replaces the known call; other artifacts get a plain upgradeToAndCall(impl, 0x)", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const { decoded, upgrades } = await build(f, ["upgrade"], {
        upgrade: "NodeRegistryV1=NodeRegistryV1_1,PaymentEscrowV1=PaymentEscrowV1_1",
        upgradeCall: "PaymentEscrowV1=0x",
      });
      expect(decoded[1]!.args).to.deep.equal({ newImplementation: upgrades[1]!.implementation, data: "0x" });
      expect(decoded[1]!.summary).to.match(/with no upgrade call; reviewed in audits/);

      // An artifact with no known call and no report: a plain upgradeToAndCall(impl, 0x), and the summary says so.
      const record: DeploymentRecord = structuredClone(f.ctx.store.record);
      const proxy = await upgradesApi.deployProxy(await ethers.getContractFactory("ChangedMutabilityV1"), [], {
        kind: "uups",
      });
      const proxyAddress = await proxy.getAddress();
      record.contracts.ChangedMutabilityV1 = {
        proxy: proxyAddress,
        implementation: await upgradesApi.erc1967.getImplementationAddress(proxyAddress),
      };
      const plain = await build(f, ["upgrade"], { upgrade: "ChangedMutabilityV1=ChangedMutabilityV2" }, record);
      expect(plain.upgrades[0]).to.deep.include({ name: "ChangedMutabilityV1", contractName: "ChangedMutabilityV2" });
      expect(plain.decoded[0]).to.deep.include({
        contract: "ChangedMutabilityV1",
        signature: "upgradeToAndCall(address,bytes)",
        args: { newImplementation: plain.upgrades[0]!.implementation, data: "0x" },
      });
      expect(plain.decoded[0]!.audit).to.equal(undefined);
      expect(plain.decoded[0]!.summary).to.equal(
        `Upgrades the ChangedMutabilityV1 proxy to ChangedMutabilityV2 (implementation ${plain.upgrades[0]!.implementation}, version ${plain.upgrades[0]!.version}), with no upgrade call; no audits/v1-to-v2 report exists for this pair, so review it with \`npx hardhat upgrade:diff\` before voting.`,
      );
    });

    it("upgrade: prepareUpgrade refuses an unsafe upgrade, and nothing is proposed", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      // V2 drops V1's storage namespace: never an in-place upgrade.
      const clash = await rejection(build(f, ["upgrade"], { upgrade: "NodeRegistryV1=NodeRegistryV2" }));
      expect(clash).to.be.instanceOf(ProposalInputError);
      expect(clash.message).to.include(
        `hardhat-upgrades did not prepare NodeRegistryV2 for the NodeRegistryV1 proxy ${await f.v1.registry.getAddress()}`,
      );
      expect(clash.message).to.include("Deleted namespace `erc7201:fabstir.storage.NodeRegistryV1`");

      // A storage clash from the review fixtures: a variable inserted before existing ones.
      const record: DeploymentRecord = structuredClone(f.ctx.store.record);
      const proxy = await upgradesApi.deployProxy(await ethers.getContractFactory("InsertedVariableV1"), [], {
        kind: "uups",
      });
      record.contracts.InsertedVariableV1 = {
        proxy: await proxy.getAddress(),
        implementation: await upgradesApi.erc1967.getImplementationAddress(await proxy.getAddress()),
      };
      const inserted = await rejection(
        build(f, ["upgrade"], { upgrade: "InsertedVariableV1=InsertedVariableV2" }, record),
      );
      expect(inserted.message).to.include("New storage layout is incompatible");
      expect(inserted.message).to.include("Inserted `inserted`");
    });

    it("upgrade: a proxy deployed by another process is imported into the plugin's manifest first", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      // A signer no other test deploys from: the plugin's manifest outlives chain reverts, and
      // an address reused by another contract would confuse it.
      const [deployer, treasury] = [f.signers[9]!, f.signers[1]!];
      // V1 behind a plain ERC1967Proxy, deployed without hardhat-upgrades: its manifest does not know it.
      const implementation = await (await ethers.getContractFactory("NodeRegistryV1", deployer)).deploy();
      const proxyArtifact =
        require("@openzeppelin/upgrades-core/artifacts/@openzeppelin/contracts-v5/proxy/ERC1967/ERC1967Proxy.sol/ERC1967Proxy.json") as {
          abi: InterfaceAbi;
          bytecode: string;
        };
      const init = implementation.interface.encodeFunctionData("initialize", [
        deployer!.address,
        treasury!.address,
        10n ** 16n,
        3600n,
      ]);
      const proxy = await new ContractFactory(proxyArtifact.abi, proxyArtifact.bytecode, deployer).deploy(
        await implementation.getAddress(),
        init,
      );
      const proxyAddress = await proxy.getAddress();
      const factory = await ethers.getContractFactory("NodeRegistryV1_1", deployer);
      const unregistered = await rejection(upgradesApi.prepareUpgrade(proxyAddress, factory, { kind: "uups" }));
      expect(unregistered.message).to.include("is not registered");

      const record: DeploymentRecord = structuredClone(f.ctx.store.record);
      record.contracts.NodeRegistryV1 = { proxy: proxyAddress, implementation: await implementation.getAddress() };
      const { upgrades, decoded } = await build(f, ["upgrade"], { upgrade: "NodeRegistryV1=NodeRegistryV1_1" }, record);
      expect(upgrades).to.have.length(1);
      expect(upgrades[0]).to.deep.include({
        proxy: proxyAddress,
        implementationBefore: await implementation.getAddress(),
        contractName: "NodeRegistryV1_1",
        version: "1.1.0",
      });
      expect(decoded[0]!.args.newImplementation).to.equal(upgrades[0]!.implementation);

      // Code that none of the proxy's known implementations has is not imported blindly.
      const escrowImplementation = await (await ethers.getContractFactory("PaymentEscrowV1", deployer)).deploy();
      const escrowProxy = await new ContractFactory(proxyArtifact.abi, proxyArtifact.bytecode, deployer).deploy(
        await escrowImplementation.getAddress(),
        escrowImplementation.interface.encodeFunctionData("initialize", [deployer!.address, treasury!.address, 250n]),
      );
      record.contracts.NodeRegistryV1 = {
        proxy: await escrowProxy.getAddress(),
        implementation: await escrowImplementation.getAddress(),
      };
      const stranger = await rejection(build(f, ["upgrade"], { upgrade: "NodeRegistryV1=NodeRegistryV1_1" }, record));
      expect(stranger.message).to.include(
        `its implementation ${await escrowImplementation.getAddress()} is none of NodeRegistryV1Adapter, NodeRegistryV1_1, NodeRegistryV1: import it with upgrades.forceImport`,
      );
    });

    it("grant-migrator: MIGRATOR_ROLE for the V1.1 proxies on V2, and for the operator on V1.1 and the V2 marketplace", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const a = await addresses(f);
      const operator = f.signers[3]!.address;
      const { calls, decoded } = await build(f, ["grant-migrator"], { operator: operator.toLowerCase() });
      const access = new Interface(["function grantRole(bytes32 role, address account)"]);
      expect(calls).to.deep.equal(
        [
          [a.v2Registry, a.v1Registry],
          [a.v2Escrow, a.v1Escrow],
          [a.v1Registry, operator],
          [a.v1Escrow, operator],
          [a.v2Marketplace, operator],
        ].map(([target, account]) => ({
          target,
          value: 0n,
          data: access.encodeFunctionData("grantRole", [MIGRATOR_ROLE, account]),
        })),
      );
      expect(decoded.map((c) => [c.contract, c.signature, c.args])).to.deep.equal([
        ["NodeRegistryV2", "grantRole(bytes32,address)", { role: "MIGRATOR_ROLE", account: a.v1Registry }],
        ["PaymentEscrowV2", "grantRole(bytes32,address)", { role: "MIGRATOR_ROLE", account: a.v1Escrow }],
        ["NodeRegistryV1", "grantRole(bytes32,address)", { role: "MIGRATOR_ROLE", account: operator }],
        ["PaymentEscrowV1", "grantRole(bytes32,address)", { role: "MIGRATOR_ROLE", account: operator }],
        ["JobMarketplaceV2", "grantRole(bytes32,address)", { role: "MIGRATOR_ROLE", account: operator }],
      ]);
      expect(decoded[0]!.summary).to.equal(
        `Grants MIGRATOR_ROLE on NodeRegistryV2 to NodeRegistryV1 (${a.v1Registry}).`,
      );
      expect(decoded[2]!.summary).to.equal(`Grants MIGRATOR_ROLE on NodeRegistryV1 to ${operator}.`);

      for (const bad of [undefined, "", "0x1234", "operator"]) {
        const error = await rejection(build(f, ["grant-migrator"], bad === undefined ? {} : { operator: bad }));
        expect(error, String(bad)).to.be.instanceOf(ProposalInputError);
        expect(error.message).to.match(
          bad === undefined || bad === "" ? /needs --operator <address>/ : /--operator ".*" is not an address/,
        );
      }
    });

    it("cutover: finalize V2 against the snapshot, grant ADAPTER_ROLE, upgrade every V1 proxy to its adapter", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const a = await addresses(f);
      const snapshot = path.join(temp, "v1-cutover.ndjson");
      await writeSnapshot(snapshot, await v1SnapshotSource(f.v1, { blockTag: "latest" }));
      const before = await nonceOf(f);
      const missing = await rejection(build(f, ["cutover"], { snapshot: path.join(temp, "none.ndjson") }));
      expect(missing.message).to.include(`${path.join(temp, "none.ndjson")} does not exist`);
      expect(missing.message).to.include("npx hardhat migrate:snapshot");
      expect(await nonceOf(f)).to.equal(before);

      const { calls, decoded, upgrades } = await build(f, ["cutover"], { snapshot });
      const expected = finalizeExpectations((await readSnapshot(snapshot)).state, await f.v2.escrow.migrationTokens());
      const lifecycle = f.v2.registry.interface;
      expect(calls.slice(0, 3)).to.deep.equal([
        { target: a.v2Registry, value: 0n, data: lifecycle.encodeFunctionData("finalizeMigration", expected.registry) },
        {
          target: a.v2Marketplace,
          value: 0n,
          data: lifecycle.encodeFunctionData("finalizeMigration", expected.marketplace),
        },
        { target: a.v2Escrow, value: 0n, data: lifecycle.encodeFunctionData("finalizeMigration", expected.escrow) },
      ]);
      expect(decoded[2]!.args).to.deep.equal({
        expectedCommitment: expected.escrow[0],
        expectedCount: String(expected.escrow[1]),
        tokens: expected.escrow[2],
        expectedFunds: expected.escrow[3].map(String),
      });
      expect(decoded.slice(3, 7).map((c) => [c.contract, c.args])).to.deep.equal([
        ["NodeRegistryV2", { role: "ADAPTER_ROLE", account: a.v1Registry }],
        ["PaymentEscrowV2", { role: "ADAPTER_ROLE", account: a.v1Escrow }],
        ["JobMarketplaceV2", { role: "ADAPTER_ROLE", account: a.v1Marketplace }],
        ["NodeRegistryV2", { role: "ADAPTER_ROLE", account: a.v1Marketplace }],
      ]);
      expect(calls[3]!.data.slice(10, 74)).to.equal(ADAPTER_ROLE.slice(2));
      expect(upgrades.map((u) => [u.name, u.contractName, u.version])).to.deep.equal([
        ["NodeRegistryV1", "NodeRegistryV1Adapter", "1.0.0-adapter"],
        ["PaymentEscrowV1", "PaymentEscrowV1Adapter", "1.0.0-adapter"],
        ["JobMarketplaceV1", "JobMarketplaceV1Adapter", "1.0.0-adapter"],
      ]);
      expect(decoded.slice(7).map((c) => [c.contract, c.args, c.audit])).to.deep.equal(
        (
          [
            ["NodeRegistry", a.v2Registry],
            ["PaymentEscrow", a.v2Escrow],
            ["JobMarketplace", a.v2Marketplace],
          ] as const
        ).map(([base, v2], i) => [
          `${base}V1`,
          {
            newImplementation: upgrades[i]!.implementation,
            data: { signature: "initializeAdapter(address)", args: { target_: v2 } },
          },
          `audits/v1-to-v2/${base}V1-to-${base}V1Adapter.md`,
        ]),
      );

      // A snapshot of other contracts is refused before anything is deployed.
      const record: DeploymentRecord = structuredClone(f.ctx.store.record);
      record.contracts.JobMarketplaceV1 = { proxy: a.v2Marketplace, implementation: ZeroAddress };
      const atBefore = await nonceOf(f);
      const other = await rejection(build(f, ["cutover"], { snapshot }, record));
      expect(other.message).to.match(/marketplace/);
      expect(await nonceOf(f)).to.equal(atBefore);
    });

    it("custom: signature or data entries, targets by address or record name", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const a = await addresses(f);
      const file = path.join(temp, "calls.json");
      await writeFile(
        file,
        JSON.stringify([
          {
            target: "NodeRegistryV2",
            value: "0",
            signature: "grantRole(bytes32,address)",
            args: [MIGRATOR_ROLE, f.signers[4]!.address],
          },
          { target: a.v1Escrow.toLowerCase(), value: "5", data: "0x8456CB59" },
          { target: a.v1Registry, value: "0", signature: "function setFoo(uint256 x)", args: ["7"] },
        ]),
      );
      const { calls, decoded } = await build(f, ["custom"], { calls: file });
      expect(calls.map((c) => [c.target, c.value])).to.deep.equal([
        [a.v2Registry, 0n],
        [a.v1Escrow, 5n],
        [a.v1Registry, 0n],
      ]);
      expect(decoded.map((c) => [c.contract, c.signature, c.args])).to.deep.equal([
        ["NodeRegistryV2", "grantRole(bytes32,address)", { role: "MIGRATOR_ROLE", account: f.signers[4]!.address }],
        ["PaymentEscrowV1", "pause()", {}],
        ["NodeRegistryV1", null, {}],
      ]);
      expect(decoded[2]!.summary).to.match(/do not decode \(selector 0x[0-9a-f]{8}\): check it by hand/);
    });

    it("custom: refuses a bad calls file naming the entry and the field", () => {
      const f = {
        contracts: { NodeRegistryV2: { proxy: ZeroAddress.replace(/0$/, "1"), implementation: ZeroAddress } },
      };
      const record: DeploymentRecord = { chainId: 31337, contracts: f.contracts };
      const target = "NodeRegistryV2";
      const cases: [unknown, string][] = [
        [{}, "calls.json must be a non-empty JSON array of calls."],
        [[], "calls.json must be a non-empty JSON array of calls."],
        [[1], 'calls.json, entry 0: must be an object with "target", "value" and "signature"+"args" or "data".'],
        [
          [{ target, value: "0" }],
          'calls.json, entry 0: give either "signature" with "args", or "data" (encoded calldata), not neither.',
        ],
        [
          [
            { target, value: "0", data: "0x12345678" },
            { target, value: "0", data: "0x", signature: "pause()" },
          ],
          'calls.json, entry 1: give either "signature" with "args", or "data" (encoded calldata), not both.',
        ],
        [
          [{ target, value: "0", data: "0x12345678", to: "x" }],
          'calls.json, entry 0, field "to": unknown field (an entry has target, value, data).',
        ],
        [
          [{ target: 5, value: "0", data: "0x12345678" }],
          'calls.json, entry 0, field "target": must be an address or a record name, as a string.',
        ],
        [
          [{ target: "0x12", value: "0", data: "0x12345678" }],
          'calls.json, entry 0, field "target": "0x12" is not a valid address.',
        ],
        [
          [{ target: "Nowhere", value: "0", data: "0x12345678" }],
          'calls.json, entry 0, field "target" needs "Nowhere", which deployments/31337.json does not record (it records: NodeRegistryV2). Deploy it first, or check the name.',
        ],
        [
          [{ target, value: 0, data: "0x12345678" }],
          'calls.json, entry 0, field "value": must be the wei sent, as a decimal string ("0"), got 0.',
        ],
        [
          [{ target, value: "-1", data: "0x12345678" }],
          'calls.json, entry 0, field "value": must be the wei sent, as a decimal string ("0"), got "-1".',
        ],
        [
          [{ target, value: "0", data: "0x12" }],
          'calls.json, entry 0, field "data": must be 0x-prefixed calldata with at least a 4-byte selector, got "0x12".',
        ],
        [
          [{ target, value: "0", signature: 7 }],
          'calls.json, entry 0, field "signature": must be a function signature such as "pause()".',
        ],
        [
          [{ target, value: "0", signature: "grant role" }],
          'calls.json, entry 0, field "signature": "grant role" is not a function signature such as "grantRole(bytes32,address)".',
        ],
        [
          [{ target, value: "0", signature: "pause()", args: "x" }],
          'calls.json, entry 0, field "args": must be an array of arguments.',
        ],
        [
          [{ target, value: "0", signature: "grantRole(bytes32,address)", args: [MIGRATOR_ROLE] }],
          'calls.json, entry 0, field "args": grantRole(bytes32,address) takes 2 argument(s), got 1.',
        ],
        [
          [{ target, value: "0", signature: "grantRole(bytes32,address)", args: [MIGRATOR_ROLE, "bob"] }],
          `calls.json, entry 0, field "args": cannot encode grantRole(bytes32,address) with ${JSON.stringify([MIGRATOR_ROLE, "bob"])}: invalid address.`,
        ],
      ];
      for (const [parsed, message] of cases) {
        expect(() => parseCustomCalls(parsed, record, "calls.json"), JSON.stringify(parsed)).to.throw(
          ProposalInputError,
          message,
        );
      }
      expect(parseCustomCalls([{ target, value: "0", signature: "pause()" }], record, "calls.json")).to.deep.equal([
        { target: recordedAddress(record, "NodeRegistryV2"), value: 0n, data: "0x8456cb59" },
      ]);
    });

    it("refuses unknown actions and record names, non-proxies, and a custom action without --calls", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      expect(parseActions(" pause-v1, upgrade ,grant-migrator")).to.deep.equal([
        "pause-v1",
        "upgrade",
        "grant-migrator",
      ]);
      expect(() => parseActions("")).to.throw(ProposalInputError, "Give --action");
      expect(() => parseActions("pause-v1,freeze")).to.throw(
        ProposalInputError,
        'Unknown action "freeze": use upgrade, pause-v1, grant-migrator, cutover, custom.',
      );
      expect(() => parseActions("upgrade,upgrade")).to.throw(
        ProposalInputError,
        'The action "upgrade" is given twice.',
      );
      const before = await nonceOf(f);
      const cases: [ProposalAction[], ActionOptions, RegExp][] = [
        [
          ["upgrade"],
          { upgrade: "NodeRegistry=NodeRegistryV1_1" },
          /needs "NodeRegistry", which deployments\/31337\.json does not record/,
        ],
        [["upgrade"], { upgrade: "FabstirGovernor=NodeRegistryV1_1" }, /FabstirGovernor is not a proxy/],
        [["upgrade"], { upgrade: "NodeRegistryV1" }, /--upgrade: "NodeRegistryV1" is not <RecordName>=<value>/],
        [["upgrade"], { upgrade: "NodeRegistryV1=A,NodeRegistryV1=B" }, /--upgrade: NodeRegistryV1 is given twice/],
        [["upgrade"], { upgrade: "NodeRegistryV1=Node Registry" }, /is not a contract name/],
        [
          ["upgrade"],
          { upgradeCall: "JobMarketplaceV1=0x" },
          /--upgrade-call names JobMarketplaceV1, which --upgrade does not upgrade/,
        ],
        [["upgrade"], { upgradeCall: "NodeRegistryV1=initialize()" }, /give the upgrade call as 0x-prefixed calldata/],
        [["upgrade", "cutover"], { snapshot: "/nonexistent" }, /\/nonexistent does not exist/],
        [["custom"], {}, /--action custom needs --calls <file.json>/],
        [["custom"], { calls: path.join(temp, "absent.json") }, /cannot be read \(ENOENT\)/],
      ];
      for (const [actions, options, message] of cases) {
        const error = await rejection(build(f, actions, options));
        expect(error, JSON.stringify(options)).to.be.instanceOf(ProposalInputError);
        expect(error.message).to.match(message);
      }
      // Nothing was deployed for any of them.
      expect(await nonceOf(f)).to.equal(before);
    });
  });

  describe("the proposal", () => {
    it("has the Governor's proposal id, the timelock's operation id and a description ending in the proposer", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const { proposal, built } = await proposalOf(f, ["pause-v1", "upgrade", "grant-migrator"], {
        operator: f.signers[3]!.address,
      });
      expect(proposal.format).to.equal(PROPOSAL_FORMAT);
      expect(proposal.action).to.equal("pause-v1");
      expect(proposal.actions).to.deep.equal(["pause-v1", "upgrade", "grant-migrator"]);
      expect(proposal.description).to.equal(
        `# Open the migration\n\nPause V1, upgrade its registry and escrow to V1.1 and let the operator migrate.\n\n#proposer=${f.signers[0]!.address}`,
      );
      expect(proposerOf(proposal.description)).to.equal(f.signers[0]!.address);
      expect(proposal.descriptionHash).to.equal(descriptionHash(proposal.description));
      expect(proposal.calls).to.have.length(3 + 2 + 5);
      expect(proposal.calls.map((c) => c.signature)).to.deep.equal([
        ...Array(3).fill("pause()"),
        ...Array(2).fill("upgradeToAndCall(address,bytes)"),
        ...Array(5).fill("grantRole(bytes32,address)"),
      ]);
      expect(proposal.targets).to.deep.equal(built.calls.map((c) => c.target));
      expect(proposal.values).to.deep.equal(Array(10).fill("0"));
      expect(proposal.calldatas).to.deep.equal(built.calls.map((c) => c.data));
      expect(proposal.upgrades).to.deep.equal(built.upgrades);

      const { governor, timelock } = f.governance;
      expect(proposal.proposalId).to.equal(
        (
          await governor.hashProposal(proposal.targets, proposal.values, proposal.calldatas, proposal.descriptionHash)
        ).toString(),
      );
      expect(proposal.timelockOperationId).to.equal(
        await timelock.hashOperationBatch(
          proposal.targets,
          proposal.values,
          proposal.calldatas,
          `0x${"0".repeat(64)}`,
          timelockSalt(await governor.getAddress(), proposal.descriptionHash),
        ),
      );
    });

    it("opening the migration executes through the Governor: V1 paused, V1.1 installed, roles granted", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const a = await addresses(f);
      const operator = f.signers[3]!.address;
      const { proposal } = await proposalOf(f, ["pause-v1", "upgrade", "grant-migrator"], { operator });
      const governor = await f.governance.governor.getAddress();
      const run = proposalArguments(proposal);
      const id = await proposeAndPass(ethers.provider, governor, run, f.signers[0]!, [f.signers[0]!]);
      expect(id.toString()).to.equal(proposal.proposalId);
      await queueAndExecute(ethers.provider, governor, run, f.signers[1]!);

      for (const contract of [f.v1.registry, f.v1.escrow, f.v1.marketplace])
        expect(await contract.paused()).to.equal(true);
      for (const upgrade of proposal.upgrades) {
        const slot = await ethers.provider.getStorage(upgrade.proxy, IMPLEMENTATION_SLOT);
        expect(getAddress(`0x${slot.slice(-40)}`)).to.equal(upgrade.implementation);
        expect(await NodeRegistryV1_1__factory.connect(upgrade.proxy, ethers.provider).version()).to.equal("1.1.0");
      }
      const registry = NodeRegistryV1_1__factory.connect(a.v1Registry, ethers.provider);
      expect(await registry.migrationTarget()).to.equal(a.v2Registry);
      expect(await f.v2.registry.hasRole(MIGRATOR_ROLE, a.v1Registry)).to.equal(true);
      expect(await f.v2.escrow.hasRole(MIGRATOR_ROLE, a.v1Escrow)).to.equal(true);
      expect(await registry.hasRole(MIGRATOR_ROLE, operator)).to.equal(true);
      expect(await f.v1.escrow.hasRole(MIGRATOR_ROLE, operator)).to.equal(true);
      expect(await f.v2.marketplace.hasRole(MIGRATOR_ROLE, operator)).to.equal(true);
    });

    it("submitProposal creates the proposal on chain with the file's id, from the proposer only", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const { proposal } = await proposalOf(f, ["pause-v1"]);
      const other = await rejection(submitProposal(proposal, f.signers[1]!));
      expect(other.message).to.equal(
        `The description binds the proposer ${f.signers[0]!.address}, but the signer is ${f.signers[1]!.address}: only the proposer can submit it.`,
      );
      const tampered: ProposalFile = { ...proposal, proposalId: "1" };
      expect((await rejection(submitProposal(tampered, f.signers[0]!))).message).to.match(
        /computes proposal id \d+, the file says 1: the file was changed/,
      );
      const submitted = await submitProposal(proposal, f.signers[0]!);
      expect(submitted.proposalId.toString()).to.equal(proposal.proposalId);
      const { governor } = f.governance;
      expect(await governor.state(submitted.proposalId)).to.equal(0n); // Pending
      expect(await governor.proposalProposer(submitted.proposalId)).to.equal(f.signers[0]!.address);
      const [event] = await governor.queryFilter(governor.filters.ProposalCreated(), submitted.blockNumber);
      expect(event!.args.description).to.equal(proposal.description);

      // Below the threshold: refused with what to do, before sending.
      const poor = buildProposal({ ...proposalInputOf(proposal), proposer: f.signers[2]!.address });
      expect((await rejection(submitProposal(poor, f.signers[2]!))).message).to.match(
        /has 0 votes, below the proposal threshold of 100000000000000000000000: delegate enough FAB/,
      );
    });

    it("refuses a title or body that carries the proposer marker, or a title on two lines", () => {
      const proposer = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
      expect(proposalDescription("T", "", proposer)).to.equal(`# T\n\n#proposer=${proposer}`);
      expect(() => proposalDescription("T", `b #proposer=${proposer}`, proposer)).to.throw(
        DescriptionError,
        "already contains",
      );
      expect(() => proposalDescription(`T #proposer=${proposer}`, "b", proposer)).to.throw(DescriptionError);
      expect(() => proposalDescription("T\nU", "b", proposer)).to.throw(DescriptionError, "one line");
      expect(() => proposalDescription(" ", "b", proposer)).to.throw(DescriptionError, "needs a title");
    });

    it("the summary is deterministic and names every call, audit, upgrade and the simulate command", async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      const { proposal } = await proposalOf(f, ["pause-v1", "upgrade"]);
      const options = { proposalPath: "proposals/31337/x/proposal.json", rootLink: "../../..", warnings: ["careful"] };
      const summary = renderProposalSummary(proposal, options);
      expect(renderProposalSummary(JSON.parse(JSON.stringify(proposal)) as ProposalFile, options)).to.equal(summary);
      expect(summary).to.include(`| Proposal id | \`${proposal.proposalId}\` |`);
      expect(summary).to.include(`| Timelock operation id | \`${proposal.timelockOperationId}\` |`);
      expect(summary).to.include("| 1 | NodeRegistryV1 | `pause()` | 0 |  |");
      expect(summary).to.include(
        "[audits/v1-to-v2/NodeRegistryV1-to-NodeRegistryV1_1.md](../../../audits/v1-to-v2/NodeRegistryV1-to-NodeRegistryV1_1.md)",
      );
      expect(summary).to.include("  - `data`: call `initializeMigration(address)`");
      expect(summary).to.include(`    - \`target\`: \`${await f.v2.registry.getAddress()}\``);
      expect(summary).to.include(`| NodeRegistryV1 | \`${proposal.upgrades[0]!.proxy}\``);
      expect(summary).to.include("| NodeRegistryV1_1 | `1.1.0` |");
      expect(summary).to.include("npx hardhat upgrade:simulate --proposal proposals/31337/x/proposal.json");
      expect(summary).to.include("- careful");
      expect(summary).to.include(`\`\`\`\`text\n${proposal.description}\n\`\`\`\``);
    });
  });

  describe("the task", () => {
    let output: string[] = [];
    const run = async (args: Record<string, unknown>): Promise<number> => {
      const { code, lines } = await runTaskCapturing("upgrade:propose", args);
      output = lines;
      return code;
    };

    it("writes proposal.json, safe-batch.json and README.md, and submits with --submit", async () => {
      const out = path.join(temp, "task-open");
      const operator = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
      const code = await run({
        action: "pause-v1,upgrade,grant-migrator",
        title: "Open the migration",
        body: "Pause V1 and upgrade it to V1.1.",
        operator,
        out,
        submit: true,
      });
      expect(code, output.join("\n")).to.equal(0);
      expect((await readdir(out)).sort()).to.deep.equal(["README.md", "proposal.json", "safe-batch.json"]);
      const proposal = JSON.parse(await readFile(path.join(out, "proposal.json"), "utf8")) as ProposalFile;
      expect(proposal.actions).to.deep.equal(["pause-v1", "upgrade", "grant-migrator"]);
      expect(proposal.calls).to.have.length(10);
      expect(proposal.upgrades.map((u) => u.contractName)).to.deep.equal(["NodeRegistryV1_1", "PaymentEscrowV1_1"]);
      expect(proposerOf(proposal.description)).to.equal(proposal.proposer);
      const batch = JSON.parse(await readFile(path.join(out, "safe-batch.json"), "utf8")) as unknown;
      expect(validateSafeBatch(batch)).to.deep.include({ valid: true, problems: [] });
      expect((batch as { transactions: { data: string }[] }).transactions.map((t) => t.data)).to.deep.equal(
        proposal.calldatas,
      );
      const readme = await readFile(path.join(out, "README.md"), "utf8");
      expect(readme).to.include("# Open the migration");
      expect(readme).to.include(
        `npx hardhat upgrade:simulate --proposal ${path.relative(ROOT, path.join(out, "proposal.json"))}`,
      );
      expect(output.join("\n")).to.include(`Proposal ${proposal.proposalId} (10 calls) written to`);
      expect(output.join("\n")).to.match(
        new RegExp(`Proposed in transaction 0x[0-9a-f]{64} \\(block \\d+\\): proposal id ${proposal.proposalId}\\.`),
      );
    });

    it("--json prints the proposal instead of writing it", async () => {
      const out = path.join(temp, "task-json");
      expect(await run({ action: "pause-v1", title: "Pause V1", json: true, out })).to.equal(0);
      const printed = JSON.parse(output.filter((line) => line.trimStart().startsWith("{")).join("")) as ProposalFile;
      expect(printed.calls.map((c) => c.signature)).to.deep.equal(Array(3).fill("pause()"));
      expect(printed.description).to.equal(`# Pause V1\n\n#proposer=${printed.proposer}`);
      expect(await readdir(temp)).to.not.include("task-json");
    });

    it("refuses bad input before anything is deployed or written", async () => {
      const out = path.join(temp, "task-refused");
      const proposer = "0xf39Fd6e51aac8F2267a8dE3A9C6a7e2eA3BcB8D9".replace("D9", "d9");
      const cases: [Record<string, unknown>, string][] = [
        [{ action: "pause-v1", title: "T", body: `Text\n\n#proposer=${proposer}\n` }, '--body contains "#proposer="'],
        [
          { action: "pause-v1", title: "T", body: `Pause #proposer=${proposer} then more` },
          '--body contains "#proposer="',
        ],
        [{ action: "pause-v1", title: `T #proposer=${proposer}` }, '--title contains "#proposer="'],
        [{ action: "pause-v1", title: "" }, "Give the proposal a --title."],
        [{ action: "pause", title: "T" }, 'Unknown action "pause"'],
        [{ action: "grant-migrator", title: "T", operator: "alice" }, '--operator "alice" is not an address.'],
        [{ action: "pause-v1", title: "T", body: "b", bodyFile: "f.md" }, "Give --body or --body-file, not both."],
        [{ action: "pause-v1", title: "T", bodyFile: path.join(temp, "absent.md") }, "cannot be read (ENOENT)"],
        [
          { action: "pause-v1", title: "T", proposer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", submit: true },
          "only that address can propose it",
        ],
        [{ action: "cutover", title: "T", snapshot: path.join(temp, "absent.ndjson") }, "absent.ndjson does not exist"],
        [{ action: "upgrade", title: "T", upgrade: "NodeRegistryV9=NodeRegistryV1_1" }, 'needs "NodeRegistryV9"'],
      ];
      for (const [args, message] of cases) {
        expect(await run({ ...args, out }), JSON.stringify(args)).to.equal(1);
        expect(output.join("\n"), JSON.stringify(args)).to.include(`Error: `);
        expect(output.join("\n"), JSON.stringify(args)).to.include(message);
      }
      const bodyFile = path.join(temp, "body.md");
      await writeFile(bodyFile, `Body\n#proposer=${proposer}`);
      expect(await run({ action: "pause-v1", title: "T", bodyFile, out })).to.equal(1);
      expect(output.join("\n")).to.include('--body-file contains "#proposer="');
      expect(await readdir(temp)).to.not.include("task-refused");
    });
  });
});

/** The inputs of a proposal again (to rebuild it with another proposer). */
function proposalInputOf(p: ProposalFile) {
  return {
    action: p.actions ?? [p.action],
    chainId: p.chainId,
    governor: p.governor,
    timelock: p.timelock,
    proposer: p.proposer,
    title: p.title,
    body: "",
    calls: p.calls,
    upgrades: p.upgrades,
  };
}

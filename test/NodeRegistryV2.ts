import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { NodeRegistryV2 } from "../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import { foldLeaves, modelId, nodeLeaf, peerIdFor, type NodeRecordValue } from "./helpers/nodesMigration.js";

const { ZeroAddress, ZeroHash, MaxUint256 } = ethers;

const MINIMUM_STAKE = 10n ** 16n;
const COOLDOWN = 7n * 24n * 3600n;
const STATUS = { Unregistered: 0n, Active: 1n, Inactive: 2n } as const;
const MODEL_NAMES = ["llama-3.1-8b-instruct", "mistral-7b-instruct", "qwen2.5-72b", "模型-δ"];
const [LLAMA, MISTRAL, QWEN, UNICODE_MODEL] = MODEL_NAMES.map(modelId) as [string, string, string, string];
const UNKNOWN = modelId("never-registered");

interface Direct {
  v2: NodeRegistryV2;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** An account holding V2's MIGRATOR_ROLE directly (the V1.1 proxy in production). */
  migrator: HardhatEthersSigner;
  reputer: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  hosts: HardhatEthersSigner[];
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

/** A fresh V2 behind its proxy, migration window open, an EOA as migrator, model names registered. */
async function directV2(): Promise<Direct> {
  const signers = await ethers.getSigners();
  const [admin, treasury, migrator, reputer, stranger] = signers.map((_, i) => at(signers, i));
  const v2 = (await upgradesApi.deployProxy(
    await ethers.getContractFactory("NodeRegistryV2", admin),
    [admin!.address, migrator!.address, treasury!.address, MINIMUM_STAKE, COOLDOWN],
    { kind: "uups" },
  )) as unknown as NodeRegistryV2;
  await v2.waitForDeployment();
  await (await v2.connect(admin!).grantRole(await v2.REPUTATION_ROLE(), reputer!.address)).wait();
  await (await v2.connect(admin!).grantRole(await v2.SLASHER_ROLE(), admin!.address)).wait();
  await (await v2.registerModels(MODEL_NAMES)).wait();
  return {
    v2,
    admin: admin!,
    treasury: treasury!,
    migrator: migrator!,
    reputer: reputer!,
    stranger: stranger!,
    hosts: signers.slice(5, 15),
  };
}

function record(host: { address: string }, overrides: Partial<NodeRecordValue> = {}): NodeRecordValue {
  return {
    operator: host.address,
    stake: MINIMUM_STAKE * 2n,
    registeredAt: 1_700_000_000n,
    unstakeRequestedAt: 0n,
    reputation: 100n,
    active: true,
    peerId: peerIdFor(host.address),
    region: "eu-west-1",
    models: [LLAMA, MISTRAL],
    ...overrides,
  };
}

function sumOf(records: NodeRecordValue[]): bigint {
  return records.reduce((sum, r) => sum + r.stake, 0n);
}

async function importBatch(
  v2: NodeRegistryV2,
  migrator: HardhatEthersSigner,
  cursor: bigint,
  records: NodeRecordValue[],
) {
  return v2.connect(migrator).batchMigrateNodes(cursor, records, { value: sumOf(records) });
}

async function finalize(v2: NodeRegistryV2, migrator: HardhatEthersSigner, records: NodeRecordValue[]) {
  return v2
    .connect(migrator)
    .finalizeMigration(foldLeaves(records.map(nodeLeaf)), records.length, [ZeroAddress], [sumOf(records)]);
}

async function balanceOf(target: string | { getAddress(): Promise<string> }): Promise<bigint> {
  return ethers.provider.getBalance(typeof target === "string" ? target : await target.getAddress());
}

/** The registry's ETH balance, totalStaked and the sum of node stakes all agree. */
async function expectSolvent(v2: NodeRegistryV2): Promise<void> {
  const total = await v2.totalStaked();
  const nodes = await v2.getNodesPage(0n, await v2.nodeCount());
  expect(await balanceOf(v2)).to.equal(total, "balance != totalStaked");
  expect(nodes.reduce((sum, node) => sum + node.stake, 0n)).to.equal(total, "sum of stakes != totalStaked");
  nodes.forEach((node, i) => expect(node.index).to.equal(BigInt(i), `index of node ${i}`));
}

interface Open extends Direct {
  /** Migrated: active, two models. */
  active: HardhatEthersSigner;
  /** Migrated: slashed below the minimum in V1, inactive. */
  slashed: HardhatEthersSigner;
  /** Migrated: asked to leave in V1 at `leftAt`. */
  leaving: HardhatEthersSigner;
  leftAt: bigint;
  /** Without a node. */
  newcomers: HardhatEthersSigner[];
}

/** V2 after a finalized migration of three nodes: open to users. */
async function openV2(): Promise<Open> {
  const direct = await directV2();
  const { v2, migrator, hosts } = direct;
  const [active, slashed, leaving] = [at(hosts, 0), at(hosts, 1), at(hosts, 2)];
  const leftAt = BigInt(await networkHelpers.time.latest()) - 3600n;
  const records = [
    record(active, { reputation: 250n }),
    record(slashed, { stake: MINIMUM_STAKE / 2n, active: false, models: [QWEN], region: "" }),
    record(leaving, { active: false, unstakeRequestedAt: leftAt, models: [LLAMA] }),
  ];
  await (await importBatch(v2, migrator, 0n, records)).wait();
  await (await finalize(v2, migrator, records)).wait();
  return { ...direct, active, slashed, leaving, leftAt, newcomers: hosts.slice(3) };
}

describe("NodeRegistryV2", () => {
  describe("deployment", () => {
    it("is initialised with its parameters and opens the migration window", async () => {
      const { v2, treasury } = await networkHelpers.loadFixture(directV2);
      expect(await v2.version()).to.equal("2.0.0");
      expect(await v2.minimumStake()).to.equal(MINIMUM_STAKE);
      expect(await v2.unstakeCooldown()).to.equal(COOLDOWN);
      expect(await v2.treasury()).to.equal(treasury.address);
      expect(await v2.nodeCount()).to.equal(0n);
      expect(await v2.totalStaked()).to.equal(0n);
      expect(await v2.migrationFinalized()).to.equal(false);
      expect(await v2.migratedCount()).to.equal(0n);
      expect(await v2.migrationCommitment()).to.equal(ZeroHash);
      expect(await v2.migrationBatchCount()).to.equal(0n);
      expect(await v2.migrationTokens()).to.deep.equal([ZeroAddress]);
    });

    it("keeps V1's bounds", async () => {
      const { v2 } = await networkHelpers.loadFixture(directV2);
      expect(await v2.MAX_MODELS()).to.equal(32n);
      expect(await v2.MAX_PEER_ID_LENGTH()).to.equal(256n);
      expect(await v2.MAX_MODEL_NAME_LENGTH()).to.equal(128n);
      expect(await v2.MAX_REGION_LENGTH()).to.equal(64n);
      expect(await v2.INITIAL_REPUTATION()).to.equal(100n);
      expect(await v2.MAX_REPUTATION()).to.equal(1000n);
      expect(await v2.MAX_MINIMUM_STAKE()).to.equal(ethers.parseEther("1000"));
      expect(await v2.MAX_UNSTAKE_COOLDOWN()).to.equal(90n * 24n * 3600n);
    });

    it("gives the admin the governing roles and the migrator MIGRATOR_ROLE only", async () => {
      const { v2, admin, migrator } = await networkHelpers.loadFixture(directV2);
      for (const role of [await v2.DEFAULT_ADMIN_ROLE(), await v2.UPGRADER_ROLE(), await v2.PAUSER_ROLE()]) {
        expect(await v2.hasRole(role, admin.address)).to.equal(true);
        expect(await v2.hasRole(role, migrator.address)).to.equal(false);
      }
      expect(await v2.hasRole(await v2.MIGRATOR_ROLE(), migrator.address)).to.equal(true);
      expect(await v2.hasRole(await v2.MIGRATOR_ROLE(), admin.address)).to.equal(false);
      expect(await v2.MIGRATOR_ROLE()).to.equal(ethers.id("MIGRATOR_ROLE"));
    });

    it("grants MIGRATOR_ROLE to nobody when the migrator is zero", async () => {
      const { admin, treasury, hosts } = await networkHelpers.loadFixture(directV2);
      const v2 = (await upgradesApi.deployProxy(
        await ethers.getContractFactory("NodeRegistryV2", admin),
        [admin.address, ZeroAddress, treasury.address, MINIMUM_STAKE, COOLDOWN],
        { kind: "uups" },
      )) as unknown as NodeRegistryV2;
      const role = await v2.MIGRATOR_ROLE();
      const grants = await v2.queryFilter(v2.filters.RoleGranted(role));
      expect(grants).to.deep.equal([]);
      await expect(importBatch(v2, admin, 0n, [record(at(hosts, 0))]))
        .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, role);
    });

    it("validates its initialisation arguments", async () => {
      const { admin, treasury } = await networkHelpers.loadFixture(directV2);
      const factory = await ethers.getContractFactory("NodeRegistryV2", admin);
      const deploy = (args: unknown[]) => upgradesApi.deployProxy(factory, args, { kind: "uups" });
      await expect(
        deploy([ZeroAddress, admin.address, treasury.address, MINIMUM_STAKE, COOLDOWN]),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
      await expect(
        deploy([admin.address, admin.address, ZeroAddress, MINIMUM_STAKE, COOLDOWN]),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
      await expect(deploy([admin.address, admin.address, treasury.address, 0n, COOLDOWN]))
        .to.be.revertedWithCustomError(factory, "ValueOutOfRange")
        .withArgs(0n, 1n, ethers.parseEther("1000"));
      await expect(deploy([admin.address, admin.address, treasury.address, MINIMUM_STAKE, 90n * 86400n + 1n]))
        .to.be.revertedWithCustomError(factory, "ValueOutOfRange")
        .withArgs(90n * 86400n + 1n, 0n, 90n * 86400n);
    });

    it("cannot be initialised twice, nor its implementation at all", async () => {
      const { v2, stranger } = await networkHelpers.loadFixture(directV2);
      const args = [stranger.address, stranger.address, stranger.address, 1n, 0n] as const;
      await expect(v2.initialize(...args)).to.be.revertedWithCustomError(v2, "InvalidInitialization");
      const implementation = v2.attach(
        await upgradesApi.erc1967.getImplementationAddress(await v2.getAddress()),
      ) as NodeRegistryV2;
      await expect(implementation.initialize(...args)).to.be.revertedWithCustomError(v2, "InvalidInitialization");
    });

    it("passes hardhat-upgrades validation as a UUPS implementation", async () => {
      await upgradesApi.validateImplementation(await ethers.getContractFactory("NodeRegistryV2"), { kind: "uups" });
    });

    it("upgrades only through UPGRADER_ROLE", async () => {
      const { v2, admin, stranger } = await networkHelpers.loadFixture(directV2);
      const implementation = await (await ethers.deployContract("NodeRegistryV2")).getAddress();
      await expect(v2.connect(stranger).upgradeToAndCall(implementation, "0x"))
        .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await v2.UPGRADER_ROLE());
      await expect(v2.connect(admin).upgradeToAndCall(implementation, "0x"))
        .to.emit(v2, "Upgraded")
        .withArgs(implementation);
    });
  });

  describe("model names", () => {
    it("registers a name under keccak256(name) for anyone, during the migration", async () => {
      const { v2, stranger } = await networkHelpers.loadFixture(directV2);
      const name = "deepseek-r1";
      expect(await v2.connect(stranger).registerModel.staticCall(name)).to.equal(modelId(name));
      await expect(v2.connect(stranger).registerModel(name))
        .to.emit(v2, "ModelRegistered")
        .withArgs(modelId(name), name);
      expect(await v2.modelName(modelId(name))).to.equal(name);
    });

    it("treats a known name as a no-op without an event", async () => {
      const { v2, stranger } = await networkHelpers.loadFixture(directV2);
      expect(await v2.connect(stranger).registerModel.staticCall(MODEL_NAMES[0]!)).to.equal(LLAMA);
      await expect(v2.connect(stranger).registerModel(MODEL_NAMES[0]!)).to.not.emit(v2, "ModelRegistered");
      await expect(v2.connect(stranger).registerModels(MODEL_NAMES)).to.not.emit(v2, "ModelRegistered");
      expect(await v2.modelName(LLAMA)).to.equal(MODEL_NAMES[0]);
    });

    it("registers a list of names, skipping known ones", async () => {
      const { v2, stranger } = await networkHelpers.loadFixture(directV2);
      const tx = v2.connect(stranger).registerModels(["a", MODEL_NAMES[1]!, "b"]);
      await expect(tx).to.emit(v2, "ModelRegistered").withArgs(modelId("a"), "a");
      await expect(tx).to.emit(v2, "ModelRegistered").withArgs(modelId("b"), "b");
      expect(await v2.modelName(modelId("b"))).to.equal("b");
    });

    it("stores unicode names byte for byte and reports unknown ids as empty", async () => {
      const { v2 } = await networkHelpers.loadFixture(directV2);
      expect(await v2.modelName(UNICODE_MODEL)).to.equal("模型-δ");
      expect(await v2.modelName(UNKNOWN)).to.equal("");
    });

    it("accepts 128-byte names and refuses empty or longer ones, counting UTF-8 bytes", async () => {
      const { v2 } = await networkHelpers.loadFixture(directV2);
      await expect(v2.registerModel("n".repeat(128))).to.emit(v2, "ModelRegistered");
      await expect(v2.registerModel("")).to.be.revertedWithCustomError(v2, "InvalidModelName").withArgs(0n, 128n);
      await expect(v2.registerModel("n".repeat(129)))
        .to.be.revertedWithCustomError(v2, "InvalidModelName")
        .withArgs(129n, 128n);
      // 43 characters of three bytes each: under 128 characters, over 128 bytes.
      await expect(v2.registerModel("€".repeat(43)))
        .to.be.revertedWithCustomError(v2, "InvalidModelName")
        .withArgs(129n, 128n);
      await expect(v2.registerModels(["ok", ""])).to.be.revertedWithCustomError(v2, "InvalidModelName");
      expect(await v2.modelName(modelId("ok"))).to.equal("");
    });

    it("stays open after finalize and while paused", async () => {
      const { v2, admin, stranger } = await networkHelpers.loadFixture(openV2);
      await (await v2.connect(admin).pause()).wait();
      await expect(v2.connect(stranger).registerModel("after")).to.emit(v2, "ModelRegistered");
    });
  });

  describe("batchMigrateNodes", () => {
    it("stores every field of every record, in order, with its position", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const records = [
        record(at(hosts, 0), { reputation: 1000n, models: [LLAMA, QWEN, UNICODE_MODEL] }),
        record(at(hosts, 1), { active: false, stake: 1n, reputation: 0n, models: [], region: "", peerId: "" }),
        record(at(hosts, 2), { active: false, unstakeRequestedAt: 1_700_000_500n, peerId: "p".repeat(256) }),
      ];
      await (await importBatch(v2, migrator, 0n, records)).wait();
      for (const [i, r] of records.entries()) {
        const node = await v2.getNode(r.operator);
        expect(node.operator).to.equal(r.operator);
        expect(node.stake).to.equal(r.stake);
        expect(node.registeredAt).to.equal(r.registeredAt);
        expect(node.unstakeRequestedAt).to.equal(r.unstakeRequestedAt);
        expect(node.reputation).to.equal(r.reputation);
        expect(node.status).to.equal(r.active ? STATUS.Active : STATUS.Inactive);
        expect(node.index).to.equal(BigInt(i));
        expect(node.peerId).to.equal(r.peerId);
        expect(node.region).to.equal(r.region);
        expect([...node.models]).to.deep.equal(r.models);
        expect(await v2.isRegistered(r.operator)).to.equal(true);
        expect(await v2.isActiveNode(r.operator)).to.equal(r.active);
        expect(await v2.reputationOf(r.operator)).to.equal(r.reputation);
        for (const id of r.models) expect(await v2.supportsModel(r.operator, id)).to.equal(true);
      }
      expect(await v2.supportsModel(at(hosts, 0).address, MISTRAL)).to.equal(false);
      expect(await v2.nodeCount()).to.equal(3n);
      expect((await v2.getNodesPage(0n, 10n)).map((n) => n.operator)).to.deep.equal(records.map((r) => r.operator));
      expect(await v2.totalStaked()).to.equal(sumOf(records));
      expect(await v2.migratedFunds(ZeroAddress)).to.equal(sumOf(records));
      expect(await v2.migratedFunds(at(hosts, 0).address)).to.equal(0n);
      await expectSolvent(v2);
    });

    it("takes the stakes in the same call and emits NodeMigrated per record and the batch event", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const records = [record(at(hosts, 0)), record(at(hosts, 1), { stake: 5n })];
      const commitment = foldLeaves(records.map(nodeLeaf));
      const tx = importBatch(v2, migrator, 0n, records);
      await expect(tx).to.changeEtherBalances(ethers, [migrator, v2], [-sumOf(records), sumOf(records)]);
      await expect(tx).to.emit(v2, "NodeMigrated").withArgs(0n, records[0]!.operator, records[0]!.stake);
      await expect(tx).to.emit(v2, "NodeMigrated").withArgs(1n, records[1]!.operator, 5n);
      await expect(tx).to.emit(v2, "MigrationBatchImported").withArgs(0n, 0n, 2n, commitment);
    });

    it("folds each record's leaf into the commitment and checkpoints the batch", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const first = [record(at(hosts, 0)), record(at(hosts, 1), { models: [UNICODE_MODEL], region: "東京" })];
      const second = [record(at(hosts, 2), { active: false, reputation: 7n })];
      await (await importBatch(v2, migrator, 0n, first)).wait();
      const afterFirst = foldLeaves(first.map(nodeLeaf));
      expect(await v2.migrationCommitment()).to.equal(afterFirst);
      await (await importBatch(v2, migrator, 2n, second)).wait();
      expect(await v2.migrationCommitment()).to.equal(foldLeaves([...first, ...second].map(nodeLeaf)));
      expect(await v2.migratedCount()).to.equal(3n);
      expect(await v2.migrationBatchCount()).to.equal(2n);
      const batch = await v2.migrationBatch(1n);
      expect(batch.commitmentBefore).to.equal(afterFirst);
      expect(batch.start).to.equal(2n);
      expect(batch.source).to.equal(migrator.address);
      expect(await v2.getNode(at(hosts, 2).address).then((n) => n.index)).to.equal(2n);
    });

    it("does not hold migrated records to the minimum stake (a slashed V1 node stays as it was)", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const records = [record(at(hosts, 0), { stake: 0n, active: false }), record(at(hosts, 1), { stake: 1n })];
      await (await importBatch(v2, migrator, 0n, records)).wait();
      expect((await v2.getNode(at(hosts, 0).address)).stake).to.equal(0n);
      expect(await v2.isRegistered(at(hosts, 0).address)).to.equal(true);
      expect(await v2.isActiveNode(at(hosts, 1).address)).to.equal(true);
    });

    it("accepts MAX_MODELS models and the largest uint96 stake", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const names = Array.from({ length: 32 }, (_, i) => `m${i}`);
      await (await v2.registerModels(names)).wait();
      const big = 2n ** 96n - 1n;
      await networkHelpers.setBalance(migrator.address, big * 2n);
      const records = [record(at(hosts, 0), { models: names.map(modelId), stake: big })];
      await (await importBatch(v2, migrator, 0n, records)).wait();
      expect((await v2.getNode(at(hosts, 0).address)).models.length).to.equal(32);
      expect(await v2.totalStaked()).to.equal(big);
    });

    it("is reserved to MIGRATOR_ROLE", async () => {
      const { v2, admin, hosts } = await networkHelpers.loadFixture(directV2);
      const records = [record(at(hosts, 0))];
      await expect(importBatch(v2, admin, 0n, records))
        .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, await v2.MIGRATOR_ROLE());
    });

    it("refuses an empty batch", async () => {
      const { v2, migrator } = await networkHelpers.loadFixture(directV2);
      await expect(importBatch(v2, migrator, 0n, [])).to.be.revertedWithCustomError(v2, "EmptyBatch");
    });

    it("refuses a replayed batch and a skipped cursor", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const records = [record(at(hosts, 0)), record(at(hosts, 1))];
      await (await importBatch(v2, migrator, 0n, records)).wait();
      await expect(importBatch(v2, migrator, 0n, records))
        .to.be.revertedWithCustomError(v2, "UnexpectedCursor")
        .withArgs(0n, 2n);
      await expect(importBatch(v2, migrator, 3n, [record(at(hosts, 2))]))
        .to.be.revertedWithCustomError(v2, "UnexpectedCursor")
        .withArgs(3n, 2n);
    });

    it("refuses a record for an operator already registered, within a batch or across batches", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const host = at(hosts, 0);
      await expect(importBatch(v2, migrator, 0n, [record(host), record(host, { stake: 1n })]))
        .to.be.revertedWithCustomError(v2, "NodeAlreadyRegistered")
        .withArgs(host.address);
      await (await importBatch(v2, migrator, 0n, [record(host)])).wait();
      await expect(importBatch(v2, migrator, 1n, [record(host)]))
        .to.be.revertedWithCustomError(v2, "NodeAlreadyRegistered")
        .withArgs(host.address);
    });

    it("refuses the zero operator", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      await expect(
        importBatch(v2, migrator, 0n, [record(at(hosts, 0)), { ...record(at(hosts, 1)), operator: ZeroAddress }]),
      ).to.be.revertedWithCustomError(v2, "ZeroAddress");
    });

    it("refuses a reputation above MAX_REPUTATION", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      await expect(importBatch(v2, migrator, 0n, [record(at(hosts, 0), { reputation: 1001n })]))
        .to.be.revertedWithCustomError(v2, "InvalidReputation")
        .withArgs(1001n, 1000n);
    });

    it("refuses more than MAX_MODELS models", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      await expect(importBatch(v2, migrator, 0n, [record(at(hosts, 0), { models: Array(33).fill(LLAMA) })]))
        .to.be.revertedWithCustomError(v2, "InvalidModels")
        .withArgs(33n, 32n);
    });

    it("refuses a model id without a registered name", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      await expect(importBatch(v2, migrator, 0n, [record(at(hosts, 0), { models: [LLAMA, UNKNOWN] })]))
        .to.be.revertedWithCustomError(v2, "UnknownModel")
        .withArgs(UNKNOWN);
    });

    it("refuses ETH that differs from the stakes, in either direction", async () => {
      const { v2, migrator, hosts } = await networkHelpers.loadFixture(directV2);
      const records = [record(at(hosts, 0)), record(at(hosts, 1))];
      const sum = sumOf(records);
      await expect(v2.connect(migrator).batchMigrateNodes(0n, records, { value: sum - 1n }))
        .to.be.revertedWithCustomError(v2, "StakeMismatch")
        .withArgs(sum, sum - 1n);
      await expect(v2.connect(migrator).batchMigrateNodes(0n, records, { value: sum + 1n }))
        .to.be.revertedWithCustomError(v2, "StakeMismatch")
        .withArgs(sum, sum + 1n);
      expect(await v2.nodeCount()).to.equal(0n);
      expect(await balanceOf(v2)).to.equal(0n);
    });
  });

  it("costs within 1.3x of the fresh storage slots and calldata a batch needs", async () => {
    const { v2, migrator } = await networkHelpers.loadFixture(directV2);
    // Typical nodes: three models, a 52-byte peer id, a short region. Each needs 11 fresh
    // slots: operator+stake, the packed slot, peer id (length + 2 words), region, models
    // (length + 3 ids) and its place in the operator list.
    const size = 40;
    const slotsPerNode = 11;
    const records = Array.from({ length: size }, () =>
      record(ethers.Wallet.createRandom(), { models: [LLAMA, MISTRAL, QWEN], stake: MINIMUM_STAKE }),
    );
    expect(records.every((r) => r.peerId.length === 52)).to.equal(true);
    const tx = await importBatch(v2, migrator, 0n, records);
    const gasUsed = (await tx.wait())!.gasUsed;
    const data = ethers.getBytes(tx.data);
    const zeros = data.filter((byte) => byte === 0).length;
    const calldata = zeros * 4 + (data.length - zeros) * 16;
    const floor = 21_000 + calldata + size * slotsPerNode * 22_100;
    console.log(
      `      V2 batchMigrateNodes, ${size} typical nodes: ${gasUsed} gas, ` +
        `${gasUsed / BigInt(size)} per node, ${(Number(gasUsed) / floor).toFixed(3)}x the floor of ${floor}`,
    );
    expect(Number(gasUsed)).to.be.lessThanOrEqual(floor * 1.3);
  });

  describe("returnLastBatch", () => {
    async function twoBatches() {
      const direct = await directV2();
      const { v2, migrator, hosts } = direct;
      const first = [record(at(hosts, 0)), record(at(hosts, 1), { stake: 3n })];
      const second = [record(at(hosts, 2), { stake: 11n }), record(at(hosts, 3), { stake: 13n, models: [] })];
      await (await importBatch(v2, migrator, 0n, first)).wait();
      await (await importBatch(v2, migrator, 2n, second)).wait();
      return { ...direct, first, second };
    }

    it("returns the last batch's operators and stakes in order and sends the stakes to its sender", async () => {
      const { v2, migrator, second } = await networkHelpers.loadFixture(twoBatches);
      const [operators, stakes] = await v2.connect(migrator).returnLastBatch.staticCall();
      expect([...operators]).to.deep.equal(second.map((r) => r.operator));
      expect([...stakes]).to.deep.equal(second.map((r) => r.stake));
      const tx = v2.connect(migrator).returnLastBatch();
      await expect(tx).to.changeEtherBalances(ethers, [migrator, v2], [24n, -24n]);
      await expect(tx).to.emit(v2, "NodesReturned").withArgs(2n, 4n, 24n);
    });

    it("removes the nodes and restores the commitment, cursor and totals from before the batch", async () => {
      const { v2, migrator, first, second } = await networkHelpers.loadFixture(twoBatches);
      const commitmentBefore = foldLeaves(first.map(nodeLeaf));
      await expect(v2.connect(migrator).returnLastBatch())
        .to.emit(v2, "MigrationBatchRolledBack")
        .withArgs(1n, 2n, 4n, commitmentBefore);
      expect(await v2.migrationCommitment()).to.equal(commitmentBefore);
      expect(await v2.migratedCount()).to.equal(2n);
      expect(await v2.migrationBatchCount()).to.equal(1n);
      expect(await v2.nodeCount()).to.equal(2n);
      expect(await v2.totalStaked()).to.equal(sumOf(first));
      for (const r of second) {
        expect(await v2.isRegistered(r.operator)).to.equal(false);
        const node = await v2.getNode(r.operator);
        expect([node.operator, node.stake, node.peerId, node.region, node.models.length]).to.deep.equal([
          ZeroAddress,
          0n,
          "",
          "",
          0,
        ]);
      }
      await expectSolvent(v2);
    });

    it("rolls back most recent first down to nothing, and the same batches import again", async () => {
      const { v2, migrator, first, second } = await networkHelpers.loadFixture(twoBatches);
      const commitment = await v2.migrationCommitment();
      await (await v2.connect(migrator).returnLastBatch()).wait();
      await (await v2.connect(migrator).returnLastBatch()).wait();
      expect(await v2.migrationCommitment()).to.equal(ZeroHash);
      expect(await v2.migratedCount()).to.equal(0n);
      expect(await v2.nodeCount()).to.equal(0n);
      expect(await v2.totalStaked()).to.equal(0n);
      expect(await balanceOf(v2)).to.equal(0n);
      await expect(v2.connect(migrator).returnLastBatch()).to.be.revertedWithCustomError(v2, "NothingToRollBack");
      await (await importBatch(v2, migrator, 0n, first)).wait();
      await (await importBatch(v2, migrator, 2n, second)).wait();
      expect(await v2.migrationCommitment()).to.equal(commitment);
    });

    it("is reserved to the batch's sender among migrators", async () => {
      const { v2, admin, stranger, migrator } = await networkHelpers.loadFixture(twoBatches);
      await expect(v2.connect(stranger).returnLastBatch())
        .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await v2.MIGRATOR_ROLE());
      await (await v2.connect(admin).grantRole(await v2.MIGRATOR_ROLE(), stranger.address)).wait();
      await expect(v2.connect(stranger).returnLastBatch())
        .to.be.revertedWithCustomError(v2, "NotBatchSource")
        .withArgs(stranger.address, migrator.address);
    });
  });

  describe("finalizeMigration", () => {
    async function migrated() {
      const direct = await directV2();
      const records = [record(at(direct.hosts, 0)), record(at(direct.hosts, 1), { stake: 1n, active: false })];
      await (await importBatch(direct.v2, direct.migrator, 0n, records)).wait();
      return { ...direct, records, commitment: foldLeaves(records.map(nodeLeaf)), sum: sumOf(records) };
    }

    it("refuses each wrong expectation, naming what it holds", async () => {
      const { v2, migrator, commitment, sum, hosts } = await networkHelpers.loadFixture(migrated);
      const m = v2.connect(migrator);
      await expect(m.finalizeMigration(ZeroHash, 2n, [ZeroAddress], [sum]))
        .to.be.revertedWithCustomError(v2, "CommitmentMismatch")
        .withArgs(ZeroHash, commitment);
      await expect(m.finalizeMigration(commitment, 3n, [ZeroAddress], [sum]))
        .to.be.revertedWithCustomError(v2, "CountMismatch")
        .withArgs(3n, 2n);
      await expect(m.finalizeMigration(commitment, 2n, [], []))
        .to.be.revertedWithCustomError(v2, "TokenListMismatch")
        .withArgs([ZeroAddress], [], 0n);
      await expect(m.finalizeMigration(commitment, 2n, [ZeroAddress], [sum, 0n]))
        .to.be.revertedWithCustomError(v2, "TokenListMismatch")
        .withArgs([ZeroAddress], [ZeroAddress], 2n);
      await expect(m.finalizeMigration(commitment, 2n, [at(hosts, 0).address], [sum]))
        .to.be.revertedWithCustomError(v2, "TokenListMismatch")
        .withArgs([ZeroAddress], [at(hosts, 0).address], 1n);
      await expect(m.finalizeMigration(commitment, 2n, [ZeroAddress], [sum + 1n]))
        .to.be.revertedWithCustomError(v2, "FundsMismatch")
        .withArgs(ZeroAddress, sum + 1n, sum);
      expect(await v2.migrationFinalized()).to.equal(false);
    });

    it("is reserved to MIGRATOR_ROLE", async () => {
      const { v2, admin, commitment, sum } = await networkHelpers.loadFixture(migrated);
      await expect(v2.connect(admin).finalizeMigration(commitment, 2n, [ZeroAddress], [sum]))
        .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, await v2.MIGRATOR_ROLE());
    });

    it("closes the entry points for good and revokes MIGRATOR_ROLE from every holder", async () => {
      const { v2, admin, migrator, stranger, commitment, sum, records, hosts } =
        await networkHelpers.loadFixture(migrated);
      const role = await v2.MIGRATOR_ROLE();
      await (await v2.connect(admin).grantRole(role, stranger.address)).wait();
      await expect(v2.connect(migrator).finalizeMigration(commitment, 2n, [ZeroAddress], [sum]))
        .to.emit(v2, "MigrationFinalized")
        .withArgs(commitment, 2n);
      expect(await v2.migrationFinalized()).to.equal(true);
      expect(await v2.hasRole(role, migrator.address)).to.equal(false);
      expect(await v2.hasRole(role, stranger.address)).to.equal(false);
      await expect(v2.connect(admin).grantRole(role, migrator.address)).to.be.revertedWithCustomError(
        v2,
        "MigrationAlreadyFinalized",
      );
      await expect(importBatch(v2, migrator, 2n, [record(at(hosts, 5))])).to.be.revertedWithCustomError(
        v2,
        "MigrationAlreadyFinalized",
      );
      await expect(v2.connect(migrator).returnLastBatch()).to.be.revertedWithCustomError(
        v2,
        "MigrationAlreadyFinalized",
      );
      await expect(
        v2.connect(migrator).finalizeMigration(commitment, 2n, [ZeroAddress], [sum]),
      ).to.be.revertedWithCustomError(v2, "MigrationAlreadyFinalized");
      // The records stay as imported.
      expect(await v2.totalStaked()).to.equal(sumOf(records));
    });
  });

  describe("before finalize", () => {
    it("refuses every host and role function with MigrationInProgress", async () => {
      const { v2, migrator, admin, reputer, hosts } = await networkHelpers.loadFixture(directV2);
      const host = at(hosts, 0);
      await (await importBatch(v2, migrator, 0n, [record(host, { unstakeRequestedAt: 1n, active: false })])).wait();
      const h = v2.connect(host);
      const calls = [
        () => v2.connect(at(hosts, 1)).registerNode("peer", [LLAMA], "eu", { value: MINIMUM_STAKE }),
        () => h.addStake({ value: 1n }),
        () => h.updateModels([LLAMA]),
        () => h.updateRegion("us"),
        () => h.setModelPrice(LLAMA, 1n),
        () => h.requestUnstake(),
        () => h.cancelUnstake(),
        () => h.withdrawStake(),
        () => v2.connect(admin).slash(host.address, 1n, "early"),
        () => v2.connect(reputer).increaseReputation(host.address, 1n),
        () => v2.connect(reputer).decreaseReputation(host.address, 1n),
      ];
      for (const call of calls) await expect(call()).to.be.revertedWithCustomError(v2, "MigrationInProgress");
    });

    it("lets the admin configure the registry during the migration", async () => {
      const { v2, admin } = await networkHelpers.loadFixture(directV2);
      await expect(v2.connect(admin).setMinimumStake(2n))
        .to.emit(v2, "MinimumStakeChanged")
        .withArgs(MINIMUM_STAKE, 2n);
    });
  });

  describe("after finalize", () => {
    describe("registerNode", () => {
      it("registers with known models at the end of the list, with the initial reputation", async () => {
        const { v2, newcomers } = await networkHelpers.loadFixture(openV2);
        const host = at(newcomers, 0);
        const tx = v2.connect(host).registerNode("peer-new", [QWEN, UNICODE_MODEL], "東京", { value: MINIMUM_STAKE });
        await expect(tx)
          .to.emit(v2, "NodeRegistered")
          .withArgs(host.address, "peer-new", MINIMUM_STAKE, [QWEN, UNICODE_MODEL], "東京");
        await expect(tx).to.changeEtherBalances(ethers, [host, v2], [-MINIMUM_STAKE, MINIMUM_STAKE]);
        const node = await v2.getNode(host.address);
        const block = await ethers.provider.getBlock("latest");
        expect(node.operator).to.equal(host.address);
        expect(node.stake).to.equal(MINIMUM_STAKE);
        expect(node.registeredAt).to.equal(BigInt(block!.timestamp));
        expect(node.unstakeRequestedAt).to.equal(0n);
        expect(node.reputation).to.equal(100n);
        expect(node.status).to.equal(STATUS.Active);
        expect(node.index).to.equal(3n);
        expect(node.peerId).to.equal("peer-new");
        expect(node.region).to.equal("東京");
        expect([...node.models]).to.deep.equal([QWEN, UNICODE_MODEL]);
        expect(await v2.modelName(node.models[1]!)).to.equal("模型-δ");
        await expectSolvent(v2);
      });

      it("refuses an unknown model, naming it", async () => {
        const { v2, newcomers } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(at(newcomers, 0)).registerNode("p", [LLAMA, UNKNOWN], "", { value: MINIMUM_STAKE }))
          .to.be.revertedWithCustomError(v2, "UnknownModel")
          .withArgs(UNKNOWN);
      });

      it("refuses a registered operator, migrated or not", async () => {
        const { v2, active, leaving, newcomers } = await networkHelpers.loadFixture(openV2);
        for (const host of [active, leaving]) {
          await expect(v2.connect(host).registerNode("p", [], "", { value: MINIMUM_STAKE }))
            .to.be.revertedWithCustomError(v2, "NodeAlreadyRegistered")
            .withArgs(host.address);
        }
        const host = at(newcomers, 0);
        await (await v2.connect(host).registerNode("p", [], "", { value: MINIMUM_STAKE })).wait();
        await expect(v2.connect(host).registerNode("p", [], "", { value: MINIMUM_STAKE }))
          .to.be.revertedWithCustomError(v2, "NodeAlreadyRegistered")
          .withArgs(host.address);
      });

      it("validates stake, peer id, region and model count as V1 does", async () => {
        const { v2, newcomers } = await networkHelpers.loadFixture(openV2);
        const h = v2.connect(at(newcomers, 0));
        await expect(h.registerNode("p", [], "", { value: MINIMUM_STAKE - 1n }))
          .to.be.revertedWithCustomError(v2, "StakeBelowMinimum")
          .withArgs(MINIMUM_STAKE - 1n, MINIMUM_STAKE);
        await expect(h.registerNode("", [], "", { value: MINIMUM_STAKE }))
          .to.be.revertedWithCustomError(v2, "InvalidPeerId")
          .withArgs(0n, 256n);
        await expect(h.registerNode("p".repeat(257), [], "", { value: MINIMUM_STAKE }))
          .to.be.revertedWithCustomError(v2, "InvalidPeerId")
          .withArgs(257n, 256n);
        await expect(h.registerNode("p", [], "r".repeat(65), { value: MINIMUM_STAKE }))
          .to.be.revertedWithCustomError(v2, "InvalidRegion")
          .withArgs(65n, 64n);
        await expect(h.registerNode("p", Array(33).fill(LLAMA), "", { value: MINIMUM_STAKE }))
          .to.be.revertedWithCustomError(v2, "InvalidModels")
          .withArgs(33n, 32n);
        await expect(
          h.registerNode("p".repeat(256), Array(32).fill(LLAMA), "r".repeat(64), { value: MINIMUM_STAKE }),
        ).to.emit(v2, "NodeRegistered");
      });

      it("refuses a stake that does not fit in 96 bits", async () => {
        const { v2, newcomers } = await networkHelpers.loadFixture(openV2);
        const host = at(newcomers, 0);
        await networkHelpers.setBalance(host.address, 2n ** 97n);
        await expect(v2.connect(host).registerNode("p", [], "", { value: 2n ** 96n }))
          .to.be.revertedWithCustomError(v2, "SafeCastOverflowedUintDowncast")
          .withArgs(96n, 2n ** 96n);
      });
    });

    describe("model prices", () => {
      it("sets, changes and withdraws a price for a served model", async () => {
        const { v2, active } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(active).setModelPrice(LLAMA, 7n))
          .to.emit(v2, "ModelPriceSet")
          .withArgs(active.address, LLAMA, 7n);
        await (await v2.connect(active).setModelPrice(MISTRAL, 9n)).wait();
        expect(await v2.priceOf(active.address, LLAMA)).to.equal(7n);
        expect(await v2.priceOf(active.address, MISTRAL)).to.equal(9n);
        await (await v2.connect(active).setModelPrice(LLAMA, 0n)).wait();
        expect(await v2.priceOf(active.address, LLAMA)).to.equal(0n);
        expect(await v2.priceOf(active.address, MISTRAL)).to.equal(9n);
      });

      it("refuses a model the node does not serve, and an unregistered caller", async () => {
        const { v2, active, newcomers } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(active).setModelPrice(QWEN, 1n))
          .to.be.revertedWithCustomError(v2, "ModelNotServed")
          .withArgs(active.address, QWEN);
        await expect(v2.connect(at(newcomers, 0)).setModelPrice(LLAMA, 1n))
          .to.be.revertedWithCustomError(v2, "NodeNotRegistered")
          .withArgs(at(newcomers, 0).address);
      });
    });

    describe("updateModels and updateRegion", () => {
      it("replaces the models and clears the prices of dropped ones only", async () => {
        const { v2, active } = await networkHelpers.loadFixture(openV2);
        await (await v2.connect(active).setModelPrice(LLAMA, 7n)).wait();
        await (await v2.connect(active).setModelPrice(MISTRAL, 9n)).wait();
        await expect(v2.connect(active).updateModels([MISTRAL, QWEN]))
          .to.emit(v2, "ModelsUpdated")
          .withArgs(active.address, [MISTRAL, QWEN]);
        expect([...(await v2.getNode(active.address)).models]).to.deep.equal([MISTRAL, QWEN]);
        expect(await v2.priceOf(active.address, LLAMA)).to.equal(0n);
        expect(await v2.priceOf(active.address, MISTRAL)).to.equal(9n);
        expect(await v2.supportsModel(active.address, LLAMA)).to.equal(false);
        // Serving LLAMA again does not bring the old offer back.
        await (await v2.connect(active).updateModels([LLAMA])).wait();
        expect(await v2.priceOf(active.address, LLAMA)).to.equal(0n);
        expect(await v2.priceOf(active.address, MISTRAL)).to.equal(0n);
        await (await v2.connect(active).updateModels([])).wait();
        expect((await v2.getNode(active.address)).models.length).to.equal(0);
      });

      it("refuses unknown or too many models and unregistered callers", async () => {
        const { v2, active, newcomers } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(active).updateModels([UNKNOWN]))
          .to.be.revertedWithCustomError(v2, "UnknownModel")
          .withArgs(UNKNOWN);
        await expect(v2.connect(active).updateModels(Array(33).fill(LLAMA)))
          .to.be.revertedWithCustomError(v2, "InvalidModels")
          .withArgs(33n, 32n);
        await expect(v2.connect(at(newcomers, 0)).updateModels([]))
          .to.be.revertedWithCustomError(v2, "NodeNotRegistered")
          .withArgs(at(newcomers, 0).address);
      });

      it("changes the region, within MAX_REGION_LENGTH bytes", async () => {
        const { v2, active, newcomers } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(active).updateRegion("São Paulo"))
          .to.emit(v2, "RegionUpdated")
          .withArgs(active.address, "São Paulo");
        expect((await v2.getNode(active.address)).region).to.equal("São Paulo");
        await expect(v2.connect(active).updateRegion("€".repeat(22)))
          .to.be.revertedWithCustomError(v2, "InvalidRegion")
          .withArgs(66n, 64n);
        await expect(v2.connect(at(newcomers, 0)).updateRegion("x"))
          .to.be.revertedWithCustomError(v2, "NodeNotRegistered")
          .withArgs(at(newcomers, 0).address);
      });
    });

    describe("stake", () => {
      it("addStake raises stake and total and reactivates a node slashed below the minimum", async () => {
        const { v2, slashed } = await networkHelpers.loadFixture(openV2);
        const half = MINIMUM_STAKE / 2n;
        await expect(v2.connect(slashed).addStake({ value: half - 1n }))
          .to.emit(v2, "StakeAdded")
          .withArgs(slashed.address, half - 1n, MINIMUM_STAKE - 1n);
        expect(await v2.isActiveNode(slashed.address)).to.equal(false);
        await (await v2.connect(slashed).addStake({ value: 1n })).wait();
        expect(await v2.isActiveNode(slashed.address)).to.equal(true);
        await expectSolvent(v2);
      });

      it("addStake does not reactivate a leaving node, and refuses zero, strangers and uint96 overflow", async () => {
        const { v2, leaving, active, newcomers } = await networkHelpers.loadFixture(openV2);
        await (await v2.connect(leaving).addStake({ value: MINIMUM_STAKE })).wait();
        expect(await v2.isActiveNode(leaving.address)).to.equal(false);
        await expect(v2.connect(active).addStake()).to.be.revertedWithCustomError(v2, "ZeroAmount");
        await expect(v2.connect(at(newcomers, 0)).addStake({ value: 1n }))
          .to.be.revertedWithCustomError(v2, "NodeNotRegistered")
          .withArgs(at(newcomers, 0).address);
        await networkHelpers.setBalance(active.address, 2n ** 97n);
        const value = 2n ** 96n - MINIMUM_STAKE * 2n;
        await expect(v2.connect(active).addStake({ value }))
          .to.be.revertedWithCustomError(v2, "SafeCastOverflowedUintDowncast")
          .withArgs(96n, 2n ** 96n);
      });

      it("requestUnstake deactivates and starts the cooldown; cancelUnstake reverses it", async () => {
        const { v2, active } = await networkHelpers.loadFixture(openV2);
        const tx = await v2.connect(active).requestUnstake();
        const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
        const requestedAt = BigInt(block!.timestamp);
        await expect(tx)
          .to.emit(v2, "UnstakeRequested")
          .withArgs(active.address, requestedAt + COOLDOWN);
        const node = await v2.getNode(active.address);
        expect(node.status).to.equal(STATUS.Inactive);
        expect(node.unstakeRequestedAt).to.equal(requestedAt);
        await expect(v2.connect(active).requestUnstake())
          .to.be.revertedWithCustomError(v2, "UnstakePending")
          .withArgs(active.address);
        await expect(v2.connect(active).cancelUnstake()).to.emit(v2, "UnstakeCancelled").withArgs(active.address);
        expect(await v2.isActiveNode(active.address)).to.equal(true);
        expect((await v2.getNode(active.address)).unstakeRequestedAt).to.equal(0n);
        await expect(v2.connect(active).cancelUnstake())
          .to.be.revertedWithCustomError(v2, "UnstakeNotRequested")
          .withArgs(active.address);
      });

      it("cancelUnstake requires the minimum stake; unregistered callers are refused", async () => {
        const { v2, admin, leaving, newcomers } = await networkHelpers.loadFixture(openV2);
        await (await v2.connect(admin).slash(leaving.address, MINIMUM_STAKE + 1n, "while leaving")).wait();
        await expect(v2.connect(leaving).cancelUnstake())
          .to.be.revertedWithCustomError(v2, "StakeBelowMinimum")
          .withArgs(MINIMUM_STAKE - 1n, MINIMUM_STAKE);
        for (const call of [
          () => v2.connect(at(newcomers, 0)).requestUnstake(),
          () => v2.connect(at(newcomers, 0)).cancelUnstake(),
          () => v2.connect(at(newcomers, 0)).withdrawStake(),
        ]) {
          await expect(call())
            .to.be.revertedWithCustomError(v2, "NodeNotRegistered")
            .withArgs(at(newcomers, 0).address);
        }
      });

      it("withdrawStake after the cooldown pays the stake, swaps the last node in and clears prices", async () => {
        const { v2, active, slashed, leaving, newcomers } = await networkHelpers.loadFixture(openV2);
        const late = at(newcomers, 0);
        await (await v2.connect(late).registerNode("late", [LLAMA], "", { value: MINIMUM_STAKE })).wait();
        await (await v2.connect(active).setModelPrice(LLAMA, 5n)).wait();
        await (await v2.connect(active).requestUnstake()).wait();
        await expect(v2.connect(active).withdrawStake())
          .to.be.revertedWithCustomError(v2, "CooldownNotElapsed")
          .withArgs(BigInt(await networkHelpers.time.latest()) + COOLDOWN);
        await networkHelpers.time.increase(COOLDOWN);
        const stake = MINIMUM_STAKE * 2n;
        const tx = v2.connect(active).withdrawStake();
        await expect(tx).to.emit(v2, "StakeWithdrawn").withArgs(active.address, stake);
        await expect(tx).to.changeEtherBalances(ethers, [active, v2], [stake, -stake]);
        expect(await v2.isRegistered(active.address)).to.equal(false);
        expect(await v2.priceOf(active.address, LLAMA)).to.equal(0n);
        expect((await v2.getNode(late.address)).index).to.equal(0n);
        expect((await v2.getNodesPage(0n, 10n)).map((n) => n.operator)).to.deep.equal([
          late.address,
          slashed.address,
          leaving.address,
        ]);
        await expectSolvent(v2);
        await (await v2.connect(leaving).withdrawStake()).wait();
        expect(await v2.nodeCount()).to.equal(2n);
        await expectSolvent(v2);
        // A fresh registration starts without stale prices.
        await (await v2.connect(active).registerNode("again", [LLAMA], "", { value: MINIMUM_STAKE })).wait();
        expect(await v2.priceOf(active.address, LLAMA)).to.equal(0n);
        expect((await v2.getNode(active.address)).index).to.equal(2n);
      });

      it("runs a migrated leaving node's cooldown from its V1 request", async () => {
        const { v2, leaving, leftAt } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(leaving).withdrawStake())
          .to.be.revertedWithCustomError(v2, "CooldownNotElapsed")
          .withArgs(leftAt + COOLDOWN);
        await networkHelpers.time.increaseTo(leftAt + COOLDOWN);
        await expect(v2.connect(leaving).withdrawStake())
          .to.emit(v2, "StakeWithdrawn")
          .withArgs(leaving.address, MINIMUM_STAKE * 2n);
      });

      it("withdrawStake refuses a node that did not ask to leave, and pays nothing for a zero stake", async () => {
        const { v2, admin, active, leaving } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(active).withdrawStake())
          .to.be.revertedWithCustomError(v2, "UnstakeNotRequested")
          .withArgs(active.address);
        await (await v2.connect(admin).slash(leaving.address, MINIMUM_STAKE * 2n, "all")).wait();
        await networkHelpers.time.increase(COOLDOWN);
        const tx = v2.connect(leaving).withdrawStake();
        await expect(tx).to.emit(v2, "StakeWithdrawn").withArgs(leaving.address, 0n);
        await expect(tx).to.changeEtherBalances(ethers, [leaving, v2], [0n, 0n]);
        expect(await v2.nodeCount()).to.equal(2n);
      });
    });

    describe("slash", () => {
      it("moves the amount to the treasury and deactivates below the minimum", async () => {
        const { v2, admin, treasury, active } = await networkHelpers.loadFixture(openV2);
        const tx = v2.connect(admin).slash(active.address, MINIMUM_STAKE, "bad result");
        await expect(tx).to.emit(v2, "NodeSlashed").withArgs(active.address, MINIMUM_STAKE, "bad result");
        await expect(tx).to.changeEtherBalances(ethers, [treasury, v2], [MINIMUM_STAKE, -MINIMUM_STAKE]);
        expect(await v2.isActiveNode(active.address)).to.equal(true);
        await (await v2.connect(admin).slash(active.address, 1n, "again")).wait();
        expect(await v2.isActiveNode(active.address)).to.equal(false);
        expect((await v2.getNode(active.address)).stake).to.equal(MINIMUM_STAKE - 1n);
        await expectSolvent(v2);
      });

      it("keeps a leaving node inactive and leaving", async () => {
        const { v2, admin, leaving, leftAt } = await networkHelpers.loadFixture(openV2);
        await (await v2.connect(admin).slash(leaving.address, MINIMUM_STAKE * 2n - 1n, "x")).wait();
        const node = await v2.getNode(leaving.address);
        expect(node.status).to.equal(STATUS.Inactive);
        expect(node.unstakeRequestedAt).to.equal(leftAt);
      });

      it("refuses zero, more than the stake, unregistered operators and callers without SLASHER_ROLE", async () => {
        const { v2, admin, stranger, active } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(admin).slash(active.address, 0n, "")).to.be.revertedWithCustomError(v2, "ZeroAmount");
        await expect(v2.connect(admin).slash(active.address, MINIMUM_STAKE * 2n + 1n, ""))
          .to.be.revertedWithCustomError(v2, "SlashExceedsStake")
          .withArgs(MINIMUM_STAKE * 2n + 1n, MINIMUM_STAKE * 2n);
        await expect(v2.connect(admin).slash(stranger.address, 1n, ""))
          .to.be.revertedWithCustomError(v2, "NodeNotRegistered")
          .withArgs(stranger.address);
        await expect(v2.connect(stranger).slash(active.address, 1n, ""))
          .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, await v2.SLASHER_ROLE());
      });
    });

    describe("reputation", () => {
      it("rises to at most MAX_REPUTATION, even for the largest amount", async () => {
        const { v2, reputer, active } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(reputer).increaseReputation(active.address, 50n))
          .to.emit(v2, "ReputationChanged")
          .withArgs(active.address, 250n, 300n);
        await expect(v2.connect(reputer).increaseReputation(active.address, MaxUint256))
          .to.emit(v2, "ReputationChanged")
          .withArgs(active.address, 300n, 1000n);
        expect(await v2.reputationOf(active.address)).to.equal(1000n);
        expect((await v2.getNode(active.address)).reputation).to.equal(1000n);
      });

      it("falls to at least zero", async () => {
        const { v2, reputer, active } = await networkHelpers.loadFixture(openV2);
        await expect(v2.connect(reputer).decreaseReputation(active.address, 50n))
          .to.emit(v2, "ReputationChanged")
          .withArgs(active.address, 250n, 200n);
        await expect(v2.connect(reputer).decreaseReputation(active.address, MaxUint256))
          .to.emit(v2, "ReputationChanged")
          .withArgs(active.address, 200n, 0n);
        expect(await v2.reputationOf(active.address)).to.equal(0n);
      });

      it("changes nothing else in the packed slot", async () => {
        const { v2, reputer, leaving, leftAt } = await networkHelpers.loadFixture(openV2);
        const before = await v2.getNode(leaving.address);
        await (await v2.connect(reputer).increaseReputation(leaving.address, 1n)).wait();
        const after = await v2.getNode(leaving.address);
        expect([after.registeredAt, after.unstakeRequestedAt, after.status, after.index]).to.deep.equal([
          before.registeredAt,
          leftAt,
          before.status,
          before.index,
        ]);
      });

      it("refuses unregistered operators and callers without REPUTATION_ROLE, even the admin", async () => {
        const { v2, admin, reputer, stranger, active } = await networkHelpers.loadFixture(openV2);
        for (const call of [
          () => v2.connect(reputer).increaseReputation(stranger.address, 1n),
          () => v2.connect(reputer).decreaseReputation(stranger.address, 1n),
        ]) {
          await expect(call()).to.be.revertedWithCustomError(v2, "NodeNotRegistered").withArgs(stranger.address);
        }
        for (const call of [
          () => v2.connect(admin).increaseReputation(active.address, 1n),
          () => v2.connect(admin).decreaseReputation(active.address, 1n),
        ]) {
          await expect(call())
            .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
            .withArgs(admin.address, await v2.REPUTATION_ROLE());
        }
      });
    });

    describe("pause", () => {
      it("stops host functions but not slashing, reputation or model names", async () => {
        const { v2, admin, reputer, active, leaving, newcomers } = await networkHelpers.loadFixture(openV2);
        await (await v2.connect(admin).pause()).wait();
        const h = v2.connect(active);
        for (const call of [
          () => v2.connect(at(newcomers, 0)).registerNode("p", [], "", { value: MINIMUM_STAKE }),
          () => h.addStake({ value: 1n }),
          () => h.updateModels([]),
          () => h.updateRegion(""),
          () => h.setModelPrice(LLAMA, 1n),
          () => h.requestUnstake(),
          () => v2.connect(leaving).cancelUnstake(),
          () => v2.connect(leaving).withdrawStake(),
        ]) {
          await expect(call()).to.be.revertedWithCustomError(v2, "EnforcedPause");
        }
        await expect(v2.connect(admin).slash(active.address, 1n, "paused")).to.emit(v2, "NodeSlashed");
        await expect(v2.connect(reputer).increaseReputation(active.address, 1n)).to.emit(v2, "ReputationChanged");
        await expect(v2.connect(reputer).decreaseReputation(active.address, 1n)).to.emit(v2, "ReputationChanged");
        await (await v2.connect(admin).unpause()).wait();
        await expect(h.updateRegion("back")).to.emit(v2, "RegionUpdated");
      });
    });

    describe("admin setters", () => {
      it("set the minimum stake, cooldown and treasury within bounds, for DEFAULT_ADMIN_ROLE only", async () => {
        const { v2, admin, stranger, treasury } = await networkHelpers.loadFixture(openV2);
        const max = ethers.parseEther("1000");
        await expect(v2.connect(admin).setMinimumStake(max))
          .to.emit(v2, "MinimumStakeChanged")
          .withArgs(MINIMUM_STAKE, max);
        await expect(v2.connect(admin).setMinimumStake(max + 1n))
          .to.be.revertedWithCustomError(v2, "ValueOutOfRange")
          .withArgs(max + 1n, 1n, max);
        await expect(v2.connect(admin).setUnstakeCooldown(0n))
          .to.emit(v2, "UnstakeCooldownChanged")
          .withArgs(COOLDOWN, 0n);
        expect(await v2.unstakeCooldown()).to.equal(0n);
        await expect(v2.connect(admin).setTreasury(stranger.address))
          .to.emit(v2, "TreasuryChanged")
          .withArgs(treasury.address, stranger.address);
        expect(await v2.treasury()).to.equal(stranger.address);
        await expect(v2.connect(admin).setTreasury(ZeroAddress)).to.be.revertedWithCustomError(v2, "ZeroAddress");
        const adminRole = await v2.DEFAULT_ADMIN_ROLE();
        for (const call of [
          () => v2.connect(stranger).setMinimumStake(1n),
          () => v2.connect(stranger).setUnstakeCooldown(1n),
          () => v2.connect(stranger).setTreasury(stranger.address),
        ]) {
          await expect(call())
            .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
            .withArgs(stranger.address, adminRole);
        }
      });
    });

    describe("views", () => {
      it("getNodesPage clips to what exists", async () => {
        const { v2, active, slashed, leaving } = await networkHelpers.loadFixture(openV2);
        expect((await v2.getNodesPage(1n, 10n)).map((n) => n.operator)).to.deep.equal([
          slashed.address,
          leaving.address,
        ]);
        expect((await v2.getNodesPage(0n, 1n)).map((n) => n.operator)).to.deep.equal([active.address]);
        expect(await v2.getNodesPage(3n, 10n)).to.deep.equal([]);
        expect(await v2.getNodesPage(MaxUint256, MaxUint256)).to.deep.equal([]);
      });

      it("reports nothing for an operator without a node", async () => {
        const { v2, stranger } = await networkHelpers.loadFixture(openV2);
        const node = await v2.getNode(stranger.address);
        expect([node.operator, node.stake, node.status]).to.deep.equal([ZeroAddress, 0n, STATUS.Unregistered]);
        expect(await v2.isRegistered(stranger.address)).to.equal(false);
        expect(await v2.isActiveNode(stranger.address)).to.equal(false);
        expect(await v2.supportsModel(stranger.address, LLAMA)).to.equal(false);
        expect(await v2.reputationOf(stranger.address)).to.equal(0n);
        expect(await v2.priceOf(stranger.address, LLAMA)).to.equal(0n);
      });
    });
  });
});

import { expect } from "chai";
import type { NodeRegistryV1, NodeRegistryV1_1, NodeRegistryV2 } from "../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi, v1Stack } from "./helpers/fixtures.js";
import {
  foldLeaves,
  migrateAll,
  modelId,
  nodeLeaf,
  nodesMigration,
  peerIdFor,
  v1Batch,
  v1Records,
  v1State,
  UNICODE_PEER_ID,
  type NodesMigrationFixture,
} from "./helpers/nodesMigration.js";

const { ZeroAddress, ZeroHash } = ethers;
const STATUS = { Unregistered: 0n, Active: 1n, Inactive: 2n } as const;

async function balanceOf(target: string | { getAddress(): Promise<string> }): Promise<bigint> {
  return ethers.provider.getBalance(typeof target === "string" ? target : await target.getAddress());
}

/** Every operator's V1 stake plus V2 stake, by operator. */
async function combinedStakes(v1: NodeRegistryV1_1, v2: NodeRegistryV2): Promise<Map<string, bigint>> {
  const [nodes] = await v1.getNodesPage(0n, await v1.nodeCount());
  const stakes = new Map<string, bigint>();
  for (const node of nodes) stakes.set(node.operator, node.stake + (await v2.getNode(node.operator)).stake);
  return stakes;
}

/** Each registry holds exactly what it accounts for, and their sum is what V1 held before. */
async function expectConserved(fixture: NodesMigrationFixture, expected: Map<string, bigint>): Promise<void> {
  const { v1, v2 } = fixture;
  expect(await combinedStakes(v1, v2)).to.deep.equal(expected);
  expect(await balanceOf(v1)).to.equal(await v1.totalStaked(), "V1 balance != totalStaked");
  expect(await balanceOf(v2)).to.equal(await v2.totalStaked(), "V2 balance != totalStaked");
  const [nodes] = await v1.getNodesPage(0n, await v1.nodeCount());
  expect(nodes.reduce((sum, node) => sum + node.stake, 0n)).to.equal(await v1.totalStaked());
  const v2Nodes = await v2.getNodesPage(0n, await v2.nodeCount());
  expect(v2Nodes.reduce((sum, node) => sum + node.stake, 0n)).to.equal(await v2.totalStaked());
}

function migration(): Promise<NodesMigrationFixture> {
  return networkHelpers.loadFixture(nodesMigration);
}

describe("NodeRegistryV1_1", () => {
  describe("upgrade from V1", () => {
    it("keeps every node, reports 1.1.0 and names its target", async () => {
      const { v1, v2, before } = await migration();
      expect(await v1.version()).to.equal("1.1.0");
      expect(await v1.migrationTarget()).to.equal(await v2.getAddress());
      expect(await v1State(v1)).to.deep.equal(before);
      expect(await v1.paused()).to.equal(true);
      expect(await v1.MIGRATOR_ROLE()).to.equal(ethers.id("MIGRATOR_ROLE"));
    });

    it("holds the varied population the fixture promises", async () => {
      const { v1, hosts, minimumStake } = await migration();
      expect(await v1.nodeCount()).to.equal(8n);
      const node = (host: { address: string }) => v1.getNode(host.address);
      expect((await node(hosts.unicode)).peerId).to.equal(UNICODE_PEER_ID);
      expect(Buffer.byteLength(UNICODE_PEER_ID, "utf8")).to.equal(244);
      expect((await node(hosts.bare)).models.length).to.equal(0);
      expect((await node(hosts.bare)).region).to.equal("");
      expect((await node(hosts.many)).models.length).to.equal(32);
      expect((await node(hosts.slashed)).active).to.equal(false);
      expect((await node(hosts.slashed)).stake).to.be.lessThan(minimumStake);
      expect((await node(hosts.leaving)).unstakeRequestedAt).to.not.equal(0n);
      expect(await v1.reputationOf(hosts.famous.address)).to.equal(1000n);
      expect(await v1.reputationOf(hosts.shunned.address)).to.equal(0n);
      // The host that withdrew was first: V1's swap-and-pop moved the last host to the front.
      expect((await v1.getNodesPage(0n, 1n))[0][0]!.operator).to.equal(hosts.shunned.address);
    });

    it("passes hardhat-upgrades validation as an upgrade of V1", async () => {
      const { v1 } = await migration();
      await upgradesApi.validateUpgrade(await v1.getAddress(), await ethers.getContractFactory("NodeRegistryV1_1"), {
        kind: "uups",
      });
    });

    it("initializes the migration once, with a non-zero target, by the admin only", async () => {
      const { v1, v2, admin } = await migration();
      await expect(v1.connect(admin).initializeMigration(await v2.getAddress())).to.be.revertedWithCustomError(
        v1,
        "InvalidInitialization",
      );

      const { registry, signers } = await networkHelpers.loadFixture(v1Stack);
      const upgrader = signers[4]!;
      await (await registry.grantRole(await registry.UPGRADER_ROLE(), upgrader.address)).wait();
      const implementation = await (await ethers.deployContract("NodeRegistryV1_1")).getAddress();
      const iface = (await ethers.getContractFactory("NodeRegistryV1_1")).interface;
      const asV1_1 = (await ethers.getContractAt("NodeRegistryV1_1", await registry.getAddress())) as NodeRegistryV1_1;
      await expect(
        registry.upgradeToAndCall(implementation, iface.encodeFunctionData("initializeMigration", [ZeroAddress])),
      ).to.be.revertedWithCustomError(asV1_1, "ZeroAddress");
      const target = await v2.getAddress();
      await expect(
        registry
          .connect(upgrader)
          .upgradeToAndCall(implementation, iface.encodeFunctionData("initializeMigration", [target])),
      )
        .to.be.revertedWithCustomError(asV1_1, "AccessControlUnauthorizedAccount")
        .withArgs(upgrader.address, await registry.DEFAULT_ADMIN_ROLE());
      await expect(registry.upgradeToAndCall(implementation, iface.encodeFunctionData("initializeMigration", [target])))
        .to.emit(asV1_1, "MigrationTargetSet")
        .withArgs(target);
      expect(await asV1_1.migrationTarget()).to.equal(target);
    });

    it("without a target refuses to migrate or roll back, and unpauses freely", async () => {
      const { registry, signers } = await networkHelpers.loadFixture(v1Stack);
      const [admin] = signers;
      const v1 = (await upgradesApi.upgradeProxy(
        await registry.getAddress(),
        await ethers.getContractFactory("NodeRegistryV1_1", admin),
        { kind: "uups" },
      )) as unknown as NodeRegistryV1_1;
      await (await v1.grantRole(await v1.MIGRATOR_ROLE(), admin!.address)).wait();
      await (await v1.pause()).wait();
      expect(await v1.migrationTarget()).to.equal(ZeroAddress);
      await expect(v1.migrateNodes(0n, await v1Batch(v1, 0, 1))).to.be.revertedWithCustomError(
        v1,
        "MigrationTargetNotSet",
      );
      await expect(v1.rollbackNodes()).to.be.revertedWithCustomError(v1, "MigrationTargetNotSet");
      await expect(v1.unpause()).to.emit(v1, "Unpaused");
    });
  });

  describe("migrateNodes", () => {
    it("moves every node to V2 field by field, with its stake, in one call", async () => {
      const fixture = await migration();
      const { v1, v2, operator } = fixture;
      const [nodes, reputations] = await v1.getNodesPage(0n, 100n);
      const total = await v1.totalStaked();
      const tx = v1.connect(operator).migrateNodes(0n, await v1Records(v1));
      // The operator only pays gas: the stakes go from V1 to V2 directly.
      await expect(tx).to.changeEtherBalances(ethers, [v1, v2, operator], [-total, total, 0n]);

      expect(await v2.nodeCount()).to.equal(BigInt(nodes.length));
      for (const [i, original] of nodes.entries()) {
        const node = await v2.getNode(original.operator);
        expect(node.operator).to.equal(original.operator);
        expect(node.stake).to.equal(original.stake);
        expect(node.registeredAt).to.equal(original.registeredAt);
        expect(node.unstakeRequestedAt).to.equal(original.unstakeRequestedAt);
        expect(node.reputation).to.equal(reputations[i]);
        expect(node.status).to.equal(original.active ? STATUS.Active : STATUS.Inactive);
        expect(node.index).to.equal(BigInt(i));
        expect(node.peerId).to.equal(original.peerId);
        expect(node.region).to.equal(original.region);
        expect([...node.models]).to.deep.equal(original.models.map(modelId));
        const names = await Promise.all(node.models.map((id) => v2.modelName(id)));
        expect(names).to.deep.equal([...original.models]);
      }
      // V1 keeps the nodes, without their stakes.
      const [after] = await v1.getNodesPage(0n, 100n);
      expect(after.map((node) => node.stake)).to.deep.equal(nodes.map(() => 0n));
      expect(after.map((node) => node.peerId)).to.deep.equal(nodes.map((node) => node.peerId));
      expect(await v1.totalStaked()).to.equal(0n);
      expect(await v2.totalStaked()).to.equal(total);
    });

    it("commits to exactly the records V1 held", async () => {
      const fixture = await migration();
      const { v1, v2 } = fixture;
      const expected = foldLeaves((await v1Records(v1)).map(nodeLeaf));
      await migrateAll(fixture, 3);
      expect(await v2.migrationCommitment()).to.equal(expected);
      expect(await v2.migratedCount()).to.equal(await v1.nodeCount());
      expect(await v2.migrationBatchCount()).to.equal(3n);
      expect((await v2.migrationBatch(2n)).source).to.equal(await v1.getAddress());
    });

    it("emits NodesMigratedOut on V1 and NodeMigrated per node on V2", async () => {
      const { v1, v2, operator } = await migration();
      const records = (await v1Records(v1)).slice(2, 5);
      const stake = records.reduce((sum, r) => sum + r.stake, 0n);
      await (await v1.connect(operator).migrateNodes(0n, await v1Batch(v1, 0, 2))).wait();
      const tx = v1.connect(operator).migrateNodes(2n, records);
      await expect(tx).to.emit(v1, "NodesMigratedOut").withArgs(2n, 5n, stake);
      for (const [i, r] of records.entries()) {
        await expect(tx)
          .to.emit(v2, "NodeMigrated")
          .withArgs(BigInt(2 + i), r.operator, r.stake);
      }
    });

    it("conserves every operator's stake and each contract's solvency through batches and rollbacks", async () => {
      const fixture = await migration();
      const { v1, v2, operator, before } = fixture;
      const expected = await combinedStakes(v1, v2);
      const count = Number(await v1.nodeCount());
      for (let cursor = 0; cursor < count; cursor += 3) {
        await (
          await v1.connect(operator).migrateNodes(cursor, await v1Batch(v1, cursor, Math.min(3, count - cursor)))
        ).wait();
        await expectConserved(fixture, expected);
      }
      while ((await v2.migrationBatchCount()) > 0n) {
        await (await v1.connect(operator).rollbackNodes()).wait();
        await expectConserved(fixture, expected);
      }
      expect(await v1State(v1)).to.deep.equal(before);
    });

    it("refuses a replayed batch (its stakes are gone from V1) and a wrong cursor (checked by V2)", async () => {
      const { v1, v2, operator } = await migration();
      const records = await v1Records(v1);
      await (await v1.connect(operator).migrateNodes(0n, records.slice(0, 2))).wait();
      // The same records again: V1 now holds no stake for them.
      await expect(v1.connect(operator).migrateNodes(0n, records.slice(0, 2)))
        .to.be.revertedWithCustomError(v1, "RecordStakeMismatch")
        .withArgs(0n, 0n, records[0]!.stake);
      // Records that match V1 as it is now (stake zero) still meet V2's cursor.
      await expect(v1.connect(operator).migrateNodes(0n, await v1Batch(v1, 0, 2)))
        .to.be.revertedWithCustomError(v2, "UnexpectedCursor")
        .withArgs(0n, 2n);
      await expect(v1.connect(operator).migrateNodes(3n, records.slice(3, 5)))
        .to.be.revertedWithCustomError(v2, "UnexpectedCursor")
        .withArgs(3n, 2n);
      expect(await v2.migratedCount()).to.equal(2n);
    });

    it("refuses an empty batch or more records than nodes are left", async () => {
      const { v1, operator } = await migration();
      const records = await v1Records(v1);
      await expect(v1.connect(operator).migrateNodes(0n, []))
        .to.be.revertedWithCustomError(v1, "ValueOutOfRange")
        .withArgs(0n, 1n, 8n);
      await expect(v1.connect(operator).migrateNodes(5n, records.slice(4, 8)))
        .to.be.revertedWithCustomError(v1, "ValueOutOfRange")
        .withArgs(4n, 1n, 3n);
      await expect(v1.connect(operator).migrateNodes(8n, records.slice(7)))
        .to.be.revertedWithCustomError(v1, "ValueOutOfRange")
        .withArgs(1n, 1n, 0n);
      await expect(v1.connect(operator).migrateNodes(ethers.MaxUint256, records.slice(7)))
        .to.be.revertedWithCustomError(v1, "ValueOutOfRange")
        .withArgs(1n, 1n, 0n);
    });

    it("refuses a record whose operator is not V1's node at its position, and changes nothing", async () => {
      const fixture = await migration();
      const { v1, v2, operator, before } = fixture;
      const records = await v1Records(v1);
      // Two records swapped: each names a real node, at the wrong position.
      const swapped = [records[0]!, records[2]!, records[1]!];
      await expect(v1.connect(operator).migrateNodes(0n, swapped))
        .to.be.revertedWithCustomError(v1, "RecordOperatorMismatch")
        .withArgs(1n, records[1]!.operator, records[2]!.operator);
      // An operator V1 does not know, carrying the right stake.
      const stranger = { ...records[3]!, operator: fixture.stranger.address };
      await expect(v1.connect(operator).migrateNodes(2n, [records[2]!, stranger]))
        .to.be.revertedWithCustomError(v1, "RecordOperatorMismatch")
        .withArgs(3n, records[3]!.operator, fixture.stranger.address);
      expect(await v1State(v1)).to.deep.equal(before);
      expect(await v2.migratedCount()).to.equal(0n);
      expect(await v2.totalStaked()).to.equal(0n);
      expect(await balanceOf(v2)).to.equal(0n);
    });

    it("refuses a record whose stake is not V1's, more or less, and changes nothing", async () => {
      const fixture = await migration();
      const { v1, v2, operator, before } = fixture;
      const records = await v1Records(v1);
      for (const stake of [records[4]!.stake + 1n, records[4]!.stake - 1n, 0n]) {
        const altered = [records[3]!, { ...records[4]!, stake }];
        await expect(v1.connect(operator).migrateNodes(3n, altered))
          .to.be.revertedWithCustomError(v1, "RecordStakeMismatch")
          .withArgs(4n, records[4]!.stake, stake);
      }
      expect(await v1State(v1)).to.deep.equal(before);
      expect(await v2.migratedCount()).to.equal(0n);
      expect(await balanceOf(v2)).to.equal(0n);
    });

    it("imports a record with altered non-fund fields, which finalize then refuses; rollback restores V1", async () => {
      const fixture = await migration();
      const { v1, v2, operator, hosts, before } = fixture;
      const records = await v1Records(v1);
      const expected = foldLeaves(records.map(nodeLeaf));
      const sum = records.reduce((s, r) => s + r.stake, 0n);
      const index = records.findIndex((r) => r.operator === hosts.shunned.address);
      // Everything but the operator and the stake, as a dishonest operator could send it.
      const altered = {
        ...records[index]!,
        reputation: 1000n,
        active: true,
        registeredAt: 1n,
        unstakeRequestedAt: 0n,
        peerId: "forged",
        region: "elsewhere",
        models: [modelId("qwen2.5-72b")],
      };
      const sent = records.map((r, i) => (i === index ? altered : r));
      await (await v1.connect(operator).migrateNodes(0n, sent)).wait();
      // V2 holds what it was given, funds included, and commits to it.
      expect(await v2.reputationOf(hosts.shunned.address)).to.equal(1000n);
      expect(await v2.totalStaked()).to.equal(sum);
      const actual = foldLeaves(sent.map(nodeLeaf));
      expect(await v2.migrationCommitment()).to.equal(actual);
      // The commitment of V1's snapshot is what finalize is held to.
      await expect(v2.connect(operator).finalizeMigration(expected, records.length, [ZeroAddress], [sum]))
        .to.be.revertedWithCustomError(v2, "CommitmentMismatch")
        .withArgs(expected, actual);
      await (await v1.connect(operator).rollbackNodes()).wait();
      expect(await v1State(v1)).to.deep.equal(before);
      expect(await v2.nodeCount()).to.equal(0n);
      expect(await balanceOf(v2)).to.equal(0n);
    });

    it("refuses model ids V2 has not registered (a record may not invent them)", async () => {
      const { v1, v2, operator } = await migration();
      const [record] = await v1Batch(v1, 0, 1);
      const unknown = modelId("not-a-v1-model");
      await expect(v1.connect(operator).migrateNodes(0n, [{ ...record!, models: [unknown] }]))
        .to.be.revertedWithCustomError(v2, "UnknownModel")
        .withArgs(unknown);
    });

    it("needs MIGRATOR_ROLE and a paused V1", async () => {
      const { v1, admin } = await migration();
      const batch = await v1Batch(v1, 0, 1);
      await expect(v1.connect(admin).migrateNodes(0n, batch))
        .to.be.revertedWithCustomError(v1, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, await v1.MIGRATOR_ROLE());
      await (await v1.connect(admin).grantRole(await v1.MIGRATOR_ROLE(), admin.address)).wait();
      await (await v1.connect(admin).unpause()).wait();
      await expect(v1.connect(admin).migrateNodes(0n, batch)).to.be.revertedWithCustomError(v1, "ExpectedPause");
    });

    it("fails as a whole when V2 refuses a record (a model name V2 does not know)", async () => {
      const { v1, v2, operator, admin, hosts, minimumStake } = await migration();
      await (await v1.connect(admin).unpause()).wait();
      await (await v1.connect(hosts.bare).updateModels(["unregistered-model"])).wait();
      await (await v1.connect(admin).pause()).wait();
      const total = await v1.totalStaked();
      await expect(v1.connect(operator).migrateNodes(0n, await v1Records(v1)))
        .to.be.revertedWithCustomError(v2, "UnknownModel")
        .withArgs(modelId("unregistered-model"));
      expect(await v1.totalStaked()).to.equal(total);
      expect((await v1.getNode(hosts.bare.address)).stake).to.equal(minimumStake + 7n);
    });

    it("fails when V2 has not granted V1.1 its MIGRATOR_ROLE", async () => {
      const { v1, v2, operator, admin } = await migration();
      const role = await v2.MIGRATOR_ROLE();
      await (await v2.connect(admin).revokeRole(role, await v1.getAddress())).wait();
      await expect(v1.connect(operator).migrateNodes(0n, await v1Batch(v1, 0, 1)))
        .to.be.revertedWithCustomError(v2, "AccessControlUnauthorizedAccount")
        .withArgs(await v1.getAddress(), role);
    });
  });

  describe("rollbackNodes", () => {
    it("takes the last batch back and restores each node's stake", async () => {
      const { v1, v2, operator } = await migration();
      const records = await v1Records(v1);
      await (await v1.connect(operator).migrateNodes(0n, records.slice(0, 3))).wait();
      await (await v1.connect(operator).migrateNodes(3n, records.slice(3, 7))).wait();
      const stake = records.slice(3, 7).reduce((sum, r) => sum + r.stake, 0n);
      const tx = v1.connect(operator).rollbackNodes();
      await expect(tx).to.emit(v1, "NodesReturnedIn").withArgs(3n, 7n, stake);
      await expect(tx).to.emit(v2, "NodesReturned").withArgs(3n, 7n, stake);
      await expect(tx).to.changeEtherBalances(ethers, [v1, v2, operator], [stake, -stake, 0n]);
      for (const r of records.slice(3, 7)) {
        expect((await v1.getNode(r.operator)).stake).to.equal(r.stake);
        expect(await v2.isRegistered(r.operator)).to.equal(false);
      }
      for (const r of records.slice(0, 3)) expect((await v1.getNode(r.operator)).stake).to.equal(0n);
      expect(await v2.migratedCount()).to.equal(3n);
      expect(await v2.migrationCommitment()).to.equal(foldLeaves(records.slice(0, 3).map(nodeLeaf)));
    });

    it("after every batch is rolled back, V1 equals its pre-migration state and the migration can rerun", async () => {
      const fixture = await migration();
      const { v1, v2, operator, before } = fixture;
      const commitment = foldLeaves((await v1Records(v1)).map(nodeLeaf));
      await migrateAll(fixture, 2);
      for (let i = 0; i < 4; ++i) await (await v1.connect(operator).rollbackNodes()).wait();
      expect(await v1State(v1)).to.deep.equal(before);
      expect(await v2.nodeCount()).to.equal(0n);
      expect(await v2.totalStaked()).to.equal(0n);
      expect(await balanceOf(v2)).to.equal(0n);
      expect(await v2.migrationCommitment()).to.equal(ZeroHash);
      await migrateAll(fixture, 8);
      expect(await v2.migrationCommitment()).to.equal(commitment);
    });

    it("refuses callers without MIGRATOR_ROLE and reverts when nothing is left (V2)", async () => {
      const { v1, v2, operator, admin } = await migration();
      await expect(v1.connect(admin).rollbackNodes())
        .to.be.revertedWithCustomError(v1, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, await v1.MIGRATOR_ROLE());
      await expect(v1.connect(operator).rollbackNodes()).to.be.revertedWithCustomError(v2, "NothingToRollBack");
    });
  });

  describe("unpause and receive", () => {
    it("refuses to reopen V1 while V2 holds unfinalized batches, and allows it after a full rollback", async () => {
      const { v1, operator, admin, stranger } = await migration();
      const records = await v1Records(v1);
      await (await v1.connect(operator).migrateNodes(0n, records.slice(0, 2))).wait();
      await (await v1.connect(operator).migrateNodes(2n, records.slice(2, 3))).wait();
      await expect(v1.connect(admin).unpause()).to.be.revertedWithCustomError(v1, "MigrationOutstanding").withArgs(3n);
      await (await v1.connect(operator).rollbackNodes()).wait();
      await expect(v1.connect(admin).unpause()).to.be.revertedWithCustomError(v1, "MigrationOutstanding").withArgs(2n);
      await (await v1.connect(operator).rollbackNodes()).wait();
      await expect(v1.connect(stranger).unpause())
        .to.be.revertedWithCustomError(v1, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await v1.PAUSER_ROLE());
      await expect(v1.connect(admin).unpause()).to.emit(v1, "Unpaused");
    });

    it("accepts ETH from nobody but the target", async () => {
      const { v1, stranger } = await migration();
      await expect(stranger.sendTransaction({ to: await v1.getAddress(), value: 1n }))
        .to.be.revertedWithCustomError(v1, "UnexpectedEtherSender")
        .withArgs(stranger.address);
    });
  });

  describe("finalize and after", () => {
    async function finalized() {
      const fixture = await nodesMigration();
      const records = await v1Records(fixture.v1);
      await migrateAll(fixture, 4);
      const sum = records.reduce((s, r) => s + r.stake, 0n);
      await (
        await fixture.v2
          .connect(fixture.operator)
          .finalizeMigration(foldLeaves(records.map(nodeLeaf)), records.length, [ZeroAddress], [sum])
      ).wait();
      return { ...fixture, records, sum };
    }

    it("refuses each wrong expectation before finalizing", async () => {
      const fixture = await migration();
      const { v1, v2, operator } = fixture;
      const records = await v1Records(v1);
      await migrateAll(fixture, 8);
      const commitment = foldLeaves(records.map(nodeLeaf));
      const sum = records.reduce((s, r) => s + r.stake, 0n);
      const f = v2.connect(operator);
      // The commitment of V1 minus its last node, as a stale snapshot would give.
      const stale = foldLeaves(records.slice(0, 7).map(nodeLeaf));
      await expect(f.finalizeMigration(stale, 8n, [ZeroAddress], [sum]))
        .to.be.revertedWithCustomError(v2, "CommitmentMismatch")
        .withArgs(stale, commitment);
      await expect(f.finalizeMigration(commitment, 7n, [ZeroAddress], [sum]))
        .to.be.revertedWithCustomError(v2, "CountMismatch")
        .withArgs(7n, 8n);
      await expect(f.finalizeMigration(commitment, 8n, [ZeroAddress], [sum - 1n]))
        .to.be.revertedWithCustomError(v2, "FundsMismatch")
        .withArgs(ZeroAddress, sum - 1n, sum);
      await expect(f.finalizeMigration(commitment, 8n, [await v1.getAddress()], [sum]))
        .to.be.revertedWithCustomError(v2, "TokenListMismatch")
        .withArgs([ZeroAddress], [await v1.getAddress()], 1n);
    });

    it("closes migration and rollback for good, and lets V1 unpause", async () => {
      const { v1, v2, operator, admin } = await networkHelpers.loadFixture(finalized);
      const role = await v2.MIGRATOR_ROLE();
      expect(await v2.hasRole(role, await v1.getAddress())).to.equal(false);
      await expect(v1.connect(operator).rollbackNodes()).to.be.revertedWithCustomError(v2, "MigrationAlreadyFinalized");
      await expect(v2.connect(admin).grantRole(role, await v1.getAddress())).to.be.revertedWithCustomError(
        v2,
        "MigrationAlreadyFinalized",
      );
      await expect(v1.connect(admin).unpause()).to.emit(v1, "Unpaused");
    });

    it("opens V2 to the migrated hosts: prices, models, stake, leaving and slashing", async () => {
      const { v2, admin, treasury, hosts, spare, minimumStake, cooldown, reputer } =
        await networkHelpers.loadFixture(finalized);
      const llama = modelId("llama-3.1-8b-instruct");
      const qwen = modelId("qwen2.5-72b");
      await expect(v2.connect(hosts.typical).setModelPrice(llama, 3n))
        .to.emit(v2, "ModelPriceSet")
        .withArgs(hosts.typical.address, llama, 3n);
      await expect(v2.connect(hosts.typical).setModelPrice(qwen, 3n))
        .to.be.revertedWithCustomError(v2, "ModelNotServed")
        .withArgs(hosts.typical.address, qwen);
      await expect(v2.connect(hosts.bare).updateModels([qwen])).to.emit(v2, "ModelsUpdated");
      await expect(v2.connect(hosts.bare).updateModels([modelId("nope")]))
        .to.be.revertedWithCustomError(v2, "UnknownModel")
        .withArgs(modelId("nope"));
      // The node slashed in V1 reactivates once topped up to the minimum.
      const slashedStake = (await v2.getNode(hosts.slashed.address)).stake;
      await (await v2.connect(hosts.slashed).addStake({ value: minimumStake - slashedStake })).wait();
      expect(await v2.isActiveNode(hosts.slashed.address)).to.equal(true);
      // The node leaving in V1 withdraws after its cooldown, and the last node takes its place.
      await networkHelpers.time.increase(cooldown);
      const index = (await v2.getNode(hosts.leaving.address)).index;
      const last = (await v2.getNodesPage((await v2.nodeCount()) - 1n, 1n))[0]!.operator;
      await expect(v2.connect(hosts.leaving).withdrawStake()).to.emit(v2, "StakeWithdrawn");
      expect((await v2.getNode(last)).index).to.equal(index);
      // New hosts register with known models only.
      const newcomer = spare[0]!;
      await expect(
        v2.connect(newcomer).registerNode(peerIdFor(newcomer.address), [llama], "eu", { value: minimumStake }),
      ).to.emit(v2, "NodeRegistered");
      await expect(v2.connect(admin).slash(hosts.many.address, 1n, "late")).to.changeEtherBalances(
        ethers,
        [treasury, v2],
        [1n, -1n],
      );
      await expect(v2.connect(reputer).increaseReputation(hosts.famous.address, 1n))
        .to.emit(v2, "ReputationChanged")
        .withArgs(hosts.famous.address, 1000n, 1000n);
      expect(await balanceOf(v2)).to.equal(await v2.totalStaked());
    });
  });

  describe("gas", () => {
    const SIZES = [1, 10, 100];

    /** V1 with 100 typical hosts (2-3 models, 52-byte peer id, short region), paused and upgraded. */
    async function typicalPopulation() {
      const { registry, signers } = await v1Stack();
      const [admin, treasury, operator] = signers as [(typeof signers)[0], (typeof signers)[0], (typeof signers)[0]];
      const minimumStake = await registry.minimumStake();
      const models = ["llama-3.1-8b-instruct", "mistral-7b-instruct", "qwen2.5-72b"];
      for (let i = 0; i < Math.max(...SIZES); ++i) {
        const host = ethers.Wallet.createRandom(ethers.provider);
        await networkHelpers.setBalance(host.address, 10n ** 18n);
        const served = i % 2 === 0 ? models.slice(0, 2) : models;
        await (
          await (registry as NodeRegistryV1)
            .connect(host)
            .registerNode(peerIdFor(host.address), served, "eu-west-1", { value: minimumStake })
        ).wait();
      }
      await (await registry.pause()).wait();
      const v2 = (await upgradesApi.deployProxy(
        await ethers.getContractFactory("NodeRegistryV2", admin),
        [admin.address, await registry.getAddress(), treasury.address, minimumStake, 0n],
        { kind: "uups" },
      )) as unknown as NodeRegistryV2;
      await (await v2.registerModels(models)).wait();
      const v1 = (await upgradesApi.upgradeProxy(
        await registry.getAddress(),
        await ethers.getContractFactory("NodeRegistryV1_1", admin),
        { kind: "uups", call: { fn: "initializeMigration", args: [await v2.getAddress()] } },
      )) as unknown as NodeRegistryV1_1;
      await (await v1.grantRole(await v1.MIGRATOR_ROLE(), operator.address)).wait();
      return { v1, v2, operator };
    }

    it("measures migrateNodes for 1, 10 and 100 typical nodes", async () => {
      const rows: string[] = [];
      const cap = 2n ** 24n;
      for (const size of SIZES) {
        const { v1, v2, operator } = await networkHelpers.loadFixture(typicalPopulation);
        // 100 typical nodes need about 26M gas: above the 2^24 per-transaction cap (EIP-7825),
        // which the local chain enforces as Base does. They go in two batches of 50.
        const batches = size === 100 ? [50, 50] : [size];
        let gas = 0n;
        let cursor = 0n;
        for (const batch of batches) {
          const records = await v1Batch(v1, cursor, batch);
          const receipt = await (await v1.connect(operator).migrateNodes(cursor, records)).wait();
          expect(receipt!.gasUsed).to.be.lessThan(cap);
          gas += receipt!.gasUsed;
          cursor += BigInt(batch);
        }
        expect(await v2.migratedCount()).to.equal(BigInt(size));
        expect(await balanceOf(v2)).to.equal(await v2.totalStaked());
        rows.push(
          `${String(size).padStart(4)} nodes in ${batches.length} tx: ${gas} gas, ${gas / BigInt(size)} per node`,
        );
      }
      console.log(`      V1.1 migrateNodes:\n${rows.map((row) => `        ${row}`).join("\n")}`);
    });
  });
});

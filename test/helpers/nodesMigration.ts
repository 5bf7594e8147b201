import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { NodeRegistryV1_1, NodeRegistryV2 } from "../../typechain-types/index.js";
import {
  CommitmentAccumulator,
  EMPTY_COMMITMENT,
  modelId,
  nodeLeaf,
  nodeRecordFromV1,
  type NodeRecord,
} from "../../lib/commitment.js";
import { ethers, networkHelpers, upgradesApi, v1Stack } from "./fixtures.js";

/** A node record as V1.1 builds it and V2 folds it: the commitment twin's `NodeRecord`. */
export type NodeRecordValue = NodeRecord;

export { modelId, nodeLeaf };

/** Folds leaves into `start` (a batch's checkpoint, or nothing), as StateCommitment does. */
export function foldLeaves(leaves: string[], start: string = EMPTY_COMMITMENT): string {
  const accumulator = new CommitmentAccumulator(start);
  for (const leaf of leaves) accumulator.add(leaf);
  return accumulator.commitment;
}

/** The records V1 holds now, in registration order: what a batch of all nodes carries. */
export async function v1Records(registry: NodeRegistryV1_1): Promise<NodeRecordValue[]> {
  const [nodes, reputations] = await registry.getNodesPage(0n, await registry.nodeCount());
  return nodes.map((node, i) => nodeRecordFromV1(node, reputations[i] ?? 0n));
}

/**
 * Nodes `[start, start + count)` as V1 holds them now: the records `migrateNodes` carries from
 * that cursor (V1's not yet migrated nodes are still its snapshot's).
 */
export async function v1Batch(
  registry: NodeRegistryV1_1,
  start: number | bigint,
  count: number | bigint,
): Promise<NodeRecordValue[]> {
  const [nodes, reputations] = await registry.getNodesPage(start, count);
  return nodes.map((node, i) => nodeRecordFromV1(node, reputations[i] ?? 0n));
}

/** Everything a rollback must restore: every node with its reputation, the total and the balance. */
export async function v1State(registry: NodeRegistryV1_1): Promise<unknown> {
  const [nodes, reputations] = await registry.getNodesPage(0n, await registry.nodeCount());
  return {
    nodes: nodes.map((node) => ({
      operator: node.operator,
      peerId: node.peerId,
      stake: node.stake,
      active: node.active,
      models: [...node.models],
      region: node.region,
      registeredAt: node.registeredAt,
      unstakeRequestedAt: node.unstakeRequestedAt,
    })),
    reputations: [...reputations],
    totalStaked: await registry.totalStaked(),
    balance: await ethers.provider.getBalance(await registry.getAddress()),
  };
}

/** A 52-character libp2p-style peer id, as real hosts have. */
export function peerIdFor(address: string): string {
  return `12D3KooW${address.slice(2).toLowerCase()}${"Q".repeat(4)}`;
}

export interface NodeSpec {
  models: readonly string[];
  region: string;
  /** The stake, in multiples of the minimum stake (plus 7 wei, so that no stake is round). */
  stakeMultiple: bigint;
}

/** The varied V1 population every migration test starts from. */
export const NODE_SPECS = {
  typical: { models: ["llama-3.1-8b-instruct", "mistral-7b-instruct"], region: "eu-west-1", stakeMultiple: 2n },
  unicode: {
    models: ["qwen2.5-72b", "模型-δ"],
    region: "東京 🇯🇵 São Paulo",
    stakeMultiple: 5n,
  },
  bare: { models: [], region: "", stakeMultiple: 1n },
  many: {
    models: Array.from({ length: 32 }, (_, i) => `model-${i}-${"x".repeat(100)}`),
    region: "us-east-2",
    stakeMultiple: 3n,
  },
  slashed: { models: ["llama-3.1-8b-instruct"], region: "ap-south-1", stakeMultiple: 1n },
  leaving: { models: ["mistral-7b-instruct"], region: "eu-central-1", stakeMultiple: 4n },
  famous: { models: ["llama-3.1-8b-instruct", "qwen2.5-72b", "phi-3-mini"], region: "us-west", stakeMultiple: 2n },
  shunned: { models: ["phi-3-mini"], region: "sa-east-1", stakeMultiple: 1n },
} as const;

/** A peer id of 244 UTF-8 bytes, mixing CJK, Latin, emoji (4 bytes each) and ASCII. */
export const UNICODE_PEER_ID = `節点🚀-${"ß".repeat(60)}-${"🚀".repeat(28)}`;

export interface NodesMigrationFixture {
  v1: NodeRegistryV1_1;
  v2: NodeRegistryV2;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** Holds MIGRATOR_ROLE on V1.1 and on V2 (the migration operator, who finalizes). */
  operator: HardhatEthersSigner;
  /** Holds REPUTATION_ROLE on V1 and on V2. */
  reputer: HardhatEthersSigner;
  /** Accounts without any role. */
  stranger: HardhatEthersSigner;
  /** The V1 hosts, by the name of their spec. */
  hosts: Record<keyof typeof NODE_SPECS, HardhatEthersSigner>;
  /** Signers without a node, to register fresh ones. */
  spare: HardhatEthersSigner[];
  minimumStake: bigint;
  cooldown: bigint;
  /** Every model name the V1 nodes use, registered in V2. */
  modelNames: string[];
  /** V1 as it was when paused, before the upgrade: what a full rollback must restore. */
  before: unknown;
}

/**
 * V1 with a varied population (typical, unicode, bare, 32 models, slashed below the minimum,
 * leaving, reputation capped and floored, one host that withdrew so that V1's swap-and-pop
 * reordered the list), paused and upgraded to V1.1 aimed at a fresh V2 whose MIGRATOR_ROLE the
 * V1.1 proxy holds, with every model name registered in V2. Use through `loadFixture`.
 */
export async function nodesMigration(): Promise<NodesMigrationFixture> {
  const { registry, signers } = await v1Stack();
  const signer = (index: number): HardhatEthersSigner => {
    const found = signers[index];
    if (found === undefined) throw new Error(`the test chain needs at least ${index + 1} accounts`);
    return found;
  };
  const [admin, treasury, operator, reputer, stranger] = [0, 1, 2, 3, 4].map(signer) as [
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
  ];
  const hostNames = Object.keys(NODE_SPECS) as (keyof typeof NODE_SPECS)[];
  const hosts = Object.fromEntries(hostNames.map((name, i) => [name, signer(5 + i)])) as Record<
    keyof typeof NODE_SPECS,
    HardhatEthersSigner
  >;
  const gone = signer(5 + hostNames.length);
  const spare = signers.slice(6 + hostNames.length);
  if (spare.length < 3) throw new Error("the test chain needs three spare accounts");
  const minimumStake = await registry.minimumStake();
  const cooldown = await registry.unstakeCooldown();

  // A host that registers first and leaves later, so that the last host moves into its slot.
  await (
    await registry.connect(gone).registerNode(peerIdFor(gone.address), ["gone-model"], "eu", { value: minimumStake })
  ).wait();
  for (const [name, spec] of Object.entries(NODE_SPECS) as [keyof typeof NODE_SPECS, NodeSpec][]) {
    const host = hosts[name];
    const peerId = name === "unicode" ? UNICODE_PEER_ID : peerIdFor(host.address);
    await (
      await registry
        .connect(host)
        .registerNode(peerId, [...spec.models], spec.region, { value: minimumStake * spec.stakeMultiple + 7n })
    ).wait();
  }
  await (await registry.connect(admin).grantRole(await registry.REPUTATION_ROLE(), reputer.address)).wait();
  await (await registry.connect(admin).slash(hosts.slashed.address, 100n, "missed heartbeats")).wait();
  await (await registry.connect(hosts.leaving).requestUnstake()).wait();
  await (await registry.connect(reputer).increaseReputation(hosts.famous.address, 5_000n)).wait();
  await (await registry.connect(reputer).decreaseReputation(hosts.shunned.address, 5_000n)).wait();
  await (await registry.connect(reputer).increaseReputation(hosts.typical.address, 42n)).wait();
  await (await registry.connect(gone).requestUnstake()).wait();
  await networkHelpers.time.increase(cooldown);
  await (await registry.connect(gone).withdrawStake()).wait();

  await (await registry.connect(admin).pause()).wait();
  const v1Address = await registry.getAddress();
  const before = await v1State(registry as unknown as NodeRegistryV1_1);

  const v2 = (await upgradesApi.deployProxy(
    await ethers.getContractFactory("NodeRegistryV2", admin),
    [admin.address, v1Address, treasury.address, minimumStake, cooldown],
    { kind: "uups" },
  )) as unknown as NodeRegistryV2;
  await v2.waitForDeployment();
  const v2Address = await v2.getAddress();
  await (await v2.connect(admin).grantRole(await v2.REPUTATION_ROLE(), reputer.address)).wait();
  await (await v2.connect(admin).grantRole(await v2.SLASHER_ROLE(), admin.address)).wait();
  // V1.1 imports and rolls back; the operator finalizes, which V1.1 has no call for.
  await (await v2.connect(admin).grantRole(await v2.MIGRATOR_ROLE(), operator.address)).wait();

  const v1 = (await upgradesApi.upgradeProxy(v1Address, await ethers.getContractFactory("NodeRegistryV1_1", admin), {
    kind: "uups",
    call: { fn: "initializeMigration", args: [v2Address] },
  })) as unknown as NodeRegistryV1_1;
  await (await v1.connect(admin).grantRole(await v1.MIGRATOR_ROLE(), operator.address)).wait();

  const modelNames = [...new Set(Object.values(NODE_SPECS).flatMap((spec) => [...spec.models]))].sort();
  // Anyone may register names; a stranger does it here to show no role is needed.
  await (await v2.connect(stranger).registerModels(modelNames)).wait();

  return {
    v1,
    v2,
    admin,
    treasury,
    operator,
    reputer,
    stranger,
    hosts,
    spare,
    minimumStake,
    cooldown,
    modelNames,
    before,
  };
}

/** Migrates every V1 node in batches of `batchSize` through V1.1. */
export async function migrateAll(fixture: NodesMigrationFixture, batchSize: number): Promise<void> {
  const { v1, v2, operator } = fixture;
  const total = Number(await v1.nodeCount());
  for (let cursor = Number(await v2.migratedCount()); cursor < total; cursor += batchSize) {
    const records = await v1Batch(v1, cursor, Math.min(batchSize, total - cursor));
    await (await v1.connect(operator).migrateNodes(cursor, records)).wait();
  }
}

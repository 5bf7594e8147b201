import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatUpgrades } from "@openzeppelin/hardhat-upgrades";
import { expect } from "chai";
import { Wallet, ZeroAddress, type TransactionReceipt } from "ethers";
import { prepareLocalMigration, registerModelNames } from "../../deploy/localMigration.js";
import type { V1_1Stack } from "../../deploy/v1-1.js";
import type { V1Stack } from "../../deploy/v1.js";
import type { V2Stack } from "../../deploy/v2.js";
import {
  CommitmentAccumulator,
  depositLeaf,
  jobLeaf,
  nodeLeaf,
  type DepositRecord,
  type JobRecord,
} from "../../lib/commitment.js";
import { DeploymentStore } from "../../lib/deployments.js";
import type { SeedOptions, SeedPlan } from "../../lib/fixtures/plan.js";
import { readV1State, type V1State } from "../../lib/v1State.js";
import { readV2State, type V2State } from "../../lib/v2State.js";

/**
 * The whole migration as an operator runs it, for the end-to-end tests on the in-process chain
 * and on anvil: seed V1, freeze and drain it, read it at a pinned block, deploy V2 and open the
 * migration, then copy nodes and deposits through V1.1 and history as calldata, in batches.
 */

export interface ChainContext {
  ethers: HardhatEthers;
  upgrades: HardhatUpgrades;
}

/** V1 frozen and drained, read at the pinned block, with V2 deployed and the migration open. */
export interface PreparedMigration {
  ethers: HardhatEthers;
  operator: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  plan: SeedPlan;
  v1: V1Stack;
  v1_1: V1_1Stack;
  v2: V2Stack;
  /** V1 at the pinned block: what V2 must end up holding. */
  state: V1State;
  /** The first block of V2's deployment: where its migration events start. */
  v2FromBlock: number;
}

/**
 * `beforeFreeze` runs on the seeded V1 before it is paused (to add history the seed plan does
 * not make, such as a host that leaves).
 */
export async function prepareMigration(
  ctx: ChainContext,
  seed: SeedOptions,
  beforeFreeze?: (v1: V1Stack, plan: SeedPlan) => Promise<void>,
): Promise<PreparedMigration> {
  const { ethers } = ctx;
  const [operator, treasury] = await ethers.getSigners();
  if (operator === undefined || treasury === undefined) throw new Error("the chain needs two accounts");
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const deploy = {
    ethers,
    upgrades: ctx.upgrades,
    deployer: operator,
    store: await DeploymentStore.open(chainId, undefined),
    chainId,
  };
  const { plan, v1, v1_1, v2, open, v2FromBlock } = await prepareLocalMigration(deploy, {
    seed,
    treasury: treasury.address,
    ...(beforeFreeze === undefined ? {} : { beforeFreeze }),
  });
  expect(open).to.deep.equal([]);
  const state = await readV1State(v1, { blockTag: "latest" });
  await registerModelNames(v2.registry, state.modelNames);
  return { ethers, operator, treasury, plan, v1, v1_1, v2, state, v2FromBlock };
}

/** Records per batch: nodes and jobs by record, deposits by V1 user (a user may hold two records). */
export interface BatchSizes {
  nodes: number;
  jobs: number;
  users: number;
}

export interface MigrationOptions {
  sizes: BatchSizes;
  /** Roll back the second batch of each kind right after sending it, check, and send it again. */
  rollBackSecondBatch?: boolean;
  /** The history to import (V1's by default): lets a test import a record V1 does not hold. */
  jobs?: JobRecord[];
}

/** Gas and transactions the migration used, per kind (rolled-back batches included). */
export type MigrationGas = Record<"nodes" | "jobs" | "deposits", { txs: number; gas: bigint; records: number }>;

function gasOf(receipt: TransactionReceipt | null): bigint {
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

/** Migrates every node, job and deposit in batches, through V1.1 (funds) and as calldata (history). */
export async function migrateEverything(p: PreparedMigration, options: MigrationOptions): Promise<MigrationGas> {
  const { v1_1, v2, state } = p;
  const gas: MigrationGas = {
    nodes: { txs: 0, gas: 0n, records: 0 },
    jobs: { txs: 0, gas: 0n, records: 0 },
    deposits: { txs: 0, gas: 0n, records: 0 },
  };
  const rollBack = options.rollBackSecondBatch ?? false;

  // ------------------------------------------------------------ nodes, with their stakes
  for (let batch = 0, cursor = 0; cursor < state.nodes.count; batch++) {
    const count = Math.min(options.sizes.nodes, state.nodes.count - cursor);
    const receipt = await (
      await v1_1.registry.migrateNodes(cursor, state.nodes.records.slice(cursor, cursor + count))
    ).wait();
    gas.nodes.txs++;
    gas.nodes.gas += gasOf(receipt);
    if (rollBack && batch === 1) {
      const v1Staked = await v1_1.registry.totalStaked();
      await (await v1_1.registry.rollbackNodes()).wait();
      await expectRolledBack(v2.registry, cursor, state.nodes.records.slice(0, cursor).map(nodeLeaf));
      const returned = state.nodes.records.slice(cursor, cursor + count).reduce((sum, node) => sum + node.stake, 0n);
      expect(await v1_1.registry.totalStaked()).to.equal(v1Staked + returned);
      continue; // the same batch again
    }
    gas.nodes.records += count;
    cursor += count;
  }

  // ------------------------------------------------------------ history, as calldata
  const history = options.jobs ?? state.jobs.records;
  for (let batch = 0, cursor = 0; cursor < history.length; batch++) {
    const records = history.slice(cursor, cursor + options.sizes.jobs);
    const receipt = await (await v2.marketplace.importHistoricalJobs(cursor, records)).wait();
    gas.jobs.txs++;
    gas.jobs.gas += gasOf(receipt);
    if (rollBack && batch === 1) {
      await (await v2.marketplace.returnLastBatch()).wait();
      await expectRolledBack(v2.marketplace, cursor, history.slice(0, cursor).map(jobLeaf));
      // Sent again as two smaller batches: batch boundaries are not part of the commitment.
      const half = Math.ceil(records.length / 2);
      for (const part of [records.slice(0, half), records.slice(half)].filter((part) => part.length > 0)) {
        gas.jobs.gas += gasOf(await (await v2.marketplace.importHistoricalJobs(cursor, part)).wait());
        gas.jobs.txs++;
        cursor += part.length;
      }
      gas.jobs.records += records.length;
      continue;
    }
    gas.jobs.records += records.length;
    cursor += records.length;
  }

  // ------------------------------------------------------------ deposits, with their funds
  const users = Number(await p.v1.escrow.userCount());
  let sentWithRecords = 0;
  for (let userCursor = 0; userCursor < users;) {
    const count = Math.min(options.sizes.users, users - userCursor);
    const receipt = await (await v1_1.escrow.migrateDeposits(userCursor, count)).wait();
    gas.deposits.txs++;
    gas.deposits.gas += gasOf(receipt);
    const records = depositsIn(p, receipt);
    if (records.length > 0 && rollBack && sentWithRecords++ === 1) {
      const before = Number(await v2.escrow.migratedCount()) - records.length;
      const v1Free = await p.v1.escrow.totalFree(ZeroAddress);
      await (await v1_1.escrow.rollbackDeposits(records)).wait();
      await expectRolledBack(v2.escrow, before, state.deposits.records.slice(0, before).map(depositLeaf));
      const eth = records.filter((r) => r.token === ZeroAddress).reduce((sum, r) => sum + r.amount, 0n);
      expect(await p.v1.escrow.totalFree(ZeroAddress)).to.equal(v1Free + eth);
      expect(await v1_1.escrow.migrationUserCursor()).to.equal(BigInt(userCursor));
      continue;
    }
    gas.deposits.records += records.length;
    userCursor += count;
  }
  return gas;
}

interface Migrating {
  migratedCount(): Promise<bigint>;
  migrationCommitment(): Promise<string>;
}

/** After a rollback, the contract is back at `cursor`, committed to exactly the leaves before it. */
async function expectRolledBack(contract: Migrating, cursor: number, leaves: string[]): Promise<void> {
  expect(await contract.migratedCount()).to.equal(BigInt(cursor));
  const accumulator = new CommitmentAccumulator();
  for (const leaf of leaves) accumulator.add(leaf);
  expect(await contract.migrationCommitment()).to.equal(accumulator.commitment);
}

/** The deposit records a `migrateDeposits` transaction sent, from V2's `DepositMigrated` events. */
export function depositsIn(p: PreparedMigration, receipt: TransactionReceipt | null): DepositRecord[] {
  if (receipt === null) throw new Error("transaction dropped");
  const escrow = p.v2.escrow;
  const records: DepositRecord[] = [];
  for (const log of receipt.logs) {
    const parsed = escrow.interface.parseLog(log);
    if (parsed?.name !== "DepositMigrated") continue;
    records.push({ user: parsed.args.user, token: parsed.args.token, amount: parsed.args.amount });
  }
  return records;
}

/** Reads V2 back at the latest block, from its deployment on. */
export function readBack(p: PreparedMigration): Promise<V2State> {
  return readV2State(p.v2, { blockTag: "latest", fromBlock: p.v2FromBlock, pageSize: 25, logRange: 50 });
}

/** The three-way check: V1 at the pinned block = V2 on-chain = V2 read back, per kind, commitment and count. */
export function expectThreeWayAgreement(v1: V1State, v2: V2State): void {
  for (const kind of ["nodes", "jobs", "deposits"] as const) {
    const row = [v1[kind].commitment, v2[kind].onChain.commitment, v2[kind].commitment];
    expect(row, `${kind} commitments: V1, V2 on-chain, V2 read-back`).to.deep.equal([row[0], row[0], row[0]]);
    const counts = [v1[kind].count, v2[kind].onChain.count, v2[kind].count];
    expect(counts, `${kind} counts: V1, V2 on-chain, V2 read-back`).to.deep.equal([counts[0], counts[0], counts[0]]);
  }
}

/** The fixture wallet of a seeded node operator or user, connected to the chain. */
export function walletOf(p: PreparedMigration, address: string): Wallet {
  for (const account of [...p.plan.nodes, ...p.plan.users]) {
    const wallet = new Wallet(account.privateKey);
    if (wallet.address === address) return wallet.connect(p.ethers.provider);
  }
  throw new Error(`${address} is not a seeded account`);
}

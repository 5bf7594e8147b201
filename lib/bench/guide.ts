import { dataLength, type ContractTransactionResponse } from "ethers";
import type { DepositRecord, JobRecord, NodeRecord } from "../commitment.js";
import { receiptL1Fee } from "../migration/l1Fee.js";
import { DEFAULT_TARGET_FILL, TX_GAS_CAP } from "../migration/planner.js";
import type { RpcProvider } from "../transactions.js";
import type {
  GuideEscrowV1_1,
  GuideRegistryV1_1,
  JobMarketplaceV2,
  NodeRegistryV2,
  PaymentEscrowV2,
  TestUSDC,
} from "../../typechain-types/index.js";
import { ComponentTally } from "./figures.js";
import type { Component } from "./types.js";

/**
 * The migration guide's approach, implemented honestly for the benchmark: fixed batches of 100
 * records sent as calldata by the operator to V2's entry points, and escrow moved per
 * (user, token) balance in two transactions (a withdrawal to the operator, then
 * `migrateDeposit`). V1's registry and escrow run the bench-only Guide*V1_1 variants, which let
 * the operator take stakes and balances out (funds pass through its wallet: the unsafe pattern).
 */

export const GUIDE_BATCH_SIZE = 100;

/** The rules the output states for this arm. */
export const GUIDE_RULES: readonly string[] = [
  `Guide arm: fixed batches of ${GUIDE_BATCH_SIZE} records sent as calldata by the operator to V2's entry points`,
  "(nodes: batchMigrateNodes, preceded per batch by one withdrawal of the batch's stakes to the operator;",
  "jobs: importHistoricalJobs); escrow: per (user, token) balance, a withdrawal to the operator then migrateDeposit",
  "(two transactions per balance), plus one ERC-20 approval of V2 by the operator. A batch whose estimate exceeds",
  '2^24 gas is the guide\'s "Gas Limit Exceeded": counted as one failed transaction, not sent (no gas charged),',
  "and retried split in two halves (recursively), each half counted as the transaction(s) it takes.",
  "Fill (guide): each V2 batch's gasUsed / 85% of 2^24 or its calldata / 128 KiB, whichever is larger, last batch",
  "excluded (gas fill: the first alone).",
];

export interface GuideContracts {
  registryV1: GuideRegistryV1_1;
  escrowV1: GuideEscrowV1_1;
  registryV2: NodeRegistryV2;
  marketplaceV2: JobMarketplaceV2;
  escrowV2: PaymentEscrowV2;
  /** The ERC-20 tokens V1 lists (USDC), approved once for V2 to pull. */
  tokens: readonly TestUSDC[];
}

export interface GuideInputs {
  nodes: readonly NodeRecord[];
  jobs: readonly JobRecord[];
  deposits: readonly DepositRecord[];
}

const TARGET = Number(TX_GAS_CAP) * DEFAULT_TARGET_FILL;

type Tallies = Record<Component, ComponentTally>;

/** Runs the guide arm to the end; every component's figures are in the tallies it returns. */
export async function runGuideArm(
  provider: RpcProvider,
  contracts: GuideContracts,
  inputs: GuideInputs,
  now: () => number = performance.now.bind(performance),
): Promise<Tallies> {
  const tallies: Tallies = { nodes: new ComponentTally(), jobs: new ComponentTally(), escrow: new ComponentTally() };

  const mined = async (tally: ComponentTally, tx: Promise<ContractTransactionResponse>, fill: boolean) => {
    const sent = await tx;
    const receipt = await sent.wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`guide transaction ${sent.hash} failed`);
    const raw = await provider.send("eth_getTransactionReceipt", [sent.hash]);
    tally.addTx(receipt.gasUsed, receiptL1Fee(raw));
    if (fill) tally.addFill(Number(receipt.gasUsed) / TARGET, dataLength(sent.data));
  };

  /**
   * Sends records [start, start + size) as one batch, or, when its estimate is above the cap
   * (the guide's "Gas Limit Exceeded"), counts a failed transaction and sends the halves.
   */
  const sendSplit = async (
    tally: ComponentTally,
    start: number,
    size: number,
    estimate: (start: number, size: number) => Promise<bigint>,
    send: (start: number, size: number, gasLimit: bigint) => Promise<ContractTransactionResponse>,
  ): Promise<void> => {
    const gas = await estimate(start, size);
    if (gas > TX_GAS_CAP) {
      tally.addFailed();
      if (size === 1) throw new Error(`record ${start} alone needs ${gas} gas, above the cap: it cannot be migrated`);
      const half = Math.ceil(size / 2);
      await sendSplit(tally, start, half, estimate, send);
      await sendSplit(tally, start + half, size - half, estimate, send);
      return;
    }
    const withHeadroom = (gas * 110n) / 100n;
    await mined(tally, send(start, size, withHeadroom < TX_GAS_CAP ? withHeadroom : TX_GAS_CAP), true);
  };

  // ------------------------------------------------------------ nodes
  let started = now();
  const nodes = inputs.nodes;
  const stakeOf = (start: number, size: number) =>
    nodes.slice(start, start + size).reduce((sum, node) => sum + node.stake, 0n);
  for (let at = 0; at < nodes.length; at += GUIDE_BATCH_SIZE) {
    const size = Math.min(GUIDE_BATCH_SIZE, nodes.length - at);
    await mined(tallies.nodes, contracts.registryV1.withdrawStakesForMigration(at, size), false);
    await sendSplit(
      tallies.nodes,
      at,
      size,
      (start, n) =>
        contracts.registryV2.batchMigrateNodes.estimateGas(start, nodes.slice(start, start + n), {
          value: stakeOf(start, n),
        }),
      (start, n, gasLimit) =>
        contracts.registryV2.batchMigrateNodes(start, nodes.slice(start, start + n), {
          value: stakeOf(start, n),
          gasLimit,
        }),
    );
  }
  tallies.nodes.records = nodes.length;
  tallies.nodes.wallMs = now() - started;

  // ------------------------------------------------------------ jobs
  started = now();
  const jobs = inputs.jobs;
  for (let at = 0; at < jobs.length; at += GUIDE_BATCH_SIZE) {
    const size = Math.min(GUIDE_BATCH_SIZE, jobs.length - at);
    await sendSplit(
      tallies.jobs,
      at,
      size,
      (start, n) => contracts.marketplaceV2.importHistoricalJobs.estimateGas(start, jobs.slice(start, start + n)),
      (start, n, gasLimit) =>
        contracts.marketplaceV2.importHistoricalJobs(start, jobs.slice(start, start + n), { gasLimit }),
    );
  }
  tallies.jobs.records = jobs.length;
  tallies.jobs.wallMs = now() - started;

  // ------------------------------------------------------------ escrow
  started = now();
  const escrowV2 = await contracts.escrowV2.getAddress();
  const erc20 = new Set<string>();
  for (const token of contracts.tokens) {
    const address = (await token.getAddress()).toLowerCase();
    if (!inputs.deposits.some((d) => d.token.toLowerCase() === address)) continue;
    erc20.add(address);
    // The operator lets V2 pull what it will hold of this token: one approval for the whole run.
    await mined(tallies.escrow, token.approve(escrowV2, 2n ** 256n - 1n), false);
  }
  for (const deposit of inputs.deposits) {
    await mined(tallies.escrow, contracts.escrowV1.withdrawForMigration(deposit.user, deposit.token), false);
    const value = erc20.has(deposit.token.toLowerCase()) ? 0n : deposit.amount;
    await mined(
      tallies.escrow,
      contracts.escrowV2.migrateDeposit(deposit.user, deposit.token, deposit.amount, { value }),
      true,
    );
  }
  tallies.escrow.records = inputs.deposits.length;
  tallies.escrow.wallMs = now() - started;
  return tallies;
}

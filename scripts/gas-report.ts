/**
 * Gas per migrated node, historical job and deposit, for batches of 1, 10 and 100 records, on the
 * in-process chain: `npm run gas:report` (Markdown on stdout; `GAS_REPORT_JSON=1` for JSON).
 *
 * One V1 state is seeded, frozen and drained; each measurement migrates a batch from the first
 * record and rolls it back, so every size starts from the same state. A batch that would exceed
 * the 2^24 transaction gas cap is split in halves until each part fits, as the migration must.
 */
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { prepareLocalMigration, registerModelNames } from "../deploy/localMigration.js";
import { DeploymentStore } from "../lib/deployments.js";
import { readV1State } from "../lib/v1State.js";

const SIZES = [1, 10, 100];
const TX_GAS_CAP = 2n ** 24n;

interface Row {
  kind: "node" | "job" | "deposit";
  requested: number;
  records: number;
  txs: number;
  gas: bigint;
}

const connection = await hre.network.create();
const { ethers } = connection;
const [operator, treasury] = await ethers.getSigners();
if (operator === undefined || treasury === undefined) throw new Error("the chain needs two accounts");
const chainId = Number((await ethers.provider.getNetwork()).chainId);
const ctx = {
  ethers,
  upgrades: await upgrades(hre, connection),
  deployer: operator,
  store: await DeploymentStore.open(chainId, undefined),
  chainId,
};

const { v1, v1_1, v2 } = await prepareLocalMigration(ctx, {
  seed: { nodes: 110, jobs: 130, users: 110, seed: "gas-report" },
  treasury: treasury.address,
});
const state = await readV1State(v1, { blockTag: "latest" });
await registerModelNames(v2.registry, state.modelNames);

/** Sends `[start, start + size)` as one transaction, or in halves while it exceeds the cap. */
async function sendSplit(
  start: number,
  size: number,
  estimate: (start: number, size: number) => Promise<bigint>,
  send: (start: number, size: number) => Promise<bigint>,
): Promise<{ txs: number; gas: bigint }> {
  const fits = await estimate(start, size).then(
    (gas) => gas <= TX_GAS_CAP,
    () => false,
  );
  if (fits || size === 1) return { txs: 1, gas: await send(start, size) };
  const half = Math.ceil(size / 2);
  const first = await sendSplit(start, half, estimate, send);
  const second = await sendSplit(start + half, size - half, estimate, send);
  return { txs: first.txs + second.txs, gas: first.gas + second.gas };
}

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

const escrowUsers = await v1.escrow.getUsersPage(0, await v1.escrow.userCount());
const recordsPerUser = new Map<string, number>();
for (const { user } of state.deposits.records) {
  recordsPerUser.set(user.toLowerCase(), (recordsPerUser.get(user.toLowerCase()) ?? 0) + 1);
}

const rows: Row[] = [];
for (const size of SIZES) {
  // Nodes: the operator's records as calldata, V1.1 forwards them with their stakes to V2; roll
  // every batch back afterwards.
  const nodes = Math.min(size, state.nodes.count);
  const nodeRecords = state.nodes.records;
  const nodeRun = await sendSplit(
    0,
    nodes,
    (start, n) => v1_1.registry.migrateNodes.estimateGas(start, nodeRecords.slice(start, start + n)),
    (start, n) => gasOf(v1_1.registry.migrateNodes(start, nodeRecords.slice(start, start + n))),
  );
  rows.push({ kind: "node", requested: size, records: nodes, ...nodeRun });
  while ((await v2.registry.migrationBatchCount()) > 0n) await (await v1_1.registry.rollbackNodes()).wait();

  // Historical jobs: sent as calldata by the operator.
  const jobs = Math.min(size, state.jobs.count);
  const jobRecords = state.jobs.records;
  const jobRun = await sendSplit(
    0,
    jobs,
    (start, n) => v2.marketplace.importHistoricalJobs.estimateGas(start, jobRecords.slice(start, start + n)),
    (start, n) => gasOf(v2.marketplace.importHistoricalJobs(start, jobRecords.slice(start, start + n))),
  );
  rows.push({ kind: "job", requested: size, records: jobs, ...jobRun });
  while ((await v2.marketplace.migrationBatchCount()) > 0n) await (await v2.marketplace.returnLastBatch()).wait();

  // Deposits: V1.1 walks users; take as many users as it needs to reach `size` records.
  const users = usersForRecords(size);
  const before = await v2.escrow.migratedCount();
  const gas = await gasOf(v1_1.escrow.migrateDeposits(0, users));
  const records = Number((await v2.escrow.migratedCount()) - before);
  rows.push({ kind: "deposit", requested: size, records, txs: 1, gas });
  await (await v1_1.escrow.rollbackDeposits(state.deposits.records.slice(0, records))).wait();
}

/** The smallest number of leading V1 users (escrow order) whose nonzero balances make `records` records. */
function usersForRecords(records: number): number {
  let found = 0;
  for (const [i, user] of escrowUsers.entries()) {
    found += recordsPerUser.get(user.toLowerCase()) ?? 0;
    if (found >= records) return i + 1;
  }
  return escrowUsers.length;
}

const KIND_ORDER = ["node", "job", "deposit"];
rows.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.requested - b.requested);

if (process.env.GAS_REPORT_JSON === "1") {
  console.log(JSON.stringify(rows.map((row) => ({ ...row, gas: row.gas.toString() }))));
} else {
  console.log("| record | batch | records | txs | gas | gas per record |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const perRecord = row.gas / BigInt(row.records);
    console.log(
      `| ${row.kind} | ${row.requested} | ${row.records} | ${row.txs} | ${row.gas.toLocaleString("en-US")} | ${perRecord.toLocaleString("en-US")} |`,
    );
  }
  console.log(
    "\nGas is the receipts' gasUsed (21,000 per transaction and calldata included). Deposits are batched by user:",
  );
  console.log("a user holding ETH and USDC yields two records, so a batch may exceed the requested size by one.");
}

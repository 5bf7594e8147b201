import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { JobMarketplaceV2 } from "../../typechain-types/index.js";
import {
  CommitmentAccumulator,
  EMPTY_COMMITMENT,
  JOB_RECORD_TUPLE,
  jobLeaf,
  jobRecordFromV2Event,
  type JobRecord,
} from "../../lib/commitment.js";
import { ethers, networkHelpers, upgradesApi } from "./fixtures.js";

const { ZeroAddress, ZeroHash, getAddress, toBeHex, id } = ethers;

/** A V1 job as `MigrationRecords.sol`'s `JobRecord` declares it: the commitment twin's `JobRecord`. */
export type { JobRecord };
export { jobLeaf };

/** The ABI type of `JobRecord`: field order is part of the commitment. */
export const JOB_RECORD_TYPE = JOB_RECORD_TUPLE;

/** Folds `records` into `from` (a batch's checkpoint, or nothing), as StateCommitment does. */
export function foldJobs(records: readonly JobRecord[], from: string = EMPTY_COMMITMENT): string {
  const accumulator = new CommitmentAccumulator(from);
  for (const record of records) accumulator.addJob(record);
  return accumulator.commitment;
}

/** Reads a decoded `JobRecord` (an ethers Result, e.g. a `HistoricalJobImported` argument) back into a plain record. */
export const toJobRecord = jobRecordFromV2Event;

/** V1 status codes of finished jobs. */
export const FINISHED = { Completed: 3n, Cancelled: 4n, Expired: 5n } as const;

function addressFrom(label: string): string {
  return getAddress(toBeHex(BigInt(id(label)) >> 96n, 20));
}

/**
 * `count` realistic finished jobs with ids `firstId …`, cycling Completed, Cancelled, Expired
 * (a cancelled job has no host, only a completed one has a result), half paid in ETH and half
 * in an ERC-20, with full-width addresses and hashes as on-chain data has.
 */
export function makeJobRecords(firstId: bigint, count: number, seed = "jobs"): JobRecord[] {
  const usdc = addressFrom("usdc");
  const records: JobRecord[] = [];
  for (let i = 0; i < count; i++) {
    const jobId = firstId + BigInt(i);
    const status = [FINISHED.Completed, FINISHED.Cancelled, FINISHED.Expired][i % 3] as bigint;
    const postedAt = 1_700_000_000n + jobId * 37n;
    records.push({
      jobId,
      renter: addressFrom(`${seed}:renter:${jobId}`),
      host: status === FINISHED.Cancelled ? ZeroAddress : addressFrom(`${seed}:host:${jobId % 50n}`),
      token: jobId % 2n === 0n ? ZeroAddress : usdc,
      amount: 5_000_000n + jobId * 1_234n,
      modelId: id(["llama-3-8b", "mistral-7b", "qwen-2.5-72b"][Number(jobId % 3n)] as string),
      inputHash: id(`${seed}:input:${jobId}`),
      resultHash: status === FINISHED.Completed ? id(`${seed}:result:${jobId}`) : ZeroHash,
      postedAt,
      deadline: postedAt + 3_600n,
      completedAt: status === FINISHED.Completed ? postedAt + 600n : 0n,
      status,
    });
  }
  return records;
}

export interface MigrationSetup {
  marketplace: JobMarketplaceV2;
  admin: HardhatEthersSigner;
  migrator: HardhatEthersSigner;
  otherMigrator: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  /** Stand-ins for the registry and escrow: the migration never calls them. */
  registryAddress: string;
  escrowAddress: string;
  MIGRATOR_ROLE: string;
}

async function deployForMigration(): Promise<MigrationSetup> {
  const [admin, migrator, otherMigrator, stranger, registryStandIn, escrowStandIn] = await ethers.getSigners();
  if (
    admin === undefined ||
    migrator === undefined ||
    otherMigrator === undefined ||
    stranger === undefined ||
    registryStandIn === undefined ||
    escrowStandIn === undefined
  ) {
    throw new Error("the test chain needs at least six accounts");
  }
  const factory = await ethers.getContractFactory("JobMarketplaceV2", admin);
  const marketplace = (await upgradesApi.deployProxy(
    factory,
    [admin.address, migrator.address, registryStandIn.address, escrowStandIn.address],
    { kind: "uups", initializer: "initialize" },
  )) as unknown as JobMarketplaceV2;
  const MIGRATOR_ROLE = await marketplace.MIGRATOR_ROLE();
  await (await marketplace.grantRole(MIGRATOR_ROLE, otherMigrator.address)).wait();
  return {
    marketplace,
    admin,
    migrator,
    otherMigrator,
    stranger,
    registryAddress: registryStandIn.address,
    escrowAddress: escrowStandIn.address,
    MIGRATOR_ROLE,
  };
}

/** A marketplace in its migration window, with two migrators; use in every migration test. */
export async function migrationSetup(): Promise<MigrationSetup> {
  return networkHelpers.loadFixture(deployForMigration);
}

/** Imports `records` in one batch at the current cursor and returns the receipt's gas. */
export async function importJobs(
  marketplace: JobMarketplaceV2,
  from: HardhatEthersSigner,
  records: readonly JobRecord[],
): Promise<bigint> {
  const cursor = await marketplace.migratedCount();
  const receipt = await (await marketplace.connect(from).importHistoricalJobs(cursor, [...records])).wait();
  if (receipt === null) throw new Error("importHistoricalJobs: no receipt");
  return receipt.gasUsed;
}

import { MigrationJournal, type JournalEntry } from "../journal.js";
import { stamp, type StepContext } from "./context.js";

export interface ContractStatus {
  /** V2's `migratedCount()` (for the escrow: deposit records). */
  migrated: number;
  batches: number;
  finalized: boolean;
  commitment: string;
}

export interface MigrationStatus {
  chainId: number;
  opened: boolean;
  v1Paused: boolean;
  /** What V1 holds: nodes, jobs (all, by id) and escrow users. */
  v1: { nodes: number; jobs: number; users: number };
  /** V1.1's escrow user cursor: the next user to migrate. */
  userCursor: number | null;
  v2: { nodes: ContractStatus; jobs: ContractStatus; deposits: ContractStatus };
  /**
   * Unconfirmed transactions in the journals of the six contracts: batches of the copy steps,
   * and single calls (finalize, rollback, unpause, model names; their entries carry `call`).
   */
  pending: JournalEntry[];
}

/** Where the migration stands, read from the chain and the journals; sends nothing. */
export async function runStatus(ctx: StepContext, options: { journalDir?: string } = {}): Promise<MigrationStatus> {
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "status", total: 1, unit: "check" });
  const { v1, v2, opened, addresses, chainId } = ctx.contracts;
  const of = async (
    contract: typeof v2.registry | typeof v2.marketplace | typeof v2.escrow,
  ): Promise<ContractStatus> => ({
    migrated: Number(await contract.migratedCount()),
    batches: Number(await contract.migrationBatchCount()),
    finalized: await contract.migrationFinalized(),
    commitment: await contract.migrationCommitment(),
  });
  const pending: JournalEntry[] = [];
  for (const contract of [
    addresses.NodeRegistryV1,
    addresses.JobMarketplaceV2,
    addresses.PaymentEscrowV1,
    addresses.NodeRegistryV2,
    addresses.PaymentEscrowV2,
    addresses.JobMarketplaceV1,
  ]) {
    const journal = await MigrationJournal.open({
      ...(options.journalDir === undefined ? {} : { directory: options.journalDir }),
      chainId,
      contract,
    });
    pending.push(...journal.entries);
  }
  const status: MigrationStatus = {
    chainId,
    opened,
    v1Paused: (await v1.registry.paused()) && (await v1.escrow.paused()) && (await v1.marketplace.paused()),
    v1: {
      nodes: Number(await v1.registry.nodeCount()),
      jobs: Number(await v1.marketplace.jobCount()),
      users: Number(await v1.escrow.userCount()),
    },
    userCursor: opened ? Number(await v1.escrow.migrationUserCursor()) : null,
    v2: { nodes: await of(v2.registry), jobs: await of(v2.marketplace), deposits: await of(v2.escrow) },
    pending,
  };
  ctx.reporter({
    type: "step-finished",
    at: stamp(ctx),
    step: "status",
    summary: JSON.parse(JSON.stringify(status)) as Record<string, unknown>,
  });
  return status;
}

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { ensureMulticall3 } from "../../multicall.js";
import { readSnapshot, v1SnapshotSource, writeSnapshot, type LoadedSnapshot } from "../../snapshot.js";
import type { V1Contracts } from "../../v1State.js";
import type { MigrationContracts } from "../contracts.js";
import { stamp, type StepContext } from "./context.js";

/** What wrote the snapshot, in its header. */
const CREATED_BY = "fabstir-migration-toolkit migrate:snapshot";

/** V1's proxies as the reader types them (V1.1 reads the same). */
export function v1Readers(contracts: MigrationContracts): V1Contracts {
  return contracts.v1 as unknown as V1Contracts;
}

/**
 * Reads V1 at one pinned block (the latest, once Multicall3 is there: installed first on a dev
 * chain, since a read at an earlier block would not see it) and writes it to `file` atomically,
 * then loads it back verified: what the later steps use is what is on disk.
 */
export async function takeSnapshot(ctx: StepContext, file: string): Promise<LoadedSnapshot> {
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "snapshot", total: 1, unit: "snapshot" });
  const multicall = await ensureMulticall3(ctx.provider, { devChain: ctx.devChain });
  const blockNumber = await ctx.provider.getBlockNumber();
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const info = await writeSnapshot(
    file,
    await v1SnapshotSource(v1Readers(ctx.contracts), { blockTag: blockNumber, createdBy: CREATED_BY }),
  );
  const loaded = await loadSnapshot(ctx.contracts, file);
  ctx.reporter({
    type: "step-finished",
    at: stamp(ctx),
    step: "snapshot",
    summary: {
      file,
      sha256: info.sha256,
      bytes: info.bytes,
      blockNumber: info.header.blockNumber,
      counts: info.header.counts,
      commitments: info.header.commitments,
      multicall,
    },
  });
  return loaded;
}

/** Loads and verifies a snapshot, refusing one of another chain or other V1 contracts. */
export function loadSnapshot(contracts: MigrationContracts, file: string): Promise<LoadedSnapshot> {
  return readSnapshot(file, {
    expect: {
      chainId: contracts.chainId,
      addresses: {
        registry: contracts.addresses.NodeRegistryV1,
        marketplace: contracts.addresses.JobMarketplaceV1,
        escrow: contracts.addresses.PaymentEscrowV1,
      },
    },
  });
}

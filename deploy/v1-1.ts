import type { BaseContract, ContractTransactionResponse } from "ethers";
import { roleId } from "../lib/governance/abis.js";
import {
  OPEN_MIGRATION_UPGRADES,
  V1_PROXIES,
  knownUpgradeCall,
  v1_1MigratorGrants,
} from "../lib/governance/actions/migration.js";
import type { NodeRegistryV1_1, PaymentEscrowV1_1 } from "../typechain-types/index.js";
import { type DeployContext, type RoleHolder, ensureRole } from "./steps.js";
import type { V1Stack } from "./v1.js";
import type { V2Stack } from "./v2.js";

/** The V1 proxies after their upgrade to the migrating implementations. */
export interface V1_1Stack {
  registry: NodeRegistryV1_1;
  escrow: PaymentEscrowV1_1;
}

/**
 * Opens the V1 side of the migration on a chain where the deployer administers both
 * generations (local and test networks; on Base these are governance proposals): pauses V1,
 * upgrades the NodeRegistry and PaymentEscrow proxies to their V1.1 implementations pointed at
 * V2 (hardhat-upgrades validates the storage layout first), lets the V1.1 proxies import into V2
 * and lets `operator` drive V1.1. Idempotent.
 */
export async function openV1Migration(
  ctx: DeployContext,
  v1: V1Stack,
  v2: V2Stack,
  operator: string,
): Promise<V1_1Stack> {
  const log = ctx.log ?? (() => {});
  const v1Proxies: Record<
    string,
    BaseContract & { paused(): Promise<boolean>; pause(): Promise<ContractTransactionResponse> }
  > = {
    NodeRegistryV1: v1.registry,
    PaymentEscrowV1: v1.escrow,
    JobMarketplaceV1: v1.marketplace,
  };
  for (const name of V1_PROXIES) {
    const contract = v1Proxies[name]!;
    if (!(await contract.paused())) await (await contract.pause()).wait();
  }
  // The same upgrades and grants as the governance proposal (lib/governance/actions/migration.ts).
  const v2Proxies: Record<string, RoleHolder> = {
    NodeRegistryV2: v2.registry,
    PaymentEscrowV2: v2.escrow,
    JobMarketplaceV2: v2.marketplace,
  };
  const upgraded: Record<string, RoleHolder> = {};
  for (const { record, artifact } of OPEN_MIGRATION_UPGRADES) {
    const call = knownUpgradeCall(artifact)!;
    upgraded[record] = (await upgradeOnce(ctx, record, artifact, await v1Proxies[record]!.getAddress(), call.fn, [
      await v2Proxies[call.target]!.getAddress(),
    ])) as RoleHolder;
  }
  const contracts: Record<string, RoleHolder> = { ...v2Proxies, ...upgraded };
  for (const grant of v1_1MigratorGrants(operator)) {
    const contract = contracts[grant.contract]!;
    const account = grant.account in contracts ? await contracts[grant.account]!.getAddress() : grant.account;
    await ensureRole(contract, roleId(grant.role), account, log);
  }
  return {
    registry: upgraded.NodeRegistryV1 as unknown as NodeRegistryV1_1,
    escrow: upgraded.PaymentEscrowV1 as unknown as PaymentEscrowV1_1,
  };
}

async function upgradeOnce(
  ctx: DeployContext,
  recordName: string,
  implementationName: string,
  proxy: string,
  fn: string,
  initArgs: unknown[],
): Promise<unknown> {
  const current = await ctx.ethers.getContractAt(implementationName, proxy, ctx.deployer);
  if ((await current.getFunction("version")()) === "1.1.0") return current;
  const factory = await ctx.ethers.getContractFactory(implementationName, ctx.deployer);
  const upgraded = await ctx.upgrades.upgradeProxy(proxy, factory, {
    kind: "uups",
    call: { fn, args: initArgs },
  });
  const implementation = await ctx.upgrades.erc1967.getImplementationAddress(proxy);
  await ctx.store.set(recordName, { proxy, implementation });
  ctx.log?.(`upgraded ${recordName} proxy ${proxy} to ${implementationName} (implementation ${implementation})`);
  return upgraded;
}

import type { NodeRegistryV1_1, PaymentEscrowV1_1 } from "../typechain-types/index.js";
import { type DeployContext, ensureRole } from "./steps.js";
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
  for (const contract of [v1.registry, v1.escrow, v1.marketplace]) {
    if (!(await contract.paused())) await (await contract.pause()).wait();
  }
  const registry = (await upgradeOnce(ctx, "NodeRegistryV1", "NodeRegistryV1_1", await v1.registry.getAddress(), [
    await v2.registry.getAddress(),
  ])) as unknown as NodeRegistryV1_1;
  const escrow = (await upgradeOnce(ctx, "PaymentEscrowV1", "PaymentEscrowV1_1", await v1.escrow.getAddress(), [
    await v2.escrow.getAddress(),
  ])) as unknown as PaymentEscrowV1_1;

  await ensureRole(v2.registry, await v2.registry.MIGRATOR_ROLE(), await registry.getAddress(), log);
  await ensureRole(v2.escrow, await v2.escrow.MIGRATOR_ROLE(), await escrow.getAddress(), log);
  await ensureRole(registry, await registry.MIGRATOR_ROLE(), operator, log);
  await ensureRole(escrow, await escrow.MIGRATOR_ROLE(), operator, log);
  return { registry, escrow };
}

async function upgradeOnce(
  ctx: DeployContext,
  recordName: string,
  implementationName: string,
  proxy: string,
  initArgs: unknown[],
): Promise<unknown> {
  const current = await ctx.ethers.getContractAt(implementationName, proxy, ctx.deployer);
  if ((await current.getFunction("version")()) === "1.1.0") return current;
  const factory = await ctx.ethers.getContractFactory(implementationName, ctx.deployer);
  const upgraded = await ctx.upgrades.upgradeProxy(proxy, factory, {
    kind: "uups",
    call: { fn: "initializeMigration", args: initArgs },
  });
  const implementation = await ctx.upgrades.erc1967.getImplementationAddress(proxy);
  await ctx.store.set(recordName, { proxy, implementation });
  ctx.log?.(`upgraded ${recordName} proxy ${proxy} to ${implementationName} (implementation ${implementation})`);
  return upgraded;
}

import type { BaseContract } from "ethers";
import type {
  JobMarketplaceV1Adapter,
  NodeRegistryV1Adapter,
  PaymentEscrowV1Adapter,
} from "../typechain-types/index.js";
import { type DeployContext, ensureRole } from "./steps.js";
import type { V2Stack } from "./v2.js";

/** The V1 proxies (whatever implementation they run now: V1, V1.1 or already the adapter). */
export interface V1Proxies {
  registry: BaseContract;
  escrow: BaseContract;
  marketplace: BaseContract;
}

/** The adapters, at the V1 proxy addresses. */
export interface AdapterStack {
  registry: NodeRegistryV1Adapter;
  escrow: PaymentEscrowV1Adapter;
  marketplace: JobMarketplaceV1Adapter;
}

/** What `version()` answers once a V1 proxy runs its adapter. */
export const ADAPTER_VERSION = "1.0.0-adapter";

/**
 * Cuts V1 over to V2 once V2 is finalized: V2 trusts each V1 proxy as an adapter (`ADAPTER_ROLE`;
 * the marketplace's also on the V2 registry, where it sets a host's price for a V1 claim), then
 * each V1 proxy is upgraded to its generated adapter with `initializeAdapter(v2)` as the upgrade
 * call, which also unpauses it. hardhat-upgrades validates the storage layout first. Idempotent:
 * roles held and proxies already on their adapter are left as they are. The deployer needs
 * V2's `DEFAULT_ADMIN_ROLE` and the V1 proxies' `UPGRADER_ROLE` and `DEFAULT_ADMIN_ROLE` (on Base
 * these steps are governance proposals).
 */
export async function cutOverToAdapters(ctx: DeployContext, v1: V1Proxies, v2: V2Stack): Promise<AdapterStack> {
  const log = ctx.log ?? (() => {});
  for (const contract of [v2.registry, v2.escrow, v2.marketplace]) {
    if (!(await contract.migrationFinalized())) {
      throw new Error(`V2 ${await contract.getAddress()} is not finalized: finalize the migration before the cut-over`);
    }
  }
  const pairs = [
    { name: "NodeRegistry", proxy: v1.registry, target: v2.registry },
    { name: "PaymentEscrow", proxy: v1.escrow, target: v2.escrow },
    { name: "JobMarketplace", proxy: v1.marketplace, target: v2.marketplace },
  ] as const;
  for (const { proxy, target } of pairs) {
    await ensureRole(target, await target.ADAPTER_ROLE(), await proxy.getAddress(), log);
  }
  await ensureRole(v2.registry, await v2.registry.ADAPTER_ROLE(), await v1.marketplace.getAddress(), log);

  const adapters: Record<string, unknown> = {};
  for (const { name, proxy, target } of pairs) {
    adapters[name] = await upgradeToAdapter(ctx, name, await proxy.getAddress(), await target.getAddress());
  }
  return {
    registry: adapters.NodeRegistry as NodeRegistryV1Adapter,
    escrow: adapters.PaymentEscrow as PaymentEscrowV1Adapter,
    marketplace: adapters.JobMarketplace as JobMarketplaceV1Adapter,
  };
}

async function upgradeToAdapter(ctx: DeployContext, name: string, proxy: string, target: string): Promise<unknown> {
  const adapterName = `${name}V1Adapter`;
  const current = await ctx.ethers.getContractAt(adapterName, proxy, ctx.deployer);
  if ((await current.getFunction("version")()) === ADAPTER_VERSION) {
    const forwardsTo = (await current.getFunction("v2")()) as string;
    if (forwardsTo.toLowerCase() !== target.toLowerCase()) {
      throw new Error(`${adapterName} at ${proxy} forwards to ${forwardsTo}, not to ${target}`);
    }
    return current;
  }
  const factory = await ctx.ethers.getContractFactory(adapterName, ctx.deployer);
  const upgraded = await ctx.upgrades.upgradeProxy(proxy, factory, {
    kind: "uups",
    call: { fn: "initializeAdapter", args: [target] },
  });
  const implementation = await ctx.upgrades.erc1967.getImplementationAddress(proxy);
  await ctx.store.set(`${name}V1`, { proxy, implementation });
  ctx.log?.(`upgraded ${name}V1 proxy ${proxy} to ${adapterName} (implementation ${implementation})`);
  return upgraded;
}

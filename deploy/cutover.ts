import type { BaseContract } from "ethers";
import type {
  JobMarketplaceV1Adapter,
  NodeRegistryV1Adapter,
  PaymentEscrowV1Adapter,
} from "../typechain-types/index.js";
import { roleId } from "../lib/governance/abis.js";
import { CUTOVER_UPGRADES, cutoverAdapterGrants, knownUpgradeCall } from "../lib/governance/actions/migration.js";
import { type DeployContext, type RoleHolder, ensureRole } from "./steps.js";
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
  // The same grants and upgrades as the cut-over proposal (lib/governance/actions/migration.ts).
  const contracts: Record<string, BaseContract & RoleHolder> = {
    NodeRegistryV1: v1.registry as BaseContract & RoleHolder,
    PaymentEscrowV1: v1.escrow as BaseContract & RoleHolder,
    JobMarketplaceV1: v1.marketplace as BaseContract & RoleHolder,
    NodeRegistryV2: v2.registry,
    PaymentEscrowV2: v2.escrow,
    JobMarketplaceV2: v2.marketplace,
  };
  for (const grant of cutoverAdapterGrants()) {
    await ensureRole(contracts[grant.contract]!, roleId(grant.role), await contracts[grant.account]!.getAddress(), log);
  }

  const adapters: Record<string, unknown> = {};
  for (const { record, artifact } of CUTOVER_UPGRADES) {
    const call = knownUpgradeCall(artifact)!;
    adapters[record] = await upgradeToAdapter(
      ctx,
      record,
      artifact,
      await contracts[record]!.getAddress(),
      call.fn,
      await contracts[call.target]!.getAddress(),
    );
  }
  return {
    registry: adapters.NodeRegistryV1 as NodeRegistryV1Adapter,
    escrow: adapters.PaymentEscrowV1 as PaymentEscrowV1Adapter,
    marketplace: adapters.JobMarketplaceV1 as JobMarketplaceV1Adapter,
  };
}

async function upgradeToAdapter(
  ctx: DeployContext,
  recordName: string,
  adapterName: string,
  proxy: string,
  fn: string,
  target: string,
): Promise<unknown> {
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
    call: { fn, args: [target] },
  });
  const implementation = await ctx.upgrades.erc1967.getImplementationAddress(proxy);
  await ctx.store.set(recordName, { proxy, implementation });
  ctx.log?.(`upgraded ${recordName} proxy ${proxy} to ${adapterName} (implementation ${implementation})`);
  return upgraded;
}

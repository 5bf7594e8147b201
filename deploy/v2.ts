import type { JobMarketplaceV2, NodeRegistryV2, PaymentEscrowV2 } from "../typechain-types/index.js";
import { type DeployContext, ensureProxy, ensureRole, handOverAdmin } from "./steps.js";

/** The V2 stack's configuration. */
export interface V2Parameters {
  /** Final holder of DEFAULT_ADMIN, UPGRADER and PAUSER roles (the timelock in production). */
  admin: string;
  /** Receives MIGRATOR_ROLE at initialization: the migration window opens with it. */
  migrator: string;
  /** Receives slashed stake and escrow fees. */
  treasury: string;
  minimumStake: bigint;
  unstakeCooldownSeconds: bigint;
  feeBps: bigint;
  /** ERC-20s the escrow lists and allows, besides ETH (V1's tokens, so their balances can move). */
  tokens: readonly string[];
}

export interface V2Stack {
  registry: NodeRegistryV2;
  escrow: PaymentEscrowV2;
  marketplace: JobMarketplaceV2;
}

/**
 * Deploys the V2 stack behind UUPS proxies with its migration window open, wires the marketplace's
 * roles on the registry and escrow, lists `tokens` in the escrow and records every address. Like
 * `deployV1`, a re-run only deploys or grants what is missing.
 */
export async function deployV2(ctx: DeployContext, params: V2Parameters): Promise<V2Stack> {
  const log = ctx.log ?? (() => {});
  const deployerAddress = await ctx.deployer.getAddress();

  const registry = (await ensureProxy(ctx, "NodeRegistryV2", [
    deployerAddress,
    params.migrator,
    params.treasury,
    params.minimumStake,
    params.unstakeCooldownSeconds,
  ])) as unknown as NodeRegistryV2;
  const escrow = (await ensureProxy(ctx, "PaymentEscrowV2", [
    deployerAddress,
    params.migrator,
    params.treasury,
    params.feeBps,
  ])) as unknown as PaymentEscrowV2;
  const marketplace = (await ensureProxy(ctx, "JobMarketplaceV2", [
    deployerAddress,
    params.migrator,
    await registry.getAddress(),
    await escrow.getAddress(),
  ])) as unknown as JobMarketplaceV2;

  const marketplaceAddress = await marketplace.getAddress();
  await ensureRole(registry, await registry.REPUTATION_ROLE(), marketplaceAddress, log);
  await ensureRole(registry, await registry.SLASHER_ROLE(), params.admin, log);
  await ensureRole(escrow, await escrow.MARKETPLACE_ROLE(), marketplaceAddress, log);
  for (const token of params.tokens) {
    if (await escrow.isTokenAllowed(token)) continue;
    await (await escrow.setTokenAllowed(token, true)).wait();
    log(`allowed ${token} in the V2 escrow`);
  }

  if (params.admin.toLowerCase() !== deployerAddress.toLowerCase()) {
    await handOverAdmin([registry, escrow, marketplace], params.admin, deployerAddress, log);
  }
  return { registry, escrow, marketplace };
}

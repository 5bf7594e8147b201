import { USDC_BY_CHAIN } from "../lib/networks.js";
import { type DeployContext, ensureContract, ensureProxy, ensureRole, handOverAdmin } from "./steps.js";
import type { JobMarketplaceV1, NodeRegistryV1, PaymentEscrowV1, TestUSDC } from "../typechain-types/index.js";

/** The V1 stack's configuration. Defaults mirror the production settings. */
export interface V1Parameters {
  /** Final holder of DEFAULT_ADMIN, UPGRADER and PAUSER roles (the timelock in production). */
  admin: string;
  /** Receives slashed stake and escrow fees. */
  treasury: string;
  minimumStake: bigint;
  unstakeCooldownSeconds: bigint;
  feeBps: bigint;
}

export const DEFAULT_V1_PARAMETERS = {
  minimumStake: 10n ** 16n, // 0.01 ETH
  unstakeCooldownSeconds: 7n * 24n * 3600n,
  feeBps: 250n,
} as const;

export type { DeployContext } from "./steps.js";

export interface V1Stack {
  registry: NodeRegistryV1;
  escrow: PaymentEscrowV1;
  marketplace: JobMarketplaceV1;
  /** USDC where it exists, a TestUSDC elsewhere (then `mint` is available). */
  usdc: TestUSDC;
  usdcIsTest: boolean;
}

/**
 * Deploys the V1 stack (NodeRegistryV1, PaymentEscrowV1, JobMarketplaceV1 behind UUPS proxies),
 * wires the roles between them and records every address in the deployment store. On a re-run
 * only what the record lacks (or what has no code on chain) is deployed, and only missing roles
 * are granted.
 */
export async function deployV1(ctx: DeployContext, params: V1Parameters): Promise<V1Stack> {
  const { ethers, deployer } = ctx;
  const log = ctx.log ?? (() => {});
  const deployerAddress = await deployer.getAddress();

  const usdcAddress = USDC_BY_CHAIN[ctx.chainId];
  const usdcIsTest = usdcAddress === undefined;
  const usdc = usdcIsTest
    ? await ensureContract(ctx, "TestUSDC", () => ethers.deployContract("TestUSDC", deployer))
    : await ethers.getContractAt("TestUSDC", usdcAddress, deployer);

  const registry = (await ensureProxy(ctx, "NodeRegistryV1", [
    deployerAddress,
    params.treasury,
    params.minimumStake,
    params.unstakeCooldownSeconds,
  ])) as unknown as NodeRegistryV1;
  const escrow = (await ensureProxy(ctx, "PaymentEscrowV1", [
    deployerAddress,
    params.treasury,
    params.feeBps,
  ])) as unknown as PaymentEscrowV1;
  const marketplace = (await ensureProxy(ctx, "JobMarketplaceV1", [
    deployerAddress,
    await registry.getAddress(),
    await escrow.getAddress(),
  ])) as unknown as JobMarketplaceV1;

  const marketplaceAddress = await marketplace.getAddress();
  await ensureRole(registry, await registry.REPUTATION_ROLE(), marketplaceAddress, log);
  await ensureRole(registry, await registry.SLASHER_ROLE(), params.admin, log);
  await ensureRole(escrow, await escrow.MARKETPLACE_ROLE(), marketplaceAddress, log);
  if (!(await escrow.isTokenAllowed(await usdc.getAddress()))) {
    await (await escrow.setTokenAllowed(await usdc.getAddress(), true)).wait();
    log(`allowed USDC ${await usdc.getAddress()} in the escrow`);
  }

  if (params.admin.toLowerCase() !== deployerAddress.toLowerCase()) {
    await handOverAdmin([registry, escrow, marketplace], params.admin, deployerAddress, log);
  }
  return { registry, escrow, marketplace, usdc, usdcIsTest };
}

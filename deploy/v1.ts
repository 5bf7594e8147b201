import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatUpgrades } from "@openzeppelin/hardhat-upgrades";
import type { BaseContract } from "ethers";
import type { DeploymentStore, ProxyRecord } from "../lib/deployments.js";
import { USDC_BY_CHAIN } from "../lib/networks.js";
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

export interface V1Stack {
  registry: NodeRegistryV1;
  escrow: PaymentEscrowV1;
  marketplace: JobMarketplaceV1;
  /** USDC where it exists, a TestUSDC elsewhere (then `mint` is available). */
  usdc: TestUSDC;
  usdcIsTest: boolean;
}

export interface DeployContext {
  ethers: HardhatEthers;
  upgrades: HardhatUpgrades;
  deployer: HardhatEthersSigner;
  store: DeploymentStore;
  chainId: number;
  log?: (message: string) => void;
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

async function ensureContract<T extends BaseContract>(
  ctx: DeployContext,
  name: string,
  deploy: () => Promise<T>,
): Promise<T> {
  const recorded = ctx.store.get(name);
  if (recorded !== undefined && "address" in recorded && (await hasCode(ctx, recorded.address))) {
    return (await ctx.ethers.getContractAt(name, recorded.address, ctx.deployer)) as unknown as T;
  }
  const contract = await deploy();
  await contract.waitForDeployment();
  const address = await contract.getAddress();
  await ctx.store.set(name, { address });
  ctx.log?.(`deployed ${name} at ${address}`);
  return contract;
}

async function ensureProxy(ctx: DeployContext, name: string, initArgs: unknown[]): Promise<BaseContract> {
  const recorded = ctx.store.get(name) as ProxyRecord | undefined;
  if (recorded?.proxy !== undefined && (await hasCode(ctx, recorded.proxy))) {
    return ctx.ethers.getContractAt(name, recorded.proxy, ctx.deployer);
  }
  const factory = await ctx.ethers.getContractFactory(name, ctx.deployer);
  // deployProxy validates upgrade safety (initializers, no constructors with state, layout).
  const proxy = await ctx.upgrades.deployProxy(factory, initArgs, { kind: "uups", initializer: "initialize" });
  await proxy.waitForDeployment();
  const proxyAddress = await proxy.getAddress();
  const implementation = await ctx.upgrades.erc1967.getImplementationAddress(proxyAddress);
  await ctx.store.set(name, { proxy: proxyAddress, implementation });
  ctx.log?.(`deployed ${name} proxy ${proxyAddress} (implementation ${implementation})`);
  return proxy;
}

async function hasCode(ctx: DeployContext, address: string): Promise<boolean> {
  return (await ctx.ethers.provider.getCode(address)) !== "0x";
}

interface RoleHolder {
  hasRole(role: string, account: string): Promise<boolean>;
  grantRole(role: string, account: string): Promise<{ wait(): Promise<unknown> }>;
  getAddress(): Promise<string>;
}

async function ensureRole(
  contract: RoleHolder,
  role: string,
  account: string,
  log: (message: string) => void,
): Promise<void> {
  if (await contract.hasRole(role, account)) return;
  await (await contract.grantRole(role, account)).wait();
  log(`granted ${role.slice(0, 10)}… on ${await contract.getAddress()} to ${account}`);
}

interface AdministeredContract extends RoleHolder {
  DEFAULT_ADMIN_ROLE(): Promise<string>;
  UPGRADER_ROLE(): Promise<string>;
  PAUSER_ROLE(): Promise<string>;
  renounceRole(role: string, account: string): Promise<{ wait(): Promise<unknown> }>;
}

/** Grants the governing roles to `admin`, then the deployer renounces its own. */
async function handOverAdmin(
  contracts: AdministeredContract[],
  admin: string,
  deployer: string,
  log: (message: string) => void,
): Promise<void> {
  for (const contract of contracts) {
    const roles = [await contract.UPGRADER_ROLE(), await contract.PAUSER_ROLE(), await contract.DEFAULT_ADMIN_ROLE()];
    for (const role of roles) await ensureRole(contract, role, admin, log);
    // DEFAULT_ADMIN_ROLE is renounced last: it is what allows the grants above.
    for (const role of roles) {
      if (await contract.hasRole(role, deployer)) await (await contract.renounceRole(role, deployer)).wait();
    }
  }
}

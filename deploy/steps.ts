import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatUpgrades } from "@openzeppelin/hardhat-upgrades";
import type { BaseContract } from "ethers";
import type { DeploymentStore, ProxyRecord } from "../lib/deployments.js";

/**
 * The idempotent building blocks of every deploy module: each step checks the deployment record
 * and the chain first, and only deploys or grants what is missing.
 */

/** What every deploy step needs: the connection, the signer that deploys, and the record. */
export interface DeployContext {
  ethers: HardhatEthers;
  upgrades: HardhatUpgrades;
  deployer: HardhatEthersSigner;
  store: DeploymentStore;
  chainId: number;
  log?: (message: string) => void;
}

export async function ensureContract<T extends BaseContract>(
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
  const receipt = await contract.deploymentTransaction()?.wait();
  await ctx.store.set(name, receipt == null ? { address } : { address, block: receipt.blockNumber });
  ctx.log?.(`deployed ${name} at ${address}`);
  return contract;
}

export async function ensureProxy(ctx: DeployContext, name: string, initArgs: unknown[]): Promise<BaseContract> {
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

export interface RoleHolder {
  hasRole(role: string, account: string): Promise<boolean>;
  grantRole(role: string, account: string): Promise<{ wait(): Promise<unknown> }>;
  getAddress(): Promise<string>;
}

export async function ensureRole(
  contract: RoleHolder,
  role: string,
  account: string,
  log: (message: string) => void,
): Promise<void> {
  if (await contract.hasRole(role, account)) return;
  await (await contract.grantRole(role, account)).wait();
  log(`granted ${role.slice(0, 10)}… on ${await contract.getAddress()} to ${account}`);
}

export interface AdministeredContract extends RoleHolder {
  DEFAULT_ADMIN_ROLE(): Promise<string>;
  UPGRADER_ROLE(): Promise<string>;
  PAUSER_ROLE(): Promise<string>;
  renounceRole(role: string, account: string): Promise<{ wait(): Promise<unknown> }>;
}

/** Grants the governing roles to `admin`, then the deployer renounces its own. */
export async function handOverAdmin(
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

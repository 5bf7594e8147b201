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

/** The roles that govern a contract: who holds them can upgrade, pause and grant. */
export const GOVERNING_ROLES = ["UPGRADER_ROLE", "PAUSER_ROLE", "DEFAULT_ADMIN_ROLE"] as const;
export type GoverningRole = (typeof GOVERNING_ROLES)[number];

/** One transaction of a handover: `contract.fn(role, account)`. */
export interface RoleChange<C extends AdministeredContract = AdministeredContract> {
  contract: C;
  fn: "grantRole" | "renounceRole";
  /** The role's getter name (for messages), and its id. */
  roleName: GoverningRole;
  role: string;
  account: string;
}

/**
 * The handover in its order, defined once for deploy scripts and the migration's handover step:
 * per contract, every governing role granted to `admin`, then renounced by `holder`,
 * DEFAULT_ADMIN_ROLE last (it is what allows the grants).
 */
export async function adminHandoverChanges<C extends AdministeredContract>(
  contracts: readonly C[],
  admin: string,
  holder: string,
): Promise<RoleChange<C>[]> {
  const changes: RoleChange<C>[] = [];
  for (const contract of contracts) {
    const roles = await Promise.all(GOVERNING_ROLES.map((name) => contract[name]()));
    for (const [i, roleName] of GOVERNING_ROLES.entries()) {
      changes.push({ contract, fn: "grantRole", roleName, role: roles[i]!, account: admin });
    }
    for (const [i, roleName] of GOVERNING_ROLES.entries()) {
      changes.push({ contract, fn: "renounceRole", roleName, role: roles[i]!, account: holder });
    }
  }
  return changes;
}

/** Whether the change is on chain: the role granted, or no longer held by whoever renounces it. */
export async function roleChangeDone(change: RoleChange): Promise<boolean> {
  const holds = await change.contract.hasRole(change.role, change.account);
  return change.fn === "grantRole" ? holds : !holds;
}

/** Grants the governing roles to `admin`, then the deployer renounces its own. */
export async function handOverAdmin(
  contracts: AdministeredContract[],
  admin: string,
  deployer: string,
  log: (message: string) => void,
): Promise<void> {
  for (const change of await adminHandoverChanges(contracts, admin, deployer)) {
    if (change.fn === "grantRole") await ensureRole(change.contract, change.role, change.account, log);
    else if (!(await roleChangeDone(change))) await (await change.contract.renounceRole(change.role, deployer)).wait();
  }
}

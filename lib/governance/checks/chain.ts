import { getAddress, type Filter, type Log, type Provider } from "ethers";
import type { DeploymentRecord } from "../../deployments.js";
import { ensureMulticall3, errorMessage, type DevChainProvider } from "../../multicall.js";
import { namesByAddress } from "../abis.js";
import type { ProposalFile } from "../types.js";

/**
 * What every check reads the chain with: the record's contracts, the EIP-1967 slot, the block a
 * contract was deployed in, and `eth_getLogs` in pages. Pure: no Hardhat.
 */

/** `bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)`. */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
/** OpenZeppelin 5's `Initializable` storage: `keccak256(abi.encode(uint256(keccak256("openzeppelin.storage.Initializable")) - 1)) & ~bytes32(uint256(0xff))`. */
export const INITIALIZABLE_SLOT = "0xf0c57e16840df040f15088dc2f81fe391c3923bec73e23a9662efc9c229c6a00";
/** `_initialized` once `_disableInitializers()` ran: no initializer or reinitializer can run again. */
export const INITIALIZERS_DISABLED = (1n << 64n) - 1n;

/** A contract of the deployment record. */
export interface KnownContract {
  name: string;
  /** Checksummed: the proxy for upgradeable contracts. */
  address: string;
  proxy: boolean;
}

/** The record's contracts, in the record's (sorted) order, and their names by address. */
export interface Known {
  contracts: KnownContract[];
  proxies: KnownContract[];
  names: Map<string, string>;
}

export function knownContracts(record: DeploymentRecord): Known {
  const contracts = Object.entries(record.contracts).map(([name, entry]) =>
    "proxy" in entry
      ? { name, address: getAddress(entry.proxy), proxy: true }
      : { name, address: getAddress(entry.address), proxy: false },
  );
  return { contracts, proxies: contracts.filter((c) => c.proxy), names: namesByAddress(record) };
}

/** The record's name of `address`, or the address itself. */
export function label(known: Known, address: string): string {
  return known.names.get(address.toLowerCase()) ?? getAddress(address);
}

/** The implementation in `proxy`'s EIP-1967 slot at `block` (the zero address when the slot is empty). */
export async function implementationOf(provider: Provider, proxy: string, block: number): Promise<string> {
  const word = await provider.getStorage(proxy, IMPLEMENTATION_SLOT, block);
  return getAddress(`0x${word.slice(-40)}`);
}

/** `_initialized` of OpenZeppelin 5's `Initializable` at `address`. */
export async function initializedVersion(provider: Provider, address: string, block: number): Promise<bigint> {
  const word = await provider.getStorage(address, INITIALIZABLE_SLOT, block);
  return BigInt(word) & INITIALIZERS_DISABLED;
}

/**
 * The first block at which `address` has code, searched between 0 and `block` (where it has
 * code). Nodes that cannot answer for old blocks (a fork's history before the fork) make the
 * search start later, never miss: an error counts as "no code yet" only below the answer.
 */
export async function deploymentBlock(provider: Provider, address: string, block: number): Promise<number> {
  let low = 0;
  let high = block;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    let code: string;
    try {
      code = await provider.getCode(address, middle);
    } catch {
      code = "0x";
    }
    if (code === "0x") low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Blocks per `eth_getLogs` first asked for; a range the node refuses is read in halves. */
export const LOG_RANGE = 10_000;

/** Every log matching `filter` between `from` and `to`, oldest first, in pages of `LOG_RANGE` blocks. */
export async function pagedLogs(
  provider: Provider,
  filter: Omit<Filter, "fromBlock" | "toBlock">,
  from: number,
  to: number,
): Promise<Log[]> {
  const logs: Log[] = [];
  const read = async (start: number, end: number): Promise<void> => {
    try {
      logs.push(...(await provider.getLogs({ ...filter, fromBlock: start, toBlock: end })));
    } catch (error) {
      if (start === end) throw new Error(`eth_getLogs for block ${start} failed: ${errorMessage(error)}`);
      const middle = start + Math.floor((end - start) / 2);
      await read(start, middle);
      await read(middle + 1, end);
    }
  };
  for (let start = from; start <= to; start += LOG_RANGE) await read(start, Math.min(start + LOG_RANGE - 1, to));
  return logs;
}

/**
 * Installs Multicall3 where the provider can (a development chain) so that state is read in pages
 * of calls; returns whether it answers. A provider without `send` reads call by call.
 */
export async function multicallAvailable(provider: Provider): Promise<boolean> {
  const send = (provider as Partial<DevChainProvider>).send;
  if (typeof send !== "function") return false;
  try {
    await ensureMulticall3(provider as unknown as DevChainProvider, { devChain: true });
    return true;
  } catch {
    return false;
  }
}

/** The proposal's expected upgrade of `proxy`, if it upgrades it. */
export function expectedUpgradeOf(proposal: ProposalFile, proxy: string) {
  return proposal.upgrades.find((upgrade) => upgrade.proxy.toLowerCase() === proxy.toLowerCase());
}

import { getAddress, isAddress, type Provider } from "ethers";
import type { DeploymentRecord } from "../../deployments.js";
import type { ExpectedUpgrade } from "../types.js";

/** Bad input for `upgrade:propose`, found before anything is deployed or written; says what to do. */
export class ProposalInputError extends Error {
  override name = "ProposalInputError";
}

/** One call the timelock makes, as the Governor's `propose` takes it. */
export interface ActionCall {
  target: string;
  value: bigint;
  data: string;
}

/**
 * Deploys the implementation a proxy is to be upgraded to, validated against the one it runs
 * (hardhat-upgrades `prepareUpgrade`, which deploys a given implementation only once).
 */
export interface ImplementationPreparer {
  /**
   * Returns the address of a validated `contractName` implementation for `proxy`. `current` lists
   * the artifacts the proxy may run now (newest first), for a proxy the plugin has not seen yet.
   */
  prepareUpgrade(proxy: string, contractName: string, current: readonly string[]): Promise<string>;
}

/** What the action builders read from: the chain (no writes), its deployment record, the preparer. */
export interface ActionContext {
  provider: Provider;
  chainId: number;
  record: DeploymentRecord;
  /** Needed by the actions that upgrade (`upgrade`, `cutover`). */
  preparer?: ImplementationPreparer;
}

/** What the actions produce together. */
export interface ActionOutput {
  calls: ActionCall[];
  upgrades: ExpectedUpgrade[];
  /** Things a reviewer should know that do not stop the proposal (a contract already paused…). */
  warnings: string[];
}

/** The address recorded as `name` (a proxy's address for upgradeable contracts), or undefined. */
export function recordedAddress(record: DeploymentRecord, name: string): string | undefined {
  const entry = record.contracts[name];
  if (entry === undefined) return undefined;
  return getAddress("proxy" in entry ? entry.proxy : entry.address);
}

/** The address recorded as `name`; refuses a name the record does not hold, listing the names it does. */
export function requireRecorded(record: DeploymentRecord, name: string, purpose: string): string {
  const address = recordedAddress(record, name);
  if (address === undefined) {
    const known = Object.keys(record.contracts);
    throw new ProposalInputError(
      `${purpose} needs "${name}", which deployments/${record.chainId}.json does not record (it records: ${
        known.length === 0 ? "nothing" : known.join(", ")
      }). Deploy it first, or check the name.`,
    );
  }
  return address;
}

/** The record name of `address` (proxy or plain address), or undefined when the record does not hold it. */
export function nameOf(record: DeploymentRecord, address: string): string | undefined {
  const wanted = address.toLowerCase();
  for (const [name, entry] of Object.entries(record.contracts)) {
    const recorded = "proxy" in entry ? entry.proxy : entry.address;
    if (recorded.toLowerCase() === wanted) return name;
  }
  return undefined;
}

/** An address, or the record name of one. */
export function resolveTarget(record: DeploymentRecord, target: string, where: string): string {
  if (isAddress(target)) return getAddress(target);
  if (/^0x/i.test(target)) throw new ProposalInputError(`${where}: "${target}" is not a valid address.`);
  return requireRecorded(record, target, where);
}

/** An `--operator`-style option that must be an address. */
export function requireAddress(value: string | undefined, option: string, purpose: string): string {
  if (value === undefined || value === "") throw new ProposalInputError(`${purpose} needs ${option} <address>.`);
  if (!isAddress(value)) throw new ProposalInputError(`${option} "${value}" is not an address.`);
  return getAddress(value);
}

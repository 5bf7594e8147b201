import {
  EventFragment,
  FunctionFragment,
  Interface,
  ZeroHash,
  getAddress,
  id,
  type InterfaceAbi,
  type Log,
  type Result,
} from "ethers";
import {
  FabstirGovernor__factory,
  FabstirTimelock__factory,
  FabstirVotes__factory,
  JobMarketplaceV1Adapter__factory,
  JobMarketplaceV1__factory,
  JobMarketplaceV2__factory,
  NodeRegistryV1Adapter__factory,
  NodeRegistryV1_1__factory,
  NodeRegistryV1__factory,
  NodeRegistryV2__factory,
  PaymentEscrowV1Adapter__factory,
  PaymentEscrowV1_1__factory,
  PaymentEscrowV1__factory,
  PaymentEscrowV2__factory,
  TestUSDC__factory,
} from "../../typechain-types/index.js";
import type { DeploymentRecord } from "../deployments.js";

/**
 * What the governance tools decode with: the project's role ids by name, the ABI of every
 * contract the toolkit deploys (by artifact name) and the addresses of a deployment record by
 * name. Shared by the proposal builder (decoding calls) and the simulation's checks (decoding
 * events and naming accounts). Pure: no Hardhat.
 */

// ---------------------------------------------------------------- roles

/** Every role the project's contracts and OpenZeppelin's timelock define. */
export const ROLE_NAMES = [
  "DEFAULT_ADMIN_ROLE",
  "UPGRADER_ROLE",
  "PAUSER_ROLE",
  "MIGRATOR_ROLE",
  "ADAPTER_ROLE",
  "SLASHER_ROLE",
  "REPUTATION_ROLE",
  "MARKETPLACE_ROLE",
  "PROPOSER_ROLE",
  "EXECUTOR_ROLE",
  "CANCELLER_ROLE",
] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** A role's id: `keccak256(name)`, except `DEFAULT_ADMIN_ROLE`, which AccessControl fixes at zero. */
export function roleId(name: RoleName): string {
  return name === "DEFAULT_ADMIN_ROLE" ? ZeroHash : id(name);
}

const ROLE_BY_ID = new Map<string, RoleName>(ROLE_NAMES.map((name) => [roleId(name), name]));

/** The role's name, or its id when no known name hashes to it. */
export function roleName(role: string): string {
  return ROLE_BY_ID.get(role.toLowerCase()) ?? role;
}

/** The roles that govern a proxy: whoever holds one can upgrade, pause or grant anything. */
export const GOVERNING_ROLES = ["DEFAULT_ADMIN_ROLE", "UPGRADER_ROLE", "PAUSER_ROLE"] as const satisfies RoleName[];

// ---------------------------------------------------------------- ABIs

/** The ABI of every contract the toolkit deploys, by artifact name. */
export const CONTRACT_ABIS: Readonly<Record<string, InterfaceAbi>> = {
  FabstirGovernor: FabstirGovernor__factory.abi,
  FabstirTimelock: FabstirTimelock__factory.abi,
  FabstirVotes: FabstirVotes__factory.abi,
  NodeRegistryV1: NodeRegistryV1__factory.abi,
  PaymentEscrowV1: PaymentEscrowV1__factory.abi,
  JobMarketplaceV1: JobMarketplaceV1__factory.abi,
  NodeRegistryV1_1: NodeRegistryV1_1__factory.abi,
  PaymentEscrowV1_1: PaymentEscrowV1_1__factory.abi,
  NodeRegistryV2: NodeRegistryV2__factory.abi,
  PaymentEscrowV2: PaymentEscrowV2__factory.abi,
  JobMarketplaceV2: JobMarketplaceV2__factory.abi,
  NodeRegistryV1Adapter: NodeRegistryV1Adapter__factory.abi,
  PaymentEscrowV1Adapter: PaymentEscrowV1Adapter__factory.abi,
  JobMarketplaceV1Adapter: JobMarketplaceV1Adapter__factory.abi,
  TestUSDC: TestUSDC__factory.abi,
};

const interfaces = new Map<string, Interface>();

/** The interface of artifact `name`, or undefined when the toolkit does not know it. */
export function contractInterface(name: string): Interface | undefined {
  const abi = CONTRACT_ABIS[name];
  if (abi === undefined) return undefined;
  let iface = interfaces.get(name);
  if (iface === undefined) {
    iface = new Interface(abi);
    interfaces.set(name, iface);
  }
  return iface;
}

/** Every artifact with a known ABI, in a fixed order (for decoding a call whose contract is unknown). */
export const KNOWN_ARTIFACTS: readonly string[] = Object.keys(CONTRACT_ABIS);

/** An ABI function entry as the compiler writes it (ethers drops `internalType`, the Safe format keeps it). */
export interface AbiFunctionJson {
  type: string;
  name?: string;
  stateMutability?: string;
  inputs?: readonly { name: string; type: string; internalType?: string; components?: unknown }[];
}

/** The compiler's ABI entry of `signature` (`grantRole(bytes32,address)`) in `artifact`, if it has one. */
export function functionJson(artifact: string, signature: string): AbiFunctionJson | undefined {
  const abi = CONTRACT_ABIS[artifact] as readonly AbiFunctionJson[] | undefined;
  return abi?.find(
    (entry) => entry.type === "function" && FunctionFragment.from(entry).format("sighash") === signature,
  );
}

/**
 * The artifacts that may run behind the proxy recorded as `recordName`, newest first: a V1 proxy
 * keeps its record name while it is upgraded to V1.1 and then to its adapter.
 */
export function artifactsBehind(recordName: string): string[] {
  const base = /^(.*)V1$/.exec(recordName)?.[1];
  if (base === undefined) return CONTRACT_ABIS[recordName] === undefined ? [] : [recordName];
  return [`${base}V1Adapter`, `${base}V1_1`, recordName].filter((name) => CONTRACT_ABIS[name] !== undefined);
}

/** Every known event by topic0, deduplicated by full signature (the same event in many ABIs is one). */
function eventsByTopic(): Map<string, EventFragment[]> {
  const byTopic = new Map<string, EventFragment[]>();
  const seen = new Set<string>();
  for (const name of Object.keys(CONTRACT_ABIS)) {
    contractInterface(name)!.forEachEvent((event) => {
      // Indexing changes how a log decodes: `Transfer` of an ERC-20 and of an ERC-721 differ there.
      const key = event.format("full");
      if (event.anonymous || seen.has(key)) return;
      seen.add(key);
      const list = byTopic.get(event.topicHash) ?? [];
      list.push(event);
      byTopic.set(event.topicHash, list);
    });
  }
  return byTopic;
}

let knownEvents: Map<string, EventFragment[]> | undefined;

/** A log decoded with a known event: its signature and its arguments by name, JSON-safe. */
export interface DecodedLog {
  signature: string;
  name: string;
  args: Record<string, unknown>;
}

/** Decodes `log` with the first known event of its topic whose layout fits, or returns undefined. */
export function decodeLog(log: Pick<Log, "topics" | "data">): DecodedLog | undefined {
  knownEvents ??= eventsByTopic();
  const topic0 = log.topics[0];
  if (topic0 === undefined) return undefined;
  for (const event of knownEvents.get(topic0.toLowerCase()) ?? []) {
    const iface = new Interface([event]);
    try {
      const decoded = iface.decodeEventLog(event, log.data, log.topics);
      return { signature: event.format("sighash"), name: event.name, args: namedArgs(decoded) };
    } catch {
      // Another layout of the same signature may fit.
    }
  }
  return undefined;
}

/**
 * An ethers `Result` as a plain JSON-safe object: named fields by name (positional when
 * unnamed), integers as decimal strings, addresses checksummed, nested tuples and arrays alike.
 */
export function namedArgs(result: Result): Record<string, unknown> {
  const names = resultNames(result);
  const out: Record<string, unknown> = {};
  result.forEach((value, i) => {
    out[names[i] ?? String(i)] = jsonSafe(value);
  });
  return out;
}

function resultNames(result: Result): (string | null)[] {
  // A Result knows its keys only through toObject's view; read them without throwing on duplicates.
  try {
    const keys = Object.keys(result.toObject(false));
    return keys.length === result.length ? keys : result.map(() => null);
  } catch {
    return result.map(() => null);
  }
}

/** A decoded ABI value as JSON: bigints as decimal strings, Results as objects or arrays. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) {
    const result = value as Result;
    const names = typeof result.toObject === "function" ? resultNames(result) : [];
    if (names.length > 0 && names.every((name) => name !== null && !/^\d+$/.test(name))) {
      return namedArgs(result);
    }
    return value.map(jsonSafe);
  }
  return value;
}

// ---------------------------------------------------------------- the record's names

/** The record's names by address (lowercase): a proxy's name for its proxy address. */
export function namesByAddress(record: DeploymentRecord): Map<string, string> {
  const names = new Map<string, string>();
  for (const [name, entry] of Object.entries(record.contracts)) {
    const address = "proxy" in entry ? entry.proxy : entry.address;
    names.set(address.toLowerCase(), name);
  }
  return names;
}

/** `address` by its record name, or checksummed when the record does not name it. */
export function nameOf(address: string, names: ReadonlyMap<string, string>): string {
  return names.get(address.toLowerCase()) ?? getAddress(address);
}

import { FunctionFragment, Interface, ZeroHash, id, type InterfaceAbi } from "ethers";
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

/**
 * What the proposal tools know about the project's contracts without a Hardhat runtime: their
 * ABIs (from the typechain factories), which implementations a proxy goes through, and the names
 * of the role ids they use.
 */

const ABIS: Readonly<Record<string, InterfaceAbi>> = {
  NodeRegistryV1: NodeRegistryV1__factory.abi,
  PaymentEscrowV1: PaymentEscrowV1__factory.abi,
  JobMarketplaceV1: JobMarketplaceV1__factory.abi,
  NodeRegistryV1_1: NodeRegistryV1_1__factory.abi,
  PaymentEscrowV1_1: PaymentEscrowV1_1__factory.abi,
  NodeRegistryV1Adapter: NodeRegistryV1Adapter__factory.abi,
  PaymentEscrowV1Adapter: PaymentEscrowV1Adapter__factory.abi,
  JobMarketplaceV1Adapter: JobMarketplaceV1Adapter__factory.abi,
  NodeRegistryV2: NodeRegistryV2__factory.abi,
  PaymentEscrowV2: PaymentEscrowV2__factory.abi,
  JobMarketplaceV2: JobMarketplaceV2__factory.abi,
  FabstirGovernor: FabstirGovernor__factory.abi,
  FabstirTimelock: FabstirTimelock__factory.abi,
  FabstirVotes: FabstirVotes__factory.abi,
  TestUSDC: TestUSDC__factory.abi,
};

const interfaces = new Map<string, Interface>();

/** The ABI of a project artifact by name, or undefined for a contract the tools do not know. */
export function interfaceOf(artifact: string): Interface | undefined {
  const abi = ABIS[artifact];
  if (abi === undefined) return undefined;
  let known = interfaces.get(artifact);
  if (known === undefined) {
    known = new Interface(abi);
    interfaces.set(artifact, known);
  }
  return known;
}

/** An ABI function entry as the compiler writes it (ethers drops `internalType`, the Safe format keeps it). */
export interface AbiFunctionJson {
  type: string;
  name?: string;
  stateMutability?: string;
  inputs?: readonly { name: string; type: string; internalType?: string; components?: unknown }[];
}

/** The compiler's ABI entry of `signature` (`grantRole(bytes32,address)`) in `artifact`, if it has one. */
export function functionJson(artifact: string, signature: string): AbiFunctionJson | undefined {
  const abi = ABIS[artifact] as readonly AbiFunctionJson[] | undefined;
  const found = abi?.find(
    (entry) => entry.type === "function" && FunctionFragment.from(entry).format("sighash") === signature,
  );
  return found;
}

/** Every artifact with a known ABI, in a fixed order (for decoding a call whose contract is unknown). */
export const KNOWN_ARTIFACTS: readonly string[] = Object.keys(ABIS);

/**
 * The artifacts that may run behind the proxy recorded as `recordName`, newest first: a V1 proxy
 * keeps its record name while it is upgraded to V1.1 and then to its adapter.
 */
export function artifactsBehind(recordName: string): string[] {
  const base = /^(.*)V1$/.exec(recordName)?.[1];
  if (base === undefined) return ABIS[recordName] === undefined ? [] : [recordName];
  return [`${base}V1Adapter`, `${base}V1_1`, recordName].filter((name) => ABIS[name] !== undefined);
}

const ROLE_LABELS = [
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

const ROLES = new Map<string, string>([
  [ZeroHash, "DEFAULT_ADMIN_ROLE"],
  ...ROLE_LABELS.map((label): [string, string] => [id(label), label]),
]);

/** `MIGRATOR_ROLE` for `keccak256("MIGRATOR_ROLE")` and so on; undefined for an id the project does not use. */
export function roleName(roleId: string): string | undefined {
  return ROLES.get(roleId.toLowerCase());
}

/** The id of a role by name (`DEFAULT_ADMIN_ROLE` is zero, the others `keccak256(name)`). */
export function roleId(name: string): string {
  return name === "DEFAULT_ADMIN_ROLE" ? ZeroHash : id(name);
}

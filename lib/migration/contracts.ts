import { getAddress, isAddress, type ContractRunner, type Provider } from "ethers";
import {
  JobMarketplaceV1__factory,
  JobMarketplaceV2__factory,
  NodeRegistryV1_1__factory,
  NodeRegistryV2__factory,
  PaymentEscrowV1_1__factory,
  PaymentEscrowV2__factory,
  type JobMarketplaceV1,
  type JobMarketplaceV2,
  type NodeRegistryV1_1,
  type NodeRegistryV2,
  type PaymentEscrowV1_1,
  type PaymentEscrowV2,
} from "../../typechain-types/index.js";
import type { DeploymentRecord } from "../deployments.js";

/**
 * The six proxies a migration touches, found in the deployment record (or given by option) and
 * checked before anything is sent: each address has code, answers `version()` with what its
 * generation says, and the chain is the one expected.
 */

/** The record names (deployments/<chainId>.json) of the six proxies, which are also the option keys. */
export const CONTRACT_NAMES = [
  "NodeRegistryV1",
  "PaymentEscrowV1",
  "JobMarketplaceV1",
  "NodeRegistryV2",
  "PaymentEscrowV2",
  "JobMarketplaceV2",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

/** `version()` of V1's registry and escrow before the migration opens, and after (V1.1). */
export const V1_VERSION = "1.0.0";
export const V1_1_VERSION = "1.1.0";
export const V2_VERSION = "2.0.0";

/** Bad input found before the first transaction: the message says what is wrong and what to do. */
export class MigrationInputError extends Error {
  override name = "MigrationInputError";
}

export interface MigrationContracts {
  chainId: number;
  /**
   * V1's proxies. The registry and escrow are typed as V1.1 (their V1 functions are the same);
   * their migration functions exist only once `opened` is true.
   */
  v1: { registry: NodeRegistryV1_1; escrow: PaymentEscrowV1_1; marketplace: JobMarketplaceV1 };
  v2: { registry: NodeRegistryV2; escrow: PaymentEscrowV2; marketplace: JobMarketplaceV2 };
  addresses: Record<ContractName, string>;
  /** V1's registry and escrow run V1.1: the migration is open on the V1 side. */
  opened: boolean;
}

export interface ResolveOptions {
  /** The chain id the operator expects (a snapshot's, a network's); undefined accepts any. */
  expectedChainId?: number;
  /** The chain's deployment record, if there is one. */
  record?: DeploymentRecord;
  /** Addresses given by option: they win over the record. */
  overrides?: Partial<Record<ContractName, string | undefined>>;
  /** Refuse a V1 whose registry and escrow are not V1.1 yet (the copy steps need it). */
  requireOpened?: boolean;
}

function addressIn(record: DeploymentRecord | undefined, name: ContractName): string | undefined {
  const entry = record?.contracts[name];
  if (entry === undefined) return undefined;
  return "proxy" in entry ? entry.proxy : entry.address;
}

async function versionOf(provider: Provider, address: string): Promise<string | undefined> {
  // `version()` is the same selector on every generation; any reader decodes it.
  try {
    return await NodeRegistryV2__factory.connect(address, provider).version();
  } catch {
    return undefined;
  }
}

/**
 * Finds and checks the six proxies. `runner` is what the returned contracts send with (a signer
 * connected to the provider, or the provider itself for read-only steps).
 */
export async function resolveContracts(
  provider: Provider,
  runner: ContractRunner,
  options: ResolveOptions = {},
): Promise<MigrationContracts> {
  const chainId = Number((await provider.getNetwork()).chainId);
  if (options.expectedChainId !== undefined && options.expectedChainId !== chainId) {
    throw new MigrationInputError(
      `The node is on chain ${chainId}, but chain ${options.expectedChainId} was expected: pick the right --network (or RPC URL).`,
    );
  }
  if (options.record !== undefined && options.record.chainId !== chainId) {
    throw new MigrationInputError(
      `The deployment record is for chain ${options.record.chainId}, but the node is on chain ${chainId}.`,
    );
  }
  const addresses = {} as Record<ContractName, string>;
  for (const name of CONTRACT_NAMES) {
    const given = options.overrides?.[name];
    const address = given !== undefined && given !== "" ? given : addressIn(options.record, name);
    if (address === undefined) {
      throw new MigrationInputError(
        `No address for ${name} on chain ${chainId}: deploy it (deployments/${chainId}.json records it) or pass its address by option.`,
      );
    }
    if (!isAddress(address)) throw new MigrationInputError(`${name}: "${address}" is not an address.`);
    addresses[name] = getAddress(address);
  }

  const versions = {} as Record<ContractName, string>;
  for (const name of CONTRACT_NAMES) {
    const address = addresses[name];
    if ((await provider.getCode(address)) === "0x") {
      throw new MigrationInputError(
        `${name} at ${address} has no code on chain ${chainId}: wrong address or wrong network.`,
      );
    }
    const version = await versionOf(provider, address);
    if (version === undefined) {
      throw new MigrationInputError(
        `${name} at ${address} does not answer version(): it is not a Fabstir contract; check the address.`,
      );
    }
    versions[name] = version;
  }
  const expect = (name: ContractName, allowed: readonly string[], hint: string) => {
    if (!allowed.includes(versions[name])) {
      throw new MigrationInputError(
        `${name} at ${addresses[name]} reports version ${versions[name]}, expected ${allowed.join(" or ")}: ${hint}`,
      );
    }
  };
  const v1Hint = "is this V1's proxy? (the V1 stack reports 1.0.0, or 1.1.0 once the migration is open)";
  expect("NodeRegistryV1", [V1_VERSION, V1_1_VERSION], v1Hint);
  expect("PaymentEscrowV1", [V1_VERSION, V1_1_VERSION], v1Hint);
  expect("JobMarketplaceV1", [V1_VERSION], v1Hint);
  for (const name of ["NodeRegistryV2", "PaymentEscrowV2", "JobMarketplaceV2"] as const) {
    expect(name, [V2_VERSION], "is this the V2 proxy?");
  }
  // The two V1.1 contracts go together: one upgraded without the other is a half-open migration.
  const opened = versions.NodeRegistryV1 === V1_1_VERSION && versions.PaymentEscrowV1 === V1_1_VERSION;
  if (versions.NodeRegistryV1 !== versions.PaymentEscrowV1) {
    throw new MigrationInputError(
      `V1's registry is ${versions.NodeRegistryV1} but its escrow is ${versions.PaymentEscrowV1}: finish opening the migration (upgrade both to V1.1).`,
    );
  }
  if (options.requireOpened === true && !opened) {
    throw new MigrationInputError(
      "The migration is not open: V1's registry and escrow still run 1.0.0. Governance must pause V1 and upgrade both to V1.1 pointed at V2 first.",
    );
  }
  const v1 = {
    registry: NodeRegistryV1_1__factory.connect(addresses.NodeRegistryV1, runner),
    escrow: PaymentEscrowV1_1__factory.connect(addresses.PaymentEscrowV1, runner),
    marketplace: JobMarketplaceV1__factory.connect(addresses.JobMarketplaceV1, runner),
  };
  if (opened) {
    // V1.1 must point at these V2 contracts, or batches would go elsewhere.
    const targets = [
      [await v1.registry.migrationTarget(), addresses.NodeRegistryV2, "NodeRegistryV1"],
      [await v1.escrow.migrationTarget(), addresses.PaymentEscrowV2, "PaymentEscrowV1"],
    ] as const;
    for (const [target, expected, name] of targets) {
      if (getAddress(target) !== expected) {
        throw new MigrationInputError(
          `${name} (V1.1) migrates to ${target}, not to the V2 contract ${expected}: check the V2 addresses.`,
        );
      }
    }
  }
  return {
    chainId,
    v1,
    v2: {
      registry: NodeRegistryV2__factory.connect(addresses.NodeRegistryV2, runner),
      escrow: PaymentEscrowV2__factory.connect(addresses.PaymentEscrowV2, runner),
      marketplace: JobMarketplaceV2__factory.connect(addresses.JobMarketplaceV2, runner),
    },
    addresses,
    opened,
  };
}

import type { RoleName } from "../abis.js";

/**
 * The migration's governance steps as data, shared by the proposal builders (which encode them
 * for the timelock) and the deploy modules (which send them directly on development chains):
 * deploy/v1-1.ts and deploy/cutover.ts read the same lists, so both paths do the same thing.
 * Contracts and accounts are named as in the deployment record.
 */

/** The contracts of each generation, by base name, in the order every step handles them. */
export const MIGRATED_CONTRACTS = ["NodeRegistry", "PaymentEscrow", "JobMarketplace"] as const;

/** The V1 proxies (record names), in the order they are paused and cut over. */
export const V1_PROXIES = ["NodeRegistryV1", "PaymentEscrowV1", "JobMarketplaceV1"] as const;

/** A proxy (record name) and the artifact it is upgraded to. */
export interface PlannedUpgrade {
  record: string;
  artifact: string;
}

/** Opening the migration: V1's registry and escrow run V1.1 (the marketplace's history is imported, not pushed). */
export const OPEN_MIGRATION_UPGRADES: readonly PlannedUpgrade[] = [
  { record: "NodeRegistryV1", artifact: "NodeRegistryV1_1" },
  { record: "PaymentEscrowV1", artifact: "PaymentEscrowV1_1" },
];

/** The cut-over: every V1 proxy runs its generated adapter. */
export const CUTOVER_UPGRADES: readonly PlannedUpgrade[] = MIGRATED_CONTRACTS.map((base) => ({
  record: `${base}V1`,
  artifact: `${base}V1Adapter`,
}));

/** The call an implementation of the migration is installed with, and the V2 proxy it points at. */
export interface KnownUpgradeCall {
  fn: "initializeMigration" | "initializeAdapter";
  /** The record name of the V2 proxy passed as the only argument. */
  target: string;
}

/**
 * `*V1_1` → `initializeMigration(<V2 proxy>)`, `*V1Adapter` → `initializeAdapter(<V2 proxy>)`;
 * undefined for any other artifact (installed with a plain `upgradeToAndCall(impl, "0x")`).
 */
export function knownUpgradeCall(artifact: string): KnownUpgradeCall | undefined {
  const migrating = /^(.+)V1_1$/.exec(artifact)?.[1];
  if (migrating !== undefined) return { fn: "initializeMigration", target: `${migrating}V2` };
  const adapter = /^(.+)V1Adapter$/.exec(artifact)?.[1];
  if (adapter !== undefined) return { fn: "initializeAdapter", target: `${adapter}V2` };
  return undefined;
}

/** `role` granted on `contract` to `account` (a record name, or an address given by the operator). */
export interface RoleGrant {
  contract: string;
  role: RoleName;
  account: string;
}

/**
 * The grants that let the V1.1 proxies push into V2 and the operator drive them: V2's registry
 * and escrow trust their V1.1 proxy, the V1.1 registry and escrow trust the operator.
 */
export function v1_1MigratorGrants(operator: string): RoleGrant[] {
  return [
    { contract: "NodeRegistryV2", role: "MIGRATOR_ROLE", account: "NodeRegistryV1" },
    { contract: "PaymentEscrowV2", role: "MIGRATOR_ROLE", account: "PaymentEscrowV1" },
    { contract: "NodeRegistryV1", role: "MIGRATOR_ROLE", account: operator },
    { contract: "PaymentEscrowV1", role: "MIGRATOR_ROLE", account: operator },
  ];
}

/**
 * The operator imports V1's finished jobs into the V2 marketplace itself (`importHistoricalJobs`).
 * Not part of `v1_1MigratorGrants`: on development chains the operator is V2's migrator from its
 * deployment.
 */
export function operatorMarketplaceGrant(operator: string): RoleGrant {
  return { contract: "JobMarketplaceV2", role: "MIGRATOR_ROLE", account: operator };
}

/**
 * Before the cut-over upgrades: each V2 contract trusts its V1 proxy as an adapter, and the V2
 * registry also trusts the V1 marketplace proxy (it sets a host's price for a V1 claim).
 */
export function cutoverAdapterGrants(): RoleGrant[] {
  return [
    ...MIGRATED_CONTRACTS.map((base) => ({
      contract: `${base}V2`,
      role: "ADAPTER_ROLE" as const,
      account: `${base}V1`,
    })),
    { contract: "NodeRegistryV2", role: "ADAPTER_ROLE", account: "JobMarketplaceV1" },
  ];
}

/**
 * Who may call each state-changing function, per contract. The access test derives the list of
 * state-changing functions from each ABI and fails when one has no entry here, so a new
 * function cannot ship without someone deciding who may call it.
 *
 * - "anyone": no role is checked (the function may still validate its inputs or the caller's
 *   own records);
 * - "initializer": callable once, at deployment through the proxy; nobody afterwards;
 * - a list of role names: holders of any of those roles, nobody else.
 */
export type Access = "anyone" | "initializer" | readonly string[];

const GOVERNED: Record<string, Access> = {
  "grantRole(bytes32,address)": ["DEFAULT_ADMIN_ROLE"],
  "revokeRole(bytes32,address)": ["DEFAULT_ADMIN_ROLE"],
  // Only ever affects the caller's own roles.
  "renounceRole(bytes32,address)": "anyone",
  "pause()": ["PAUSER_ROLE"],
  "unpause()": ["PAUSER_ROLE"],
  "upgradeToAndCall(address,bytes)": ["UPGRADER_ROLE"],
};

/** What every V2 contract adds through MigrationLifecycle. */
const MIGRATION_WINDOW: Record<string, Access> = {
  "finalizeMigration(bytes32,uint256,address[],uint256[])": ["MIGRATOR_ROLE"],
};

const GENERATIONS = {
  NodeRegistryV1: {
    ...GOVERNED,
    "initialize(address,address,uint256,uint256)": "initializer",
    "registerNode(string,string[],string)": "anyone",
    "addStake()": "anyone",
    "updateModels(string[])": "anyone",
    "updateRegion(string)": "anyone",
    "requestUnstake()": "anyone",
    "cancelUnstake()": "anyone",
    "withdrawStake()": "anyone",
    "slash(address,uint256,string)": ["SLASHER_ROLE"],
    "increaseReputation(address,uint256)": ["REPUTATION_ROLE"],
    "decreaseReputation(address,uint256)": ["REPUTATION_ROLE"],
    "setMinimumStake(uint256)": ["DEFAULT_ADMIN_ROLE"],
    "setUnstakeCooldown(uint256)": ["DEFAULT_ADMIN_ROLE"],
    "setTreasury(address)": ["DEFAULT_ADMIN_ROLE"],
  },
  PaymentEscrowV1: {
    ...GOVERNED,
    "initialize(address,address,uint256)": "initializer",
    "deposit(address,uint256)": "anyone",
    "withdraw(address,uint256)": "anyone",
    "lockForJob(uint256,address,address,uint256)": ["MARKETPLACE_ROLE"],
    "releaseToHost(uint256,address)": ["MARKETPLACE_ROLE"],
    "refund(uint256)": ["MARKETPLACE_ROLE"],
    "setTokenAllowed(address,bool)": ["DEFAULT_ADMIN_ROLE"],
    "setFeeBps(uint256)": ["DEFAULT_ADMIN_ROLE"],
    "setTreasury(address)": ["DEFAULT_ADMIN_ROLE"],
  },
  JobMarketplaceV1: {
    ...GOVERNED,
    "initialize(address,address,address)": "initializer",
    "postJob(string,bytes32,uint256,uint256,address)": "anyone",
    "claimJob(uint256)": "anyone",
    "completeJob(uint256,bytes32)": "anyone",
    "cancelJob(uint256)": "anyone",
    "expireJob(uint256)": "anyone",
    "setRewards(uint256,uint256)": ["DEFAULT_ADMIN_ROLE"],
  },
  NodeRegistryV2: {
    ...GOVERNED,
    ...MIGRATION_WINDOW,
    "initialize(address,address,address,uint256,uint256)": "initializer",
    // The model name registry is permissionless: an id is the hash of its name.
    "registerModel(string)": "anyone",
    "registerModels(string[])": "anyone",
    "registerNode(string,bytes32[],string)": "anyone",
    "addStake()": "anyone",
    "updateModels(bytes32[])": "anyone",
    "updateRegion(string)": "anyone",
    "setModelPrice(bytes32,uint256)": "anyone",
    "requestUnstake()": "anyone",
    "cancelUnstake()": "anyone",
    "withdrawStake()": "anyone",
    "slash(address,uint256,string)": ["SLASHER_ROLE"],
    "increaseReputation(address,uint256)": ["REPUTATION_ROLE"],
    "decreaseReputation(address,uint256)": ["REPUTATION_ROLE"],
    "setMinimumStake(uint256)": ["DEFAULT_ADMIN_ROLE"],
    "setUnstakeCooldown(uint256)": ["DEFAULT_ADMIN_ROLE"],
    "setTreasury(address)": ["DEFAULT_ADMIN_ROLE"],
    "batchMigrateNodes(uint256,(address,uint96,uint64,uint64,uint16,bool,string,string,bytes32[])[])": [
      "MIGRATOR_ROLE",
    ],
    "returnLastBatch()": ["MIGRATOR_ROLE"],
  },
  PaymentEscrowV2: {
    ...GOVERNED,
    ...MIGRATION_WINDOW,
    "initialize(address,address,address,uint256)": "initializer",
    "deposit(address,uint256)": "anyone",
    // The payer is the caller (its funds are pulled or sent); crediting another account takes nothing from anyone.
    "depositFor(address,address,uint256)": "anyone",
    "withdraw(address,uint256)": "anyone",
    "lockForJob(uint256,address,address,uint256)": ["MARKETPLACE_ROLE"],
    "settle(uint256,address,uint256)": ["MARKETPLACE_ROLE"],
    "refund(uint256)": ["MARKETPLACE_ROLE"],
    "setTokenAllowed(address,bool)": ["DEFAULT_ADMIN_ROLE"],
    "setFeeBps(uint256)": ["DEFAULT_ADMIN_ROLE"],
    "setTreasury(address)": ["DEFAULT_ADMIN_ROLE"],
    "migrateDeposit(address,address,uint256)": ["MIGRATOR_ROLE"],
    "batchMigrateDeposits(uint256,(address,address,uint256)[])": ["MIGRATOR_ROLE"],
    "returnLastBatch((address,address,uint256)[])": ["MIGRATOR_ROLE"],
    // Migration credits. The pool's funds come from the caller, like depositFor.
    "fundCreditPool(address,uint256)": "anyone",
    "withdrawCreditPool(address,uint256,address)": ["DEFAULT_ADMIN_ROLE"],
    "grantCredits(bytes32,address,address,uint256,uint64)": ["CREDITS_ROLE"],
    // Only moves expired credits, which no lock can use, back to the pool.
    "expireCredits(address,address)": "anyone",
  },
  JobMarketplaceV2: {
    ...GOVERNED,
    ...MIGRATION_WINDOW,
    "initialize(address,address,address,address)": "initializer",
    "postJob(bytes32,bytes32,address,uint256,uint256)": "anyone",
    "claimJob(uint256)": "anyone",
    "completeJob(uint256,bytes32,uint256)": "anyone",
    "cancelJob(uint256)": "anyone",
    "expireJob(uint256)": "anyone",
    "setRewards(uint256,uint256)": ["DEFAULT_ADMIN_ROLE"],
    "importHistoricalJobs(uint256,(uint256,address,address,address,uint256,bytes32,bytes32,bytes32,uint64,uint64,uint64,uint8)[])":
      ["MIGRATOR_ROLE"],
    "returnLastBatch()": ["MIGRATOR_ROLE"],
  },
} satisfies Record<string, Record<string, Access>>;

/** The V1.1 implementations keep V1's functions and add the V1 side of the migration. */
const V1_1_ADDITIONS = {
  // A reinitializer run once inside the upgrade transaction (by DEFAULT_ADMIN_ROLE); nobody afterwards.
  "initializeMigration(address)": "initializer",
} as const satisfies Record<string, Access>;

export const ACCESS_MATRIX: Record<string, Record<string, Access>> = {
  ...GENERATIONS,
  NodeRegistryV1_1: {
    ...GENERATIONS.NodeRegistryV1,
    ...V1_1_ADDITIONS,
    "migrateNodes(uint256,(address,uint96,uint64,uint64,uint16,bool,string,string,bytes32[])[])": ["MIGRATOR_ROLE"],
    "rollbackNodes()": ["MIGRATOR_ROLE"],
  },
  PaymentEscrowV1_1: {
    ...GENERATIONS.PaymentEscrowV1,
    ...V1_1_ADDITIONS,
    "migrateDeposits(uint256,uint256)": ["MIGRATOR_ROLE"],
    "rollbackDeposits((address,address,uint256)[])": ["MIGRATOR_ROLE"],
  },
};

/** Facts about the chains the toolkit knows by id. */

/** Base mainnet. */
export const BASE_CHAIN_ID = 8453;
/** Base Sepolia. */
export const BASE_SEPOLIA_CHAIN_ID = 84532;

/** Circle's USDC on chains where it is deployed; elsewhere a TestUSDC is deployed. */
export const USDC_BY_CHAIN: Readonly<Record<number, string>> = {
  [BASE_CHAIN_ID]: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
  [BASE_SEPOLIA_CHAIN_ID]: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
};

/** Chains holding real users' funds, where fixtures must never be seeded. */
export const PRODUCTION_CHAIN_IDS: ReadonlySet<number> = new Set([BASE_CHAIN_ID]);

import { BASE_CHAIN_ID, BASE_SEPOLIA_CHAIN_ID } from "../networks.js";

/**
 * Block explorers of the chains the toolkit migrates on, for transaction links. Local chains have
 * none: their transactions are shown by hash only.
 */
export const EXPLORERS: Readonly<Record<number, string>> = {
  [BASE_CHAIN_ID]: "https://basescan.org",
  [BASE_SEPOLIA_CHAIN_ID]: "https://sepolia.basescan.org",
  1: "https://etherscan.io",
  11155111: "https://sepolia.etherscan.io",
  10: "https://optimistic.etherscan.io",
};

/** The explorer of `chainId`, or null. */
export function explorerFor(chainId: number | null): string | null {
  return chainId === null ? null : (EXPLORERS[chainId] ?? null);
}

/** The explorer's page of a transaction, or null without an explorer or a well-formed hash. */
export function transactionUrl(explorer: string | null, txHash: string): string | null {
  if (explorer === null || !/^0x[0-9a-fA-F]{64}$/.test(txHash)) return null;
  return `${explorer}/tx/${txHash}`;
}

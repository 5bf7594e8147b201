import { BASE_CHAIN_ID, BASE_SEPOLIA_CHAIN_ID } from "../networks.js";

/** What an operator calls the chains the toolkit migrates on; other chains go by their config name. */
export const CHAIN_NAMES: Readonly<Record<number, string>> = {
  [BASE_CHAIN_ID]: "Base",
  [BASE_SEPOLIA_CHAIN_ID]: "Base Sepolia",
};

/** Hardhat 3's name for the network used when no --network is given. */
const DEFAULT_NETWORK = "default";

const squash = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * The network as the page shows it. Hardhat 3 names the network used without --network "default",
 * which says nothing: the in-process (EDR) chain is "hardhat (in-process, chain 31337)", a known
 * chain is called by its name ("Base (chain 8453)", with the config's name when it says more, as
 * in "Base (fork, in-process, chain 8453)"), any other by the config's name. `chainId` is null
 * when unknown (attach mode without --chain-id).
 */
export function networkLabel(network: {
  name: string | undefined;
  inProcess: boolean;
  chainId: number | null;
}): string {
  const { inProcess, chainId } = network;
  const configName = network.name === undefined || network.name === DEFAULT_NETWORK ? undefined : network.name;
  const known = chainId === null ? undefined : CHAIN_NAMES[chainId];
  const title = known ?? configName ?? (inProcess ? "hardhat" : chainId === null ? "unknown network" : undefined);
  const details = [
    ...(known !== undefined && configName !== undefined && squash(configName) !== squash(known) ? [configName] : []),
    ...(inProcess ? ["in-process"] : []),
    ...(chainId === null ? [] : [`chain ${chainId}`]),
  ];
  if (title === undefined) return details.join(", ");
  return details.length === 0 ? title : `${title} (${details.join(", ")})`;
}

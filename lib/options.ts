import { getAddress, isAddress } from "ethers";

/**
 * An optional address option: undefined when empty, checksummed when valid, otherwise an error
 * that names the option.
 */
export function parseAddressOption(name: string, value: string): string | undefined {
  if (value === "") return undefined;
  if (!isAddress(value)) throw new Error(`--${name} must be a 0x-prefixed 20-byte address (got "${value}").`);
  return getAddress(value);
}

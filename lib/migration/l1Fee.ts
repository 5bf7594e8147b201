import { Contract, toBeHex, toQuantity, zeroPadValue, type Provider } from "ethers";

/**
 * The OP-stack L1 data fee. On Base and other OP-stack chains every transaction also pays for
 * its bytes posted to L1; `eth_estimateGas` does not include that fee, the receipt reports it
 * as `l1Fee`, and the `GasPriceOracle` predeploy computes it in advance from the unsigned
 * serialized transaction (it adds the signature's size itself).
 */

export const GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F";
/** The predeploy holding the L1 fee parameters the oracle reads. */
export const L1_BLOCK = "0x4200000000000000000000000000000000000015";
/** L1Block's storage slot packing `sequenceNumber` (bits 0-63), `blobBaseFeeScalar` (64-95), `baseFeeScalar` (96-127). */
const L1_FEE_SCALARS_SLOT = 3n;

const ORACLE_ABI = ["function getL1Fee(bytes data) view returns (uint256)"];

/** Whether the chain is an OP-stack chain: the GasPriceOracle predeploy has code. */
export async function isOpStack(provider: Provider): Promise<boolean> {
  return (await provider.getCode(GAS_PRICE_ORACLE)) !== "0x";
}

/**
 * The L1 data fee, in wei, the chain charges for a transaction whose unsigned serialization is
 * `unsignedSerialized`; 0 on chains without the oracle.
 */
export async function l1DataFee(provider: Provider, unsignedSerialized: string): Promise<bigint> {
  if (!(await isOpStack(provider))) return 0n;
  const oracle = new Contract(GAS_PRICE_ORACLE, ORACLE_ABI, provider);
  return (await oracle.getFunction("getL1Fee")(unsignedSerialized)) as bigint;
}

/** The `l1Fee` of a raw JSON-RPC receipt (OP-stack chains add it), 0 when absent. */
export function receiptL1Fee(rawReceipt: unknown): bigint {
  const fee = (rawReceipt as { l1Fee?: unknown } | null)?.l1Fee;
  return typeof fee === "string" && fee !== "" ? BigInt(fee) : 0n;
}

export interface L1FeeScalars {
  baseFeeScalar: bigint;
  blobBaseFeeScalar: bigint;
}

/** Base mainnet's scalars (late 2026): realistic L1 fees on a development chain. */
export const BASE_L1_FEE_SCALARS: L1FeeScalars = { baseFeeScalar: 2_269n, blobBaseFeeScalar: 1_055_762n };

/**
 * Development chains only (`hardhat_setStorageAt`): writes the L1 fee scalars into L1Block.
 * Hardhat's simulated OP chain (EDR, `chainType: "op"`) starts with them outside the bits the
 * oracle and the fee calculation read, so every L1 fee is 0 there until this is called.
 */
export async function setL1FeeScalars(
  provider: Provider & { send(method: string, params: unknown[]): Promise<unknown> },
  scalars: L1FeeScalars = BASE_L1_FEE_SCALARS,
): Promise<void> {
  // Keep the sequence number in the low 64 bits; replace both scalars.
  const sequenceNumber = BigInt(await provider.getStorage(L1_BLOCK, L1_FEE_SCALARS_SLOT)) & ((1n << 64n) - 1n);
  const word = (scalars.baseFeeScalar << 96n) | (scalars.blobBaseFeeScalar << 64n) | sequenceNumber;
  await provider.send("hardhat_setStorageAt", [
    L1_BLOCK,
    toQuantity(L1_FEE_SCALARS_SLOT),
    zeroPadValue(toBeHex(word), 32),
  ]);
}

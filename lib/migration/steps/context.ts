import { Interface, type BaseContract, type Signer, type TransactionReceipt } from "ethers";
import {
  JobMarketplaceV1__factory,
  JobMarketplaceV2__factory,
  NodeRegistryV1_1__factory,
  NodeRegistryV2__factory,
  PaymentEscrowV1_1__factory,
  PaymentEscrowV2__factory,
} from "../../../typechain-types/index.js";
import type { RpcProvider } from "../../transactions.js";
import type { MigrationContracts } from "../contracts.js";
import type { MigrationReporter, StepName } from "../events.js";

/** What every step needs: the chain, the operator, the checked contracts, and where events go. */
export interface StepContext {
  provider: RpcProvider;
  /**
   * The operator: a signer holding its key (an ethers `Wallet`), connected to `provider`. Batches
   * are signed locally so that they are journaled before they are broadcast.
   */
  signer: Signer;
  /** The contracts, connected to `signer` (lib/migration/contracts.ts `resolveContracts`). */
  contracts: MigrationContracts;
  reporter: MigrationReporter;
  /** A local chain (in-process, anvil): Multicall3 may be installed, nothing there is real. */
  devChain: boolean;
  /** The clock events are stamped with (ms since the epoch). */
  now?: () => number;
}

/** A step could not do what it was asked; the message says why and what to do. */
export class MigrationStepError extends Error {
  override name = "MigrationStepError";
  constructor(
    readonly step: StepName,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Every custom error a migration transaction can carry, whichever contract raised it. */
export const MIGRATION_INTERFACES: readonly Interface[] = [
  NodeRegistryV1_1__factory.createInterface(),
  PaymentEscrowV1_1__factory.createInterface(),
  JobMarketplaceV1__factory.createInterface(),
  NodeRegistryV2__factory.createInterface(),
  PaymentEscrowV2__factory.createInterface(),
  JobMarketplaceV2__factory.createInterface(),
];

/** A revert as `Name(arg, …)` when one of the interfaces declares it, the node's words otherwise. */
export function describeError(error: unknown): string {
  const e = error as { data?: unknown; info?: { error?: { data?: unknown } }; shortMessage?: unknown };
  const data = typeof e.data === "string" ? e.data : e.info?.error?.data;
  if (typeof data === "string" && data.length >= 10) {
    for (const iface of MIGRATION_INTERFACES) {
      const parsed = iface.parseError(data);
      if (parsed !== null) return `${parsed.name}(${parsed.args.map(String).join(", ")})`;
    }
  }
  if (typeof e.shortMessage === "string" && e.shortMessage !== "") return e.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

export const stamp = (ctx: StepContext): number => (ctx.now ?? Date.now)();

/**
 * Sends one transaction that is not a batch (finalize, rollback, model registration, roles):
 * estimated first, so that a call that would revert is refused with its decoded error and
 * nothing is sent; then waited for with `confirmations`.
 */
export async function transact(
  ctx: StepContext,
  step: StepName,
  what: string,
  contract: BaseContract,
  fn: string,
  args: unknown[],
  confirmations = 1,
): Promise<TransactionReceipt> {
  const method = contract.getFunction(fn);
  try {
    await method.estimateGas(...args);
  } catch (error) {
    throw new MigrationStepError(step, `${what} would revert: ${describeError(error)}. Nothing was sent.`, {
      cause: error,
    });
  }
  const response = await method(...args);
  const receipt = (await response.wait(confirmations)) as TransactionReceipt | null;
  if (receipt === null) throw new MigrationStepError(step, `${what}: transaction ${response.hash} was dropped.`);
  return receipt;
}

/**
 * The first block at which `address` has code: where V2's migration events start. A binary
 * search of `eth_getCode` (about 25 calls); 0 when the node cannot answer for old blocks.
 */
export async function deploymentBlock(provider: RpcProvider, address: string): Promise<number> {
  try {
    let low = 0;
    let high = await provider.getBlockNumber();
    if ((await provider.getCode(address, high)) === "0x") return 0;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if ((await provider.getCode(address, middle)) === "0x") low = middle + 1;
      else high = middle;
    }
    return low;
  } catch {
    return 0;
  }
}

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
import { MigrationJournal, type CallStep } from "../journal.js";
import { CallRefusedError, sendOne, type SenderOptions } from "../sender.js";

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
  /** How single calls are sent (`transact`): the run's settings, as its batches get them. */
  sending?: SendSettings;
}

/** The run's sending options that single calls share with batches (`runMigration` fills them in). */
export interface SendSettings {
  /** The journal root (`journal/` by default). */
  journalDir?: string;
  /** `--max-fee-per-gas`: while the base fee is above it, wait rather than overpay. */
  maxFeePerGas?: bigint;
  pollIntervalMs?: number;
  receiptTimeoutMs?: number;
}

/**
 * The sender for calls to `contract` (batches or single calls): its journal opened under the run's
 * journal root, and the run's sending settings.
 */
export async function stepSender(
  ctx: StepContext,
  contract: string,
  settings: SendSettings & { confirmations?: number | undefined },
): Promise<SenderOptions> {
  const journal = await MigrationJournal.open({
    ...(settings.journalDir === undefined ? {} : { directory: settings.journalDir }),
    chainId: ctx.contracts.chainId,
    contract,
  });
  return {
    provider: ctx.provider,
    signer: ctx.signer,
    journal,
    decoder: MIGRATION_INTERFACES,
    reporter: ctx.reporter,
    ...(settings.confirmations === undefined ? {} : { confirmations: settings.confirmations }),
    ...(settings.maxFeePerGas === undefined ? {} : { maxFeePerGas: settings.maxFeePerGas }),
    ...(settings.pollIntervalMs === undefined ? {} : { pollIntervalMs: settings.pollIntervalMs }),
    ...(settings.receiptTimeoutMs === undefined ? {} : { receiptTimeoutMs: settings.receiptTimeoutMs }),
    ...(ctx.now === undefined ? {} : { now: ctx.now }),
  };
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
 * Sends one transaction that is not a batch (finalize, rollback, model registration, unpause)
 * through the batches' sender (`sendOne`): the same fee cap and wait, journaled before the
 * broadcast (in the called contract's journal), followed to `confirmations` through reorgs,
 * drops and taken nonces. `done` reads whether the call's effect is on chain: a call an earlier
 * (crashed) run or another sender already made is not sent again, and the result is then the
 * earlier run's receipt when the journal still held it, else null. A call that would revert is
 * refused with its decoded error and nothing is sent. `args` may be a function, read only when the
 * call is still to be sent.
 */
export async function transact(
  ctx: StepContext,
  step: CallStep,
  what: string,
  contract: BaseContract,
  fn: string,
  args: unknown[] | (() => Promise<unknown[]>),
  options: { confirmations?: number | undefined; done: () => Promise<boolean> },
): Promise<TransactionReceipt | null> {
  const to = await contract.getAddress();
  const sender = await stepSender(ctx, to, { ...ctx.sending, confirmations: options.confirmations });
  const from = await ctx.signer.getAddress();
  // Arguments that read the chain are read only once the call is known not to be done.
  const data = async () => contract.interface.encodeFunctionData(fn, typeof args === "function" ? await args() : args);
  try {
    const sent = await sendOne(sender, {
      step,
      what,
      data,
      estimateGas: (calldata) => ctx.provider.estimateGas({ from, to, data: calldata }),
      done: options.done,
    });
    return sent.receipt;
  } catch (error) {
    if (!(error instanceof CallRefusedError)) throw error;
    throw new MigrationStepError(step, `${what} would revert: ${describeError(error.cause)}. Nothing was sent.`, {
      cause: error.cause,
    });
  }
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

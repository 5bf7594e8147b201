import path from "node:path";
import { HDNodeWallet, Wallet, getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import {
  CONTRACT_NAMES,
  MigrationInputError,
  resolveContracts,
  type ContractName,
} from "../lib/migration/contracts.js";
import { runMigration, type RunOptions, type RunResult } from "../lib/migration/engine.js";
import type { MigrationReporter, StepName } from "../lib/migration/events.js";
import { createRenderer, pickMode, type Renderer } from "../lib/migration/render.js";
import type { MigrationSummary } from "../lib/migration/summary.js";
import { MigrationStepError, type StepContext } from "../lib/migration/steps/context.js";
import { DEFAULT_JOURNAL_DIRECTORY } from "../lib/migration/journal.js";
import { openTaskContext, type TaskContext } from "./context.js";

/** The options every migrate:* task takes (those that do not apply to a task keep their defaults). */
export interface MigrateArguments {
  dryRun: boolean;
  batchSize: number;
  maxGasPerTx: bigint;
  maxFeePerGas: bigint;
  confirmations: number;
  journal: string;
  snapshot: string;
  json: boolean;
  chainId: number;
  fromBlock: number;
  v1Registry: string;
  v1Escrow: string;
  v1Marketplace: string;
  v2Registry: string;
  v2Escrow: string;
  v2Marketplace: string;
  unpause?: boolean;
  governance?: string;
  /** Per JSON-RPC request, in ms: an answer later than this is abandoned and the request retried. */
  rpcTimeout?: number;
}

const OVERRIDE_OPTIONS: Record<ContractName, keyof MigrateArguments> = {
  NodeRegistryV1: "v1Registry",
  PaymentEscrowV1: "v1Escrow",
  JobMarketplaceV1: "v1Marketplace",
  NodeRegistryV2: "v2Registry",
  PaymentEscrowV2: "v2Escrow",
  JobMarketplaceV2: "v2Marketplace",
};

/** How a retried JSON-RPC request's warning starts (the reliability harness counts them). */
export const RPC_RETRY_PREFIX = "RPC retry:";

/** The development mnemonic of Hardhat and anvil: the only remote account whose key is known. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/**
 * The operator as a local key: batches are signed before they are broadcast (and journaled in
 * between), which a node's `eth_sendTransaction` cannot do. From the network's configured key or
 * mnemonic; on a local node with remote accounts, its first development account.
 */
export async function operatorWallet(ctx: TaskContext): Promise<Wallet | HDNodeWallet> {
  const { connection } = ctx;
  const provider = connection.ethers.provider;
  const accounts = connection.networkConfig.accounts as unknown;
  let wallet: Wallet | HDNodeWallet | undefined;
  if (accounts === "remote") {
    const dev = HDNodeWallet.fromPhrase(DEV_MNEMONIC);
    if (ctx.devChain && getAddress(ctx.deployer.address) === dev.address) wallet = dev;
  } else if (Array.isArray(accounts) && accounts.length > 0) {
    const first = accounts[0] as { get?: () => Promise<string>; privateKey?: { get(): Promise<string> } };
    const key = first.privateKey !== undefined ? await first.privateKey.get() : await first.get!();
    wallet = new Wallet(key);
  } else if (typeof accounts === "object" && accounts !== null && "mnemonic" in accounts) {
    const hd = accounts as {
      mnemonic: { get(): Promise<string> };
      passphrase: { get(): Promise<string> };
      path: string;
      initialIndex: number;
    };
    wallet = HDNodeWallet.fromPhrase(
      await hd.mnemonic.get(),
      await hd.passphrase.get(),
      `${hd.path}/${hd.initialIndex}`,
    );
  }
  if (wallet === undefined) {
    throw new MigrationInputError(
      `Network "${connection.networkName}" has no local key for the operator: batches are signed locally. Configure accounts: [configVariable("DEPLOYER_PRIVATE_KEY")] (npx hardhat keystore set DEPLOYER_PRIVATE_KEY).`,
    );
  }
  return wallet.connect(provider);
}

/** `--json` or the terminal decide; bars are refreshed between events on a terminal. */
function openRenderer(json: boolean): { renderer: Renderer; close(): void } {
  const mode = pickMode({ json, isTTY: process.stdout.isTTY === true, term: process.env.TERM });
  const renderer = createRenderer({
    mode,
    write: (text) => process.stdout.write(text),
    ...(process.stdout.columns === undefined ? {} : { columns: process.stdout.columns }),
  });
  const timer = mode === "tty" ? setInterval(() => renderer.refresh(), 250) : undefined;
  timer?.unref();
  return { renderer, close: () => clearInterval(timer) };
}

/** The engine's options from the task's arguments. */
export function runOptions(args: MigrateArguments, chainId: number): RunOptions {
  return {
    dryRun: args.dryRun,
    batchSize: args.batchSize,
    ...(args.maxGasPerTx === 0n ? {} : { maxGasPerTx: args.maxGasPerTx }),
    ...(args.maxFeePerGas === 0n ? {} : { maxFeePerGas: args.maxFeePerGas }),
    confirmations: args.confirmations,
    journalDir: args.journal === "" ? DEFAULT_JOURNAL_DIRECTORY : args.journal,
    snapshotFile: args.snapshot === "" ? path.join("snapshots", `v1-${chainId}.ndjson`) : args.snapshot,
    ...(args.fromBlock < 0 ? {} : { fromBlock: args.fromBlock }),
    ...(args.governance === undefined || args.governance === "" ? {} : { governance: args.governance }),
    ...(args.unpause === undefined ? {} : { unpause: args.unpause }),
  };
}

/**
 * Runs `run` with a renderer (from `--json` and the terminal) as its reporter. An error becomes an
 * `error` event; the output then ends with the run summary (so `--json` output still ends with
 * it), the error's message goes to stderr and the exit code becomes non-zero.
 */
export async function runRendered<T>(
  json: boolean,
  firstStep: StepName,
  run: (reporter: MigrationReporter) => Promise<T>,
  /**
   * Runs once the steps are done and their bars are gone, before the summary line: what it
   * returns is added to the summary (the demo's cut-over check).
   */
  finish?: (result: T | undefined) => Promise<Partial<MigrationSummary>>,
): Promise<{ result: T | undefined; summary: MigrationSummary }> {
  const { renderer, close } = openRenderer(json);
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await run(renderer.report);
  } catch (error) {
    failure = error;
    renderer.report({ type: "error", at: Date.now(), step: stepOf(error, firstStep), message: messageOf(error) });
  } finally {
    close();
  }
  if (failure !== undefined) {
    process.stderr.write(`Error: ${messageOf(failure)}\n`);
    process.exitCode = 1;
  }
  const extra = finish === undefined ? {} : await finish(result);
  const summary = renderer.end({ ...renderer.summary(), ...extra });
  return { result, summary };
}

/**
 * A migrate:* task: open the network, find and check the contracts, run `steps` rendered, end
 * with the run summary (see `runRendered`).
 */
export async function runMigrateTask(
  steps: readonly StepName[],
  args: MigrateArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<RunResult | undefined> {
  const { result } = await runRendered(args.json, steps[0] ?? "check", async (reporter) => {
    if (args.rpcTimeout !== undefined && (!Number.isSafeInteger(args.rpcTimeout) || args.rpcTimeout < 1)) {
      throw new MigrationInputError(`--rpc-timeout must be a whole number of ms ≥ 1, got ${args.rpcTimeout}.`);
    }
    const ctx = await openTaskContext(hre, {
      retries: {
        ...(args.rpcTimeout === undefined ? {} : { policy: { timeoutMs: args.rpcTimeout } }),
        // Every retry is said, so that a flaky endpoint is visible (and counted with --json).
        onRetry: ({ method, attempt, reason }) =>
          reporter({
            type: "warning",
            at: Date.now(),
            step: steps[0] ?? "check",
            message: `${RPC_RETRY_PREFIX} ${method} (attempt ${attempt}: ${reason})`,
          }),
      },
    });
    const signer = await operatorWallet(ctx);
    const contracts = await migrationContracts(ctx, signer, args);
    const stepContext: StepContext = {
      provider: ctx.ethers.provider,
      signer,
      contracts,
      reporter,
      devChain: ctx.devChain,
    };
    return runMigration(stepContext, { ...runOptions(args, ctx.chainId), steps });
  });
  return result;
}

/**
 * The six contracts of the migration, as the options name them (`--v1-registry` …) or as the
 * deployments store records them, checked against `--chain-id`.
 */
export async function migrationContracts(
  ctx: Awaited<ReturnType<typeof openTaskContext>>,
  signer: Awaited<ReturnType<typeof operatorWallet>>,
  args: MigrateArguments,
) {
  const overrides: Partial<Record<ContractName, string>> = {};
  for (const name of CONTRACT_NAMES) overrides[name] = args[OVERRIDE_OPTIONS[name]] as string;
  return resolveContracts(ctx.ethers.provider, signer, {
    ...(args.chainId === 0 ? {} : { expectedChainId: args.chainId }),
    record: ctx.store.record,
    overrides,
  });
}

/** The step an error came from, for its `error` event. */
function stepOf(error: unknown, fallback: StepName = "check"): StepName {
  return error instanceof MigrationStepError ? error.step : fallback;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

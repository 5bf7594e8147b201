import { Wallet, ZeroAddress, id } from "ethers";
import { findLapsedJobs } from "../lib/drain.js";
import { planSeed, type SeedOptions, type SeedPlan } from "../lib/fixtures/plan.js";
import { seedV1 } from "../lib/fixtures/seed.js";
import { sendCalls, setBalance, type RpcProvider } from "../lib/transactions.js";
import type { NodeRegistryV2 } from "../typechain-types/index.js";
import type { DeployContext } from "./steps.js";
import { openV1Migration, type V1_1Stack } from "./v1-1.js";
import { DEFAULT_V1_PARAMETERS, deployV1, type V1Stack } from "./v1.js";
import { deployV2, type V2Stack } from "./v2.js";

/** Past V1's longest job duration (30 days): every job still open has lapsed. */
const DRAIN_WAIT_SECONDS = 31 * 24 * 3600;
/** Keys that expire lapsed jobs side by side (`expireJob` is open to anyone): one round holds one call per key. */
const EXPIRERS = 256;
const EXPIRE_GAS = 400_000n;
/** Model names per `registerModels` transaction. */
const MODEL_NAMES_PER_TX = 50;

export interface LocalMigrationOptions {
  seed: SeedOptions;
  /** Receives slashed stake and fees in both generations. */
  treasury: string;
  /** Runs on the seeded V1 before it is frozen (to add history the seed plan does not make). */
  beforeFreeze?: (v1: V1Stack, plan: SeedPlan) => Promise<void>;
}

export interface LocalMigration {
  plan: SeedPlan;
  v1: V1Stack;
  v1_1: V1_1Stack;
  v2: V2Stack;
  /** V1 jobs expired by the drain. */
  expired: bigint[];
  /** V1 jobs still open after it (none on a chain that can travel in time). */
  open: bigint[];
  /** The first block of V2's deployment: where its migration events start. */
  v2FromBlock: number;
}

/**
 * A migration ready to copy, on a development chain where the deployer plays every part
 * (governance, admin, operator): deploys and seeds V1, freezes it, travels past every deadline
 * and expires what lapsed (the drain), deploys V2 listing V1's tokens, and opens the migration
 * (V1.1 upgrades and migrator roles). The main job, the end-to-end tests and the gas report
 * start from here.
 */
export async function prepareLocalMigration(
  ctx: DeployContext,
  options: LocalMigrationOptions,
): Promise<LocalMigration> {
  const operator = await ctx.deployer.getAddress();
  const provider = ctx.ethers.provider;
  const v1 = await deployV1(ctx, { ...DEFAULT_V1_PARAMETERS, admin: operator, treasury: options.treasury });
  const plan = planSeed(options.seed, {
    minimumStake: await v1.registry.minimumStake(),
    maxModels: Number(await v1.registry.MAX_MODELS()),
  });
  const seeded = await seedV1({ provider, funder: ctx.deployer, stack: v1, devChain: true }, plan);
  if (seeded.mismatches.length > 0) throw new Error(`Seeding failed:\n${seeded.mismatches.join("\n")}`);
  await options.beforeFreeze?.(v1, plan);

  // Governance freezes V1; running jobs lapse and are expired: V1 drains.
  for (const contract of [v1.registry, v1.escrow, v1.marketplace]) await (await contract.pause()).wait();
  const { expired, open } = await drainV1(provider, v1);

  const v2FromBlock = (await provider.getBlockNumber()) + 1;
  const tokens = (await v1.escrow.tokens()).filter((token) => token !== ZeroAddress);
  const v2 = await deployV2(ctx, {
    ...DEFAULT_V1_PARAMETERS,
    admin: operator,
    migrator: operator,
    treasury: options.treasury,
    tokens,
  });
  const v1_1 = await openV1Migration(ctx, v1, v2, operator);
  return { plan, v1, v1_1, v2, expired, open, v2FromBlock };
}

/**
 * Drains a frozen V1 on a development chain: travels past every job's deadline and expires what
 * lapsed. Returns the jobs expired and those still open (none where time can travel).
 */
export async function drainV1(
  provider: RpcProvider,
  v1: Pick<V1Stack, "marketplace">,
): Promise<{ expired: bigint[]; open: bigint[] }> {
  await provider.send("evm_increaseTime", [DRAIN_WAIT_SECONDS]);
  await provider.send("evm_mine", []);
  const { lapsed: expired, open } = await findLapsedJobs(v1.marketplace);
  await expireInRounds(provider, v1, expired);
  return { expired, open };
}

/**
 * The drain of a development chain: the lapsed jobs, in id order, are expired by real signed
 * transactions from throwaway funded keys, a round of one call per key mined into a few blocks
 * (lib/transactions.ts), instead of one operator transaction, estimate and block per job.
 */
async function expireInRounds(
  provider: RpcProvider,
  v1: Pick<V1Stack, "marketplace">,
  lapsed: readonly bigint[],
): Promise<void> {
  if (lapsed.length === 0) return;
  const keys = Array.from(
    { length: Math.min(EXPIRERS, lapsed.length) },
    (_, i) => new Wallet(id(`fabstir local drain ${i}`), provider),
  );
  for (const key of keys) await setBalance(provider, key.address, 10n ** 18n);
  const marketplace = await v1.marketplace.getAddress();
  const iface = v1.marketplace.interface;
  await sendCalls(
    provider,
    lapsed.map((jobId, i) => ({
      signer: keys[i % keys.length] as Wallet,
      to: marketplace,
      data: iface.encodeFunctionData("expireJob", [jobId]),
      gasLimit: EXPIRE_GAS,
    })),
    iface,
    { batchBlocks: true },
  );
}

/** Registers `names` in V2's model name registry (permissionless), a chunk per transaction. */
export async function registerModelNames(registry: NodeRegistryV2, names: readonly string[]): Promise<void> {
  for (let i = 0; i < names.length; i += MODEL_NAMES_PER_TX) {
    await (await registry.registerModels(names.slice(i, i + MODEL_NAMES_PER_TX))).wait();
  }
}

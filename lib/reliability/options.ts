import type { SeedOptions } from "../fixtures/plan.js";

/**
 * `npx hardhat reliability [--quick] [--json] [--seed S] [--crash-trials N] [--rpc-trials N]`
 * (`npm run reliability -- …`). Quick: 5 crash trials and one short RPC-fault run (CI); full: 20
 * crash trials and three RPC-fault runs on a larger state.
 */

export type SeedSizes = Omit<SeedOptions, "seed">;

export interface ReliabilityArguments {
  quick: boolean;
  json: boolean;
  seed: string;
  /** 0 = the mode's default. */
  crashTrials: number;
  rpcTrials: number;
  keep: boolean;
  /** Reorg / dropped-transaction trials (0 or absent = the mode's default). */
  reorgTrials?: number;
  /** Nonce-conflict / base-fee trials (0 or absent = the mode's default). */
  nonceFeeTrials?: number;
  /** Comma-separated families to run (empty or absent = all of them). */
  families?: string;
}

export interface ReliabilityOptions {
  quick: boolean;
  json: boolean;
  seed: string;
  sizes: SeedSizes;
  /** `--batch-size` of every migrate:all run: small, so that a run has many batches to crash in. */
  batchSize: number;
  crashTrials: number;
  rpcTrials: number;
  reorgTrials: number;
  nonceFeeTrials: number;
  /** Keep the trials' journals and snapshots (their directory is printed). */
  keep: boolean;
  /** Hostile-input cases per input kind (lib/reliability/hostile/). */
  hostileCases: number;
  /** Run the long Solidity invariant campaign (full mode; CI's `npx hardhat test` runs the short one). */
  contractsCampaign: boolean;
}

export const QUICK = {
  sizes: { nodes: 6, jobs: 24, users: 6 },
  batchSize: 3,
  crashTrials: 5,
  rpcTrials: 1,
  // One of each sub-case: a reorg (with a replacement tx) and a drop; a taken nonce and a fee spike.
  reorgTrials: 2,
  nonceFeeTrials: 2,
} as const;
export const FULL = {
  sizes: { nodes: 12, jobs: 60, users: 12 },
  batchSize: 4,
  crashTrials: 20,
  rpcTrials: 3,
  reorgTrials: 6,
  nonceFeeTrials: 4,
} as const;
/** The families `--families` can pick; the reference run always runs (the others are judged against it). */
export const FAMILY_NAMES = ["crash", "rpc", "reorg", "nonce-fee", "hostile", "contracts"] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

/** Hostile-input cases per input kind, quick and full. */
export const HOSTILE_CASES = { quick: 100, full: 1_000 } as const;
export const DEFAULT_SEED = "reliability";
const MAX_TRIALS = 1_000;

export class ReliabilityOptionError extends Error {
  override name = "ReliabilityOptionError";
}

export function resolveReliabilityOptions(args: ReliabilityArguments): ReliabilityOptions {
  const mode = args.quick ? QUICK : FULL;
  for (const name of ["crashTrials", "rpcTrials", "reorgTrials", "nonceFeeTrials"] as const) {
    const n = args[name] ?? 0;
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_TRIALS) {
      throw new ReliabilityOptionError(
        `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a whole number from 0 to ${MAX_TRIALS} (0 = the mode's default), got ${n}.`,
      );
    }
  }
  if (args.seed === "") throw new ReliabilityOptionError("--seed needs a value.");
  const families = parseFamilies(args.families ?? "");
  const only = <T>(family: FamilyName, value: T, none: T): T => (families.has(family) ? value : none);
  return {
    quick: args.quick,
    json: args.json,
    seed: args.seed,
    sizes: { ...mode.sizes },
    batchSize: mode.batchSize,
    crashTrials: only("crash", args.crashTrials === 0 ? mode.crashTrials : args.crashTrials, 0),
    rpcTrials: only("rpc", args.rpcTrials === 0 ? mode.rpcTrials : args.rpcTrials, 0),
    reorgTrials: only("reorg", (args.reorgTrials ?? 0) === 0 ? mode.reorgTrials : args.reorgTrials!, 0),
    nonceFeeTrials: only("nonce-fee", (args.nonceFeeTrials ?? 0) === 0 ? mode.nonceFeeTrials : args.nonceFeeTrials!, 0),
    keep: args.keep,
    hostileCases: only("hostile", args.quick ? HOSTILE_CASES.quick : HOSTILE_CASES.full, 0),
    contractsCampaign: only("contracts", !args.quick, false),
  };
}

/** `--families crash,rpc`: the named families (all when empty); an unknown name is refused. */
function parseFamilies(text: string): Set<FamilyName> {
  if (text.trim() === "") return new Set(FAMILY_NAMES);
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!(FAMILY_NAMES as readonly string[]).includes(name)) {
      throw new ReliabilityOptionError(
        `--families: unknown family "${name}"; choose from ${FAMILY_NAMES.join(", ")} (comma-separated).`,
      );
    }
  }
  return new Set(names as FamilyName[]);
}

import type { BenchSizes } from "./types.js";

/**
 * `npx hardhat bench [--quick] [--json] [--nodes N] [--jobs N] [--users N] [--seed S]`
 * (`npm run bench -- …` adds `--network hardhatOp`). Hardhat parses the options by their types
 * (tasks/index.ts); this resolves the sizes and checks their range.
 */

export const DEFAULT_SIZES: BenchSizes = { nodes: 2_000, jobs: 20_000, users: 2_000 };
/** Small enough for CI (well under two minutes), large enough for several batches per component. */
export const QUICK_SIZES: BenchSizes = { nodes: 40, jobs: 400, users: 40 };
export const DEFAULT_SEED = "bench";
export const MAX_SIZE = 1_000_000;
const SIZE_NAMES = ["nodes", "jobs", "users"] as const;

/** The task's arguments as Hardhat hands them over: a size of 0 means "not given". */
export interface BenchArguments extends BenchSizes {
  quick: boolean;
  json: boolean;
  seed: string;
}

export interface BenchOptions extends BenchSizes {
  json: boolean;
  quick: boolean;
  seed: string;
}

export class BenchOptionError extends Error {
  override name = "BenchOptionError";
}

/**
 * The sizes to run: `--quick` sets the small ones, explicit sizes (non-zero) override either.
 * A size must be a whole number from 1 to 1,000,000 (0 is the task's "not given").
 */
export function resolveBenchOptions(args: BenchArguments): BenchOptions {
  const base = args.quick ? QUICK_SIZES : DEFAULT_SIZES;
  const sizes = { ...base };
  for (const name of SIZE_NAMES) {
    const n = args[name];
    if (n === 0) continue;
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SIZE) {
      throw new BenchOptionError(`--${name} must be a whole number from 1 to ${MAX_SIZE}, got ${n}.`);
    }
    sizes[name] = n;
  }
  if (args.seed === "") throw new BenchOptionError("--seed needs a value.");
  return { json: args.json, quick: args.quick, seed: args.seed, ...sizes };
}

/** The `npm run bench` command that repeats a run with these arguments (quoted in the report). */
export function benchCommand(args: BenchArguments): string {
  const words: string[] = [];
  if (args.quick) words.push("--quick");
  if (args.json) words.push("--json");
  for (const name of SIZE_NAMES) if (args[name] !== 0) words.push(`--${name}`, String(args[name]));
  if (args.seed !== DEFAULT_SEED)
    words.push("--seed", /^[\w.-]+$/.test(args.seed) ? args.seed : JSON.stringify(args.seed));
  return `npm run bench${words.length === 0 ? "" : ` -- ${words.join(" ")}`}`;
}

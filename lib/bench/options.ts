import type { BenchSizes } from "./types.js";

/**
 * `npm run bench -- [--quick] [--json] [--nodes N] [--jobs N] [--users N] [--seed S]`.
 * Hardhat 3's `run` task refuses options it does not know, so the npm script hands the words
 * after `--` to scripts/bench.ts in the environment variable BENCH_ARGS; this parses them.
 */

export const DEFAULT_SIZES: BenchSizes = { nodes: 2_000, jobs: 20_000, users: 2_000 };
/** Small enough for CI (well under two minutes), large enough for several batches per component. */
export const QUICK_SIZES: BenchSizes = { nodes: 40, jobs: 400, users: 40 };
export const DEFAULT_SEED = "bench";
const MAX_SIZE = 1_000_000;

export interface BenchOptions extends BenchSizes {
  json: boolean;
  quick: boolean;
  seed: string;
}

export class BenchOptionError extends Error {
  override name = "BenchOptionError";
}

/** Parses the words of BENCH_ARGS; `--quick` sets the small sizes, explicit sizes override them. */
export function parseBenchArgs(words: readonly string[]): BenchOptions {
  let json = false;
  let quick = false;
  let seed = DEFAULT_SEED;
  const sizes: Partial<BenchSizes> = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const [name, inline] = word.includes("=")
      ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]
      : [word, undefined];
    const value = (): string => {
      const v = inline ?? words[++i];
      if (v === undefined || v === "") throw new BenchOptionError(`${name} needs a value.`);
      return v;
    };
    switch (name) {
      case "--json":
        json = true;
        break;
      case "--quick":
        quick = true;
        break;
      case "--seed":
        seed = value();
        break;
      case "--nodes":
      case "--jobs":
      case "--users": {
        const raw = value();
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1 || n > MAX_SIZE) {
          throw new BenchOptionError(`${name} must be a whole number from 1 to ${MAX_SIZE}, got "${raw}".`);
        }
        sizes[name.slice(2) as keyof BenchSizes] = n;
        break;
      }
      default:
        throw new BenchOptionError(
          `Unknown option "${word}". Options: --quick, --json, --nodes N, --jobs N, --users N, --seed S.`,
        );
    }
  }
  const base = quick ? QUICK_SIZES : DEFAULT_SIZES;
  return { json, quick, seed, ...base, ...sizes };
}

/** Splits BENCH_ARGS on whitespace (the npm script joins the words with spaces). */
export function benchArgsFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(/\s+/).filter((word) => word !== "");
}

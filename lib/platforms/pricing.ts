/**
 * Money arithmetic for the import, exact: USD and ETH-per-USD rates are decimal strings parsed to
 * rationals of bigints, never floats. A job's USD cost is kept as an integer of 10^-18 USD
 * ("usd18", the precision a store record's usdValue allows) and wei are integers; every conversion
 * rounds down, so an import never credits more than the exact value.
 */
import { ImportError } from "./importError.js";

/** USD amounts are carried as integers of 10^-USD_DECIMALS USD. */
export const USD_DECIMALS = 18;
const USD_SCALE = 10n ** BigInt(USD_DECIMALS);

/** An exact non-negative rational `num / den` (den > 0). */
export interface Rational {
  num: bigint;
  den: bigint;
}

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** A plain decimal string ("12", "0.00031") as an exact rational; `what` names it in the error. */
export function parseDecimal(text: string, what: string): Rational {
  const match = DECIMAL.exec(text);
  if (match === null) {
    throw new ImportError(`${what} must be a decimal number like 12.5 (digits, one optional point; got "${text}")`);
  }
  const fraction = match[2] ?? "";
  return { num: BigInt(match[1]! + fraction), den: 10n ** BigInt(fraction.length) };
}

/**
 * A finite non-negative JS number (a parser's computeSeconds) as the exact decimal it prints as:
 * `String(n)` is the shortest text that reads back as n, so nothing is added; "1e-7" forms included.
 */
export function numberToRational(value: number, what: string): Rational {
  if (!Number.isFinite(value) || value < 0)
    throw new ImportError(`${what} must be a finite number >= 0 (got ${value})`);
  const match = /^([0-9]+)(?:\.([0-9]+))?(?:e([+-][0-9]+))?$/.exec(String(value));
  if (match === null) throw new ImportError(`${what}: cannot read ${value} as a decimal`);
  const fraction = match[2] ?? "";
  const exponent = Number(match[3] ?? "0") - fraction.length;
  const digits = BigInt(match[1]! + fraction);
  return exponent >= 0
    ? { num: digits * 10n ** BigInt(exponent), den: 1n }
    : { num: digits, den: 10n ** BigInt(-exponent) };
}

/** floor(r * 10^18): a rational USD amount as usd18, rounded down. */
export function toUsd18(r: Rational): bigint {
  return (r.num * USD_SCALE) / r.den;
}

/** usd18 as a decimal string without trailing zeros ("0", "0.0000184", "12.5"). */
export function formatUsd18(value: bigint): string {
  if (value < 0n) throw new RangeError("formatUsd18: negative");
  const whole = value / USD_SCALE;
  const fraction = (value % USD_SCALE).toString().padStart(USD_DECIMALS, "0").replace(/0+$/, "");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}

/** A decimal USD string (an export's stated cost) as usd18, rounded down past 18 decimals. */
export function parseUsd(text: string, what: string): bigint {
  return toUsd18(parseDecimal(text, what));
}

/** `--rate <ETH per USD>`: a decimal string above zero, exact. */
export function parseRate(text: string): Rational {
  const rate = parseDecimal(text.trim(), "--rate (ETH per USD)");
  if (rate.num === 0n)
    throw new ImportError("--rate must be above 0 (ETH per USD, e.g. 0.00031 when 1 ETH = 3225.81 USD)");
  return rate;
}

/**
 * wei for a usd18 amount at `ethPerUsd`: floor(usd18 / 10^18 * ethPerUsd * 10^18) =
 * floor(usd18 * num / den). Never above the exact value, less than 1 wei below it.
 */
export function usdToWei(usd18: bigint, ethPerUsd: Rational): bigint {
  return (usd18 * ethPerUsd.num) / ethPerUsd.den;
}

/** A list price from the model map (USD per 1M tokens, or per compute second). */
export type ListPrice =
  | { usdPer1MInputTokens: string; usdPer1MOutputTokens: string; source: string; asOf: string }
  | { usdPerComputeSecond: string; source: string; asOf: string };

/** How a job's cost was found. */
export type PricingSource = "export" | "list-price" | "unpriced";

export interface JobCost {
  /** usd18, or null when unpriced (the job then counts 0 and earns no credit). */
  usd18: bigint | null;
  pricing: PricingSource;
  /** Why it is unpriced. */
  reason?: string;
}

export interface CostInput {
  costUsd: string | null;
  usage: { inputTokens: number | null; outputTokens: number | null; computeSeconds: number | null };
}

/**
 * A job's cost: the export's own `costUsd` when it states one, else priced from the map's list
 * price and the job's usage, else unpriced. Missing usage is never guessed.
 */
export function costOf(job: CostInput, price: ListPrice | undefined, label: string): JobCost {
  if (job.costUsd !== null) return { usd18: parseUsd(job.costUsd, `${label}: costUsd`), pricing: "export" };
  if (price === undefined)
    return { usd18: null, pricing: "unpriced", reason: "no cost in the export and no list price in the map" };
  if ("usdPerComputeSecond" in price) {
    if (job.usage.computeSeconds === null)
      return {
        usd18: null,
        pricing: "unpriced",
        reason: "priced per compute second but the export states no compute time",
      };
    const seconds = numberToRational(job.usage.computeSeconds, `${label}: computeSeconds`);
    const rate = parseDecimal(price.usdPerComputeSecond, "usdPerComputeSecond");
    return { usd18: toUsd18({ num: seconds.num * rate.num, den: seconds.den * rate.den }), pricing: "list-price" };
  }
  const { inputTokens, outputTokens } = job.usage;
  if (inputTokens === null || outputTokens === null)
    return { usd18: null, pricing: "unpriced", reason: "priced per token but the export states no token counts" };
  const input = parseDecimal(price.usdPer1MInputTokens, "usdPer1MInputTokens");
  const output = parseDecimal(price.usdPer1MOutputTokens, "usdPer1MOutputTokens");
  // (in * a/da + out * b/db) / 10^6, over one common denominator.
  const num = BigInt(inputTokens) * input.num * output.den + BigInt(outputTokens) * output.num * input.den;
  return { usd18: toUsd18({ num, den: input.den * output.den * 1_000_000n }), pricing: "list-price" };
}

/**
 * The model map (models/map.json): which Fabstir model each platform's model becomes, and the
 * platform's list price where an export states no cost. Data, validated with zod; a model that is
 * not in the map is "unknown": reported and left unmapped, never replaced by a default.
 *
 * Matching (`resolveModel`): the exact name first; then the platform's version-suffix rule, once:
 * - openai: a dated snapshot suffix `-YYYY-MM-DD` or `-MMDD` ("gpt-4o-mini-2024-07-18" → "gpt-4o-mini",
 *   "gpt-4-0613" → "gpt-4");
 * - replicate: a version suffix `:<hex>` ("meta/meta-llama-3-8b-instruct:5a6809…" → "meta/meta-llama-3-8b-instruct");
 * - huggingface: the Inference Providers routing suffix `:<provider or policy>` ("Qwen/Qwen2.5-72B-Instruct:together",
 *   ":fastest") or a revision suffix `@<rev>` ("meta-llama/Llama-3.1-8B-Instruct@main"): the model is the Hub id
 *   before it, whichever provider served it.
 * Names are compared case-sensitively (Hugging Face repository ids are).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { formatPath } from "../api/jsonPath.js";
import { ImportError } from "./importError.js";
import type { ListPrice } from "./pricing.js";
import { PLATFORMS, type PlatformName } from "./types.js";

const DECIMAL = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a decimal string like "0.15"');
const PRICE_META = {
  source: z.string().url("must be the URL the price was read from"),
  asOf: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "must be the date the price was read, YYYY-MM-DD")
    .refine((text) => {
      // Month 13 or day 32 make an invalid Date, whose toISOString throws: refuse it, do not crash.
      const time = Date.parse(`${text}T00:00:00Z`);
      return Number.isFinite(time) && new Date(time).toISOString().startsWith(text);
    }, "is not a real date"),
};

const TokenPriceSchema = z
  .object({ usdPer1MInputTokens: DECIMAL, usdPer1MOutputTokens: DECIMAL, ...PRICE_META })
  .strict();
const ComputePriceSchema = z.object({ usdPerComputeSecond: DECIMAL, ...PRICE_META }).strict();

const EntrySchema = z
  .object({
    /** The Fabstir model name (as hosts register it on NodeRegistryV2), or null: no equivalent. */
    fabstir: z.string().min(1).max(128).nullable(),
    price: z.union([TokenPriceSchema, ComputePriceSchema]).optional(),
    note: z.string().optional(),
  })
  .strict();

export const ModelMapSchema = z
  .object({
    format: z.literal("fabstir.model-map"),
    version: z.literal(1),
    platforms: z
      .object(Object.fromEntries(PLATFORMS.map((p) => [p, z.record(z.string().min(1), EntrySchema).optional()])))
      .strict(),
  })
  .strict();

export interface ModelEntry {
  fabstir: string | null;
  price?: ListPrice;
  note?: string;
}

export interface ModelMap {
  format: "fabstir.model-map";
  version: 1;
  platforms: Partial<Record<PlatformName, Record<string, ModelEntry>>>;
}

/** An issue as "path: message"; a price that fits neither shape reports the closer one's problems. */
function describe(issue: z.ZodIssue): string[] {
  if (issue.code === "invalid_union") {
    const closest = [...issue.unionErrors].sort((a, b) => a.issues.length - b.issues.length)[0]!;
    return closest.issues.flatMap(describe);
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

/** Validates a parsed map; the error names `file` and every bad JSON path. */
export function parseModelMap(value: unknown, file: string): ModelMap {
  const result = ModelMapSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.flatMap(describe);
    throw new ImportError(`${file}: not a valid model map: ${problems.join("; ")}`);
  }
  return result.data as ModelMap;
}

export function loadModelMap(file: string): ModelMap {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ImportError(`${file}: cannot read the model map; pass --models <file>`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ImportError(`${file}: the model map is not JSON (${(error as Error).message})`);
  }
  return parseModelMap(value, file);
}

const SUFFIX_RULES: Record<PlatformName, RegExp> = {
  openai: /-(\d{4}-\d{2}-\d{2}|\d{4})$/,
  replicate: /:[0-9a-f]+$/,
  huggingface: /(?:@[^@/:]+|:[^:/@]+)$/,
};

/** Where a source model went. */
export type Resolution =
  | { kind: "mapped"; target: string; key: string; price?: ListPrice }
  | { kind: "no-equivalent"; key: string; price?: ListPrice }
  | { kind: "unknown" }
  /** The export does not name the model (e.g. a failed OpenAI batch request). */
  | { kind: "unstated" };

export function resolveModel(map: ModelMap, platform: PlatformName, model: string | null): Resolution {
  if (model === null) return { kind: "unstated" };
  const entries = map.platforms[platform] ?? {};
  let key = model;
  if (!Object.hasOwn(entries, key)) key = model.replace(SUFFIX_RULES[platform], "");
  if (!Object.hasOwn(entries, key)) return { kind: "unknown" };
  const entry = entries[key]!;
  const price = entry.price === undefined ? {} : { price: entry.price };
  return entry.fabstir === null
    ? { kind: "no-equivalent", key, ...price }
    : { kind: "mapped", target: entry.fabstir, key, ...price };
}

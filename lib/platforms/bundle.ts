/**
 * The import bundle: everything `platform:import` decided, as versioned JSON a person can review
 * before `--apply` and a program can read back (`readBundle`) and check.
 *
 * `digest` = keccak256 of the canonical JSON (lib/store/canonical.ts) of the bundle without
 * `digest` and without `credits`; `credits` is derived from the digested content
 * (`planMigrationCredits(user, platform, source ids, totals.costWei, createdAt)`), and `readBundle` recomputes
 * both, as well as `models` and `totals` from `jobs`: an edited bundle is refused.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { z } from "zod";
import { planMigrationCredits } from "../credits/plan.js";
import type { CreditPlan } from "../credits/types.js";
import { formatPath } from "../api/jsonPath.js";
import { canonicalJson } from "../store/canonical.js";
import { ImportError } from "./importError.js";
import { formatUsd18, parseUsd, type PricingSource } from "./pricing.js";
import type { FeedReading } from "./priceFeed.js";
import { PLATFORMS, type PlatformJobStatus, type PlatformName, type PlatformUsage } from "./types.js";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../jsonPreview.js";

export const BUNDLE_FORMAT = "fabstir.import-bundle";
export const BUNDLE_VERSION = 1;

/** Where a job's source model went (lib/platforms/models.ts). */
export type MappingKind = "mapped" | "no-equivalent" | "unknown" | "unstated";

export type Conversion = { kind: "rate"; ethPerUsd: string } | ({ kind: "price-feed" } & FeedReading);

export interface BundleJob {
  /** The store record id: `<platform>/<user lowercased>/<sourceId>`. */
  id: string;
  sourceId: string;
  sourceModel: string | null;
  /** The Fabstir model name, or null (no equivalent, unknown, or unstated). */
  model: string | null;
  mapping: MappingKind;
  promptHash: string | null;
  outputHash: string | null;
  createdAt: number | null;
  status: PlatformJobStatus;
  usage: PlatformUsage;
  /** USD as a decimal string, or null when unpriced. */
  costUsd: string | null;
  /** Wei as a decimal string ("0" when unpriced), rounded down. */
  costWei: string;
  pricing: PricingSource;
  error?: { code: string | null; message: string };
  content?: { prompt?: unknown; output?: unknown };
}

export interface ModelSummary {
  source: string | null;
  target: string | null;
  mapping: MappingKind;
  jobs: number;
  unpriced: number;
  costUsd: string;
  costWei: string;
}

export interface BundleTotals {
  jobs: number;
  mapped: number;
  noEquivalent: number;
  unknown: number;
  unstated: number;
  priced: number;
  unpriced: number;
  costUsd: string;
  costWei: string;
}

export interface ImportBundle {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  /** Unix seconds of the import; the credit plan's expiry counts from it. */
  createdAt: number;
  user: string;
  source: { platform: PlatformName; file: string; sha256: string };
  conversion: Conversion;
  jobs: BundleJob[];
  models: ModelSummary[];
  totals: BundleTotals;
  credits: CreditPlan;
  digest: string;
}

/** Per source model (in order of first appearance) and overall. */
export function summarize(jobs: readonly BundleJob[]): { models: ModelSummary[]; totals: BundleTotals } {
  const models = new Map<string, ModelSummary & { usd18: bigint; wei: bigint }>();
  let usd18 = 0n;
  let wei = 0n;
  const totals = { jobs: jobs.length, mapped: 0, noEquivalent: 0, unknown: 0, unstated: 0, priced: 0, unpriced: 0 };
  for (const job of jobs) {
    const key = JSON.stringify([job.sourceModel, job.model, job.mapping]);
    let entry = models.get(key);
    if (entry === undefined) {
      entry = {
        source: job.sourceModel,
        target: job.model,
        mapping: job.mapping,
        jobs: 0,
        unpriced: 0,
        costUsd: "0",
        costWei: "0",
        usd18: 0n,
        wei: 0n,
      };
      models.set(key, entry);
    }
    const jobUsd = job.costUsd === null ? 0n : parseUsd(job.costUsd, "costUsd");
    entry.jobs++;
    entry.usd18 += jobUsd;
    entry.wei += BigInt(job.costWei);
    usd18 += jobUsd;
    wei += BigInt(job.costWei);
    if (job.pricing === "unpriced") {
      entry.unpriced++;
      totals.unpriced++;
    } else totals.priced++;
    if (job.mapping === "mapped") totals.mapped++;
    else if (job.mapping === "no-equivalent") totals.noEquivalent++;
    else if (job.mapping === "unknown") totals.unknown++;
    else totals.unstated++;
  }
  return {
    models: [...models.values()].map(({ usd18: u, wei: w, ...rest }) => ({
      ...rest,
      costUsd: formatUsd18(u),
      costWei: w.toString(),
    })),
    totals: { ...totals, costUsd: formatUsd18(usd18), costWei: wei.toString() },
  };
}

/** keccak256 of the canonical JSON of the bundle without `digest` and `credits`. */
export function bundleDigest(bundle: Omit<ImportBundle, "digest" | "credits"> & Partial<ImportBundle>): string {
  const { digest: _digest, credits: _credits, ...content } = bundle;
  return keccak256(toUtf8Bytes(canonicalJson(content)));
}

/** Completes a bundle: models, totals, digest and the credit plan derived from them. */
export function sealBundle(content: Omit<ImportBundle, "models" | "totals" | "credits" | "digest">): ImportBundle {
  const { models, totals } = summarize(content.jobs);
  const unsealed = { ...content, models, totals };
  const digest = bundleDigest(unsealed);
  const credits = planMigrationCredits({
    user: content.user,
    platform: content.source.platform,
    sourceIds: content.jobs.map((job) => job.sourceId),
    basisWei: totals.costWei,
    now: content.createdAt,
  });
  return { ...unsealed, credits, digest };
}

const HASH = z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x and 64 lowercase hex digits");
const UINT = z.string().regex(/^(0|[1-9][0-9]*)$/, "must be a decimal integer string");
const USD = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]{0,17}[1-9])?$/, "must be a decimal string like 12.34");
const ADDRESS = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");
const COUNT = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const MAPPINGS = ["mapped", "no-equivalent", "unknown", "unstated"] as const;

const JobSchema = z
  .object({
    id: z.string().min(1).max(200),
    sourceId: z.string().min(1),
    sourceModel: z.string().min(1).nullable(),
    model: z.string().min(1).nullable(),
    mapping: z.enum(MAPPINGS),
    promptHash: HASH.nullable(),
    outputHash: HASH.nullable(),
    createdAt: COUNT.nullable(),
    status: z.enum(["completed", "failed", "cancelled"]),
    usage: z
      .object({
        inputTokens: COUNT.nullable(),
        outputTokens: COUNT.nullable(),
        computeSeconds: z.number().nonnegative().finite().nullable(),
      })
      .strict(),
    costUsd: USD.nullable(),
    costWei: UINT,
    pricing: z.enum(["export", "list-price", "unpriced"]),
    error: z.object({ code: z.string().nullable(), message: z.string() }).strict().optional(),
    content: z.object({ prompt: z.unknown().optional(), output: z.unknown().optional() }).strict().optional(),
  })
  .strict();

const ConversionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("rate"), ethPerUsd: z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/) }).strict(),
  z
    .object({
      kind: z.literal("price-feed"),
      address: ADDRESS,
      description: z.string(),
      decimals: z.number().int().min(0).max(36),
      roundId: UINT,
      answer: UINT.refine((text) => text !== "0", "must be above 0"),
      updatedAt: COUNT,
      readAt: COUNT,
      maxAgeSeconds: COUNT,
      sequencer: z
        .object({ address: ADDRESS, roundId: UINT, startedAt: COUNT, graceSeconds: COUNT })
        .strict()
        .optional(),
    })
    .strict(),
]);

const BundleSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    version: z.literal(BUNDLE_VERSION),
    createdAt: COUNT,
    user: ADDRESS,
    source: z
      .object({ platform: z.enum(PLATFORMS), file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })
      .strict(),
    conversion: ConversionSchema,
    jobs: z.array(JobSchema),
    models: z.array(z.unknown()),
    totals: z.unknown(),
    credits: z.unknown(),
    digest: HASH,
  })
  .strict();

/**
 * Reads a bundle back from its JSON text: the schema, then the digest, models, totals and credit
 * plan are recomputed and must match. `file` names it in errors.
 */
export function parseBundle(text: string, file: string): ImportBundle {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ImportError(`${file}: not JSON (${(error as Error).message})`);
  }
  // The digest is recomputed recursively: a depth no bundle has is refused before, not overflowed in it.
  if (nestedDeeperThan(value))
    throw new ImportError(`${file}: nested deeper than ${MAX_JSON_DEPTH} levels; not a bundle`);
  const parsed = BundleSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw new ImportError(`${file}: not an import bundle: ${problems.join("; ")}`);
  }
  const read = parsed.data as unknown as ImportBundle;
  const { models, totals, credits, digest, ...content } = read;
  const actual = bundleDigest(read);
  if (actual !== digest) {
    throw new ImportError(`${file}: $.digest: ${digest} does not match the content (${actual}); the bundle was edited`);
  }
  const sealed = sealBundle(content);
  for (const [name, got, want] of [
    ["models", models, sealed.models],
    ["totals", totals, sealed.totals],
    ["credits", credits, sealed.credits],
  ] as const) {
    if (canonicalJson(got) !== canonicalJson(want)) {
      throw new ImportError(`${file}: $.${name} does not follow from the jobs; the bundle was edited`);
    }
  }
  return sealed;
}

export function readBundle(file: string): ImportBundle {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ImportError(`${file}: cannot read the bundle`);
  }
  return parseBundle(text, file);
}

/** The bundle as it is written: indented JSON with a final newline. */
export function bundleText(bundle: ImportBundle): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

/** Writes the bundle atomically: a temporary file in the same directory, then a rename over `file`. */
export function writeBundle(file: string, bundle: ImportBundle): void {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    writeFileSync(temp, bundleText(bundle), { flag: "wx" });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new ImportError(`--out ${file}: cannot write the bundle (${(error as Error).message})`);
  }
}

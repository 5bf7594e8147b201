import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import * as prettier from "prettier";
import { writeFileAtomically } from "../files.js";
import { compare, diffAbi } from "./abiDiff.js";
import { collectFacts, contractOutput } from "./facts.js";
import {
  GENERATED_MARKER,
  makeReview,
  renderContractJson,
  renderContractMarkdown,
  renderIndexMarkdown,
  type ContractReview,
} from "./report.js";
import type { CompiledContract, StorageReview } from "./types.js";

/**
 * Builds the reviews of a set of upgrades and keeps an audit directory (audits/<name>/) in step
 * with them: README.md (the index), then <Before>-to-<After>.md and .json per pair.
 */

/** One side of a pair: a fully qualified name, in this project's build or in a build-info directory. */
export interface ContractSource {
  fqn: string;
  /** A Hardhat or Foundry build-info directory; undefined for this project's build. */
  buildInfo?: string;
}

export interface ReviewPair {
  before: ContractSource;
  after: ContractSource;
}

/** How a review reads compiled contracts and judges storage (lib/review/compiled.ts and storageDiff.ts). */
export interface ReviewLoaders {
  load(source: ContractSource): Promise<CompiledContract>;
  reviewStorage(before: CompiledContract, after: CompiledContract): Promise<StorageReview> | StorageReview;
}

export interface AuditOptions {
  /** The index's title, e.g. `v1-to-v2`. */
  title: string;
  /** The command that regenerates the directory, quoted in the index and in --check's message. */
  command: string;
  /** Where prettier's configuration is resolved from (the repository root). */
  root: string;
}

/** What --check found: a file whose text differs, one that is not there, one nobody generates. */
export interface AuditDrift {
  file: string;
  problem: "stale" | "missing" | "extra";
}

/** An origin without the machine's directories in it: reports must read the same everywhere. */
function portableOrigin(origin: string, root: string): string {
  return path.isAbsolute(origin) ? path.relative(root, origin).split(path.sep).join("/") || "." : origin;
}

/** The review of every pair, sorted by file name; refuses two pairs that would write the same files. */
export async function buildReview(
  pairs: readonly ReviewPair[],
  loaders: ReviewLoaders,
  root: string = process.cwd(),
): Promise<ContractReview[]> {
  const reviews: ContractReview[] = [];
  for (const pair of pairs) {
    const before = await loaders.load(pair.before);
    const after = await loaders.load(pair.after);
    const storage = await loaders.reviewStorage(before, after);
    reviews.push(
      makeReview(
        { fqn: before.fqn, origin: portableOrigin(before.origin, root) },
        { fqn: after.fqn, origin: portableOrigin(after.origin, root) },
        diffAbi(contractOutput(before).abi, contractOutput(after).abi),
        storage,
        collectFacts(before, after),
      ),
    );
  }
  reviews.sort((a, b) => compare(a.slug, b.slug));
  for (let i = 1; i < reviews.length; i++) {
    if (reviews[i]!.slug === reviews[i - 1]!.slug) {
      throw new Error(
        `Two pairs would both write ${reviews[i]!.slug}.md: review them into different --out directories`,
      );
    }
  }
  return reviews;
}

async function format(text: string, file: string, root: string): Promise<string> {
  // Resolved as if the file were in the repository, so a temporary directory formats the same.
  const config = (await prettier.resolveConfig(path.join(root, file))) ?? {};
  return prettier.format(text, { ...config, filepath: file });
}

/** Every file of the audit directory, by name, formatted as `prettier --check` expects. */
export async function renderAudit(
  reviews: readonly ContractReview[],
  options: AuditOptions,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  files.set("README.md", renderIndexMarkdown(options.title, reviews, options.command));
  for (const review of reviews) {
    files.set(`${review.slug}.md`, renderContractMarkdown(review));
    files.set(`${review.slug}.json`, renderContractJson(review));
  }
  const formatted = new Map<string, string>();
  for (const name of [...files.keys()].sort(compare)) {
    formatted.set(name, await format(files.get(name)!, name, options.root));
  }
  return formatted;
}

/** Regular, visible files of a directory (temporary files of an interrupted write start with a dot). */
async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .sort(compare);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Compares the directory with what the reviews generate, reading only. */
export async function checkAudit(
  dir: string,
  reviews: readonly ContractReview[],
  options: AuditOptions,
): Promise<AuditDrift[]> {
  const expected = await renderAudit(reviews, options);
  const drift: AuditDrift[] = [];
  for (const [name, text] of expected) {
    const actual = await readOrUndefined(path.join(dir, name));
    if (actual === undefined) drift.push({ file: name, problem: "missing" });
    else if (actual !== text) drift.push({ file: name, problem: "stale" });
  }
  for (const name of await listFiles(dir)) {
    if (!expected.has(name)) drift.push({ file: name, problem: "extra" });
  }
  return drift.sort((a, b) => compare(a.file, b.file));
}

export interface AuditWrite {
  written: string[];
  unchanged: string[];
  removed: string[];
}

/**
 * Brings the directory in step with the reviews: each file written atomically when its text
 * changed; report files nobody generates any more are removed, but only from a directory whose
 * README.md this task generated (so `--out .` can never delete a project's own files).
 */
export async function writeAudit(
  dir: string,
  reviews: readonly ContractReview[],
  options: AuditOptions,
): Promise<AuditWrite> {
  const expected = await renderAudit(reviews, options);
  const ours = (await readOrUndefined(path.join(dir, "README.md")))?.startsWith(GENERATED_MARKER) ?? false;
  const result: AuditWrite = { written: [], unchanged: [], removed: [] };
  for (const name of ours ? await listFiles(dir) : []) {
    if (!expected.has(name) && /\.(md|json)$/.test(name)) {
      await rm(path.join(dir, name));
      result.removed.push(name);
    }
  }
  for (const [name, text] of expected) {
    if ((await readOrUndefined(path.join(dir, name))) === text) {
      result.unchanged.push(name);
    } else {
      await writeFileAtomically(path.join(dir, name), text);
      result.written.push(name);
    }
  }
  return result;
}

/** The pairs `npx hardhat upgrade:diff` reviews with no --from/--to, into audits/v1-to-v2/. */
export const DEFAULT_AUDIT = "audits/v1-to-v2";

const GENERATIONS = ["NodeRegistry", "PaymentEscrow", "JobMarketplace"] as const;

/**
 * V1 → V2 for the three contracts, V1 → V1.1 where a V1.1 exists, and V1 → its adapter for each
 * adapter source present (`hasSource` says whether `contracts/…sol` exists in the project).
 */
export function defaultPairs(hasSource: (sourceName: string) => boolean): ReviewPair[] {
  const project = (sourceName: string, contractName: string): ContractSource => ({
    fqn: `${sourceName}:${contractName}`,
  });
  const pairs: ReviewPair[] = [];
  for (const name of GENERATIONS) {
    const v1 = project(`contracts/v1/${name}V1.sol`, `${name}V1`);
    pairs.push({ before: v1, after: project(`contracts/v2/${name}V2.sol`, `${name}V2`) });
    const v1_1 = `contracts/v1_1/${name}V1_1.sol`;
    if (hasSource(v1_1)) pairs.push({ before: v1, after: project(v1_1, `${name}V1_1`) });
    const adapter = `contracts/adapters/${name}V1Adapter.sol`;
    if (hasSource(adapter)) pairs.push({ before: v1, after: project(adapter, `${name}V1Adapter`) });
  }
  return pairs;
}

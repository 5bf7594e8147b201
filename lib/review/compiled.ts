import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { CompiledContract, SolcInput, SolcOutput } from "./types.js";

/**
 * Loading one compiled contract with the whole compilation that produced it, from this project's
 * Hardhat 3 build or from another project's build-info directory (Hardhat 3, Hardhat 2, Foundry).
 *
 * Build-info formats read here:
 * - Hardhat 3 (`_format: "hh3-sol-build-info-1"`): `<id>.json` holds `input`, `solcLongVersion` and
 *   `userSourceNameMap` (the name users write → the input's source name, e.g. `project/contracts/…`);
 *   `<id>.output.json` (`_format: "hh3-sol-build-info-output-1"`) holds `output`.
 * - Hardhat 2 (`_format: "hh-sol-build-info-1"`): one file with `input`, `output`, `solcLongVersion`.
 * - Foundry (`_format: "ethers-rs-sol-build-info-1"`, `out/build-info/*.json` with `build_info = true`):
 *   followed from foundry-rs/compilers `crates/compilers/src/buildinfo.rs` (`RawBuildInfo`/`BuildInfo`):
 *   `id`, `source_id_to_path`, `language`, `compilerVersion`, `inputVersion`, `inputVersionLong`
 *   (the long solc version), `input`, `output`. Older Foundry releases wrote Hardhat 2's
 *   `solcVersion`/`solcLongVersion` instead, which are read as a fallback.
 */

/** A requested contract that the build does not hold, or holds more than once. */
export class ContractReferenceError extends Error {
  constructor(
    message: string,
    /** Fully qualified names the caller may have meant (close matches or the ambiguous candidates). */
    readonly candidates: string[],
  ) {
    super(message);
    this.name = "ContractReferenceError";
  }
}

/** A file or directory that is not a build info the review can read, or lacks outputs it needs. */
export class BuildInfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BuildInfoError";
  }
}

/** One compilation as read from disk: every contract it holds, by fully qualified (user) name. */
interface Compilation {
  file: string;
  solcVersion: string;
  input: SolcInput;
  output: SolcOutput;
  /** Input/output source name → the name users write (Hardhat 3 prefixes project sources with `project/`). */
  userSourceNames: Record<string, string>;
}

const HARDHAT_SELECTION_HELP =
  'For Hardhat, add to the solidity settings: outputSelection: { "*": { "*": ["storageLayout"], "": ["ast"] } } ' +
  "(or use @openzeppelin/hardhat-upgrades, which adds it), then rebuild from clean.";
const FOUNDRY_SELECTION_HELP =
  'For Foundry, set build_info = true and extra_output = ["storageLayout"] in foundry.toml, then run `forge clean && forge build`.';

// Parsed compilations shared by every load in this process: the project's output is about 25 MB,
// and a review that loads both sides from one build validates that build once (see storageDiff.ts).
const compilations = new Map<string, { mtimeMs: number; compilation: Promise<Compilation> }>();

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, "utf8")) as unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invert(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([user, input]) => [input, user]));
}

/** Reads one build-info file in any supported format; `dir` names the directory in errors. */
async function readCompilation(file: string, dir: string): Promise<Compilation> {
  const where = `${path.basename(file)} in ${dir}`;
  let json: unknown;
  try {
    json = await readJson(file);
  } catch (error) {
    throw new BuildInfoError(`${where} is not a build info: not readable as JSON (${(error as Error).message}).`);
  }
  const expected =
    "expected a solc build info: Hardhat 3 (`_format` hh3-sol-build-info-1 with `input` and a matching .output.json), " +
    "Hardhat 2 (`input`, `output`, `solcLongVersion`) or Foundry (`input`, `output`, `inputVersionLong`)";
  if (isObject(json) && json.source_id_to_path !== undefined && !isObject(json.input)) {
    // Foundry writes only ids and paths unless the full build info is asked for.
    throw new BuildInfoError(
      `${where} is a Foundry build info without solc input and output: set build_info = true and ` +
        'extra_output = ["storageLayout"] in foundry.toml, then run `forge clean && forge build`.',
    );
  }
  if (!isObject(json) || !isObject(json.input)) throw new BuildInfoError(`${where} is not a build info: ${expected}.`);
  const format = typeof json._format === "string" ? json._format : "";
  const input = json.input as unknown as SolcInput;

  if (format.startsWith("hh3-sol-build-info")) {
    const outputFile = file.replace(/\.json$/, ".output.json");
    let outputJson: unknown;
    try {
      outputJson = await readJson(outputFile);
    } catch {
      throw new BuildInfoError(
        `${where} is a Hardhat 3 build info but ${path.basename(outputFile)} (its solc output) is missing or unreadable: rebuild with \`npx hardhat build\`.`,
      );
    }
    if (!isObject(outputJson) || !isObject(outputJson.output)) {
      throw new BuildInfoError(`${path.basename(outputFile)} in ${dir} has no \`output\` (solc output).`);
    }
    const userMap = isObject(json.userSourceNameMap) ? (json.userSourceNameMap as Record<string, string>) : {};
    return {
      file,
      solcVersion: String(json.solcLongVersion ?? json.solcVersion),
      input,
      output: outputJson.output as unknown as SolcOutput,
      userSourceNames: invert(userMap),
    };
  }

  const solcVersion = json.inputVersionLong ?? json.solcLongVersion ?? json.solcVersion;
  if (!isObject(json.output) || typeof solcVersion !== "string") {
    throw new BuildInfoError(`${where} is not a build info${format ? ` (format ${format})` : ""}: ${expected}.`);
  }
  return { file, solcVersion, input, output: json.output as unknown as SolcOutput, userSourceNames: {} };
}

async function loadCompilation(file: string, dir: string): Promise<Compilation> {
  const { mtimeMs } = await stat(file);
  const cached = compilations.get(file);
  if (cached !== undefined && cached.mtimeMs === mtimeMs) return cached.compilation;
  const compilation = readCompilation(file, dir);
  compilations.set(file, { mtimeMs, compilation });
  compilation.catch(() => compilations.delete(file));
  return compilation;
}

/** Every contract of a compilation: user fully qualified name → [input source name, contract name]. */
function contractsOf(compilation: Compilation): Map<string, [string, string]> {
  const contracts = new Map<string, [string, string]>();
  for (const [sourceName, byName] of Object.entries(compilation.output.contracts ?? {})) {
    for (const contractName of Object.keys(byName)) {
      const userSource = compilation.userSourceNames[sourceName] ?? sourceName;
      contracts.set(`${userSource}:${contractName}`, [sourceName, contractName]);
    }
  }
  return contracts;
}

/** Levenshtein distance, for suggesting the names closest to a mistyped reference. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The names closest to `ref` (by contract name when `ref` is bare), at most five, best first. */
export function closeMatches(ref: string, names: readonly string[]): string[] {
  const bare = !ref.includes(":");
  const key = (name: string): string => (bare ? name.slice(name.lastIndexOf(":") + 1) : name);
  const scored = names
    .map((name) => ({ name, score: distance(ref.toLowerCase(), key(name).toLowerCase()) }))
    .filter(({ score }) => score <= Math.max(3, Math.floor(ref.length / 3)))
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return scored.slice(0, 5).map(({ name }) => name);
}

/** Resolves a fully qualified or bare contract name among `names`; refuses unknown and ambiguous ones. */
export function resolveReference(ref: string, names: readonly string[], where: string): string {
  if (ref.includes(":")) {
    if (names.includes(ref)) return ref;
  } else {
    const matches = names.filter((name) => name.endsWith(`:${ref}`)).sort();
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new ContractReferenceError(
        `${ref} is ambiguous in ${where}: use a fully qualified name, one of ${matches.join(", ")}.`,
        matches,
      );
    }
  }
  const suggestions = closeMatches(ref, names);
  throw new ContractReferenceError(
    `${where} has no contract ${ref}.` +
      (suggestions.length > 0 ? ` Did you mean ${suggestions.join(", ")}?` : " It holds no similar name."),
    suggestions,
  );
}

/** Refuses a contract whose compilation lacks what OpenZeppelin's validation reads (storage layout, AST). */
function assertReviewable(compilation: Compilation, sourceName: string, contractName: string, where: string): void {
  const contract = compilation.output.contracts[sourceName]?.[contractName];
  const missing: string[] = [];
  if (contract?.storageLayout === undefined) missing.push("storageLayout");
  if (compilation.output.sources?.[sourceName]?.ast === undefined) missing.push("ast");
  if (missing.length > 0) {
    throw new BuildInfoError(
      `${path.basename(compilation.file)} in ${where} has no ${missing.join(" or ")} output for ${contractName}: ` +
        `the storage review needs solc's storageLayout and ast outputs. ${HARDHAT_SELECTION_HELP} ${FOUNDRY_SELECTION_HELP}`,
    );
  }
}

function compiledContract(
  compilation: Compilation,
  fqn: string,
  sourceName: string,
  contractName: string,
  origin: string,
): CompiledContract {
  assertReviewable(compilation, sourceName, contractName, origin);
  const contract: CompiledContract = {
    fqn,
    sourceName,
    contractName,
    origin,
    solcVersion: compilation.solcVersion,
    input: compilation.input,
    output: compilation.output,
  };
  if (Object.keys(compilation.userSourceNames).length > 0) contract.userSourceNames = compilation.userSourceNames;
  return contract;
}

/** Fully qualified names of every artifact under a Hardhat 3 artifacts directory, sorted. */
async function projectArtifactNames(artifactsDir: string): Promise<string[]> {
  const names: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (full !== path.join(artifactsDir, "build-info")) await walk(full);
      } else if (entry.name.endsWith(".json") && path.basename(dir).endsWith(".sol")) {
        const source = path.relative(artifactsDir, dir).split(path.sep).join("/");
        names.push(`${source}:${entry.name.slice(0, -".json".length)}`);
      }
    }
  };
  await walk(artifactsDir);
  return names.sort();
}

/**
 * Loads `fqn` (`contracts/v1/NodeRegistryV1.sol:NodeRegistryV1`, or a bare name that is unique) from
 * this project's Hardhat 3 build: artifact → buildInfoId → build-info input and output.
 */
export async function loadProjectContract(artifactsDir: string, fqn: string): Promise<CompiledContract> {
  const where = "the project build";
  const names = await projectArtifactNames(artifactsDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") {
      throw new BuildInfoError(`No Hardhat artifacts in ${artifactsDir}: run \`npx hardhat build\` first.`);
    }
    throw error;
  });
  const resolved = resolveReference(fqn, names, where);
  const colon = resolved.lastIndexOf(":");
  const [userSource, contractName] = [resolved.slice(0, colon), resolved.slice(colon + 1)];
  const artifact = (await readJson(path.join(artifactsDir, userSource, `${contractName}.json`))) as {
    buildInfoId?: string;
    inputSourceName?: string;
  };
  if (artifact.buildInfoId === undefined) {
    throw new BuildInfoError(`The artifact of ${resolved} has no buildInfoId: rebuild with \`npx hardhat build\`.`);
  }
  const buildInfoDir = path.join(artifactsDir, "build-info");
  const compilation = await loadCompilation(
    path.join(buildInfoDir, `${artifact.buildInfoId}.json`),
    "artifacts/build-info",
  );
  const sourceName = artifact.inputSourceName ?? userSource;
  return compiledContract(compilation, resolved, sourceName, contractName, "project build");
}

/**
 * Loads `ref` (fully qualified or bare contract name) from another project's build-info directory
 * (Hardhat 3 `artifacts/build-info`, Hardhat 2 `artifacts/build-info`, Foundry `out/build-info`).
 * A contract found in several build infos with different bytecode is refused as ambiguous.
 */
export async function loadFromBuildInfo(dir: string, ref: string): Promise<CompiledContract> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    throw new BuildInfoError(`Build-info directory ${dir} does not exist or cannot be read.`);
  }
  const files = entries.filter((name) => name.endsWith(".json") && !name.endsWith(".output.json")).sort();
  if (files.length === 0) {
    throw new BuildInfoError(
      `${dir} holds no build info (*.json): expected a Hardhat artifacts/build-info or a Foundry out/build-info directory ` +
        "(Foundry writes it with build_info = true).",
    );
  }
  const found = new Map<string, Array<{ compilation: Compilation; sourceName: string; contractName: string }>>();
  for (const file of files) {
    const compilation = await loadCompilation(path.join(dir, file), dir);
    for (const [fqn, [sourceName, contractName]] of contractsOf(compilation)) {
      found.set(fqn, [...(found.get(fqn) ?? []), { compilation, sourceName, contractName }]);
    }
  }
  const resolved = resolveReference(ref, [...found.keys()].sort(), dir);
  const holders = found.get(resolved)!;
  const bytecodes = new Set(
    holders.map(
      ({ compilation, sourceName, contractName }) =>
        compilation.output.contracts[sourceName]![contractName]!.evm?.bytecode?.object ?? "",
    ),
  );
  if (bytecodes.size > 1) {
    throw new ContractReferenceError(
      `${resolved} is compiled differently in ${holders.map(({ compilation }) => path.basename(compilation.file)).join(", ")} ` +
        `in ${dir}: remove stale build infos (rebuild from clean) and try again.`,
      [resolved],
    );
  }
  const { compilation, sourceName, contractName } = holders[0]!;
  return compiledContract(compilation, resolved, sourceName, contractName, dir);
}

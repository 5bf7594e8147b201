import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AbiItem } from "../review/types.js";
import { formatSolidity } from "./format.js";
import { adapterPath, generateAdapter } from "./generate.js";
import { MappingError, parseMapping, type AdapterMapping } from "./mapping.js";

/**
 * `upgrade:adapter` without Hardhat: reads the mappings, the build's ABIs (through a reader the
 * task supplies) and the shapes' converters, and returns each adapter's formatted source.
 */

/** What the generator needs from a build: Hardhat's `hre.artifacts` satisfies it. */
export interface ArtifactReader {
  readArtifact(name: string): Promise<{ abi: readonly unknown[]; sourceName: string; contractName: string }>;
  getAllFullyQualifiedNames(): Promise<ReadonlySet<string>>;
}

/** The adapter base whose functions the generated adapters do not redeclare. */
export const ADAPTER_BASE = "contracts/adapters/base/V1Adapter.sol:V1Adapter";

/** The committed mappings, one per V1 contract. */
export const DEFAULT_MAPPINGS = [
  "adapters/JobMarketplace.json",
  "adapters/NodeRegistry.json",
  "adapters/PaymentEscrow.json",
];

/** The command that regenerates the committed adapters. */
export const REGENERATE_COMMAND = "npx hardhat upgrade:adapter";

export interface GeneratedAdapter {
  /** Relative to the project root, e.g. contracts/adapters/NodeRegistryV1Adapter.sol. */
  file: string;
  source: string;
}

export interface AdapterRequest {
  /** Mapping file relative to `root`. */
  mapping: string;
  /** Fully qualified names overriding the mapping's `v1` / `v2`. */
  from?: string;
  to?: string;
}

/** The `pure` converters among those a shapes source declares. */
export function pureConvertersIn(source: string): string[] {
  const pure = [...source.matchAll(/\bfunction\s+(_[A-Za-z0-9_$]*)\s*\([^)]*\)([^{;]*)/g)].filter((m) =>
    /\bpure\b/.test(m[2]!),
  );
  return [...new Set(pure.map((m) => m[1]!))].sort();
}

/** The internal converters (`_name(`) a shapes source declares. */
export function convertersIn(source: string): string[] {
  return [...new Set([...source.matchAll(/\bfunction\s+(_[A-Za-z0-9_$]*)\s*\(/g)].map((m) => m[1]!))].sort();
}

/** Every contract and interface of the project's own sources (contracts/…), by name; names used twice are left out. */
async function projectSources(reader: ArtifactReader): Promise<Record<string, string>> {
  const seen = new Map<string, string | null>();
  for (const fqn of [...(await reader.getAllFullyQualifiedNames())].sort()) {
    const [source, name] = [fqn.slice(0, fqn.lastIndexOf(":")), fqn.slice(fqn.lastIndexOf(":") + 1)];
    if (!source.startsWith("contracts/")) continue;
    seen.set(name, seen.has(name) ? null : source);
  }
  const sources: Record<string, string> = {};
  for (const [name, source] of seen) if (source !== null) sources[name] = source;
  return sources;
}

/** Generates and formats the adapter of one mapping file. */
export async function buildAdapter(
  root: string,
  request: AdapterRequest,
  reader: ArtifactReader,
): Promise<GeneratedAdapter> {
  let text: string;
  try {
    text = await readFile(path.join(root, request.mapping), "utf8");
  } catch (error) {
    throw new MappingError(request.mapping, "$", `cannot be read (${(error as Error).message})`);
  }
  const parsed: AdapterMapping = parseMapping(request.mapping, text);
  const mapping = { ...parsed, v1: request.from ?? parsed.v1, v2: request.to ?? parsed.v2 };
  const abiOf = async (name: string): Promise<AbiItem[]> => (await reader.readArtifact(name)).abi as AbiItem[];
  const shapesFile = `contracts/adapters/shapes/${mapping.contract}Shapes.sol`;
  let shapes: string;
  try {
    shapes = await readFile(path.join(root, shapesFile), "utf8");
  } catch {
    throw new MappingError(request.mapping, "contract", `names ${mapping.contract}, but ${shapesFile} does not exist`);
  }
  const source = generateAdapter({
    mappingFile: request.mapping,
    mapping,
    v1Abi: await abiOf(mapping.v1),
    v2Abi: await abiOf(mapping.v2),
    baseAbi: await abiOf(ADAPTER_BASE),
    converters: convertersIn(shapes),
    pureConverters: pureConvertersIn(shapes),
    sources: await projectSources(reader),
  });
  const file = adapterPath(mapping);
  return { file, source: await formatSolidity(source, path.join(root, file)) };
}

/** The committed files among `generated` that differ from what the generator produces now. */
export async function staleAdapters(root: string, generated: readonly GeneratedAdapter[]): Promise<string[]> {
  const stale: string[] = [];
  for (const { file, source } of generated) {
    const committed = await readFile(path.join(root, file), "utf8").catch(() => undefined);
    if (committed !== source) stale.push(file);
  }
  return stale;
}

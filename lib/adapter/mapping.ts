/**
 * The mapping file of a V1 adapter (adapters/<Contract>.json): how each V1 function that V2 does
 * not serve as it is reaches V2. docs/adapters.md documents the schema; `parseMapping` refuses
 * anything else with a message naming the file and the JSON path.
 */

/** A V1 function forwarded to a V2 function. */
export interface ForwardEntry {
  kind: "forward";
  /** V2 function name or full signature (default: the V1 function's name). */
  to?: string;
  /** One Solidity expression per V2 input (default: the V1 parameter names in order). */
  args?: string[];
  /** A converter applied to V2's result (default: identity, when the output types match). */
  returns?: string;
  /** Solidity statements run before the forward (to read what V1's events report). */
  before?: string[];
  /** V1 events to emit after the forward, as `Name(expr, …)`; required for state-changing functions. */
  emit?: string[];
}

/** A V1 function implemented whole by a converter of the shapes contract. */
export interface ImplEntry {
  kind: "impl";
  impl: string;
  before?: string[];
  emit?: string[];
}

/** A V1 function with no V2 equivalent: it reverts `Deprecated(selector, replacement)`. */
export interface DeprecatedEntry {
  kind: "deprecated";
  deprecated: string;
}

export type MappingEntry = ForwardEntry | ImplEntry | DeprecatedEntry;

export interface AdapterMapping {
  /** The contract's base name: `NodeRegistry` generates `NodeRegistryV1Adapter`. */
  contract: string;
  /** Fully qualified names of the V1 and V2 contracts in this project's build. */
  v1: string;
  v2: string;
  /** Entries by V1 function signature, e.g. `registerNode(string,string[],string)`. */
  functions: Record<string, MappingEntry>;
}

/** A mapping file that cannot be used: the message names the file and the JSON path. */
export class MappingError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    detail: string,
  ) {
    super(`${file}: ${path} ${detail}`);
    this.name = "MappingError";
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const SIGNATURE = /^[A-Za-z_$][A-Za-z0-9_$]*\(([^()]*|.*)\)$/;
const FQN = /^[^:]+\.sol:[A-Za-z_$][A-Za-z0-9_$]*$/;

const ENTRY_KEYS = new Set(["to", "args", "returns", "before", "emit", "impl", "deprecated"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(file: string, path: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw new MappingError(file, path, "must be an array of strings");
  return value.map((item, i) => {
    if (typeof item !== "string" || item.trim() === "") {
      throw new MappingError(file, `${path}[${i}]`, "must be a non-empty string");
    }
    return item;
  });
}

function identifier(file: string, path: string, value: unknown): string {
  if (typeof value !== "string" || !IDENTIFIER.test(value)) {
    throw new MappingError(file, path, "must be a Solidity identifier (a converter's name)");
  }
  return value;
}

function entryOf(file: string, path: string, value: unknown): MappingEntry {
  if (!isRecord(value)) throw new MappingError(file, path, "must be an object");
  for (const key of Object.keys(value)) {
    if (!ENTRY_KEYS.has(key)) {
      throw new MappingError(file, `${path}.${key}`, `is not a known key (${[...ENTRY_KEYS].join(", ")})`);
    }
  }
  const optional = (key: "before" | "emit" | "args"): { [k: string]: string[] } =>
    value[key] === undefined ? {} : { [key]: stringList(file, `${path}.${key}`, value[key]) };
  if (value.deprecated !== undefined) {
    const others = Object.keys(value).filter((key) => key !== "deprecated");
    if (others.length > 0) throw new MappingError(file, path, `"deprecated" excludes ${others.join(", ")}`);
    if (typeof value.deprecated !== "string" || value.deprecated.trim() === "") {
      throw new MappingError(file, `${path}.deprecated`, "must name the replacement (a non-empty string)");
    }
    if (value.deprecated.includes('"') || value.deprecated.includes("\\")) {
      throw new MappingError(file, `${path}.deprecated`, "must not contain quotes or backslashes");
    }
    return { kind: "deprecated", deprecated: value.deprecated };
  }
  if (value.impl !== undefined) {
    const others = Object.keys(value).filter((key) => key === "to" || key === "args" || key === "returns");
    if (others.length > 0) throw new MappingError(file, path, `"impl" excludes ${others.join(", ")}`);
    return {
      kind: "impl",
      impl: identifier(file, `${path}.impl`, value.impl),
      ...optional("before"),
      ...optional("emit"),
    };
  }
  const entry: ForwardEntry = { kind: "forward", ...optional("args"), ...optional("before"), ...optional("emit") };
  if (value.to !== undefined) {
    if (typeof value.to !== "string" || !(IDENTIFIER.test(value.to) || SIGNATURE.test(value.to))) {
      throw new MappingError(file, `${path}.to`, "must be a V2 function name or signature");
    }
    entry.to = value.to;
  }
  if (value.returns !== undefined) entry.returns = identifier(file, `${path}.returns`, value.returns);
  return entry;
}

/** Parses and validates the text of mapping file `file`. */
export function parseMapping(file: string, text: string): AdapterMapping {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MappingError(file, "$", `is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json)) throw new MappingError(file, "$", "must be an object");
  for (const key of Object.keys(json)) {
    if (!["$comment", "contract", "v1", "v2", "functions"].includes(key)) {
      throw new MappingError(file, key, "is not a known key ($comment, contract, v1, v2, functions)");
    }
  }
  if (typeof json.contract !== "string" || !IDENTIFIER.test(json.contract)) {
    throw new MappingError(file, "contract", "must be the contract's base name, e.g. NodeRegistry");
  }
  for (const key of ["v1", "v2"] as const) {
    if (typeof json[key] !== "string" || !FQN.test(json[key])) {
      throw new MappingError(file, key, "must be a fully qualified name, e.g. contracts/v1/X.sol:X");
    }
  }
  if (!isRecord(json.functions)) throw new MappingError(file, "functions", "must be an object keyed by V1 signature");
  const functions: Record<string, MappingEntry> = {};
  for (const [signature, value] of Object.entries(json.functions)) {
    const path = `functions["${signature}"]`;
    if (!SIGNATURE.test(signature) || /\s/.test(signature)) {
      throw new MappingError(file, path, "is not a function signature such as name(uint256,string)");
    }
    functions[signature] = entryOf(file, path, value);
  }
  return { contract: json.contract, v1: json.v1 as string, v2: json.v2 as string, functions };
}

import { compare, signatureOf } from "./abiDiff.js";
import type { Change, CompiledContract, NatSpecDoc, SolcContractOutput } from "./types.js";

/**
 * Facts of an upgrade beside its ABI and storage: code size against the deployment limits,
 * `version()`, compiler settings and NatSpec of the public functions. Pure: read from the
 * compiler's input and output only.
 */

/** EIP-170: the most runtime code an account may hold; a larger contract cannot be deployed. */
export const EIP170_RUNTIME_LIMIT = 24_576;
/** EIP-3860 (Shanghai): the most init code a creation may carry. */
export const EIP3860_INITCODE_LIMIT = 49_152;

export interface CompilerSettings {
  solc: string;
  optimizer: boolean;
  runs: number | null;
  evmVersion: string;
  viaIR: boolean;
}

export interface NatSpecChange {
  /** `withdraw(address,uint256)`. */
  function: string;
  /** `notice`, `details`, `param <name>` or `return <name>`. */
  field: string;
  before: string | null;
  after: string | null;
}

export interface Side<T> {
  before: T;
  after: T;
}

export interface ContractFacts {
  runtimeSize: Side<number> & { limit: number };
  initcodeSize: Side<number> & { limit: number };
  /** The string `version()` returns, `not a constant` when it is not a literal, null without a version(). */
  version: Side<string | null>;
  compiler: Side<CompilerSettings>;
  natspec: NatSpecChange[];
  /** Breaking when a function is deprecated or code cannot be deployed; info for version, compiler and NatSpec changes. */
  changes: Change[];
}

export const NOT_A_CONSTANT = "not a constant";

export function contractOutput(contract: CompiledContract): SolcContractOutput {
  const output = contract.output.contracts[contract.sourceName]?.[contract.contractName];
  if (output === undefined) {
    throw new Error(`${contract.fqn}: not in its compiler output (${contract.sourceName}:${contract.contractName})`);
  }
  return output;
}

function byteLength(hex: string | undefined): number {
  if (hex === undefined) return 0;
  const digits = hex.startsWith("0x") ? hex.slice(2) : hex;
  return digits.length / 2;
}

export function compilerSettings(contract: CompiledContract): CompilerSettings {
  const settings = contract.input.settings;
  const optimizer = settings.optimizer?.enabled === true;
  return {
    solc: contract.solcVersion,
    optimizer,
    // solc's default is 200 runs; the value only means something with the optimizer on.
    runs: optimizer ? (settings.optimizer?.runs ?? 200) : null,
    evmVersion: settings.evmVersion ?? "default",
    viaIR: settings.viaIR === true,
  };
}

/**
 * NatSpec as solc produced it: the contract output's userdoc/devdoc when the build selected them,
 * else the copies inside the metadata (Hardhat 3 selects `metadata` but not the docs).
 */
export function natSpecOf(contract: CompiledContract): { userdoc: NatSpecDoc; devdoc: NatSpecDoc } {
  const output = contractOutput(contract);
  let userdoc = output.userdoc;
  let devdoc = output.devdoc;
  if ((userdoc === undefined || devdoc === undefined) && output.metadata !== undefined) {
    const metadata = JSON.parse(output.metadata) as { output?: { userdoc?: NatSpecDoc; devdoc?: NatSpecDoc } };
    userdoc ??= metadata.output?.userdoc;
    devdoc ??= metadata.output?.devdoc;
  }
  return { userdoc: userdoc ?? {}, devdoc: devdoc ?? {} };
}

/** One function's documentation as flat `field → text` pairs. */
function functionDoc(doc: { userdoc: NatSpecDoc; devdoc: NatSpecDoc }, signature: string): Map<string, string> {
  const fields = new Map<string, string>();
  const user = doc.userdoc.methods?.[signature];
  const dev = doc.devdoc.methods?.[signature];
  if (typeof user?.notice === "string") fields.set("notice", user.notice);
  if (typeof dev?.details === "string") fields.set("details", dev.details);
  for (const [kind, prefix] of [
    ["params", "param"],
    ["returns", "return"],
  ] as const) {
    const entries = dev?.[kind];
    if (typeof entries !== "object" || entries === null) continue;
    for (const [name, text] of Object.entries(entries as Record<string, unknown>)) {
      if (typeof text === "string") fields.set(`${prefix} ${name}`, text);
    }
  }
  return fields;
}

/** NatSpec changes on the functions both sides have (an added or removed function is in the ABI diff). */
export function diffNatSpec(before: CompiledContract, after: CompiledContract): NatSpecChange[] {
  const docBefore = natSpecOf(before);
  const docAfter = natSpecOf(after);
  const functionsOf = (contract: CompiledContract) =>
    new Set(
      contractOutput(contract)
        .abi.filter((item) => item.type === "function")
        .map(signatureOf),
    );
  const afterFunctions = functionsOf(after);
  const changes: NatSpecChange[] = [];
  for (const signature of [...functionsOf(before)].filter((s) => afterFunctions.has(s)).sort(compare)) {
    const a = functionDoc(docBefore, signature);
    const b = functionDoc(docAfter, signature);
    for (const field of [...new Set([...a.keys(), ...b.keys()])].sort(compare)) {
      const textBefore = a.get(field) ?? null;
      const textAfter = b.get(field) ?? null;
      if (textBefore !== textAfter) changes.push({ function: signature, field, before: textBefore, after: textAfter });
    }
  }
  return changes;
}

interface AstNode {
  id?: number;
  nodeType?: string;
  name?: string;
  kind?: string;
  nodes?: AstNode[];
  linearizedBaseContracts?: number[];
  parameters?: { parameters?: unknown[] };
  body?: { statements?: AstNode[] } | null;
  implemented?: boolean;
  expression?: AstNode | null;
  value?: string;
  [key: string]: unknown;
}

/**
 * What `version()` returns, read from the AST (no EVM needed): the most derived implemented
 * `version()` in the contract's linearization, when its body is `return "<literal>";`. Anything
 * else (a computed value, a constant from storage) is reported as `not a constant` rather than
 * guessed. Null when the contract has no parameterless `version()`.
 */
export function versionOf(contract: CompiledContract): string | null {
  const contracts = new Map<number, AstNode>();
  for (const source of Object.values(contract.output.sources)) {
    for (const node of (source.ast as AstNode | undefined)?.nodes ?? []) {
      if (node.nodeType === "ContractDefinition" && node.id !== undefined) contracts.set(node.id, node);
    }
  }
  const target = [...contracts.values()].find(
    (node) =>
      node.name === contract.contractName &&
      (contract.output.sources[contract.sourceName]?.ast as AstNode | undefined)?.nodes?.includes(node),
  );
  if (target === undefined) return null;
  for (const baseId of target.linearizedBaseContracts ?? [target.id!]) {
    const version = (contracts.get(baseId)?.nodes ?? []).find(
      (node) =>
        node.nodeType === "FunctionDefinition" &&
        node.kind === "function" &&
        node.name === "version" &&
        (node.parameters?.parameters ?? []).length === 0 &&
        node.implemented === true,
    );
    if (version === undefined) continue;
    const statements = version.body?.statements ?? [];
    const only = statements.length === 1 ? statements[0] : undefined;
    const literal = only?.nodeType === "Return" ? only.expression : undefined;
    if (literal?.nodeType === "Literal" && literal.kind === "string" && typeof literal.value === "string") {
      return literal.value;
    }
    return NOT_A_CONSTANT;
  }
  return null;
}

function sizeChanges(label: string, limit: number, eip: string, sizes: Side<number>, changes: Change[]): void {
  if (sizes.after > limit) {
    changes.push({
      severity: "breaking",
      subject: `${label}: ${sizes.after} bytes > ${limit}`,
      reason: `Over the ${eip} limit: the new implementation cannot be deployed on Ethereum or Base.`,
    });
  }
}

/**
 * Functions whose NatSpec carries `@custom:deprecated <replacement>` (the generated adapters mark
 * every function that only reverts `Deprecated(...)` that way), by signature.
 */
export function deprecatedFunctions(contract: CompiledContract): Map<string, string> {
  const deprecated = new Map<string, string>();
  for (const [signature, doc] of Object.entries(natSpecOf(contract).devdoc.methods ?? {})) {
    const replacement = doc["custom:deprecated"];
    if (typeof replacement === "string") deprecated.set(signature, replacement.trim());
  }
  return deprecated;
}

/**
 * A function that is still in the ABI but now always reverts is, for its callers, a removed
 * function: the ABI diff cannot see that, the NatSpec tag says it.
 */
function deprecationChanges(before: CompiledContract, after: CompiledContract, changes: Change[]): void {
  const already = deprecatedFunctions(before);
  for (const [signature, replacement] of [...deprecatedFunctions(after)].sort(([a], [b]) => compare(a, b))) {
    if (already.has(signature)) continue;
    changes.push({
      severity: "breaking",
      subject: `function ${signature}: deprecated`,
      reason: `Always reverts Deprecated(selector, replacement) now; callers must move to: ${replacement}.`,
    });
  }
}

/** Everything `ContractFacts` holds for one pair. */
export function collectFacts(before: CompiledContract, after: CompiledContract): ContractFacts {
  const outBefore = contractOutput(before);
  const outAfter = contractOutput(after);
  const runtimeSize = {
    limit: EIP170_RUNTIME_LIMIT,
    before: byteLength(outBefore.evm?.deployedBytecode?.object),
    after: byteLength(outAfter.evm?.deployedBytecode?.object),
  };
  const initcodeSize = {
    limit: EIP3860_INITCODE_LIMIT,
    before: byteLength(outBefore.evm?.bytecode?.object),
    after: byteLength(outAfter.evm?.bytecode?.object),
  };
  const version = { before: versionOf(before), after: versionOf(after) };
  const compiler = { before: compilerSettings(before), after: compilerSettings(after) };
  const natspec = diffNatSpec(before, after);

  const changes: Change[] = [];
  deprecationChanges(before, after, changes);
  sizeChanges("runtime code", EIP170_RUNTIME_LIMIT, "EIP-170", runtimeSize, changes);
  sizeChanges("init code", EIP3860_INITCODE_LIMIT, "EIP-3860", initcodeSize, changes);
  const codeChanged = outBefore.evm?.deployedBytecode?.object !== outAfter.evm?.deployedBytecode?.object;
  if (codeChanged && version.before !== null && version.before !== NOT_A_CONSTANT && version.before === version.after) {
    changes.push({
      severity: "info",
      subject: `version(): "${version.before}" unchanged`,
      reason: "The code changes but version() does not: monitoring and scripts cannot tell the implementations apart.",
    });
  } else if (version.before !== version.after) {
    changes.push({
      severity: "info",
      subject: `version(): ${JSON.stringify(version.before)} → ${JSON.stringify(version.after)}`,
      reason: "Scripts that check version() before acting see the new value.",
    });
  }
  for (const key of ["solc", "optimizer", "runs", "evmVersion", "viaIR"] as const) {
    if (compiler.before[key] !== compiler.after[key]) {
      changes.push({
        severity: "info",
        subject: `compiler ${key}: ${String(compiler.before[key])} → ${String(compiler.after[key])}`,
        reason: "Verify the new implementation with these settings; code size and gas differ with them.",
      });
    }
  }
  if (natspec.length > 0) {
    changes.push({
      severity: "info",
      subject: `NatSpec: ${natspec.length} change${natspec.length === 1 ? "" : "s"} on public functions`,
      reason: "Documentation users and explorers show; listed in the NatSpec section.",
    });
  }
  return { runtimeSize, initcodeSize, version, compiler, natspec, changes };
}

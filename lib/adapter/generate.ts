import { id } from "ethers";
import path from "node:path";
import type { AbiItem, AbiParameter } from "../review/types.js";
import type { AdapterMapping, ForwardEntry, ImplEntry } from "./mapping.js";
import { MappingError } from "./mapping.js";

/**
 * The generator of `contracts/adapters/<Contract>V1Adapter.sol`: V1's ABI served from V2 through
 * the mapping file. Pure: ABIs and the mapping in, Solidity source out (formatting is
 * `formatSolidity`'s). Every V1 function gets a body or the generator refuses with the entry
 * that is missing.
 */

export interface GeneratorInput {
  /** The mapping file's path as people know it (adapters/NodeRegistry.json): named in every refusal. */
  mappingFile: string;
  mapping: AdapterMapping;
  v1Abi: readonly AbiItem[];
  v2Abi: readonly AbiItem[];
  /** Functions the adapter base implements itself (AccessControl, UUPS, pause, version, target…). */
  baseAbi: readonly AbiItem[];
  /** The internal functions of the shapes contract that entries may name. */
  converters: readonly string[];
  /** The converters among them that are `pure` (a view served by one is declared `pure` too). */
  pureConverters?: readonly string[];
  /** Source path (contracts/…) of every contract or interface a generated file may import, by name. */
  sources: Readonly<Record<string, string>>;
}

/** Where the generated adapters live, relative to the project root. */
export const ADAPTERS_DIRECTORY = "contracts/adapters";

/** Internal functions of the adapter base that expressions may call besides the converters. */
const BASE_INTERNALS = new Set(["_forward", "_forwardTo", "_target", "_s", "_msgSender", "_msgData"]);

export function adapterName(mapping: AdapterMapping): string {
  return `${mapping.contract}V1Adapter`;
}

export function adapterPath(mapping: AdapterMapping): string {
  return `${ADAPTERS_DIRECTORY}/${adapterName(mapping)}.sol`;
}

/** `uint256`, `(address,uint256)[]`: the canonical ABI type of a parameter. */
export function canonicalType(param: AbiParameter): string {
  if (param.type.startsWith("tuple")) {
    const components = (param as AbiParameter & { components?: AbiParameter[] }).components ?? [];
    return `(${components.map(canonicalType).join(",")})${param.type.slice("tuple".length)}`;
  }
  return param.type;
}

export function signatureOf(fn: AbiItem): string {
  return `${fn.name}(${(fn.inputs ?? []).map(canonicalType).join(",")})`;
}

export function selectorOf(signature: string): string {
  return id(signature).slice(0, 10);
}

/** The Solidity type as written in source: `INodeRegistryV1.Node[]`, `address`. */
function solidityType(param: AbiParameter): string {
  const internal = param.internalType ?? param.type;
  return internal.replace(/^(struct|enum|contract) /, "");
}

function isReference(param: AbiParameter): boolean {
  return /\[|\(/.test(canonicalType(param)) || param.type === "string" || param.type === "bytes";
}

function isRead(fn: AbiItem): boolean {
  return fn.stateMutability === "view" || fn.stateMutability === "pure";
}

function functionsOf(abi: readonly AbiItem[]): AbiItem[] {
  return abi.filter((item) => item.type === "function");
}

/** The typed fingerprint of a parameter list: ABI types and Solidity types must both agree. */
function typesKey(params: readonly AbiParameter[] | undefined): string {
  return (params ?? []).map((p) => `${canonicalType(p)}/${solidityType(p)}`).join(",");
}

interface Context {
  input: GeneratorInput;
  v2Name: string;
  v2ByName: Map<string, AbiItem[]>;
  v2BySignature: Map<string, AbiItem>;
  v1Events: Set<string>;
}

function fail(ctx: Context, signature: string, detail: string): never {
  throw new MappingError(ctx.input.mappingFile, `functions["${signature}"]`, detail);
}

function paramNames(fn: AbiItem): string[] {
  return (fn.inputs ?? []).map((p, i) => (p.name === "" ? `arg${i}` : p.name));
}

function outputNames(fn: AbiItem): string[] {
  const taken = new Set(paramNames(fn));
  return (fn.outputs ?? []).map((p, i) => (p.name !== "" && !taken.has(p.name) ? p.name : `result${i}`));
}

function paramsDeclaration(fn: AbiItem, named: boolean): string {
  return (fn.inputs ?? [])
    .map((p, i) => {
      const location = isReference(p) ? " calldata" : "";
      return `${solidityType(p)}${location}${named ? ` ${paramNames(fn)[i]}` : ""}`;
    })
    .join(", ");
}

function returnsDeclaration(fn: AbiItem, named: boolean): string {
  const outputs = fn.outputs ?? [];
  if (outputs.length === 0) return "";
  const names = outputNames(fn);
  const list = outputs.map(
    (p, i) => `${solidityType(p)}${isReference(p) ? " memory" : ""}${named ? ` ${names[i]}` : ""}`,
  );
  return ` returns (${list.join(", ")})`;
}

function resolveTarget(ctx: Context, signature: string, v1: AbiItem, entry: ForwardEntry): AbiItem {
  const wanted = entry.to ?? v1.name!;
  if (wanted.includes("(")) {
    const fn = ctx.v2BySignature.get(wanted);
    if (fn === undefined) fail(ctx, signature, `names "to": "${wanted}", which V2 does not have`);
    return fn;
  }
  const same = ctx.v2BySignature.get(`${wanted}(${signature.slice(signature.indexOf("(") + 1)}`);
  if (same !== undefined) return same;
  const candidates = ctx.v2ByName.get(wanted) ?? [];
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) fail(ctx, signature, `forwards to "${wanted}", which V2 does not have; set "to"`);
  fail(ctx, signature, `forwards to "${wanted}", which V2 overloads; give "to" as a full signature`);
}

function checkCalls(ctx: Context, signature: string, key: string, expressions: readonly string[]): void {
  for (const expression of expressions) {
    for (const match of expression.matchAll(/(?<![\w.$])(_[A-Za-z0-9_$]*)\s*\(/g)) {
      const name = match[1]!;
      if (!ctx.input.converters.includes(name) && !BASE_INTERNALS.has(name)) {
        fail(
          ctx,
          signature,
          `.${key} calls "${name}", which is not a converter of ${ctx.input.mapping.contract}Shapes`,
        );
      }
    }
  }
}

function checkEvents(ctx: Context, signature: string, emits: readonly string[]): void {
  emits.forEach((expression, i) => {
    const name = /^([A-Za-z_$][\w$]*)\s*\(/.exec(expression)?.[1];
    if (name === undefined || !ctx.v1Events.has(name)) {
      fail(ctx, signature, `.emit[${i}] "${expression}" is not a call of one of V1's events`);
    }
  });
  checkCalls(ctx, signature, "emit", emits);
}

function checkBefore(ctx: Context, signature: string, before: readonly string[]): void {
  before.forEach((statement, i) => {
    if (!statement.trim().endsWith(";")) fail(ctx, signature, `.before[${i}] must be a statement ending in ";"`);
  });
  checkCalls(ctx, signature, "before", before);
}

function requireEmit(ctx: Context, signature: string, v1: AbiItem, entry: { emit?: string[] }): string[] {
  if (isRead(v1)) return entry.emit ?? [];
  if (entry.emit === undefined) {
    fail(ctx, signature, `changes state: declare the V1 events it emits in "emit" ("emit": [] if none)`);
  }
  return entry.emit;
}

function functionHeader(v1: AbiItem, mutability: string, modifiers: string, named: boolean): string {
  const mut = mutability === "" ? "" : ` ${mutability}`;
  const mods = modifiers === "" ? "" : ` ${modifiers}`;
  return `function ${v1.name}(${paramsDeclaration(v1, true)}) external${mut}${mods}${returnsDeclaration(v1, named)}`;
}

function emitLines(emits: readonly string[]): string[] {
  return emits.map((e) => `emit ${e};`);
}

function v1EventNames(emits: readonly string[]): string {
  const names = emits.map((e) => `\`${e.slice(0, e.indexOf("("))}\``);
  return names.length === 0 ? "no V1 event" : `V1's ${names.join(", ")}`;
}

function generateForward(ctx: Context, signature: string, v1: AbiItem, entry: ForwardEntry): string {
  const v2 = resolveTarget(ctx, signature, v1, entry);
  const v2Signature = signatureOf(v2);
  const args = entry.args ?? paramNames(v1);
  const v2Inputs = v2.inputs ?? [];
  if (args.length !== v2Inputs.length) {
    fail(ctx, signature, `gives ${args.length} argument(s) but ${v2Signature} takes ${v2Inputs.length}; set "args"`);
  }
  if (entry.args === undefined && typesKey(v1.inputs) !== typesKey(v2Inputs)) {
    fail(ctx, signature, `has inputs of other Solidity types than ${v2Signature}; set "args"`);
  }
  checkCalls(ctx, signature, "args", args);
  if (entry.returns !== undefined && !ctx.input.converters.includes(entry.returns)) {
    fail(
      ctx,
      signature,
      `.returns names "${entry.returns}", which is not a converter of ${ctx.input.mapping.contract}Shapes`,
    );
  }
  const outputsMatch = typesKey(v1.outputs) === typesKey(v2.outputs);
  if (entry.returns === undefined && !outputsMatch) {
    fail(ctx, signature, `returns other types than ${v2Signature}; name a converter in "returns"`);
  }
  if (entry.returns !== undefined && (v2.outputs ?? []).length !== 1 && isRead(v1)) {
    fail(ctx, signature, `.returns needs ${v2Signature} to return exactly one value`);
  }
  const emits = requireEmit(ctx, signature, v1, entry);
  checkEvents(ctx, signature, emits);
  const before = entry.before ?? [];
  checkBefore(ctx, signature, before);

  const overloaded = (ctx.v2ByName.get(v2.name!) ?? []).length > 1;
  const convert = (expression: string): string =>
    entry.returns === undefined ? expression : `${entry.returns}(${expression})`;
  const via = [
    entry.args === undefined ? "" : `, with (${args.join(", ")})`,
    entry.returns === undefined ? "" : `, result through \`${entry.returns}\``,
  ].join("");

  if (isRead(v1)) {
    if (!isRead(v2)) fail(ctx, signature, `is a view but ${v2Signature} is not: V1 callers may staticcall it`);
    if (before.length > 0 || emits.length > 0) fail(ctx, signature, `is a view: "before" and "emit" do not apply`);
    const call = `${ctx.v2Name}(_target()).${v2.name}(${args.join(", ")})`;
    return [
      `/// @notice V1's \`${signature}\`: reads V2's \`${v2Signature}\`${via}.`,
      `${functionHeader(v1, "view", "", false)} {`,
      `return ${convert(call)};`,
      `}`,
    ].join("\n");
  }

  const payable = v1.stateMutability === "payable";
  if (payable && v2.stateMutability !== "payable") {
    fail(ctx, signature, `is payable but ${v2Signature} is not: the ETH sent would have nowhere to go`);
  }
  const encoded = overloaded
    ? `abi.encodeWithSignature("${v2Signature}"${args.map((a) => `, ${a}`).join("")})`
    : `abi.encodeCall(${ctx.v2Name}.${v2.name}, (${args.join(", ")}))`;
  const outputs = v1.outputs ?? [];
  const names = outputNames(v1);
  const body = [...before];
  const forward = `_forward(${payable ? "msg.value" : "0"}, ${encoded})`;
  if (outputs.length === 0) {
    body.push(`${forward};`);
  } else {
    const decodeTypes = (entry.returns === undefined ? outputs : (v2.outputs ?? [])).map(solidityType).join(", ");
    const decoded = `abi.decode(${forward}, (${decodeTypes}))`;
    body.push(`${names.length === 1 ? names[0] : `(${names.join(", ")})`} = ${convert(decoded)};`);
  }
  body.push(...emitLines(emits));
  return [
    `/// @notice V1's \`${signature}\`: forwarded to V2's \`${v2Signature}\` as the caller${via}; emits ${v1EventNames(emits)}.`,
    `${functionHeader(v1, payable ? "payable" : "", "whenNotPaused", true)} {`,
    ...body,
    `}`,
  ].join("\n");
}

function generateImpl(ctx: Context, signature: string, v1: AbiItem, entry: ImplEntry): string {
  if (!ctx.input.converters.includes(entry.impl)) {
    fail(
      ctx,
      signature,
      `.impl names "${entry.impl}", which is not a converter of ${ctx.input.mapping.contract}Shapes`,
    );
  }
  const emits = requireEmit(ctx, signature, v1, entry);
  checkEvents(ctx, signature, emits);
  const before = entry.before ?? [];
  checkBefore(ctx, signature, before);
  const call = `${entry.impl}(${paramNames(v1).join(", ")})`;
  if (isRead(v1)) {
    if (before.length > 0 || emits.length > 0) fail(ctx, signature, `is a view: "before" and "emit" do not apply`);
    return [
      `/// @notice V1's \`${signature}\`: served by \`${entry.impl}\` (see its NatSpec for the V1 behaviour kept).`,
      `${functionHeader(v1, (ctx.input.pureConverters ?? []).includes(entry.impl) ? "pure" : "view", "", false)} {`,
      `return ${call};`,
      `}`,
    ].join("\n");
  }
  const names = outputNames(v1);
  const body = [...before];
  const outputs = v1.outputs ?? [];
  body.push(
    outputs.length === 0 ? `${call};` : `${names.length === 1 ? names[0] : `(${names.join(", ")})`} = ${call};`,
  );
  body.push(...emitLines(emits));
  return [
    `/// @notice V1's \`${signature}\`: served by \`${entry.impl}\` (see its NatSpec for the V1 behaviour kept); emits ${v1EventNames(emits)}.`,
    `${functionHeader(v1, v1.stateMutability === "payable" ? "payable" : "", "whenNotPaused", true)} {`,
    ...body,
    `}`,
  ].join("\n");
}

function generateDeprecated(signature: string, v1: AbiItem, replacement: string): string {
  // A function that only reverts reads nothing: `pure`, except that payable must stay payable.
  const mutability = v1.stateMutability === "payable" ? "payable" : "pure";
  const header = `function ${v1.name}(${paramsDeclaration(v1, false)}) external ${mutability}${returnsDeclaration(v1, false)}`;
  return [
    `/// @notice V1's \`${signature}\` is deprecated: ${replacement}.`,
    `/// @dev Always reverts \`Deprecated(${selectorOf(signature)}, "${replacement}")\`.`,
    `${header} {`,
    `revert Deprecated(bytes4(${selectorOf(signature)}), "${replacement}");`,
    `}`,
  ].join("\n");
}

function relativeImport(source: string): string {
  const relative = path.posix.relative(ADAPTERS_DIRECTORY, source);
  return relative.startsWith(".") ? relative : `./${relative}`;
}

/** The Solidity source of the adapter (not yet formatted). */
export function generateAdapter(input: GeneratorInput): string {
  const { mapping } = input;
  const v2Name = mapping.v2.slice(mapping.v2.lastIndexOf(":") + 1);
  const v1Interface = `I${mapping.contract}V1`;
  const shapes = `${mapping.contract}Shapes`;
  const ctx: Context = {
    input,
    v2Name,
    v2ByName: new Map(),
    v2BySignature: new Map(),
    v1Events: new Set(input.v1Abi.filter((i) => i.type === "event").map((i) => i.name!)),
  };
  for (const fn of functionsOf(input.v2Abi)) {
    ctx.v2BySignature.set(signatureOf(fn), fn);
    ctx.v2ByName.set(fn.name!, [...(ctx.v2ByName.get(fn.name!) ?? []), fn]);
  }
  const base = new Set(functionsOf(input.baseAbi).map(signatureOf));
  const v1Functions = functionsOf(input.v1Abi)
    .filter((fn) => !base.has(signatureOf(fn)))
    .sort((a, b) => (signatureOf(a) < signatureOf(b) ? -1 : 1));
  const v1Signatures = new Set(v1Functions.map(signatureOf));
  for (const signature of Object.keys(mapping.functions).sort()) {
    if (base.has(signature)) fail(ctx, signature, "is implemented by the adapter base itself; remove the entry");
    if (!v1Signatures.has(signature)) fail(ctx, signature, "is not a function of V1; remove the entry");
  }

  const bodies: string[] = [];
  for (const v1 of v1Functions) {
    const signature = signatureOf(v1);
    const entry = mapping.functions[signature];
    if (entry === undefined) {
      const v2 = ctx.v2BySignature.get(signature);
      if (v2 === undefined) {
        const others = (ctx.v2ByName.get(v1.name!) ?? []).map(signatureOf);
        const hint = others.length > 0 ? ` (V2 has ${others.join(", ")})` : "";
        fail(
          ctx,
          signature,
          `is missing: V2 has no function with this signature${hint}; add "args"/"to", "impl" or "deprecated"`,
        );
      }
      if (!isRead(v1)) {
        fail(
          ctx,
          signature,
          `is missing: it changes state, so its entry must declare the V1 events it emits ("emit", [] if none)`,
        );
      }
      bodies.push(generateForward(ctx, signature, v1, { kind: "forward" }));
      continue;
    }
    if (entry.kind === "deprecated") bodies.push(generateDeprecated(signature, v1, entry.deprecated));
    else if (entry.kind === "impl") bodies.push(generateImpl(ctx, signature, v1, entry));
    else bodies.push(generateForward(ctx, signature, v1, entry));
  }

  // Imports: the shapes, V1's interface, V2's contract and every other contract a type or
  // expression names, from the project's sources.
  const text = bodies.join("\n\n");
  const imported = new Set([shapes, v1Interface, v2Name]);
  for (const name of Object.keys(input.sources)) {
    if (new RegExp(`(?<![\\w$])${name.replace(/\$/g, "\\$")}(?![\\w$])`).test(text)) imported.add(name);
  }
  const imports = [...imported].sort().map((name) => {
    const source = input.sources[name];
    if (source === undefined)
      throw new MappingError(input.mappingFile, "$", `needs ${name}, which the build does not have`);
    return `import {${name}} from "${relativeImport(source)}";`;
  });

  const deprecated = Object.entries(mapping.functions)
    .filter(([, e]) => e.kind === "deprecated")
    .map(([signature]) => signature)
    .sort();
  return [
    "// SPDX-License-Identifier: MIT",
    "// Generated by `npx hardhat upgrade:adapter` from " + input.mappingFile + "; do not edit.",
    "pragma solidity ^0.8.28;",
    "",
    ...imports,
    "",
    "/**",
    ` * @title ${adapterName(mapping)}`,
    ` * @notice V1's ${mapping.contract} API served by \`${v2Name}\`: the implementation behind the V1 proxy after`,
    " * the cut-over. State-changing calls reach V2 as the caller (V2 trusts this proxy through `ADAPTER_ROLE`)",
    " * and re-emit V1's events; views read V2 and answer in V1's shapes.",
    deprecated.length === 0
      ? " * @dev No V1 function is deprecated."
      : ` * @dev Deprecated (revert \`Deprecated(selector, replacement)\`): ${deprecated.map((s) => `\`${s}\``).join(", ")}.`,
    // The proxy was initialized by V1; the adapter's only initializer is `initializeAdapter`, a
    // reinitializer, and a deprecated `initialize` only reverts: no parent initializer is skipped.
    " * @custom:oz-upgrades-unsafe-allow missing-initializer-call",
    " */",
    `contract ${adapterName(mapping)} is ${v1Interface}, ${shapes} {`,
    text,
    "}",
    "",
  ].join("\n");
}

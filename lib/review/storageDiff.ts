import { createRequire } from "node:module";
import {
  UpgradeableContractErrorReport,
  getContractVersion,
  getErrors,
  getStorageLayout,
  getStorageUpgradeReport,
  isNamespaceSupported,
  makeNamespacedInput,
  solcInputOutputDecoder,
  trySanitizeNatSpec,
  validate,
  withValidationDefaults,
  type SolcInput as CoreSolcInput,
  type SolcOutput as CoreSolcOutput,
  type StorageLayout,
  type ValidationOptions,
  type ValidationRunData,
} from "@openzeppelin/upgrades-core";
// Not re-exported by the package index; the package has no `exports` map, so the dist path is public.
import { LayoutCompatibilityReport } from "@openzeppelin/upgrades-core/dist/storage/report.js";
import type { CompiledContract, SafetyError, StorageChange, StorageReview, StorageSlot } from "./types.js";

/**
 * The storage and upgrade-safety half of an upgrade review, through OpenZeppelin's upgrades-core:
 * its validation (`validate`, `getErrors`) for the new implementation's safety errors and its
 * layout comparison (`getStorageUpgradeReport`) for the storage operations, ERC-7201 namespaces
 * included. Annotations (`@custom:oz-upgrades-unsafe-allow`, `-renamed-from`, `-retyped-from`)
 * are honoured by upgrades-core itself, exactly as hardhat-upgrades does.
 */

type UnsafeAllow = NonNullable<ValidationOptions["unsafeAllow"]>;

export interface StorageReviewOptions {
  /** The proxy kind the implementation is used with; UUPS (this project's kind) when omitted. */
  kind?: "uups" | "transparent" | "beacon";
  /** Safety error kinds to accept, as hardhat-upgrades' `unsafeAllow`. */
  unsafeAllow?: UnsafeAllow;
  /** Accept renamed variables, as hardhat-upgrades' `unsafeAllowRenames`. */
  unsafeAllowRenames?: boolean;
}

/** One validated compilation: upgrades-core's run data and what could not be checked. */
interface Validated {
  runData: ValidationRunData;
  /** False when namespaced layouts could not be compiled (another solc than the project's). */
  namespacesChecked: boolean;
  /** What upgrades-core noted while validating (ANSI-free), by the sources they mention. */
  logs: string[];
}

const require = createRequire(import.meta.url);
/** The solc that compiles namespaced inputs: the project's pinned wasm build. */
const PROJECT_SOLC: string = (require("solc/package.json") as { version: string }).version;

// A review that loads both sides from one build validates that build once.
const validations = new WeakMap<object, Promise<Validated>>();

// upgrades-core prints notes and warnings with console.error; a lib module stays silent, so they are
// captured (validation is synchronous: nothing else runs while the capture is in place).
function captureLogs<T>(run: () => T): { result: T; logs: string[] } {
  const logs: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    logs.push(
      args
        .map(String)
        .join(" ")
        .replace(/\x1b\[[0-9;]*m/g, "")
        .trim(),
    );
  };
  try {
    return { result: run(), logs };
  } finally {
    console.error = original;
  }
}

function shortVersion(solcVersion: string): string {
  return solcVersion.replace(/^v/, "").split("+")[0]!;
}

function hasNamespaces(input: CompiledContract["input"]): boolean {
  return Object.values(input.sources).some((source) => source.content?.includes("@custom:storage-location") === true);
}

/**
 * Compiles the namespaced variant of `contract`'s input the way hardhat-upgrades does
 * (`makeNamespacedInput`, `trySanitizeNatSpec`, then solc), with the project's solc.
 */
async function namespacedOutput(contract: CompiledContract): Promise<CoreSolcOutput> {
  const input = contract.input as unknown as CoreSolcInput;
  const output = contract.output as unknown as CoreSolcOutput;
  const namespaced = await trySanitizeNatSpec(makeNamespacedInput(input, output), contract.solcVersion);
  const { default: solc } = (await import("solc")) as { default: { compile(input: string): string } };
  const compiled = JSON.parse(solc.compile(JSON.stringify(namespaced))) as CoreSolcOutput;
  const errors = (compiled.errors ?? []).filter((error) => error.severity === "error");
  if (errors.length > 0) {
    throw new Error(
      `Compiling the namespaced variant of ${contract.origin} for ERC-7201 layouts failed:\n` +
        errors.map((error) => error.formattedMessage).join("\n"),
    );
  }
  return compiled;
}

async function validateCompilation(contract: CompiledContract): Promise<Validated> {
  const input = contract.input as unknown as CoreSolcInput;
  const output = contract.output as unknown as CoreSolcOutput;
  const namespaces = hasNamespaces(contract.input) && isNamespaceSupported(shortVersion(contract.solcVersion));
  const namespacesChecked = namespaces && shortVersion(contract.solcVersion) === PROJECT_SOLC;
  const namespaced = namespacesChecked ? await namespacedOutput(contract) : undefined;
  const decodeSrc = solcInputOutputDecoder(input, output);
  const { result: runData, logs } = captureLogs(() =>
    validate(output, decodeSrc, contract.solcVersion, input, namespaced),
  );
  return { runData, namespacesChecked: !namespaces || namespacesChecked, logs };
}

function validated(contract: CompiledContract): Promise<Validated> {
  let entry = validations.get(contract.output);
  if (entry === undefined) {
    entry = validateCompilation(contract);
    validations.set(contract.output, entry);
  }
  return entry;
}

/** A source location as users name it (`contracts/x.sol:12`, not Hardhat 3's `project/contracts/x.sol:12`). */
function userSource(contract: CompiledContract, src: string): string {
  const colon = src.lastIndexOf(":");
  const file = colon < 0 ? src : src.slice(0, colon);
  const mapped = contract.userSourceNames?.[file];
  return mapped === undefined ? src : mapped + src.slice(file.length);
}

// ------ storage operations

/** The parts of upgrades-core's storage items and operations that the flattening reads. */
interface DetailedType {
  head: string;
  item: { label: string };
  args?: DetailedType[];
}
interface Field {
  label: string;
  type: DetailedType;
  slot?: string;
  offset?: number;
  src?: string;
  contract?: string;
}
interface TypeChangeNode {
  kind: string;
  inner?: TypeChangeNode;
  ops?: Operation[];
}
interface Operation {
  kind: string;
  namespace?: string;
  original?: Field;
  updated?: Field;
  change?: TypeChangeNode;
}

function slotOf(field: Field | undefined): StorageSlot | undefined {
  if (field === undefined || field.type === undefined) return undefined;
  return { label: field.label, type: field.type.item.label, slot: field.slot ?? "unknown", offset: field.offset ?? -1 };
}

/** upgrades-core's explanation of one operation, without the leading source location. */
function explain(op: Operation): string {
  const text = new LayoutCompatibilityReport([op as never]).explain(false);
  // The report prefixes each operation with where it is, as it computes it (struct members have no src).
  const src = String(op.updated !== undefined ? op.updated.src : op.original?.contract);
  const body = text.startsWith(`${src}:`) ? text.slice(src.length + 1) : text;
  return body
    .split("\n")
    .map((line: string) => line.replace(/^ {2}/, ""))
    .join("\n")
    .trim();
}

function change(op: Operation, variable: string, namespace: string | undefined, hint: string): StorageChange {
  const before = op.kind === "insert" || op.kind === "append" ? undefined : slotOf(op.original);
  const after = op.kind === "delete" ? undefined : slotOf(op.updated);
  // Keys in one order, so that the JSON reads the same for every change.
  const result = { operation: op.kind, variable } as StorageChange;
  if (namespace !== undefined) result.namespace = namespace;
  if (before !== undefined) result.before = before;
  if (after !== undefined) result.after = after;
  if (before !== undefined && after !== undefined && before.type !== after.type) {
    result.typeChange = `${before.type} → ${after.type}`;
  }
  result.hint = hint;
  return result;
}

/** Struct member operations under a type change, with the path that reaches the struct (`members[]`). */
function memberOps(node: TypeChangeNode | undefined, path: string): Array<{ op: Operation; path: string }> {
  if (node === undefined) return [];
  if (node.kind === "struct members") return (node.ops ?? []).map((op) => ({ op, path }));
  if (node.kind === "mapping value" || node.kind === "array value") return memberOps(node.inner, `${path}[]`);
  return [];
}

function position(item: StorageChange): [bigint, number] {
  const at = item.before ?? item.after;
  const slot = at !== undefined && /^\d+$/.test(at.slot) ? BigInt(at.slot) : -1n;
  return [slot, at?.offset ?? -1];
}

function compareChanges(a: StorageChange, b: StorageChange): number {
  const [slotA, offsetA] = position(a);
  const [slotB, offsetB] = position(b);
  return (
    (a.namespace ?? "").localeCompare(b.namespace ?? "") ||
    (slotA < slotB ? -1 : slotA > slotB ? 1 : 0) ||
    offsetA - offsetB ||
    a.variable.localeCompare(b.variable)
  );
}

/**
 * Flattens one comparison's operations: each top-level operation, followed by the struct member
 * operations it contains (`members[].stake`, slots relative to the struct).
 */
function flatten(ops: Operation[], namespace: string | undefined): StorageChange[] {
  const prefix = namespace === undefined ? "" : `${namespace}/$.`;
  const top: Array<{ item: StorageChange; children: StorageChange[] }> = [];
  for (const op of ops) {
    if (op.kind === "delete-namespace") {
      top.push({
        item: { operation: op.kind, variable: op.namespace!, namespace: op.namespace, hint: explain(op) },
        children: [],
      });
      continue;
    }
    const field = op.updated ?? op.original!;
    const variable = `${prefix}${field.label}`;
    const children = memberOps(op.change, variable)
      .map(({ op: member, path }) => {
        const label = (member.updated ?? member.original!).label;
        // Member operations carry no source location: their first explanation line says what happened.
        return change(member, `${path}.${label}`, namespace, explain(member).split("\n")[0]!);
      })
      .sort(compareChanges);
    top.push({ item: change(op, variable, namespace, explain(op)), children });
  }
  return top.sort((a, b) => compareChanges(a.item, b.item)).flatMap(({ item, children }) => [item, ...children]);
}

/**
 * Compares the layouts part by part (the contract's own layout, then each namespace) with
 * upgrades-core's storage upgrade report, so that every operation is attributed to its namespace.
 */
function compareLayouts(
  before: StorageLayout,
  after: StorageLayout,
  options: Required<ValidationOptions>,
): StorageChange[] {
  const own = (layout: StorageLayout): StorageLayout => ({ ...layout, namespaces: {} });
  const changes = flatten(
    getStorageUpgradeReport(own(before), own(after), options).ops as unknown as Operation[],
    undefined,
  );
  for (const namespace of Object.keys(before.namespaces ?? {}).sort()) {
    const only = (layout: StorageLayout): StorageLayout => ({
      ...layout,
      storage: [],
      namespaces: layout.namespaces?.[namespace] === undefined ? {} : { [namespace]: layout.namespaces[namespace]! },
    });
    const ops = getStorageUpgradeReport(only(before), only(after), options).ops as unknown as Operation[];
    changes.push(...flatten(ops, namespace));
  }
  return changes;
}

// ------ safety errors

function safetyErrors(after: CompiledContract, runData: ValidationRunData, options: ValidationOptions): SafetyError[] {
  const fqn = `${after.sourceName}:${after.contractName}`;
  const version = getContractVersion(runData, fqn);
  const errors = getErrors(runData, version, withValidationDefaults(options));
  const holders = [fqn, ...runData[fqn]!.inherit];
  return errors
    .map((error) => {
      // Which contract declares it: the one whose validation holds this very error object.
      const holder = holders.find((name) => runData[name]!.errors.includes(error)) ?? fqn;
      const colon = holder.lastIndexOf(":");
      const text = new UpgradeableContractErrorReport([error]).explain(false);
      const hint = text.startsWith(`${error.src}: `) ? text.slice(error.src.length + 2) : text;
      return {
        kind: error.kind,
        contract: userSource(after, holder.slice(0, colon)) + holder.slice(colon),
        source: userSource(after, error.src),
        hint: hint.replace(/\n {4}/g, "\n"),
      };
    })
    .sort((a, b) => a.source.localeCompare(b.source) || a.kind.localeCompare(b.kind));
}

// ------ the review

/** The storage layout and namespaces of one side, namespaces dropped when they could not be compiled. */
function layoutOf(contract: CompiledContract, { runData, namespacesChecked }: Validated): StorageLayout {
  const layout = getStorageLayout(
    runData,
    getContractVersion(runData, `${contract.sourceName}:${contract.contractName}`),
  );
  return namespacesChecked ? layout : { ...layout, namespaces: {} };
}

/**
 * Reviews `after` as an upgrade of `before` behind the same proxy: storage operations (sorted by
 * namespace, slot, offset, variable; slots of namespaced variables are relative to the namespace's
 * root) and the safety errors of `after`. `compatible` when there are neither.
 */
export async function reviewStorage(
  before: CompiledContract,
  after: CompiledContract,
  options: StorageReviewOptions = {},
): Promise<StorageReview> {
  const validationOptions: ValidationOptions = {
    kind: options.kind ?? "uups",
    unsafeAllow: options.unsafeAllow ?? [],
    unsafeAllowRenames: options.unsafeAllowRenames ?? false,
  };
  const [beforeData, afterData] = await Promise.all([validated(before), validated(after)]);
  const beforeLayout = layoutOf(before, beforeData);
  const afterLayout = layoutOf(after, afterData);
  const { result: changes, logs } = captureLogs(() =>
    compareLayouts(beforeLayout, afterLayout, withValidationDefaults(validationOptions)),
  );
  // getErrors warns about every kind that unsafeAllow lets through: those warnings become notes.
  const { result: errors, logs: allowLogs } = captureLogs(() =>
    safetyErrors(after, afterData.runData, validationOptions),
  );

  const notes: string[] = [];
  for (const [side, contract, data] of [
    ["before", before, beforeData],
    ["after", after, afterData],
  ] as const) {
    if (!data.namespacesChecked) {
      notes.push(
        `ERC-7201 namespaced storage of ${contract.fqn} (${side}) was not compared: it needs solc ` +
          `${shortVersion(contract.solcVersion)} to compile its namespaced layout, and this project's is ${PROJECT_SOLC}. ` +
          "Only the contract's own (non-namespaced) layout was compared.",
      );
    }
  }
  // upgrades-core's notes about the reviewed contract's own sources (e.g. reinitializers it skips).
  const own = after.sourceName;
  for (const log of [...afterData.logs, ...logs, ...allowLogs]) {
    if (log.includes(own)) notes.push(userSourceText(after, log));
  }

  return {
    compatible: changes.length === 0 && errors.length === 0,
    changes,
    safetyErrors: errors,
    namespaces: {
      before: Object.keys(beforeLayout.namespaces ?? {}).sort(),
      after: Object.keys(afterLayout.namespaces ?? {}).sort(),
    },
    notes: [...new Set(notes)],
  };
}

/** Rewrites input source names in a text to the names users write. */
function userSourceText(contract: CompiledContract, text: string): string {
  let result = text;
  for (const [input, user] of Object.entries(contract.userSourceNames ?? {})) result = result.split(input).join(user);
  return result;
}

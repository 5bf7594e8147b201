import { id } from "ethers";
import type { AbiItem, AbiParameter, Change, Severity } from "./types.js";

/**
 * ABI diff of an upgrade: what a caller, a decoder or an indexer built against the old ABI
 * meets behind the same address once the new implementation is in place. Pure: ABIs in, plain
 * data out.
 */

/** What changed among one kind of member (functions, events or errors), by canonical signature. */
export interface MemberDiff {
  /** Members on each side. */
  before: number;
  after: number;
  added: string[];
  removed: string[];
  /** `old → new` when a member changed (same signature with other outputs/mutability/flags, or a paired overload). */
  modified: string[];
}

export interface SelectorClash {
  selector: string;
  /** Every signature sharing the selector, sorted. */
  signatures: string[];
  /**
   * `contract`: two functions of the new ABI; `uups`: a function against the UUPS upgrade
   * surface; `previous`: a new function on the selector of an old function it does not replace.
   */
  against: "contract" | "uups" | "previous";
}

export interface AbiDiff {
  functions: MemberDiff;
  events: MemberDiff;
  errors: MemberDiff;
  /** `old → new` for a removed and an added function with identical types: most likely a rename. */
  renamed: string[];
  selectorClashes: SelectorClash[];
  /** Every change, breaking first, then compatible, then info; by subject within a severity. */
  changes: Change[];
  summary: Record<Severity, number>;
}

/** The functions a UUPS proxy calls on its implementation (ERC-1822 and OpenZeppelin 5's UUPSUpgradeable). */
export const UUPS_SURFACE: readonly string[] = [
  "UPGRADE_INTERFACE_VERSION()",
  "proxiableUUID()",
  "upgradeToAndCall(address,bytes)",
];

const SEVERITY_ORDER: Record<Severity, number> = { breaking: 0, compatible: 1, info: 2 };

/** Canonical ABI type of a parameter: tuples spelled out as `(t1,t2)` with their array suffix. */
export function canonicalType(parameter: AbiParameter): string {
  if (parameter.type.startsWith("tuple")) {
    const inner = (parameter.components ?? []).map(canonicalType).join(",");
    return `(${inner})${parameter.type.slice("tuple".length)}`;
  }
  return parameter.type;
}

export function typeList(parameters: readonly AbiParameter[] | undefined): string {
  return (parameters ?? []).map(canonicalType).join(",");
}

/** `name(type,…)`, the string whose keccak-256 is the selector or the event topic. */
export function signatureOf(item: AbiItem): string {
  return `${item.name ?? ""}(${typeList(item.inputs)})`;
}

export function selectorOf(signature: string): string {
  return id(signature).slice(0, 10);
}

export function topicOf(signature: string): string {
  return id(signature);
}

/** Parameter names, which change no encoding but do change named arguments and generated bindings. */
function nameList(parameters: readonly AbiParameter[] | undefined): string {
  return (parameters ?? []).map((p) => p.name).join(",");
}

/** State mutability, reading the pre-0.5 `constant`/`payable` flags when `stateMutability` is absent. */
export function mutabilityOf(item: AbiItem): string {
  if (item.stateMutability !== undefined) return item.stateMutability;
  const legacy = item as AbiItem & { constant?: boolean; payable?: boolean };
  if (legacy.constant === true) return "view";
  if (legacy.payable === true) return "payable";
  return "nonpayable";
}

const isReadOnly = (mutability: string): boolean => mutability === "view" || mutability === "pure";

function outputsOf(item: AbiItem): string {
  return `(${typeList(item.outputs)})`;
}

function functionLabel(item: AbiItem): string {
  const outputs = item.outputs !== undefined && item.outputs.length > 0 ? ` returns ${outputsOf(item)}` : "";
  return `${signatureOf(item)}${outputs}`;
}

/** Indexed flags as `i` / `-` per input, which decide what goes into topics and what into data. */
function indexedPattern(item: AbiItem): string {
  return (item.inputs ?? []).map((p) => (p.indexed === true ? "i" : "-")).join("");
}

/** An event's full identity: signature plus where each argument lives (topics or data) and anonymity. */
function eventLabel(item: AbiItem): string {
  const inputs = (item.inputs ?? []).map((p) => `${canonicalType(p)}${p.indexed === true ? " indexed" : ""}`);
  return `${item.name ?? ""}(${inputs.join(",")})${item.anonymous === true ? " anonymous" : ""}`;
}

function byKind(abi: readonly AbiItem[], type: string): Map<string, AbiItem> {
  const members = new Map<string, AbiItem>();
  for (const item of abi) {
    // A signature listed twice (solc repeats an event declared in two bases) is one member.
    if (item.type === type && !members.has(signatureOf(item))) members.set(signatureOf(item), item);
  }
  return members;
}

function sortChanges(changes: Change[]): Change[] {
  return changes.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      compare(a.subject, b.subject) ||
      compare(a.reason, b.reason),
  );
}

/** Code-unit order: the same everywhere, unlike `localeCompare`. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function emptyMemberDiff(before: number, after: number): MemberDiff {
  return { before, after, added: [], removed: [], modified: [] };
}

/**
 * Pairs what is left after exact signature matches: a removed and an added member of one name
 * are the same member with new inputs only when the name has exactly one of each (otherwise any
 * pairing would be a guess, and they stay removed + added).
 */
function pairOverloads(removed: Map<string, AbiItem>, added: Map<string, AbiItem>): Array<[AbiItem, AbiItem]> {
  const countNames = (members: Map<string, AbiItem>) => {
    const counts = new Map<string, number>();
    for (const item of members.values()) counts.set(item.name ?? "", (counts.get(item.name ?? "") ?? 0) + 1);
    return counts;
  };
  const removedNames = countNames(removed);
  const addedNames = countNames(added);
  const pairs: Array<[AbiItem, AbiItem]> = [];
  for (const [signature, before] of [...removed].sort(([a], [b]) => compare(a, b))) {
    const name = before.name ?? "";
    if (removedNames.get(name) !== 1 || addedNames.get(name) !== 1) continue;
    const after = [...added.values()].find((item) => (item.name ?? "") === name)!;
    pairs.push([before, after]);
    removed.delete(signature);
    added.delete(signatureOf(after));
  }
  return pairs;
}

function diffFunctions(before: readonly AbiItem[], after: readonly AbiItem[], changes: Change[]) {
  const old = byKind(before, "function");
  const next = byKind(after, "function");
  const diff = emptyMemberDiff(old.size, next.size);
  const renamed: string[] = [];

  for (const [signature, a] of old) {
    const b = next.get(signature);
    if (b === undefined) continue;
    const subjects: string[] = [];
    if (outputsOf(a) !== outputsOf(b)) {
      subjects.push("outputs");
      changes.push({
        severity: "breaking",
        subject: `function ${signature}: returns ${outputsOf(a)} → ${outputsOf(b)}`,
        reason: "Callers decode the return data with the old types: they revert or read wrong values.",
      });
    }
    const ma = mutabilityOf(a);
    const mb = mutabilityOf(b);
    if (ma !== mb) {
      subjects.push("mutability");
      changes.push(mutabilityChange(`function ${signature}`, ma, mb));
    }
    if (nameList(a.inputs) !== nameList(b.inputs) || nameList(a.outputs) !== nameList(b.outputs)) {
      subjects.push("names");
      changes.push({
        severity: "info",
        subject: `function ${signature}: parameter names (${nameList(a.inputs)}) → (${nameList(b.inputs)}), returns (${nameList(a.outputs)}) → (${nameList(b.outputs)})`,
        reason:
          "The encoding is unchanged; only code that uses named arguments or named results (generated bindings) sees new names.",
      });
    }
    if (subjects.length > 0) diff.modified.push(`${functionLabel(a)} ${ma} → ${functionLabel(b)} ${mb}`);
  }

  const removed = new Map([...old].filter(([signature]) => !next.has(signature)));
  const added = new Map([...next].filter(([signature]) => !old.has(signature)));

  for (const [a, b] of pairOverloads(removed, added)) {
    diff.modified.push(`${functionLabel(a)} → ${functionLabel(b)}`);
    changes.push({
      severity: "breaking",
      subject: `function ${signatureOf(a)} → ${signatureOf(b)}: inputs changed`,
      reason: `The selector changes from ${selectorOf(signatureOf(a))} to ${selectorOf(signatureOf(b))}: callers encoding the old inputs revert.`,
    });
    if (outputsOf(a) !== outputsOf(b)) {
      changes.push({
        severity: "breaking",
        subject: `function ${signatureOf(b)}: returns ${outputsOf(a)} → ${outputsOf(b)}`,
        reason: "Callers decode the return data with the old types: they revert or read wrong values.",
      });
    }
    if (mutabilityOf(a) !== mutabilityOf(b)) {
      changes.push(mutabilityChange(`function ${signatureOf(b)}`, mutabilityOf(a), mutabilityOf(b)));
    }
  }

  // A rename keeps every type and changes only the name: pair it when exactly one removed and
  // one added function share those types, so that two candidates never produce a guess.
  const shape = (item: AbiItem) => `(${typeList(item.inputs)})${outputsOf(item)}${mutabilityOf(item)}`;
  for (const [signature, a] of [...removed].sort(([x], [y]) => compare(x, y))) {
    const sameRemoved = [...removed.values()].filter((item) => shape(item) === shape(a));
    const sameAdded = [...added.values()].filter((item) => shape(item) === shape(a));
    if (sameRemoved.length !== 1 || sameAdded.length !== 1) continue;
    const b = sameAdded[0]!;
    renamed.push(`${signature} → ${signatureOf(b)}`);
    changes.push({
      severity: "breaking",
      subject: `function ${signature} → ${signatureOf(b)}: likely renamed`,
      reason: `Same inputs, outputs and mutability under a new name: the selector changes from ${selectorOf(signature)} to ${selectorOf(signatureOf(b))}, so callers of the old name revert.`,
    });
    removed.delete(signature);
    added.delete(signatureOf(b));
  }

  for (const [signature, a] of removed) {
    diff.removed.push(functionLabel(a));
    const surface = UUPS_SURFACE.includes(signature);
    changes.push({
      severity: "breaking",
      subject: `function ${signature}: removed`,
      reason: surface
        ? `Part of the UUPS upgrade surface: without it the proxy can never be upgraded again (and callers of ${selectorOf(signature)} revert).`
        : `Callers of ${selectorOf(signature)} revert.`,
    });
  }
  for (const [signature, b] of added) {
    diff.added.push(functionLabel(b));
    changes.push({
      severity: "compatible",
      subject: `function ${signature}: added`,
      reason: "New entry point; existing callers are unaffected.",
    });
  }
  return { diff, renamed };
}

/** How a change of state mutability affects existing callers. */
export function mutabilityChange(subject: string, before: string, after: string): Change {
  const full = `${subject}: ${before} → ${after}`;
  if (isReadOnly(before) && !isReadOnly(after)) {
    return {
      severity: "breaking",
      subject: full,
      reason:
        "Was read-only: contracts that call it through STATICCALL (Solidity view calls) revert when it now writes state.",
    };
  }
  if (before === "payable" && after !== "payable") {
    return {
      severity: "breaking",
      subject: full,
      reason: "No longer accepts ETH: callers that send value with the call revert.",
    };
  }
  if (before !== "payable" && after === "payable") {
    return { severity: "compatible", subject: full, reason: "Now accepts ETH; calls without value behave as before." };
  }
  return {
    severity: "compatible",
    subject: full,
    reason: isReadOnly(before)
      ? "Still read-only: static calls keep working."
      : "Now read-only: every existing call still succeeds, and static calls become possible.",
  };
}

function diffEvents(before: readonly AbiItem[], after: readonly AbiItem[], changes: Change[]): MemberDiff {
  const old = byKind(before, "event");
  const next = byKind(after, "event");
  const diff = emptyMemberDiff(old.size, next.size);
  for (const [signature, a] of old) {
    const b = next.get(signature);
    if (b === undefined || eventLabel(a) === eventLabel(b)) continue;
    diff.modified.push(`${eventLabel(a)} → ${eventLabel(b)}`);
    changes.push({
      severity: "breaking",
      subject: `event ${eventLabel(a)} → ${eventLabel(b)}: indexed flags or anonymity changed`,
      reason:
        "Arguments move between topics and data (and topic0 appears or disappears): indexers and log filters decode the old layout and miss or misread it.",
    });
  }
  const removed = new Map([...old].filter(([signature]) => !next.has(signature)));
  const added = new Map([...next].filter(([signature]) => !old.has(signature)));
  for (const [a, b] of pairOverloads(removed, added)) {
    diff.modified.push(`${eventLabel(a)} → ${eventLabel(b)}`);
    changes.push({
      severity: "breaking",
      subject: `event ${signatureOf(a)} → ${signatureOf(b)}: signature changed`,
      reason: `topic0 changes from ${topicOf(signatureOf(a)).slice(0, 10)}… to ${topicOf(signatureOf(b)).slice(0, 10)}…: indexers and log filters on the old topic stop seeing it.`,
    });
  }
  for (const [signature, a] of removed) {
    diff.removed.push(eventLabel(a));
    changes.push({
      severity: "breaking",
      subject: `event ${signature}: removed`,
      reason: "Indexers and dapps that wait for it (receipts, subscriptions) never see it again.",
    });
  }
  for (const [signature, b] of added) {
    diff.added.push(eventLabel(b));
    changes.push({
      severity: "info",
      subject: `event ${signature}: added`,
      reason: "New log; indexers pick it up once they add its topic.",
    });
  }
  return diff;
}

function diffErrors(before: readonly AbiItem[], after: readonly AbiItem[], changes: Change[]): MemberDiff {
  const old = byKind(before, "error");
  const next = byKind(after, "error");
  const diff = emptyMemberDiff(old.size, next.size);
  const removed = new Map([...old].filter(([signature]) => !next.has(signature)));
  const added = new Map([...next].filter(([signature]) => !old.has(signature)));
  for (const [a, b] of pairOverloads(removed, added)) {
    diff.modified.push(`${signatureOf(a)} → ${signatureOf(b)}`);
    changes.push({
      severity: "info",
      subject: `error ${signatureOf(a)} → ${signatureOf(b)}: arguments changed`,
      reason: `The revert selector changes from ${selectorOf(signatureOf(a))} to ${selectorOf(signatureOf(b))}: clients that decode reverts show it as unknown until they update the ABI; calls themselves behave as before.`,
    });
  }
  for (const signature of removed.keys()) {
    diff.removed.push(signature);
    changes.push({
      severity: "info",
      subject: `error ${signature}: removed`,
      reason:
        "The contract no longer reverts with it, so no caller can receive it; code that catches it only has a branch that stops being taken.",
    });
  }
  for (const signature of added.keys()) {
    diff.added.push(signature);
    changes.push({
      severity: "info",
      subject: `error ${signature}: added`,
      reason: "A new revert reason: clients decode it once they have the new ABI (until then it shows as unknown).",
    });
  }
  return diff;
}

/** receive() and fallback(): plain transfers and unknown selectors. */
function diffSpecial(before: readonly AbiItem[], after: readonly AbiItem[], changes: Change[]): void {
  for (const kind of ["receive", "fallback"] as const) {
    const a = before.find((item) => item.type === kind);
    const b = after.find((item) => item.type === kind);
    if (a !== undefined && b === undefined) {
      changes.push({
        severity: "breaking",
        subject: `${kind}(): removed`,
        reason:
          kind === "receive"
            ? "Plain ETH transfers to the contract revert (unless a payable fallback takes them)."
            : "Calls with selectors the contract does not define now revert.",
      });
    } else if (a === undefined && b !== undefined) {
      changes.push({
        severity: "compatible",
        subject: `${kind}(): added`,
        reason:
          kind === "receive"
            ? "The contract now accepts plain ETH transfers."
            : "Calls with unknown selectors no longer revert: they run the fallback.",
      });
    } else if (a !== undefined && b !== undefined && mutabilityOf(a) !== mutabilityOf(b)) {
      changes.push(mutabilityChange(`${kind}()`, mutabilityOf(a), mutabilityOf(b)));
    }
  }
}

/** Functions of one ABI sharing a selector, and functions that take a selector of the UUPS surface. */
export function findSelectorClashes(abi: readonly AbiItem[]): SelectorClash[] {
  const bySelector = new Map<string, Set<string>>();
  for (const item of abi) {
    if (item.type !== "function") continue;
    const signature = signatureOf(item);
    const selector = selectorOf(signature);
    bySelector.set(selector, (bySelector.get(selector) ?? new Set()).add(signature));
  }
  const clashes: SelectorClash[] = [];
  for (const [selector, signatures] of bySelector) {
    if (signatures.size > 1) clashes.push({ selector, signatures: [...signatures].sort(compare), against: "contract" });
  }
  for (const surface of UUPS_SURFACE) {
    const selector = selectorOf(surface);
    const others = [...(bySelector.get(selector) ?? [])].filter((signature) => signature !== surface);
    if (others.length > 0) clashes.push({ selector, signatures: [surface, ...others].sort(compare), against: "uups" });
  }
  return clashes.sort((a, b) => compare(a.against, b.against) || compare(a.selector, b.selector));
}

/**
 * Old functions whose selector the new ABI gives to another signature: their callers no longer
 * revert, they run the new function on arguments encoded for the old one.
 */
function findReusedSelectors(before: readonly AbiItem[], after: readonly AbiItem[]): SelectorClash[] {
  const next = [...byKind(after, "function").keys()];
  const clashes: SelectorClash[] = [];
  for (const signature of byKind(before, "function").keys()) {
    // A function that stays is dispatched as before; a clash beside it is a `contract` clash.
    if (next.includes(signature)) continue;
    const selector = selectorOf(signature);
    const takers = next.filter((other) => selectorOf(other) === selector);
    if (takers.length > 0)
      clashes.push({ selector, signatures: [signature, ...takers].sort(compare), against: "previous" });
  }
  return clashes;
}

function clashChange(clash: SelectorClash): Change {
  if (clash.against === "previous") {
    return {
      severity: "breaking",
      subject: `selector ${clash.selector}: ${clash.signatures.join(" and ")} share it across the upgrade`,
      reason:
        "Callers of the old function do not revert: they run the new one on arguments encoded for the old, with whatever effect that has.",
    };
  }
  if (clash.against === "contract") {
    return {
      severity: "breaking",
      subject: `selector ${clash.selector}: ${clash.signatures.join(" and ")} clash`,
      reason:
        "One selector dispatches to only one of them: calls meant for the others run the wrong code (solc refuses this in one compilation, so the ABI was assembled by hand or from several builds).",
    };
  }
  const surface = clash.signatures.find((signature) => UUPS_SURFACE.includes(signature))!;
  const others = clash.signatures.filter((signature) => signature !== surface);
  return {
    severity: "breaking",
    subject: `selector ${clash.selector}: ${others.join(" and ")} clashes with UUPS ${surface}`,
    reason:
      "The proxy's upgrade machinery calls this selector (the old implementation checks proxiableUUID() on the new one; governance calls upgradeToAndCall): it would run this function instead, and an upgrade can succeed into an implementation that cannot be upgraded again.",
  };
}

/** The ABI diff of an upgrade from `before` to `after`. */
export function diffAbi(before: readonly AbiItem[], after: readonly AbiItem[]): AbiDiff {
  const changes: Change[] = [];
  const { diff: functions, renamed } = diffFunctions(before, after, changes);
  const events = diffEvents(before, after, changes);
  const errors = diffErrors(before, after, changes);
  diffSpecial(before, after, changes);
  const selectorClashes = [...findSelectorClashes(after), ...findReusedSelectors(before, after)].sort(
    (a, b) => compare(a.against, b.against) || compare(a.selector, b.selector),
  );
  changes.push(...selectorClashes.map(clashChange));
  for (const member of [functions, events, errors]) {
    member.added.sort(compare);
    member.removed.sort(compare);
    member.modified.sort(compare);
  }
  renamed.sort(compare);
  sortChanges(changes);
  const summary: Record<Severity, number> = { breaking: 0, compatible: 0, info: 0 };
  for (const change of changes) summary[change.severity] += 1;
  return { functions, events, errors, renamed, selectorClashes, changes, summary };
}

export { sortChanges };

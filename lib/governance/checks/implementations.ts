import { Wallet, getAddress, type FunctionFragment, type Provider } from "ethers";
import { describeRevert } from "../../multicall.js";
import { contractInterface } from "../abis.js";
import type { CheckResult } from "../simulation.js";
import { UNKNOWN, type ExpectedUpgrade, type ProposalFile } from "../types.js";
import { INITIALIZERS_DISABLED, initializedVersion, label, type Known } from "./chain.js";

/**
 * EIP-1967 implementation slots: every proxy the proposal upgrades now points at the expected
 * implementation, every other proxy at the one it had; each new implementation has code and
 * cannot be initialized by anyone (a UUPS implementation left initializable can be taken over,
 * and with it `upgradeToAndCall` on itself).
 */

/** OpenZeppelin's `InvalidInitialization()`: what an initializer reverts with once initializers are disabled. */
const INVALID_INITIALIZATION = "0xf92ee8a9";

/** How one new implementation answers to being initialized. */
export interface InitializationProbe {
  implementation: string;
  /** `_initialized` in OpenZeppelin's `Initializable` storage (2^64 - 1 once disabled). */
  initialized: string;
  /** Each initializer of the artifact, called from an arbitrary account: what happened. */
  calls: { signature: string; outcome: string }[];
}

/**
 * Calls every `initialize…` function of the implementation's artifact (an arbitrary caller,
 * arguments naming that caller, so that a success means "anyone could") and reads its
 * `Initializable` version.
 */
export async function probeInitialization(
  provider: Provider,
  upgrade: ExpectedUpgrade,
  block: number,
): Promise<InitializationProbe> {
  const stranger = Wallet.createRandom().address;
  const calls: InitializationProbe["calls"] = [];
  const iface = contractInterface(upgrade.contractName);
  const initializers: FunctionFragment[] = [];
  iface?.forEachFunction((fragment) => {
    if (fragment.name.startsWith("initialize")) initializers.push(fragment);
  });
  for (const fragment of initializers) {
    const args = fragment.inputs.map((input) => sampleArgument(input.baseType, stranger));
    const data = iface!.encodeFunctionData(fragment, args);
    let outcome: string;
    try {
      await provider.call({ to: upgrade.implementation, from: stranger, data, blockTag: block });
      outcome = "succeeds";
    } catch (error) {
      const revert = revertData(error);
      outcome =
        revert === undefined
          ? `fails: ${(error as Error).message}`
          : revert.startsWith(INVALID_INITIALIZATION)
            ? "reverts InvalidInitialization()"
            : describeRevert(revert, iface);
    }
    calls.push({ signature: fragment.format("sighash"), outcome });
  }
  const initialized = await initializedVersion(provider, upgrade.implementation, block);
  return { implementation: getAddress(upgrade.implementation), initialized: initialized.toString(), calls };
}

/** An argument for a probe call: the stranger for addresses (its own code holds one: the implementation is never zero). */
function sampleArgument(baseType: string, stranger: string): unknown {
  if (baseType === "address") return stranger;
  if (baseType.startsWith("uint") || baseType.startsWith("int")) return 1n;
  if (baseType === "bool") return false;
  if (baseType === "string") return "";
  if (baseType === "bytes") return "0x";
  if (baseType.startsWith("bytes")) return `0x${"00".repeat(Number(baseType.slice(5)))}`;
  if (baseType === "array") return [];
  return stranger;
}

function revertData(error: unknown): string | undefined {
  const { data } = (error ?? {}) as { data?: unknown };
  return typeof data === "string" && data.startsWith("0x") ? data : undefined;
}

export interface ImplementationsInput {
  proposal: ProposalFile;
  known: Known;
  before: Record<string, string>;
  after: Record<string, string>;
  /** Code size of each new implementation after the execution. */
  codeSizes: Record<string, number>;
  probes: InitializationProbe[];
}

export function checkImplementations(input: ImplementationsInput): CheckResult {
  const { proposal, known, before, after } = input;
  const details: string[] = [];
  let failed = false;
  const fail = (line: string) => {
    failed = true;
    details.push(line);
  };
  const upgraded = new Set<string>();
  for (const upgrade of proposal.upgrades) {
    const proxy = getAddress(upgrade.proxy);
    upgraded.add(proxy);
    const name = label(known, proxy);
    const was = before[proxy];
    const now = after[proxy];
    const expected = getAddress(upgrade.implementation);
    // A proposal simulated by id: how its expectation was read from chain, before what it is checked against.
    for (const line of upgrade.derivation ?? []) details.push(`${name}: ${line}`);
    if (upgrade.contractName === UNKNOWN) {
      fail(
        `${name}: the new implementation ${expected} is not one of the project's contracts (no artifact has its code): review its source and bytecode by hand, or build the project at the commit that compiled it.`,
      );
    }
    if (was !== getAddress(upgrade.implementationBefore)) {
      fail(
        `${name}: ran ${was} before the proposal, not ${upgrade.implementationBefore} as the proposal was built against.`,
      );
    }
    if (now === expected) {
      details.push(`${name}: implementation ${was} → ${now} (${upgrade.contractName}), as expected.`);
    } else {
      fail(`${name}: implementation is ${now} after the proposal, expected ${expected} (${upgrade.contractName}).`);
    }
    const size = input.codeSizes[expected] ?? 0;
    if (size === 0) fail(`${name}: the new implementation ${expected} has no code.`);
    const probe = input.probes.find((p) => p.implementation === expected);
    if (probe !== undefined) {
      const open = probe.calls.filter((call) => call.outcome === "succeeds");
      if (BigInt(probe.initialized) !== INITIALIZERS_DISABLED || open.length > 0) {
        fail(
          `${name}: the implementation ${expected} can be initialized by anyone (Initializable version ${probe.initialized}` +
            `${open.length > 0 ? `; ${open.map((call) => call.signature).join(", ")} succeeds from any account` : ""}): ` +
            `its constructor must call _disableInitializers().`,
        );
      } else {
        const calls = probe.calls.map((call) => `${call.signature} ${call.outcome}`).join("; ");
        details.push(`${name}: the implementation's initializers are disabled${calls === "" ? "" : ` (${calls})`}.`);
      }
    }
  }
  for (const proxy of Object.keys(after).sort()) {
    if (upgraded.has(proxy)) continue;
    if (before[proxy] !== after[proxy]) {
      fail(
        `${label(known, proxy)}: implementation changed from ${before[proxy]} to ${after[proxy]}, which the proposal does not list.`,
      );
    }
  }
  const unchanged = Object.keys(after).filter((proxy) => !upgraded.has(proxy) && before[proxy] === after[proxy]);
  if (unchanged.length > 0) {
    details.push(`Unchanged: ${unchanged.map((proxy) => label(known, proxy)).join(", ")}.`);
  }
  return {
    id: "implementations",
    title: "EIP-1967 implementations",
    status: failed ? "fail" : "pass",
    details,
    data: { before, after, probes: input.probes },
  };
}

export function checkVersions(
  proposal: ProposalFile,
  known: Known,
  before: Record<string, string | null>,
  after: Record<string, string | null>,
): CheckResult {
  const details: string[] = [];
  let failed = false;
  const expected = new Map(proposal.upgrades.map((upgrade) => [getAddress(upgrade.proxy), upgrade.version]));
  for (const proxy of Object.keys(after).sort()) {
    const name = label(known, proxy);
    const want = expected.get(proxy);
    if (want === UNKNOWN) {
      failed = true;
      details.push(
        `${name}: version() is ${after[proxy]} after the proposal, and no expected version is known (the new implementation does not answer version()).`,
      );
    } else if (want !== undefined) {
      if (after[proxy] === want) details.push(`${name}: version() ${before[proxy]} → ${after[proxy]}, as expected.`);
      else {
        failed = true;
        details.push(`${name}: version() is ${after[proxy]} after the proposal, expected ${want}.`);
      }
    } else if (before[proxy] !== after[proxy]) {
      failed = true;
      details.push(
        `${name}: version() changed from ${before[proxy]} to ${after[proxy]}, which the proposal does not list.`,
      );
    } else {
      details.push(`${name}: version() ${after[proxy]}, unchanged.`);
    }
  }
  return { id: "versions", title: "version()", status: failed ? "fail" : "pass", details, data: { before, after } };
}

import { Interface, getAddress, type Provider } from "ethers";
import type { DeploymentRecord } from "../deployments.js";
import { errorMessage } from "../multicall.js";
import { namesByAddress, nameOf } from "./abis.js";
import { implementationOf } from "./checks/chain.js";
import { UNKNOWN, type ExpectedUpgrade } from "./types.js";

/**
 * The expected upgrades of a proposal found on chain (simulating by id): upgrade:propose records
 * them when it prepares the implementations, a proposal read back from `ProposalCreated` has only
 * calldata. Every `upgradeToAndCall(newImplementation, data)` of the proposal, on any target, gives
 * one: the implementation before (the proxy's EIP-1967 slot at the block before the proposal was
 * created, as a file records it when it is built), the new implementation, the artifact whose
 * runtime code it runs, and its `version()`. What cannot be derived is `UNKNOWN`, and each upgrade
 * says in `derivation` how its fields were found, so the checks report it. Pure: no Hardhat.
 */

/** The part of a compiled artifact the comparison reads (Hardhat's `Artifact` fits). */
export interface RuntimeArtifact {
  contractName: string;
  /** 0x-prefixed runtime code as compiled: immutables and library addresses still zero. */
  deployedBytecode: string;
  /** Byte ranges of immutables, filled in by the constructor (UUPS's `__self`). */
  immutableReferences?: Readonly<Record<string, readonly ByteRange[]>>;
  /** Byte ranges of linked library addresses. */
  deployedLinkReferences?: Readonly<Record<string, Readonly<Record<string, readonly ByteRange[]>>>>;
}

interface ByteRange {
  start: number;
  length: number;
}

const UUPS = new Interface(["function upgradeToAndCall(address newImplementation, bytes data) payable"]);
const UPGRADE_SELECTOR = UUPS.getFunction("upgradeToAndCall")!.selector;
const VERSION = new Interface(["function version() view returns (string)"]);

/**
 * Runtime code without its metadata tail: solc appends CBOR (the source hash, the compiler) whose
 * length is the code's last two bytes. Another checkout of the same sources differs only there.
 */
function withoutMetadata(code: Uint8Array): Uint8Array {
  if (code.length < 2) return code;
  const tail = (code[code.length - 2]! << 8) + code[code.length - 1]!;
  return tail + 2 <= code.length ? code.subarray(0, code.length - tail - 2) : code;
}

function bytesOf(hex: string): Uint8Array {
  return Buffer.from(hex.startsWith("0x") ? hex.slice(2) : hex, "hex");
}

/** Whether `code` (read from chain) is `artifact`'s runtime code, immutables, links and metadata aside. */
export function runtimeCodeMatches(code: string, artifact: RuntimeArtifact): boolean {
  const compiled = bytesOf(artifact.deployedBytecode);
  const deployed = bytesOf(code);
  if (compiled.length === 0 || compiled.length !== deployed.length) return false;
  // The constructor writes immutables (and the linker addresses) into the deployed code only.
  const masked = Uint8Array.from(deployed);
  const ranges = [
    ...Object.values(artifact.immutableReferences ?? {}).flat(),
    ...Object.values(artifact.deployedLinkReferences ?? {}).flatMap((libraries) => Object.values(libraries).flat()),
  ];
  for (const { start, length } of ranges) masked.fill(0, start, start + length);
  const a = withoutMetadata(masked);
  const b = withoutMetadata(compiled);
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** The names of the artifacts whose runtime code `code` is, in the order given. */
export function artifactsMatching(code: string, artifacts: readonly RuntimeArtifact[]): string[] {
  return artifacts.filter((artifact) => runtimeCodeMatches(code, artifact)).map((a) => a.contractName);
}

/** The calls of a proposal as the Governor received them. */
export interface ProposedCalls {
  targets: readonly string[];
  calldatas: readonly string[];
  /** The block the proposal was created in. */
  blockNumber: number;
}

export interface UpgradesFromChainOptions {
  /** Names the proxies the record knows; others are named by address. */
  record?: DeploymentRecord;
  /** The project's compiled artifacts (every contract with runtime code). */
  artifacts: readonly RuntimeArtifact[];
}

/** Every proxy `calls` upgrade, once each (a proxy upgraded twice ends on its last implementation). */
export async function upgradesFromChain(
  provider: Provider,
  calls: ProposedCalls,
  options: UpgradesFromChainOptions,
): Promise<ExpectedUpgrade[]> {
  const names = options.record === undefined ? new Map<string, string>() : namesByAddress(options.record);
  const latest = await provider.getBlockNumber();
  const byProxy = new Map<string, { implementation: string; calls: number[] }>();
  calls.calldatas.forEach((data, i) => {
    if (!data.toLowerCase().startsWith(UPGRADE_SELECTOR)) return;
    let implementation: string;
    try {
      implementation = getAddress(UUPS.decodeFunctionData("upgradeToAndCall", data)[0] as string);
    } catch {
      return; // The selector without decodable arguments reverts on chain: the execution reports it.
    }
    const proxy = getAddress(calls.targets[i]!);
    const seen = byProxy.get(proxy);
    byProxy.set(proxy, { implementation, calls: [...(seen?.calls ?? []), i + 1] });
  });
  const upgrades: ExpectedUpgrade[] = [];
  for (const [proxy, { implementation, calls: numbers }] of byProxy) {
    const derivation: string[] = [];
    const which =
      numbers.length === 1
        ? `call ${numbers[0]}`
        : `calls ${numbers.join(", ")} (upgraded ${numbers.length} times; the last implementation counts)`;
    derivation.push(`recovered from upgradeToAndCall in ${which} of the proposal on chain.`);
    const before = await implementationBefore(provider, proxy, calls.blockNumber, latest, derivation);
    const contractName = await contractNameOf(provider, implementation, latest, options.artifacts, derivation);
    const version = await versionOf(provider, implementation, latest, derivation);
    upgrades.push({
      name: nameOf(proxy, names),
      proxy,
      implementationBefore: before,
      implementation,
      contractName,
      version,
      derivation,
    });
  }
  return upgrades;
}

/**
 * The slot at the block before the proposal's: what it was built against, as a file records it at
 * build time, so that an upgrade made meanwhile by someone else fails the check. A node that
 * keeps no state that old (not an archive node) is read at the latest block instead, and says so.
 */
async function implementationBefore(
  provider: Provider,
  proxy: string,
  createdIn: number,
  latest: number,
  derivation: string[],
): Promise<string> {
  const block = Math.max(0, createdIn - 1);
  try {
    const address = await implementationOf(provider, proxy, block);
    derivation.push(`implementation before: the EIP-1967 slot at block ${block}, before the proposal was created.`);
    return address;
  } catch (error) {
    const address = await implementationOf(provider, proxy, latest);
    derivation.push(
      `implementation before: the node cannot read block ${block} (${errorMessage(error)}), so the slot was read at the latest block ${latest}; a change since the proposal was created goes unnoticed (simulate on an archive node to see it).`,
    );
    return address;
  }
}

async function contractNameOf(
  provider: Provider,
  implementation: string,
  block: number,
  artifacts: readonly RuntimeArtifact[],
  derivation: string[],
): Promise<string> {
  const code = await provider.getCode(implementation, block);
  if (code === "0x") {
    derivation.push(`artifact: ${UNKNOWN}, the implementation ${implementation} has no code at block ${block}.`);
    return UNKNOWN;
  }
  const matching = artifactsMatching(code, artifacts);
  if (matching.length === 0) {
    derivation.push(
      `artifact: ${UNKNOWN}, the runtime code of ${implementation} matches none of the project's ${artifacts.length} compiled artifacts (compared without metadata and immutables).`,
    );
    return UNKNOWN;
  }
  const others = matching.length > 1 ? `; the same code as ${matching.slice(1).join(", ")}` : "";
  derivation.push(`artifact: ${matching[0]}, matched by runtime code (without metadata and immutables)${others}.`);
  return matching[0]!;
}

/** `version()` called on the implementation itself: a UUPS implementation answers view calls. */
async function versionOf(provider: Provider, implementation: string, block: number, derivation: string[]) {
  try {
    const data = await provider.call({
      to: implementation,
      data: VERSION.encodeFunctionData("version"),
      blockTag: block,
    });
    const version = VERSION.decodeFunctionResult("version", data)[0] as string;
    derivation.push(`version: "${version}", from version() of the implementation at block ${block}.`);
    return version;
  } catch (error) {
    derivation.push(`version: ${UNKNOWN}, the implementation does not answer version() (${errorMessage(error)}).`);
    return UNKNOWN;
  }
}

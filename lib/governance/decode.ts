import { existsSync } from "node:fs";
import path from "node:path";
import { getAddress, type FunctionFragment, type Interface, type ParamType, type Result } from "ethers";
import type { DeploymentRecord } from "../deployments.js";
import { KNOWN_ARTIFACTS, artifactsBehind, contractInterface, roleName } from "./abis.js";
import { nameOf, type ActionCall } from "./actions/common.js";
import { UNKNOWN, type ExpectedUpgrade, type ProposalCall } from "./types.js";

/**
 * Turns a call of a proposal into what a reviewer reads: the target's name in the deployment
 * record, the function and its arguments decoded with the target's ABI (an upgrade's inner call
 * with the new implementation's), role ids by name, one sentence on what it does, and the audits/
 * report that reviews an upgrade.
 */

/** Where the upgrade reviews are (repository-relative), `<From>-to-<To>.md` each. */
export const AUDIT_DIR = "audits/v1-to-v2";

export interface DecodeOptions {
  record: DeploymentRecord;
  /** The proxies the proposal upgrades (to find the new implementation's ABI and name). */
  upgrades: readonly ExpectedUpgrade[];
  /** The project root: reports are looked up in `<root>/audits/v1-to-v2` (none linked without it). */
  root?: string;
}

/** A decoded call: the function and its JSON-safe arguments. */
interface Decoded {
  fragment: FunctionFragment;
  args: Record<string, unknown>;
}

/** The audits/ report for the upgrade of `record`'s proxy to `to`, repository-relative, or undefined. */
export function auditFor(record: string, to: string, root: string): string | undefined {
  const from = [...artifactsBehind(record).filter((name) => name !== to), record];
  for (const name of from) {
    const relative = `${AUDIT_DIR}/${name}-to-${to}.md`;
    if (existsSync(path.join(root, relative))) return relative;
  }
  return undefined;
}

/** Decodes every call (see `decodeCall`). */
export function decodeCalls(calls: readonly ActionCall[], options: DecodeOptions): ProposalCall[] {
  return calls.map((call) => decodeCall(call, options));
}

/** A `ProposalCall` for `call`: names, decoded function and arguments, a sentence, the audit report. */
export function decodeCall(call: ActionCall, options: DecodeOptions): ProposalCall {
  const target = getAddress(call.target);
  const recordName = nameOf(options.record, target);
  const contract = recordName ?? target;
  const base = { target, value: call.value.toString(), data: call.data, contract };
  const decoded = decodeWith(candidatesFor(recordName), call.data, options);
  if (decoded === undefined) {
    return {
      ...base,
      signature: null,
      args: {},
      summary: `Calls ${contract} with data the project's ABIs do not decode (selector ${call.data.slice(0, 10)}): check it by hand before voting.`,
    };
  }
  const signature = decoded.fragment.format("sighash");
  const result: ProposalCall = { ...base, signature, args: decoded.args, summary: "" };
  if (decoded.fragment.name === "upgradeToAndCall") {
    const upgrade = options.upgrades.find((u) => u.proxy.toLowerCase() === target.toLowerCase());
    const implementation = getAddress(decoded.args.newImplementation as string);
    const installs =
      upgrade !== undefined && upgrade.implementation.toLowerCase() === implementation.toLowerCase()
        ? upgrade
        : undefined;
    const to = installs === undefined || installs.contractName === UNKNOWN ? undefined : installs.contractName;
    const audit =
      to === undefined || options.root === undefined ? undefined : auditFor(recordName ?? contract, to, options.root);
    if (audit !== undefined) result.audit = audit;
    result.summary = upgradeSentence(contract, implementation, installs, to, decoded.args.data, audit);
  } else {
    result.summary = sentence(contract, decoded, options.record);
  }
  return result;
}

/** The ABIs to try for a target: what may run behind its proxy, then every ABI the project knows. */
function candidatesFor(recordName: string | undefined): string[] {
  const first = recordName === undefined ? [] : artifactsBehind(recordName);
  return [...first, ...KNOWN_ARTIFACTS.filter((name) => !first.includes(name))];
}

function decodeWith(artifacts: readonly string[], data: string, options: DecodeOptions): Decoded | undefined {
  if (data.length < 10) return undefined;
  const selector = data.slice(0, 10).toLowerCase();
  for (const artifact of artifacts) {
    const abi = contractInterface(artifact)!;
    const fragment = abi.getFunction(selector);
    if (fragment === null) continue;
    return decodeFragment(abi, fragment, data, options);
  }
  return undefined;
}

function decodeFragment(abi: Interface, fragment: FunctionFragment, data: string, options: DecodeOptions): Decoded {
  let values: Result;
  try {
    values = abi.decodeFunctionData(fragment, data);
  } catch {
    // The selector matches but the arguments do not decode: show it as undecoded.
    return { fragment, args: { undecoded: data } };
  }
  const args: Record<string, unknown> = {};
  fragment.inputs.forEach((input, i) => {
    const name = input.name === "" ? `arg${i}` : input.name;
    args[name] =
      fragment.name === "upgradeToAndCall" && input.type === "bytes"
        ? innerCall(values[i] as string, getAddress(values[0] as string), options)
        : jsonSafe(values[i], input);
  });
  return { fragment, args };
}

/** The call an upgrade makes on its new implementation, decoded with that implementation's ABI. */
function innerCall(data: string, implementation: string, options: DecodeOptions): unknown {
  if (data === "0x") return "0x";
  const upgrade = options.upgrades.find((u) => u.implementation.toLowerCase() === implementation.toLowerCase());
  const first =
    upgrade === undefined ? [] : [upgrade.contractName].filter((name) => contractInterface(name) !== undefined);
  const decoded = decodeWith([...first, ...KNOWN_ARTIFACTS.filter((name) => !first.includes(name))], data, options);
  if (decoded === undefined) return data;
  return { signature: decoded.fragment.format("sighash"), args: decoded.args };
}

/** JSON-safe: integers as decimal strings, addresses checksummed, role ids by name, structs by field. */
function jsonSafe(value: unknown, param: ParamType): unknown {
  if (param.isArray()) return (value as unknown[]).map((item) => jsonSafe(item, param.arrayChildren));
  if (param.isTuple()) {
    const out: Record<string, unknown> = {};
    param.components.forEach((component, i) => {
      out[component.name === "" ? `field${i}` : component.name] = jsonSafe((value as unknown[])[i], component);
    });
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  if (param.type === "address") return getAddress(value as string);
  if (param.type === "bytes32" && /role/i.test(param.name)) return roleName(value as string);
  return value;
}

function label(address: unknown, record: DeploymentRecord): string {
  const text = String(address);
  const name = nameOf(record, text);
  return name === undefined ? text : `${name} (${text})`;
}

function sentence(contract: string, { fragment, args }: Decoded, record: DeploymentRecord): string {
  switch (fragment.name) {
    case "pause":
      return `Pauses ${contract}: its user functions revert until it is unpaused.`;
    case "unpause":
      return `Unpauses ${contract}.`;
    case "grantRole":
      return `Grants ${String(args.role)} on ${contract} to ${label(args.account, record)}.`;
    case "revokeRole":
      return `Revokes ${String(args.role)} on ${contract} from ${label(args.account, record)}.`;
    case "finalizeMigration":
      return `Finalizes the migration into ${contract}: it checks ${String(args.expectedCount)} migrated records against commitment ${String(
        args.expectedCommitment,
      )} and the funds it holds, then opens to users.`;
    default:
      return `Calls ${fragment.format("sighash")} on ${contract}.`;
  }
}

function upgradeSentence(
  contract: string,
  implementation: string,
  upgrade: ExpectedUpgrade | undefined,
  to: string | undefined,
  inner: unknown,
  audit: string | undefined,
): string {
  const what =
    to !== undefined
      ? `${to} (implementation ${implementation}, version ${upgrade!.version})`
      : upgrade !== undefined
        ? `an implementation whose code matches none of the project's artifacts (${implementation}, version ${upgrade.version})`
        : `an implementation the proposal did not prepare (${implementation})`;
  const then =
    inner === "0x"
      ? "with no upgrade call"
      : typeof inner === "object" && inner !== null
        ? `calling ${(inner as { signature: string }).signature} in the same transaction`
        : "with an upgrade call the project's ABIs do not decode";
  const review =
    audit !== undefined
      ? `reviewed in ${audit}`
      : to === undefined
        ? "no audits/ report can be matched to it, so check the implementation by hand before voting"
        : `no ${AUDIT_DIR} report exists for this pair, so review it with \`npx hardhat upgrade:diff\` before voting`;
  return `Upgrades the ${contract} proxy to ${what}, ${then}; ${review}.`;
}

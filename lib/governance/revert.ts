import { Interface } from "ethers";
import { CONTRACT_ABIS, contractInterface } from "./abis.js";

/**
 * A proposal's revert, decoded: the timelock bubbles up the revert data of the call that failed,
 * so the custom error may come from the Governor, the timelock or any contract a proposal calls.
 */
const INTERFACES: readonly Interface[] = [
  ...Object.keys(CONTRACT_ABIS).map((name) => contractInterface(name)!),
  new Interface(["error Error(string reason)", "error Panic(uint256 code)"]),
];

/** The revert data an ethers or Hardhat error carries, wherever the client put it. */
export function revertDataOf(error: unknown): string | undefined {
  let current: unknown = error;
  // ethers wraps the node's error (`info.error`), Hardhat's provider sets `data` directly.
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const e = current as { data?: unknown; info?: { error?: unknown }; error?: unknown; cause?: unknown };
    if (typeof e.data === "string" && e.data.startsWith("0x")) return e.data;
    if (typeof e.data === "object" && e.data !== null) {
      const nested = (e.data as { data?: unknown }).data;
      if (typeof nested === "string" && nested.startsWith("0x")) return nested;
    }
    current = e.info?.error ?? e.error ?? e.cause;
  }
  return undefined;
}

/** `Name(arg, …)` for revert data some known contract declares; undefined otherwise. */
export function decodeRevertData(data: string): string | undefined {
  if (data.length < 10) return undefined;
  for (const iface of INTERFACES) {
    const parsed = iface.parseError(data);
    if (parsed !== null) return `${parsed.name}(${parsed.args.map(String).join(", ")})`;
  }
  return undefined;
}

/** The reason of a failed call: the decoded custom error, else the client's words. */
export function describeRevert(error: unknown): string {
  const data = revertDataOf(error);
  if (data !== undefined) {
    const decoded = decodeRevertData(data);
    if (decoded !== undefined) return decoded;
    if (data !== "0x") return `unknown error ${data.slice(0, 10)} (data ${data})`;
  }
  const e = error as { shortMessage?: unknown };
  if (typeof e.shortMessage === "string" && e.shortMessage !== "") return e.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one content hash of platform import: keccak256 of the value's canonical JSON (sorted keys, no
 * whitespace; lib/store/canonical.ts), so the same prompt or output always gives the same hash
 * whatever the key order or spacing of the export it came from.
 */
import { keccak256, toUtf8Bytes } from "ethers";
import { canonicalJson } from "../store/canonical.js";

export function hashContent(value: unknown): string {
  return keccak256(toUtf8Bytes(canonicalJson(value)));
}

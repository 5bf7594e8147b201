import { readFile } from "node:fs/promises";
import { FunctionFragment, Interface, isHexString } from "ethers";
import type { DeploymentRecord } from "../../deployments.js";
import { ProposalInputError, resolveTarget, type ActionCall } from "./common.js";

/**
 * `--action custom --calls <file.json>`: calls written by hand, as an array of
 * `{ "target": "<address or record name>", "value": "0", "signature": "grantRole(bytes32,address)", "args": [...] }`
 * or `{ "target", "value", "data" }`. Every entry is checked before anything is deployed, and a
 * problem names the entry and the field.
 */

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const SIGNATURE_KEYS = new Set(["target", "value", "signature", "args"]);
const DATA_KEYS = new Set(["target", "value", "data"]);

/** Reads and checks a calls file. */
export async function readCustomCalls(file: string, record: DeploymentRecord): Promise<ActionCall[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ProposalInputError(
      `--calls ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): give the path of a JSON file.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ProposalInputError(`--calls ${file} is not JSON: ${(error as Error).message}.`);
  }
  return parseCustomCalls(parsed, record, file);
}

/** Checks and encodes the calls of a parsed calls file (`source` names it in messages). */
export function parseCustomCalls(parsed: unknown, record: DeploymentRecord, source: string): ActionCall[] {
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ProposalInputError(`${source} must be a non-empty JSON array of calls.`);
  }
  return parsed.map((entry, index) => parseEntry(entry, index, record, source));
}

function parseEntry(entry: unknown, index: number, record: DeploymentRecord, source: string): ActionCall {
  const where = (field?: string) => `${source}, entry ${index}${field === undefined ? "" : `, field "${field}"`}`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new ProposalInputError(
      `${where()}: must be an object with "target", "value" and "signature"+"args" or "data".`,
    );
  }
  const fields = entry as Record<string, unknown>;
  const hasSignature = "signature" in fields;
  const hasData = "data" in fields;
  if (hasSignature === hasData) {
    throw new ProposalInputError(
      `${where()}: give either "signature" with "args", or "data" (encoded calldata), not ${hasData ? "both" : "neither"}.`,
    );
  }
  const allowed = hasSignature ? SIGNATURE_KEYS : DATA_KEYS;
  for (const key of Object.keys(fields)) {
    if (!allowed.has(key)) {
      throw new ProposalInputError(`${where(key)}: unknown field (an entry has ${[...allowed].join(", ")}).`);
    }
  }

  if (typeof fields.target !== "string") {
    throw new ProposalInputError(`${where("target")}: must be an address or a record name, as a string.`);
  }
  const target = resolveTarget(record, fields.target, where("target"));

  if (typeof fields.value !== "string" || !DECIMAL.test(fields.value)) {
    throw new ProposalInputError(
      `${where("value")}: must be the wei sent, as a decimal string ("0"), got ${JSON.stringify(fields.value)}.`,
    );
  }
  const value = BigInt(fields.value);

  if (hasData) {
    if (typeof fields.data !== "string" || !isHexString(fields.data) || fields.data.length < 10) {
      throw new ProposalInputError(
        `${where("data")}: must be 0x-prefixed calldata with at least a 4-byte selector, got ${JSON.stringify(fields.data)}.`,
      );
    }
    return { target, value, data: fields.data.toLowerCase() };
  }

  if (typeof fields.signature !== "string") {
    throw new ProposalInputError(`${where("signature")}: must be a function signature such as "pause()".`);
  }
  let fragment: FunctionFragment;
  try {
    fragment = FunctionFragment.from(fields.signature.trim().replace(/^function\s+/, ""));
  } catch {
    throw new ProposalInputError(
      `${where("signature")}: "${fields.signature}" is not a function signature such as "grantRole(bytes32,address)".`,
    );
  }
  const args = fields.args ?? [];
  if (!Array.isArray(args)) throw new ProposalInputError(`${where("args")}: must be an array of arguments.`);
  if (args.length !== fragment.inputs.length) {
    throw new ProposalInputError(
      `${where("args")}: ${fragment.format("sighash")} takes ${fragment.inputs.length} argument(s), got ${args.length}.`,
    );
  }
  try {
    return { target, value, data: new Interface([fragment]).encodeFunctionData(fragment, args) };
  } catch (error) {
    throw new ProposalInputError(
      `${where("args")}: cannot encode ${fragment.format("sighash")} with ${JSON.stringify(args)}: ${(error as Error).message.split(" (")[0]}.`,
    );
  }
}

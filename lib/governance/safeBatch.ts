import { getAddress, isAddress, isHexString, keccak256, toUtf8Bytes, type ParamType } from "ethers";
import { KNOWN_ARTIFACTS, functionJson, contractInterface } from "./abis.js";
import type { ProposalCall } from "./types.js";

/**
 * The same calls as a Safe{Wallet} Transaction Builder batch, for a Safe that holds the roles
 * itself and executes them directly (the setup Defender users had). The format and its checksum
 * follow the Transaction Builder (safe-global/safe-react-apps, apps/tx-builder: `generateBatchFile`
 * in src/store/transactionLibraryContext.tsx and `calculateChecksum` in src/lib/checksum.ts):
 *
 * - the file is `{ version: "1.0", chainId: "<decimal>", createdAt: <ms>, meta, transactions }`;
 * - every value the builder reads as a number is a string (`value`, the inputs' values): the
 *   builder refuses a batch with a number there, since JavaScript numbers stop at 2^53;
 * - `meta.checksum` is keccak256 of a canonical serialization of the file with `meta.checksum`
 *   removed and `meta.name` replaced by null (so renaming a batch keeps it valid). The
 *   serialization writes an object as `{` + the JSON array of its sorted keys + each value's
 *   serialization followed by `,` + `}`, an array as `[` + its items joined by `,` + `]`, and
 *   anything else as JSON (`undefined` as `null`).
 *
 * Each transaction carries both the exact calldata (`data`, which the builder executes as is)
 * and the decoded method (`contractMethod`, `contractInputsValues`) for the people signing.
 */

/** The Transaction Builder release whose export format this writes (and whose checksum it was checked against). */
export const TX_BUILDER_VERSION = "1.18.2";

export interface SafeBatchInput {
  type: "string" | string;
  name: string;
  internalType?: string;
}

export interface SafeBatchMethod {
  inputs: SafeBatchInput[];
  name: string;
  payable: boolean;
}

export interface SafeBatchTransaction {
  to: string;
  value: string;
  data: string | null;
  contractMethod: SafeBatchMethod | null;
  contractInputsValues: Record<string, string> | null;
}

export interface SafeBatchFile {
  version: "1.0";
  chainId: string;
  createdAt: number;
  meta: {
    name: string;
    description: string;
    txBuilderVersion: string;
    createdFromSafeAddress: string;
    createdFromOwnerAddress: string;
    checksum: string;
  };
  transactions: SafeBatchTransaction[];
}

export interface SafeBatchOptions {
  chainId: number;
  name: string;
  description: string;
  calls: readonly ProposalCall[];
  /** The Safe that executes the batch (`createdFromSafeAddress`); empty when not known yet. */
  safe?: string;
  /** Milliseconds since the epoch (default: now). */
  createdAt?: number;
}

// ------------------------------------------------------------------ checksum

/** The builder's canonical serialization (see above), which its checksum hashes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    const fields = keys.map((key) => `${canonicalJson((value as Record<string, unknown>)[key])},`).join("");
    return `{${JSON.stringify(keys)}${fields}}`;
  }
  // JSON has no undefined: the builder writes it as null, here as in its downloads.
  return value === undefined ? "null" : JSON.stringify(value);
}

/** The Transaction Builder's checksum of a batch (whatever its `meta.checksum` holds now). */
export function safeBatchChecksum(batch: { meta: Record<string, unknown> } & Record<string, unknown>): string {
  const meta: Record<string, unknown> = { ...batch.meta, name: null };
  delete meta.checksum;
  return keccak256(toUtf8Bytes(canonicalJson({ ...batch, meta })));
}

// ------------------------------------------------------------------ building

/** A decoded argument as the builder's input field holds it: text, arrays and structs as JSON. */
function inputValue(value: unknown, param: ParamType): string {
  if (param.isArray() || param.isTuple()) return JSON.stringify(plain(value));
  if (typeof value === "boolean") return value ? "true" : "false";
  return String(value);
}

function plain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

function methodOf(call: ProposalCall): Pick<SafeBatchTransaction, "contractMethod" | "contractInputsValues"> {
  if (call.signature === null) return { contractMethod: null, contractInputsValues: null };
  for (const artifact of KNOWN_ARTIFACTS) {
    const json = functionJson(artifact, call.signature);
    if (json === undefined) continue;
    const abi = contractInterface(artifact)!;
    const fragment = abi.getFunction(call.signature)!;
    const values = abi.decodeFunctionData(fragment, call.data);
    const names = fragment.inputs.map((input, i) => (input.name === "" ? `arg${i}` : input.name));
    return {
      contractMethod: {
        inputs: fragment.inputs.map((input, i) => ({
          internalType: json.inputs?.[i]?.internalType ?? input.type,
          name: names[i]!,
          type: json.inputs?.[i]?.type ?? input.type,
        })),
        name: fragment.name,
        payable: json.stateMutability === "payable",
      },
      contractInputsValues: Object.fromEntries(
        fragment.inputs.map((input, i) => [names[i]!, inputValue(values[i], input)]),
      ),
    };
  }
  // A signature from a custom calls file that no project ABI has: the calldata alone says it.
  return { contractMethod: null, contractInputsValues: null };
}

/** The Transaction Builder batch of `calls`, with its checksum. */
export function buildSafeBatch(options: SafeBatchOptions): SafeBatchFile {
  if (options.safe !== undefined && options.safe !== "" && !isAddress(options.safe)) {
    throw new Error(`The Safe "${options.safe}" is not an address.`);
  }
  const batch: Omit<SafeBatchFile, "meta"> & { meta: Omit<SafeBatchFile["meta"], "checksum"> } = {
    version: "1.0",
    chainId: String(options.chainId),
    createdAt: options.createdAt ?? Date.now(),
    meta: {
      name: options.name,
      description: options.description,
      txBuilderVersion: TX_BUILDER_VERSION,
      createdFromSafeAddress: options.safe === undefined || options.safe === "" ? "" : getAddress(options.safe),
      createdFromOwnerAddress: "",
    },
    transactions: options.calls.map((call) => ({
      to: getAddress(call.target),
      value: call.value,
      data: call.data,
      ...methodOf(call),
    })),
  };
  return { ...batch, meta: { ...batch.meta, checksum: safeBatchChecksum(batch) } };
}

// ------------------------------------------------------------------ validation

/** What `validateSafeBatch` found: no problems means the builder imports the file without a warning. */
export interface SafeBatchValidation {
  valid: boolean;
  problems: string[];
  /** The checksum the builder computes for the file. */
  checksum?: string;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Checks a parsed batch file as the Transaction Builder does on import, and more strictly: the
 * required fields and their types, numbers as strings, each transaction either with calldata or
 * with a method and its input values, and the checksum.
 */
export function validateSafeBatch(json: unknown): SafeBatchValidation {
  const problems: string[] = [];
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isObject(json)) return { valid: false, problems: ["the batch is not a JSON object"] };

  if (json.version !== "1.0") problems.push(`version must be "1.0", got ${JSON.stringify(json.version)}`);
  if (typeof json.chainId !== "string" || !DECIMAL.test(json.chainId)) {
    problems.push(`chainId must be a decimal string, got ${JSON.stringify(json.chainId)}`);
  }
  if (typeof json.createdAt !== "number" || !Number.isSafeInteger(json.createdAt) || json.createdAt < 0) {
    problems.push(`createdAt must be milliseconds since the epoch, got ${JSON.stringify(json.createdAt)}`);
  }

  const meta = json.meta;
  if (!isObject(meta)) {
    problems.push("meta is missing");
  } else {
    for (const field of ["name", "txBuilderVersion", "createdFromSafeAddress", "createdFromOwnerAddress"]) {
      if (typeof meta[field] !== "string") problems.push(`meta.${field} must be a string`);
    }
    if (meta.description !== undefined && typeof meta.description !== "string") {
      problems.push("meta.description must be a string");
    }
    for (const field of ["createdFromSafeAddress", "createdFromOwnerAddress"]) {
      const value = meta[field];
      if (typeof value === "string" && value !== "" && !isAddress(value)) {
        problems.push(`meta.${field} must be an address or empty, got ${JSON.stringify(value)}`);
      }
    }
    if (typeof meta.checksum !== "string" || !/^0x[0-9a-f]{64}$/.test(meta.checksum)) {
      problems.push(`meta.checksum must be a 0x-prefixed keccak256 hash, got ${JSON.stringify(meta.checksum)}`);
    }
  }

  const transactions = json.transactions;
  if (!Array.isArray(transactions) || transactions.length === 0) {
    problems.push("transactions must be a non-empty array");
  } else {
    transactions.forEach((tx, i) => problems.push(...transactionProblems(tx, `transactions[${i}]`)));
  }

  let checksum: string | undefined;
  if (isObject(meta)) {
    checksum = safeBatchChecksum(json as { meta: Record<string, unknown> });
    if (typeof meta.checksum === "string" && meta.checksum !== checksum) {
      problems.push(`meta.checksum is ${meta.checksum} but the batch's checksum is ${checksum}: the file was changed`);
    }
  }
  return { valid: problems.length === 0, problems, ...(checksum === undefined ? {} : { checksum }) };
}

function transactionProblems(tx: unknown, where: string): string[] {
  if (typeof tx !== "object" || tx === null || Array.isArray(tx)) return [`${where} must be an object`];
  const fields = tx as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof fields.to !== "string" || !isAddress(fields.to)) problems.push(`${where}.to must be an address`);
  if (typeof fields.value !== "string" || !DECIMAL.test(fields.value)) {
    problems.push(`${where}.value must be wei as a decimal string, got ${JSON.stringify(fields.value)}`);
  }
  const hasData = fields.data !== undefined && fields.data !== null;
  if (hasData && (typeof fields.data !== "string" || !isHexString(fields.data))) {
    problems.push(`${where}.data must be 0x-prefixed hex or null`);
  }
  const method = fields.contractMethod;
  if (method !== undefined && method !== null) {
    const m = method as Record<string, unknown>;
    if (typeof m.name !== "string") problems.push(`${where}.contractMethod.name must be a string`);
    if (typeof m.payable !== "boolean") problems.push(`${where}.contractMethod.payable must be true or false`);
    if (!Array.isArray(m.inputs)) {
      problems.push(`${where}.contractMethod.inputs must be an array`);
    } else {
      const values = fields.contractInputsValues;
      m.inputs.forEach((input: unknown, i) => {
        const field = input as Record<string, unknown>;
        if (typeof field?.name !== "string" || typeof field.type !== "string") {
          problems.push(`${where}.contractMethod.inputs[${i}] needs a name and a type`);
          return;
        }
        const value = (values as Record<string, unknown> | null | undefined)?.[field.name];
        if (value === undefined && !hasData) {
          problems.push(`${where}.contractInputsValues.${field.name} is missing`);
        } else if (value !== undefined && typeof value !== "string") {
          problems.push(
            `${where}.contractInputsValues.${field.name} must be a string (numbers above 2^53 lose digits), got ${JSON.stringify(value)}`,
          );
        }
      });
    }
  } else if (!hasData) {
    problems.push(`${where} has neither data nor a contractMethod: the builder cannot encode it`);
  }
  const values = fields.contractInputsValues;
  if (values !== undefined && values !== null && (typeof values !== "object" || Array.isArray(values))) {
    problems.push(`${where}.contractInputsValues must be an object of strings or null`);
  }
  return problems;
}

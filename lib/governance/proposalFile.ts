import { readFile } from "node:fs/promises";
import { getAddress, isAddress, isHexString } from "ethers";
import { DescriptionError, descriptionHash, proposerOf } from "./description.js";
import { proposalId, timelockOperationId } from "./proposalId.js";
import {
  PROPOSAL_ACTIONS,
  PROPOSAL_FORMAT,
  type ExpectedUpgrade,
  type ProposalAction,
  type ProposalCall,
  type ProposalFile,
} from "./types.js";
import { jsonPreview } from "../jsonPreview.js";

/**
 * Reads a proposal file and proves it is what it claims before anything acts on it: every field
 * typed, the Governor's arrays equal to the decoded calls, and the description hash, proposal id,
 * timelock operation id and proposer recomputed from the content. A file edited by hand after
 * `upgrade:propose` wrote it (a changed calldata, a description with text after its suffix) would
 * otherwise be simulated as one proposal and submitted as another.
 */

const REGENERATE = "regenerate it with `npx hardhat upgrade:propose`";

/** A proposal file that cannot be used as it is; the message names the field and what to do. */
export class ProposalFileError extends Error {
  override name = "ProposalFileError";
}

/** Reads and checks `file` (see `parseProposalFile`). */
export async function loadProposalFile(file: string): Promise<ProposalFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ProposalFileError(`${file}: cannot read the proposal file (${(error as Error).message}).`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ProposalFileError(`${file} is not valid JSON (${(error as Error).message}): ${REGENERATE}.`, {
      cause: error,
    });
  }
  return parseProposalFile(parsed, file);
}

/** Checks a parsed proposal file; `source` names it in errors. Returns it with addresses checksummed. */
export function parseProposalFile(value: unknown, source: string): ProposalFile {
  const fail = (field: string, problem: string): never => {
    throw new ProposalFileError(`${source}: ${field} ${problem}: ${REGENERATE}.`);
  };
  const root = objectAt(value, "the file", fail);
  if (root.format !== PROPOSAL_FORMAT) fail("format", `is ${jsonPreview(root.format)}, not "${PROPOSAL_FORMAT}"`);
  const action = root.action;
  if (typeof action !== "string" || !(PROPOSAL_ACTIONS as readonly string[]).includes(action)) {
    fail("action", `is ${jsonPreview(action)}, not one of ${PROPOSAL_ACTIONS.join(", ")}`);
  }
  const chainId = root.chainId;
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) {
    fail("chainId", "is not a positive integer");
  }
  const governor = addressAt(root.governor, "governor", fail);
  const timelock = addressAt(root.timelock, "timelock", fail);
  const proposer = addressAt(root.proposer, "proposer", fail);
  const title = stringAt(root.title, "title", fail);
  const description = stringAt(root.description, "description", fail);
  const hash = bytes32At(root.descriptionHash, "descriptionHash", fail);
  const id = decimalAt(root.proposalId, "proposalId", fail);
  const operationId = bytes32At(root.timelockOperationId, "timelockOperationId", fail);
  const targets = arrayAt(root.targets, "targets", fail).map((t, i) => addressAt(t, `targets[${i}]`, fail));
  const values = arrayAt(root.values, "values", fail).map((v, i) => decimalAt(v, `values[${i}]`, fail));
  const calldatas = arrayAt(root.calldatas, "calldatas", fail).map((d, i) => hexAt(d, `calldatas[${i}]`, fail));
  const calls = arrayAt(root.calls, "calls", fail).map((c, i) => callAt(c, `calls[${i}]`, fail));
  const upgrades = arrayAt(root.upgrades, "upgrades", fail).map((u, i) => upgradeAt(u, `upgrades[${i}]`, fail));

  if (targets.length === 0) fail("targets", "is empty (the Governor refuses a proposal without calls)");
  if (values.length !== targets.length || calldatas.length !== targets.length || calls.length !== targets.length) {
    fail(
      "targets/values/calldatas/calls",
      `have different lengths (${targets.length}, ${values.length}, ${calldatas.length}, ${calls.length})`,
    );
  }
  calls.forEach((call, i) => {
    if (call.target !== targets[i]) fail(`calls[${i}].target`, `is ${call.target} but targets[${i}] is ${targets[i]}`);
    if (call.value !== values[i]) fail(`calls[${i}].value`, `is ${call.value} but values[${i}] is ${values[i]}`);
    if (call.data.toLowerCase() !== calldatas[i]!.toLowerCase()) {
      fail(`calls[${i}].data`, `differs from calldatas[${i}]`);
    }
  });

  let bound: string;
  try {
    bound = proposerOf(description);
  } catch (error) {
    if (error instanceof DescriptionError)
      throw new ProposalFileError(`${source}: description: ${error.message} Then ${REGENERATE}.`);
    throw error;
  }
  if (bound !== proposer) fail("proposer", `is ${proposer} but the description is bound to ${bound}`);
  const expectedHash = descriptionHash(description);
  if (hash !== expectedHash) fail("descriptionHash", `is ${hash} but the description hashes to ${expectedHash}`);
  const proposalCalls = { targets, values: values.map(BigInt), calldatas };
  const expectedId = proposalId(proposalCalls, expectedHash).toString();
  if (id !== expectedId) fail("proposalId", `is ${id} but the calls and description give ${expectedId}`);
  const expectedOperation = timelockOperationId(proposalCalls, governor, expectedHash);
  if (operationId !== expectedOperation) {
    fail("timelockOperationId", `is ${operationId} but the calls, Governor and description give ${expectedOperation}`);
  }

  return {
    format: PROPOSAL_FORMAT,
    action: action as ProposalAction,
    chainId: chainId as number,
    governor,
    timelock,
    proposer,
    title,
    description,
    descriptionHash: hash,
    proposalId: id,
    timelockOperationId: operationId,
    targets,
    values,
    calldatas,
    calls,
    upgrades,
  };
}

/** The Governor's `propose` arguments of a checked file. */
export function proposalArguments(file: ProposalFile): {
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
} {
  return {
    targets: [...file.targets],
    values: file.values.map(BigInt),
    calldatas: [...file.calldatas],
    description: file.description,
  };
}

type Fail = (field: string, problem: string) => never;

function objectAt(value: unknown, field: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(field, "is not an object");
  return value as Record<string, unknown>;
}

function arrayAt(value: unknown, field: string, fail: Fail): unknown[] {
  if (!Array.isArray(value)) return fail(field, "is not an array");
  return value;
}

function stringAt(value: unknown, field: string, fail: Fail): string {
  if (typeof value !== "string") return fail(field, "is not a string");
  return value;
}

function addressAt(value: unknown, field: string, fail: Fail): string {
  // isAddress also refuses a mixed-case address whose checksum is wrong (a mistyped digit).
  if (typeof value !== "string" || !isAddress(value)) return fail(field, `is not an address (${jsonPreview(value)})`);
  return getAddress(value);
}

function decimalAt(value: unknown, field: string, fail: Fail): string {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]*)$/.test(value)) {
    return fail(field, `is not a decimal string (${jsonPreview(value)})`);
  }
  return value;
}

function hexAt(value: unknown, field: string, fail: Fail): string {
  if (typeof value !== "string" || !isHexString(value) || value.length % 2 !== 0) {
    return fail(field, "is not 0x-prefixed hex bytes");
  }
  return value;
}

function bytes32At(value: unknown, field: string, fail: Fail): string {
  if (typeof value !== "string" || !isHexString(value, 32)) return fail(field, "is not a 32-byte hex string");
  return value.toLowerCase();
}

function callAt(value: unknown, field: string, fail: Fail): ProposalCall {
  const call = objectAt(value, field, fail);
  const signature = call.signature;
  if (signature !== null && typeof signature !== "string") fail(`${field}.signature`, "is neither a string nor null");
  const args = objectAt(call.args, `${field}.args`, fail);
  const audit = call.audit;
  if (audit !== undefined && typeof audit !== "string") fail(`${field}.audit`, "is not a string");
  return {
    target: addressAt(call.target, `${field}.target`, fail),
    value: decimalAt(call.value, `${field}.value`, fail),
    data: hexAt(call.data, `${field}.data`, fail),
    contract: stringAt(call.contract, `${field}.contract`, fail),
    signature: signature as string | null,
    args,
    summary: stringAt(call.summary, `${field}.summary`, fail),
    ...(audit === undefined ? {} : { audit: audit as string }),
  };
}

function upgradeAt(value: unknown, field: string, fail: Fail): ExpectedUpgrade {
  const upgrade = objectAt(value, field, fail);
  const derivation = upgrade.derivation;
  if (
    derivation !== undefined &&
    !(Array.isArray(derivation) && derivation.every((line) => typeof line === "string"))
  ) {
    fail(`${field}.derivation`, "is not an array of strings");
  }
  return {
    name: stringAt(upgrade.name, `${field}.name`, fail),
    proxy: addressAt(upgrade.proxy, `${field}.proxy`, fail),
    implementationBefore: addressAt(upgrade.implementationBefore, `${field}.implementationBefore`, fail),
    implementation: addressAt(upgrade.implementation, `${field}.implementation`, fail),
    contractName: stringAt(upgrade.contractName, `${field}.contractName`, fail),
    version: stringAt(upgrade.version, `${field}.version`, fail),
    ...(derivation === undefined ? {} : { derivation: [...(derivation as string[])] }),
  };
}

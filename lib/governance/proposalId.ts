import { AbiCoder, getAddress, keccak256, toBeHex } from "ethers";

/** What identifies a proposal: the Governor's arguments, exactly as `propose` takes them. */
export interface ProposalCalls {
  targets: readonly string[];
  values: readonly bigint[];
  calldatas: readonly string[];
}

const coder = AbiCoder.defaultAbiCoder();

/** OpenZeppelin 5 `Governor.hashProposal`: `uint256(keccak256(abi.encode(targets, values, calldatas, descriptionHash)))`. */
export function proposalId(calls: ProposalCalls, descriptionHash: string): bigint {
  return BigInt(
    keccak256(
      coder.encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32"],
        [calls.targets, calls.values, calls.calldatas, descriptionHash],
      ),
    ),
  );
}

/** `GovernorTimelockControl`'s salt: the Governor's address (20 bytes, left-aligned) XOR the description hash. */
export function timelockSalt(governor: string, descriptionHash: string): string {
  return toBeHex((BigInt(getAddress(governor)) << 96n) ^ BigInt(descriptionHash), 32);
}

/** `TimelockController.hashOperationBatch(targets, values, payloads, 0, salt)`: the timelock's id of the queued proposal. */
export function timelockOperationId(calls: ProposalCalls, governor: string, descriptionHash: string): string {
  return keccak256(
    coder.encode(
      ["address[]", "uint256[]", "bytes[]", "bytes32", "bytes32"],
      [calls.targets, calls.values, calls.calldatas, `0x${"0".repeat(64)}`, timelockSalt(governor, descriptionHash)],
    ),
  );
}

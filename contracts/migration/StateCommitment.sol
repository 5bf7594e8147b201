// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title StateCommitment
 * @notice The rolling hash that names a migrated state: starting from zero, each record's leaf
 * is folded in as `acc = keccak256(abi.encode(acc, leaf))`, in migration order. Two sides that
 * fold the same records in the same order reach the same value, however the records were split
 * into batches, so V1 (read off-chain at a pinned block), V2's on-chain accumulator and a V2
 * read-back can be compared with one word each.
 * @dev The TypeScript twin is `lib/commitment.ts`; tests pin the two against each other.
 */
library StateCommitment {
    /// @notice The commitment of no records.
    bytes32 internal constant EMPTY = bytes32(0);

    /// @notice Folds `leaf` into the accumulator `acc`: `keccak256(abi.encode(acc, leaf))`.
    function fold(bytes32 acc, bytes32 leaf) internal pure returns (bytes32 next) {
        // abi.encode of two words is the two words: hash them in scratch space, no allocation.
        assembly ("memory-safe") {
            mstore(0x00, acc)
            mstore(0x20, leaf)
            next := keccak256(0x00, 0x40)
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRecord, JobRecord, MigrationRecords, NodeRecord} from "../migration/MigrationRecords.sol";
import {StateCommitment} from "../migration/StateCommitment.sol";

/**
 * @title CommitmentHarness
 * @notice Exposes the Solidity side of the state commitment (`MigrationRecords.leaf` and
 * `StateCommitment.fold`) so that tests can pin the TypeScript twin, `lib/commitment.ts`, to
 * it. Pure functions only: no state, no funds. Local and test chains only.
 * @dev Each function folds onto a given starting commitment, so records sent in chunks chain
 * exactly as V2 batches do.
 */
contract CommitmentHarness {
    // ---------------------------------------------------------------- commitment

    /// @notice The commitment of no records.
    function empty() external pure returns (bytes32) {
        return StateCommitment.EMPTY;
    }

    /// @notice `StateCommitment.fold(acc, leaf)`.
    function fold(bytes32 acc, bytes32 leaf) external pure returns (bytes32) {
        return StateCommitment.fold(acc, leaf);
    }

    // ---------------------------------------------------------------- records

    /**
     * @notice The leaf of each node record, and the commitment reached by folding them onto `start`.
     * @param start The commitment before these records (`empty()` for the first chunk).
     * @param records Node records in migration order.
     */
    function nodeLeaves(
        bytes32 start,
        NodeRecord[] calldata records
    ) external pure returns (bytes32[] memory leaves, bytes32 commitment) {
        leaves = new bytes32[](records.length);
        commitment = start;
        for (uint256 i = 0; i < records.length; ++i) {
            leaves[i] = MigrationRecords.leaf(records[i]);
            commitment = StateCommitment.fold(commitment, leaves[i]);
        }
    }

    /**
     * @notice The leaf of each job record, and the commitment reached by folding them onto `start`.
     * @param start The commitment before these records.
     * @param records Job records in migration order.
     */
    function jobLeaves(
        bytes32 start,
        JobRecord[] calldata records
    ) external pure returns (bytes32[] memory leaves, bytes32 commitment) {
        leaves = new bytes32[](records.length);
        commitment = start;
        for (uint256 i = 0; i < records.length; ++i) {
            leaves[i] = MigrationRecords.leaf(records[i]);
            commitment = StateCommitment.fold(commitment, leaves[i]);
        }
    }

    /**
     * @notice The leaf of each deposit record, and the commitment reached by folding them onto `start`.
     * @param start The commitment before these records.
     * @param records Deposit records in migration order.
     */
    function depositLeaves(
        bytes32 start,
        DepositRecord[] calldata records
    ) external pure returns (bytes32[] memory leaves, bytes32 commitment) {
        leaves = new bytes32[](records.length);
        commitment = start;
        for (uint256 i = 0; i < records.length; ++i) {
            leaves[i] = MigrationRecords.leaf(records[i]);
            commitment = StateCommitment.fold(commitment, leaves[i]);
        }
    }
}

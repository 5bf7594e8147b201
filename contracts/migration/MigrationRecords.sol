// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @notice One registered node as it moves from V1 to V2, in V1's registration order. Model
 * names become ids (`keccak256(bytes(name))`); the names themselves go to V2's model name
 * registry, so none is lost.
 * @dev Leaf: `keccak256(abi.encode(record))`. Field order is part of the commitment: change it
 * only together with `lib/commitment.ts`.
 */
struct NodeRecord {
    address operator;
    uint96 stake;
    uint64 registeredAt;
    uint64 unstakeRequestedAt;
    uint16 reputation;
    bool active;
    string peerId;
    string region;
    bytes32[] models;
}

/**
 * @notice One finished V1 job (Completed, Cancelled or Expired), imported as history. Ids are
 * V1's, imported contiguously from 1.
 * @dev A static struct: its leaf is `keccak256(abi.encode(record))` over 12 words.
 */
struct JobRecord {
    uint256 jobId;
    address renter;
    address host;
    address token;
    uint256 amount;
    bytes32 modelId;
    bytes32 inputHash;
    bytes32 resultHash;
    uint64 postedAt;
    uint64 deadline;
    uint64 completedAt;
    /// @dev V1's `JobStatus` code: 3 Completed, 4 Cancelled, 5 Expired.
    uint8 status;
}

/// @notice One user's free escrow balance in one token, in V1's user order then token order.
struct DepositRecord {
    address user;
    address token;
    uint256 amount;
}

/**
 * @title MigrationRecords
 * @notice The canonical leaf of each record type: `keccak256(abi.encode(record))`.
 */
library MigrationRecords {
    /// @notice The leaf of a node record.
    function leaf(NodeRecord memory record) internal pure returns (bytes32) {
        return keccak256(abi.encode(record));
    }

    /// @notice The leaf of a job record.
    /// @dev `abi.encode` re-encodes the calldata struct, whose fields the ABI decoder has checked,
    /// so a caller's non-canonical encoding (dirty high bits) cannot change the leaf.
    function leaf(JobRecord calldata record) internal pure returns (bytes32) {
        return keccak256(abi.encode(record));
    }

    /// @notice The leaf of a deposit record.
    function leaf(DepositRecord memory record) internal pure returns (bytes32) {
        return keccak256(abi.encode(record));
    }
}

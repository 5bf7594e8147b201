// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPaymentEscrowV2} from "../../interfaces/IPaymentEscrowV2.sol";

/**
 * @title PaymentEscrowV1_1Storage
 * @notice The ERC-7201 namespace V1.1 adds to the V1 PaymentEscrow proxy (the migration target
 * and its user cursor), declared once so that every later implementation behind that proxy (the
 * V1 adapter) keeps it and OpenZeppelin's upgrade validation can prove it.
 */
// solhint-disable-next-line contract-name-capwords
abstract contract PaymentEscrowV1_1Storage {
    /// @custom:storage-location erc7201:fabstir.storage.PaymentEscrowV1_1
    struct MigrationOutStorage {
        IPaymentEscrowV2 target;
        /// @dev The next user (index into V1's user list) to migrate.
        uint64 userCursor;
        /// @dev The first user of each batch sent to the target and not rolled back, oldest first.
        uint64[] batchUserStarts;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.PaymentEscrowV1_1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant MIGRATION_STORAGE_LOCATION =
        0xd4b65eea3bea3608f39ec6b9a9e7f33c79f02835565ebd036d057de0c5972900;

    function _m() internal pure returns (MigrationOutStorage storage $) {
        assembly {
            $.slot := MIGRATION_STORAGE_LOCATION
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INodeRegistryV2} from "../../interfaces/INodeRegistryV2.sol";

/**
 * @title NodeRegistryV1_1Storage
 * @notice The ERC-7201 namespace V1.1 adds to the V1 NodeRegistry proxy (the migration target),
 * declared once so that every later implementation behind that proxy (the V1 adapter) keeps it
 * and OpenZeppelin's upgrade validation can prove it.
 */
// solhint-disable-next-line contract-name-capwords
abstract contract NodeRegistryV1_1Storage {
    /// @custom:storage-location erc7201:fabstir.storage.NodeRegistryV1_1
    struct NodeRegistryMigrationStorage {
        INodeRegistryV2 target;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.NodeRegistryV1_1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant MIGRATION_STORAGE_LOCATION =
        0x841e24eba3973fd08bf2090aee3165790eeee52f2bbbad1154ee88da0a2bba00;

    function _migrationStorage() internal pure returns (NodeRegistryMigrationStorage storage $) {
        assembly {
            $.slot := MIGRATION_STORAGE_LOCATION
        }
    }
}

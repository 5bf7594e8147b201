// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INodeRegistryV1} from "../../interfaces/INodeRegistryV1.sol";

/**
 * @title NodeRegistryV1Storage
 * @notice The ERC-7201 namespace of the V1 NodeRegistry, declared once so that every implementation
 * behind the V1 proxy (V1, V1.1 and the V1 adapter) keeps the same layout and OpenZeppelin's
 * upgrade validation can prove it.
 */
abstract contract NodeRegistryV1Storage is INodeRegistryV1 {
    /// @custom:storage-location erc7201:fabstir.storage.NodeRegistryV1
    struct NodeRegistryStorage {
        mapping(address operator => Node) nodes;
        /// @dev Position + 1 of each operator in `operators`; zero means not registered.
        mapping(address operator => uint256) indexPlusOne;
        address[] operators;
        mapping(address operator => uint256) reputation;
        uint256 totalStaked;
        uint256 minimumStake;
        uint256 unstakeCooldown;
        address treasury;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.NodeRegistryV1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0x692903748ab603f0d496ad9d72c87271f48e40c8a3e969577aefbac8f962c200;

    function _s() internal pure returns (NodeRegistryStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarketplaceV1} from "../../interfaces/IJobMarketplaceV1.sol";
import {INodeRegistryV1} from "../../interfaces/INodeRegistryV1.sol";
import {IPaymentEscrowV1} from "../../interfaces/IPaymentEscrowV1.sol";

/**
 * @title JobMarketplaceV1Storage
 * @notice The ERC-7201 namespace of the V1 JobMarketplace, declared once so that every implementation
 * behind the V1 proxy (V1, V1.1 and the V1 adapter) keeps the same layout and OpenZeppelin's
 * upgrade validation can prove it.
 */
abstract contract JobMarketplaceV1Storage is IJobMarketplaceV1 {
    /// @custom:storage-location erc7201:fabstir.storage.JobMarketplaceV1
    struct JobMarketplaceStorage {
        mapping(uint256 jobId => Job) jobs;
        uint256 jobCount;
        mapping(JobStatus status => uint256) countByStatus;
        INodeRegistryV1 registry;
        IPaymentEscrowV1 escrow;
        uint256 completionReward;
        uint256 expiryPenalty;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.JobMarketplaceV1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0x23834fccc386969a7c4ad90fd261c98508986bbe4959f4d00b582c15d3356900;

    function _s() internal pure returns (JobMarketplaceStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }
}

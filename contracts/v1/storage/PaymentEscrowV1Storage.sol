// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPaymentEscrowV1} from "../../interfaces/IPaymentEscrowV1.sol";

/**
 * @title PaymentEscrowV1Storage
 * @notice The ERC-7201 namespace of the V1 PaymentEscrow, declared once so that every implementation
 * behind the V1 proxy (V1, V1.1 and the V1 adapter) keeps the same layout and OpenZeppelin's
 * upgrade validation can prove it.
 */
abstract contract PaymentEscrowV1Storage is IPaymentEscrowV1 {
    /// @custom:storage-location erc7201:fabstir.storage.PaymentEscrowV1
    struct PaymentEscrowStorage {
        mapping(address user => mapping(address token => uint256)) balances;
        mapping(uint256 jobId => JobLock) locks;
        mapping(address token => uint256) totalFree;
        mapping(address token => uint256) totalLocked;
        mapping(address token => bool) allowed;
        mapping(address token => bool) listed;
        address[] tokens;
        mapping(address user => bool) known;
        address[] users;
        uint256 feeBps;
        address treasury;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.PaymentEscrowV1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0x916fd706f8cd5268338f10f58c2597d964e4238eeac0e1edfbea695a08790400;

    function _s() internal pure returns (PaymentEscrowStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }
}

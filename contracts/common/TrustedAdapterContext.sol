// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";

/**
 * @title TrustedAdapterContext
 * @notice ERC-2771 style sender recovery with the V1 adapters as the only trusted forwarders:
 * when the caller holds `ADAPTER_ROLE`, the user is the last 20 bytes of the calldata, which the
 * adapter always sets to its own caller; otherwise the user is `msg.sender`.
 * @dev Revoking `ADAPTER_ROLE` from an adapter is the kill switch: its calls then act as the
 * adapter itself, which holds nothing in V2. An externally owned account has no code, so a
 * direct call by one never pays the role lookup (the caller's account is already warm).
 */
abstract contract TrustedAdapterContext is AccessControlUpgradeable {
    /// @notice May call on behalf of the address appended to its calldata (the V1 adapters).
    bytes32 public constant ADAPTER_ROLE = keccak256("ADAPTER_ROLE");

    /// @dev The length of the sender suffix an adapter appends.
    uint256 private constant SUFFIX_LENGTH = 20;

    /// @dev The user behind the call: the appended address for an adapter, else the caller.
    function _msgSender() internal view virtual override returns (address) {
        if (_fromAdapter()) return address(bytes20(msg.data[msg.data.length - SUFFIX_LENGTH:]));
        return msg.sender;
    }

    /// @dev The calldata without the adapter's suffix.
    function _msgData() internal view virtual override returns (bytes calldata) {
        if (_fromAdapter()) return msg.data[:msg.data.length - SUFFIX_LENGTH];
        return msg.data;
    }

    /// @dev Every adapter call carries a 20-byte suffix.
    function _contextSuffixLength() internal view virtual override returns (uint256) {
        return SUFFIX_LENGTH;
    }

    /// @dev Code size first: the cheap test rules out every direct user call before the SLOAD.
    function _fromAdapter() private view returns (bool) {
        return msg.data.length >= SUFFIX_LENGTH && msg.sender.code.length != 0 && hasRole(ADAPTER_ROLE, msg.sender);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GovernedUpgradeable} from "../../common/GovernedUpgradeable.sol";

/**
 * @title V1Adapter
 * @notice What every V1 adapter shares: it is the implementation behind a V1 proxy after the
 * cut-over and serves V1's API from the V2 contract it forwards to. State-changing calls reach
 * V2 with the caller's address appended (V2 trusts this proxy through `ADAPTER_ROLE`), so a
 * caller only ever acts as itself; views are plain static calls.
 * @dev The adapter keeps no state of its own besides the V2 target, in its own ERC-7201
 * namespace; the V1 namespace stays declared by the V1 storage base the shapes inherit, so
 * the upgrade from V1 validates. Its own pause stops state-changing forwards, not views.
 */
abstract contract V1Adapter is GovernedUpgradeable {
    /// @custom:storage-location erc7201:fabstir.storage.V1Adapter
    struct V1AdapterStorage {
        address target;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.V1Adapter")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant ADAPTER_STORAGE_LOCATION =
        0x362a3b0cce61b1e1976c23fa06ee092fa15ed1957164a9238cb26e2203432b00;

    /// @notice Emitted once, when the V1 proxy starts forwarding to `target`.
    event AdapterInitialized(address indexed target);

    /// @dev V1's `selector` has no V2 equivalent; `replacement` says what to use instead.
    error Deprecated(bytes4 selector, string replacement);

    function _adapterStorage() private pure returns (V1AdapterStorage storage $) {
        assembly {
            $.slot := ADAPTER_STORAGE_LOCATION
        }
    }

    /**
     * @notice Points the V1 proxy at its V2 contract and reopens it (V1 was paused for the
     * migration). Run once, as the call of `upgradeToAndCall`.
     * @param target_ The V2 proxy this adapter forwards to.
     */
    function initializeAdapter(address target_) external reinitializer(3) onlyRole(DEFAULT_ADMIN_ROLE) {
        if (target_.code.length == 0) revert ZeroAddress();
        _adapterStorage().target = target_;
        if (paused()) _unpause();
        emit AdapterInitialized(target_);
    }

    /// @notice The V2 contract this adapter forwards to. (Named `v2`, not `target`, because
    /// ethers' contract objects reserve `target` for their own address.)
    function v2() public view returns (address) {
        return _adapterStorage().target;
    }

    /// @dev The V2 contract this adapter forwards to.
    function _target() internal view returns (address) {
        return _adapterStorage().target;
    }

    /// @inheritdoc GovernedUpgradeable
    function version() external pure override returns (string memory) {
        return "1.0.0-adapter";
    }

    /// @dev Calls the target as the caller; see `_forwardTo`.
    function _forward(uint256 value, bytes memory data) internal returns (bytes memory) {
        return _forwardTo(_target(), value, data);
    }

    /**
     * @dev Calls `to` with `data` and `msg.sender` appended (the ERC-2771 suffix V2 reads),
     * sending `value`; returns the result and bubbles a revert's data unchanged, so V2's
     * errors (V1's where both share them) reach the caller as they are.
     */
    function _forwardTo(address to, uint256 value, bytes memory data) internal returns (bytes memory result) {
        bool success;
        (success, result) = to.call{value: value}(abi.encodePacked(data, msg.sender));
        if (!success) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }
}

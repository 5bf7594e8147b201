// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {NodeRegistryV1_1} from "../../contracts/v1_1/NodeRegistryV1_1.sol";
import {PaymentEscrowV1_1} from "../../contracts/v1_1/PaymentEscrowV1_1.sol";
import {JobMarketplaceV2} from "../../contracts/v2/JobMarketplaceV2.sol";
import {NodeRegistryV2} from "../../contracts/v2/NodeRegistryV2.sol";
import {PaymentEscrowV2} from "../../contracts/v2/PaymentEscrowV2.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {MigrationStack} from "./MigrationFixture.sol";

/**
 * @title StackHandler
 * @notice A handler that acts on both generations (`MigrationStack`) as the admin, the
 * operator or a stranger, and also makes calls that must be refused: such a call must revert
 * with exactly its error and leave the state, as the handler's `_stateDigest` sees it,
 * unchanged.
 */
abstract contract StackHandler is HandlerBase {
    NodeRegistryV1_1 public immutable registryV1;
    PaymentEscrowV1_1 public immutable escrowV1;
    NodeRegistryV2 public immutable registryV2;
    PaymentEscrowV2 public immutable escrowV2;
    JobMarketplaceV2 public immutable marketplaceV2;
    address public immutable operator;
    /// @dev Holds no role anywhere.
    address public immutable stranger = address(uint160(uint256(keccak256("fabstir.test.stranger"))));

    constructor(MigrationStack memory stack, address admin_) HandlerBase(stack.usdc, admin_) {
        registryV1 = stack.registryV1;
        escrowV1 = stack.escrowV1;
        registryV2 = stack.registryV2;
        escrowV2 = stack.escrowV2;
        marketplaceV2 = stack.marketplaceV2;
        operator = stack.operator;
    }

    /// @dev One hash of everything a refused call must leave as it was.
    function _stateDigest() internal view virtual returns (bytes32);

    /// @dev One call as `caller` that must revert with exactly `expected` and change nothing.
    function _expectRevert(
        address caller,
        address target,
        uint256 value,
        bytes memory data,
        bytes memory expected,
        string memory action
    ) internal {
        bytes32 before = _stateDigest();
        (bool ok, bytes memory ret) = _call(caller, target, value, data);
        if (ok) return _problem(string.concat(action, ": did not revert"), ret);
        if (keccak256(ret) != keccak256(expected)) return _problem(string.concat(action, ": wrong error"), ret);
        if (_stateDigest() != before) return _problem(string.concat(action, ": state changed"), ret);
        ++succeeded[action];
    }

    function _stack() internal view returns (MigrationStack memory) {
        return MigrationStack(registryV1, escrowV1, registryV2, escrowV2, marketplaceV2, usdc, operator);
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }
}

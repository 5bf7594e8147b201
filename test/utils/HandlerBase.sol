// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestUSDC} from "../../contracts/local/TestUSDC.sol";
import {ProblemLog} from "./ProblemLog.sol";

/**
 * @title HandlerBase
 * @notice What every invariant handler shares: calls made with a low-level `call`, so that a
 * valid call that reverted is recorded in the problem log (`ProblemLog`) rather than discarded by
 * the runner. `succeeded` and `skipped` count, per action, the calls that did something and those
 * that found nothing to do.
 */
abstract contract HandlerBase is ProblemLog {
    address internal constant ETH = address(0);

    TestUSDC public immutable usdc;
    address public immutable admin;

    mapping(string action => uint256) public succeeded;
    mapping(string action => uint256) public skipped;

    constructor(TestUSDC usdc_, address admin_) {
        usdc = usdc_;
        admin = admin_;
    }

    // ------------------------------------------------------------ calls

    /// @dev One call as `caller`, its outcome returned as is.
    function _call(
        address caller,
        address target,
        uint256 value,
        bytes memory data
    ) internal returns (bool ok, bytes memory ret) {
        vm.prank(caller);
        (ok, ret) = target.call{value: value}(data);
    }

    /// @dev One call as `caller` that must succeed; a revert is recorded as a problem.
    function _act(
        address caller,
        address target,
        uint256 value,
        bytes memory data,
        string memory action
    ) internal returns (bool ok) {
        bytes memory ret;
        (ok, ret) = _call(caller, target, value, data);
        if (!ok) _problem(action, ret);
    }

    // ------------------------------------------------------------ bookkeeping

    function _count(string memory action) internal {
        ++succeeded[action];
    }

    function _skip(string memory action) internal {
        ++skipped[action];
    }

    // ------------------------------------------------------------ tokens

    /// @dev ETH or USDC, each half the time.
    function _token(uint256 seed) internal view returns (address) {
        return seed % 2 == 0 ? ETH : address(usdc);
    }

    /// @dev What `holder` holds of `token` in its own account (ETH as `address(0)`).
    function _wallet(address holder, address token) internal view returns (uint256) {
        return token == ETH ? holder.balance : usdc.balanceOf(holder);
    }
}

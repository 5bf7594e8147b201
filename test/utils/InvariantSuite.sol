// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./Vm.sol";

/// @notice What an invariant suite reads from a handler to fail with its first problem.
interface IHandlerProblems {
    function problems() external view returns (uint256);
    function firstProblem() external view returns (string memory);
    function firstProblemData() external view returns (bytes memory);
}

/**
 * @title InvariantSuite
 * @notice The scaffolding of an invariant test: the hooks the runner reads (the forge-std
 * StdInvariant names `targetContracts` and `targetSelectors`), weighting of a handler's
 * actions, and the check that a handler recorded no problem.
 */
abstract contract InvariantSuite is TestBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @dev `handler` recorded `count` problems (a valid call reverted, an invalid one did not
    /// revert with its error or changed state, a post-condition failed); `first` names the
    /// first and `data` is its revert data.
    error HandlerProblems(string handler, uint256 count, string first, bytes data);

    /// @dev The contracts the runner calls: only handlers, never the proxies directly.
    address[] internal _targets;

    /// @dev Read by the invariant runner.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    /// @dev Writes `selector` `weight` times into `actions` from index `n` and returns the next
    /// index: the runner picks uniformly among the entries, so repeating an action weighs it.
    function _weigh(
        bytes4[] memory actions,
        uint256 n,
        bytes4 selector,
        uint256 weight
    ) internal pure returns (uint256) {
        for (uint256 i = 0; i < weight; ++i) actions[n++] = selector;
        return n;
    }

    /// @dev One target, `handler`, called with `actions`.
    function _selectors(address handler, bytes4[] memory actions) internal pure returns (FuzzSelector[] memory s) {
        s = new FuzzSelector[](1);
        s[0] = FuzzSelector(handler, actions);
    }

    /// @dev Every call a handler makes is checked by the handler itself; a problem it recorded
    /// fails the invariant with the first problem's name and data.
    function _assertNoProblems(string memory name, address handler) internal view {
        IHandlerProblems h = IHandlerProblems(handler);
        uint256 count = h.problems();
        if (count != 0) revert HandlerProblems(name, count, h.firstProblem(), h.firstProblemData());
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./Vm.sol";

/**
 * @title ProblemLog
 * @notice The problem count every invariant handler keeps. The runner discards a handler call's
 * revert silently (failOnRevert = false), so a valid call that reverted or a post-condition that
 * failed is recorded here instead, and the suites assert that `problems` stays zero; the first
 * one's name and revert data are kept for the failure message.
 */
abstract contract ProblemLog is TestBase {
    uint256 public problems;
    string public firstProblem;
    bytes public firstProblemData;

    function _check(bool condition, string memory what) internal {
        if (!condition) _problem(what, "");
    }

    function _problem(string memory what, bytes memory data) internal {
        if (problems++ == 0) {
            firstProblem = what;
            firstProblemData = data;
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title Vm
 * @notice The few cheatcodes these tests use (forge-std is not installed). Hardhat's Solidity
 * test runner (EDR) serves them at the standard cheatcode address.
 */
interface Vm {
    function warp(uint256 newTimestamp) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function deal(address account, uint256 newBalance) external;
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function assume(bool condition) external pure;
    function label(address account, string calldata newLabel) external;
}

/// @dev The cheatcode address: address(uint160(uint256(keccak256("hevm cheat code")))).
address constant VM_ADDRESS = address(uint160(uint256(keccak256("hevm cheat code"))));

/**
 * @title TestBase
 * @notice `vm`, a forge-std-style `bound` and tiny assertion helpers that revert with the
 * values compared, so that a failing test names what differed.
 */
abstract contract TestBase {
    Vm internal constant vm = Vm(VM_ADDRESS);

    error AssertionFailed(string what);
    error AssertionFailedUint(string what, uint256 left, uint256 right);
    error AssertionFailedAddress(string what, address left, address right);

    /// @dev Maps `x` into [min, max] (inclusive), keeping values already inside unchanged so
    /// that the fuzzer's edge cases (0, 1, max) survive as the range's edges.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        ++size;
        // Small values map to the bottom of the range, values near 2^256 to its top.
        if (x <= 3 && size > x) return min + x;
        if (x >= type(uint256).max - 3 && size > type(uint256).max - x) return max - (type(uint256).max - x);
        return min + (x % size);
    }

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what);
    }

    function assertFalse(bool condition, string memory what) internal pure {
        if (condition) revert AssertionFailed(what);
    }

    function assertEq(uint256 left, uint256 right, string memory what) internal pure {
        if (left != right) revert AssertionFailedUint(what, left, right);
    }

    function assertEq(address left, address right, string memory what) internal pure {
        if (left != right) revert AssertionFailedAddress(what, left, right);
    }

    function assertEq(bool left, bool right, string memory what) internal pure {
        if (left != right) revert AssertionFailed(what);
    }

    function assertLe(uint256 left, uint256 right, string memory what) internal pure {
        if (left > right) revert AssertionFailedUint(what, left, right);
    }

    function assertGe(uint256 left, uint256 right, string memory what) internal pure {
        if (left < right) revert AssertionFailedUint(what, left, right);
    }
}

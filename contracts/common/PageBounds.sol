// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title PageBounds
 * @notice Clips a requested page of an enumeration to what exists, for the paged getters that
 * exports and migrations read state through.
 */
library PageBounds {
    /// @notice How many items a page of at most `limit` items from `offset` holds out of `total`
    /// (zero past the end).
    function size(uint256 offset, uint256 limit, uint256 total) internal pure returns (uint256) {
        if (offset >= total) return 0;
        uint256 remaining = total - offset;
        return limit < remaining ? limit : remaining;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title Multicall3
 * @notice The part of Multicall3's public interface that the toolkit's reader uses: `aggregate3`
 * runs several read calls in one `eth_call`, so V1 can be read at a pinned block in few round
 * trips. Public chains (Base among them) have Multicall3 at 0xcA11bde05977b3631167028862bE2a173976CA11;
 * local chains do not, and `lib/multicall.ts` installs this contract's runtime code at that
 * address there. It keeps Multicall3's ABI and revert behaviour, so clients written for the
 * canonical deployment work against it unchanged.
 * @dev Stateless and without owner: whatever it calls runs with this contract as `msg.sender`,
 * so it must never hold funds or roles. Never deploy it where the canonical one exists.
 */
contract Multicall3 {
    /// @notice One call: `callData` sent to `target`; when `allowFailure` is false, its failure
    /// reverts the whole batch.
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    /// @notice What one call returned, or its revert data when it failed.
    struct Result {
        bool success;
        bytes returnData;
    }

    /**
     * @notice Runs `calls` in order and returns each one's outcome.
     * @dev Payable like the canonical Multicall3 (whose payable forms forward value); the value
     * is not forwarded here, so send none. A failed call with `allowFailure` false reverts with
     * Multicall3's own reason string, which its clients recognise.
     * @param calls The calls to make.
     * @return returnData One result per call, in the same order.
     */
    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData) {
        uint256 length = calls.length;
        returnData = new Result[](length);
        for (uint256 i = 0; i < length; ++i) {
            Call3 calldata next = calls[i];
            // solhint-disable-next-line avoid-low-level-calls
            (bool success, bytes memory data) = next.target.call(next.callData);
            // The canonical contract's reason string, kept so that its clients decode it.
            // solhint-disable-next-line gas-custom-errors
            if (!success && !next.allowFailure) revert("Multicall3: call failed");
            returnData[i] = Result(success, data);
        }
    }

    /**
     * @notice The number of the block the call runs in: lets a reader check that a batch was
     * served at the block it asked for.
     * @return blockNumber `block.number`.
     */
    function getBlockNumber() external view returns (uint256 blockNumber) {
        blockNumber = block.number;
    }
}

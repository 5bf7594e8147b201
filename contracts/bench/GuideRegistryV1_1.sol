// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {NodeRegistryV1} from "../v1/NodeRegistryV1.sol";

/**
 * @title GuideRegistryV1_1
 * @notice FOR THE BENCHMARK ONLY (`npm run bench`): never deploy it. It models the migration
 * guide's approach to nodes: the operator sends node records to V2 as calldata, so V2's
 * `batchMigrateNodes` needs their stakes as value from the operator's wallet; this variant lets
 * the operator take a range of stakes out of V1 first. Funds pass through an externally owned
 * account: the unsafe pattern the toolkit avoids (`NodeRegistryV1_1` pushes records and stakes
 * to V2 in one call). It exists so the benchmark can measure the guide's cost on the same state.
 * @dev Storage-compatible with V1 (it adds no storage). Installed over a paused V1 or V1.1 proxy.
 * @custom:oz-upgrades-unsafe-allow missing-initializer
 */
// solhint-disable-next-line contract-name-capwords
contract GuideRegistryV1_1 is NodeRegistryV1 {
    /// @notice May withdraw stakes for the migration (the migration operator).
    bytes32 public constant MIGRATOR_ROLE = keccak256("MIGRATOR_ROLE");

    /// @notice The stakes of nodes `[start, end)`, `stake` in total, went to the operator `to`.
    event StakesWithdrawnForMigration(uint256 start, uint256 end, uint256 stake, address indexed to);

    /// @inheritdoc NodeRegistryV1
    function version() external pure override returns (string memory) {
        return "1.1.0-guide";
    }

    /**
     * @notice Sends the stakes of nodes `[start, start + count)` (registration order) to the
     * caller and zeroes them, as the guide's transaction before each node batch.
     * @dev `MIGRATOR_ROLE`, V1 paused. Reverts with `ValueOutOfRange` when the range is empty or
     * runs past the last node.
     * @param start The first node.
     * @param count How many nodes.
     * @return sum The stake sent to the caller.
     */
    function withdrawStakesForMigration(
        uint256 start,
        uint256 count
    ) external onlyRole(MIGRATOR_ROLE) whenPaused nonReentrant returns (uint256 sum) {
        NodeRegistryStorage storage $ = _s();
        uint256 available = start < $.operators.length ? $.operators.length - start : 0;
        if (count == 0 || count > available) revert ValueOutOfRange(count, 1, available);
        for (uint256 i = start; i < start + count; ++i) {
            Node storage node = $.nodes[$.operators[i]];
            sum += node.stake;
            node.stake = 0;
        }
        $.totalStaked -= sum;
        emit StakesWithdrawnForMigration(start, start + count, sum, msg.sender);
        Address.sendValue(payable(msg.sender), sum);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title FabstirTimelock
 * @notice OpenZeppelin's TimelockController, under a project name so that deployments, reviews
 * and proposals can refer to it. It holds `DEFAULT_ADMIN_ROLE`, `UPGRADER_ROLE` and
 * `PAUSER_ROLE` on every Fabstir proxy and administers itself: once the deployer has granted the
 * Governor its roles and renounced its own, only a proposal that waits `getMinDelay()` changes
 * anything.
 */
contract FabstirTimelock is TimelockController {
    /**
     * @param minDelay Seconds between queueing and executing an operation.
     * @param proposers Accounts that may schedule and cancel (the Governor).
     * @param executors Accounts that may execute (the Governor; `address(0)` would open it to all).
     * @param admin A temporary admin for the setup, to renounce once it is done (`address(0)`
     * for none).
     */
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {}
}

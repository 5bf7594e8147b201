// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IMigrationLifecycle} from "../interfaces/IMigrationLifecycle.sol";
import {INodeRegistryV2} from "../interfaces/INodeRegistryV2.sol";
import {NodeRecord} from "../migration/MigrationRecords.sol";
import {NodeRegistryV1} from "../v1/NodeRegistryV1.sol";
import {NodeRegistryV1_1Storage} from "./storage/NodeRegistryV1_1Storage.sol";

/**
 * @title NodeRegistryV1_1
 * @notice The V1 registry, upgraded in place for the migration: it forwards its nodes (the
 * operator's records, whose operators and stakes it checks against its own) with their stakes
 * into the V2 registry in batches, and takes the last batch back on rollback. Funds move
 * contract to contract inside one transaction and never pass through the operator's wallet.
 * @dev Storage-compatible with V1: V1's namespace is untouched and the migration target lives
 * in its own namespace. A migrated node stays listed in V1 with stake zero, so that a rollback
 * restores V1 exactly (same order, same fields) by giving the stakes back.
 * Its parents were initialized when V1 was deployed: the upgrade only adds the target, through
 * the reinitializer `initializeMigration`.
 * @custom:oz-upgrades-unsafe-allow missing-initializer
 */
// solhint-disable-next-line contract-name-capwords
contract NodeRegistryV1_1 is NodeRegistryV1, NodeRegistryV1_1Storage {
    /// @notice May migrate nodes out to the target and roll batches back (the migration operator).
    bytes32 public constant MIGRATOR_ROLE = keccak256("MIGRATOR_ROLE");

    /// @notice Nodes `[start, end)` and their `stake` moved to the migration target.
    event NodesMigratedOut(uint256 start, uint256 end, uint256 stake);
    /// @notice Nodes `[start, end)` and their `stake` came back from the migration target.
    event NodesReturnedIn(uint256 start, uint256 end, uint256 stake);
    /// @notice The registry will migrate its nodes to `target`.
    event MigrationTargetSet(address indexed target);

    /// @dev No migration target is set: upgrade with `initializeMigration(target)` first.
    error MigrationTargetNotSet();
    /// @dev Only the migration target may send ETH to the registry (stakes coming back);
    /// stake is added through `registerNode` or `addStake`.
    error UnexpectedEtherSender(address sender);
    /// @dev The target sent `received` wei back for returned stakes that sum to `expected`:
    /// the target is not the V2 registry this migration expects. Nothing was restored.
    error ReturnedStakeMismatch(uint256 expected, uint256 received);
    /// @dev The target returned `operator`, which has no migrated-out node here (not registered,
    /// or its stake was never moved out): the target is not the one this registry migrated to.
    error NotMigratedOut(address operator);
    /// @dev The record for V1 node `index` names `given` as its operator, but V1 lists `expected`
    /// there: the records are not V1's, in V1's order, from the cursor. Nothing moved.
    error RecordOperatorMismatch(uint256 index, address expected, address given);
    /// @dev The record for V1 node `index` carries a stake of `given`, but V1 holds `expected`
    /// for it: the records are not V1's frozen state. Nothing moved.
    error RecordStakeMismatch(uint256 index, uint256 expected, uint256 given);
    /// @dev `count` migrated nodes are still held by the unfinalized target: roll every batch
    /// back (`rollbackNodes`) before reopening V1, or finalize the migration.
    error MigrationOutstanding(uint256 count);

    /**
     * @notice Names the V2 registry the nodes migrate to. Called once, through
     * `upgradeToAndCall` when the proxy is upgraded to this implementation.
     * @param target The V2 registry, which must grant this proxy its `MIGRATOR_ROLE`.
     */
    function initializeMigration(INodeRegistryV2 target) external reinitializer(2) onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(target) == address(0)) revert ZeroAddress();
        _migrationStorage().target = target;
        emit MigrationTargetSet(address(target));
    }

    /// @inheritdoc NodeRegistryV1
    function version() external pure override returns (string memory) {
        return "1.1.0";
    }

    /// @notice The V2 registry the nodes migrate to (zero before `initializeMigration`).
    function migrationTarget() external view returns (INodeRegistryV2) {
        return _migrationStorage().target;
    }

    /**
     * @notice Moves nodes `[expectedCursor, expectedCursor + records.length)` in registration
     * order, with their stakes, to the target in one call. Their stakes here become zero and
     * leave `totalStaked()`; the nodes stay listed so that a rollback can restore them. V1 must
     * be paused. `MIGRATOR_ROLE`.
     * @dev Trust model (as for `importHistoricalJobs`): the operator carries each node as
     * calldata, the records of its V1 snapshot. What moves funds or names their owner is checked
     * here against V1's storage: each record's `operator` must be V1's node at its position and
     * its `stake` that node's stake, and the stakes summed here are the value sent. The other
     * fields (timestamps, reputation, active, peerId, region, model ids, which must be
     * `keccak256(bytes(name))` of V1's names and are checked registered by V2) are not read
     * back: V2 folds every record into its commitment, and `finalizeMigration` compares it with
     * the commitment of V1's snapshot, which anyone can recompute from frozen V1 before the
     * finalize proposal passes. An altered field therefore cannot be finalized, only rolled
     * back (exactly: the stakes that come back are V1's). Reading those fields here would cost
     * a cold slot (2,100 gas) per string word and model name, plus hashing each name.
     * @param expectedCursor The first node to move: the target's `migratedCount()`. The target
     * checks it, so a replayed batch reverts: here with `RecordStakeMismatch` (its stakes have
     * left V1), or in the target with `UnexpectedCursor`.
     * @param records The nodes from the cursor, at least one and at most those left, as V1's
     * snapshot has them (`NodeRecord`, models as ids).
     */
    function migrateNodes(
        uint256 expectedCursor,
        NodeRecord[] calldata records
    ) external onlyRole(MIGRATOR_ROLE) whenPaused nonReentrant {
        INodeRegistryV2 target = _target();
        NodeRegistryStorage storage $ = _s();
        uint256 count = records.length;
        uint256 available = expectedCursor < $.operators.length ? $.operators.length - expectedCursor : 0;
        if (count == 0 || count > available) revert ValueOutOfRange(count, 1, available);

        uint256 sum = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint256 index = expectedCursor + i;
            address operator = $.operators[index];
            if (records[i].operator != operator) revert RecordOperatorMismatch(index, operator, records[i].operator);
            Node storage node = $.nodes[operator];
            uint256 stake = node.stake;
            if (records[i].stake != stake) revert RecordStakeMismatch(index, stake, records[i].stake);
            if (stake != 0) node.stake = 0;
            sum += stake;
        }
        $.totalStaked -= sum;
        emit NodesMigratedOut(expectedCursor, expectedCursor + count, sum);
        // V2's entry point takes the same arguments: forward this call's own bytes under V2's
        // selector (one copy) instead of re-encoding every record field by field. V2 decodes
        // the bytes checked above, so it sees the same operators and stakes.
        Address.functionCallWithValue(
            address(target),
            bytes.concat(INodeRegistryV2.batchMigrateNodes.selector, msg.data[4:]),
            sum
        );
    }

    /**
     * @notice Takes the target's last batch back: the target removes its nodes and returns
     * their stakes, which are restored here node by node. After every batch is rolled back, the
     * registry is exactly as before the migration. `MIGRATOR_ROLE`.
     */
    function rollbackNodes() external onlyRole(MIGRATOR_ROLE) nonReentrant {
        INodeRegistryV2 target = _target();
        NodeRegistryStorage storage $ = _s();
        uint256 balanceBefore = address(this).balance;
        (address[] memory operators, uint256[] memory stakes) = target.returnLastBatch();
        uint256 received = address(this).balance - balanceBefore;

        uint256 sum = 0;
        for (uint256 i = 0; i < operators.length; ++i) {
            address operator = operators[i];
            Node storage node = $.nodes[operator];
            if ($.indexPlusOne[operator] == 0 || node.stake != 0) revert NotMigratedOut(operator);
            node.stake = stakes[i];
            sum += stakes[i];
        }
        if (received != sum) revert ReturnedStakeMismatch(sum, received);
        $.totalStaked += sum;
        uint256 start = IMigrationLifecycle(address(target)).migratedCount();
        emit NodesReturnedIn(start, start + operators.length, sum);
    }

    /// @notice Reopens V1, refused while the target holds migrated nodes and is not finalized:
    /// V1 must not serve users while their stakes are elsewhere.
    function unpause() external override onlyRole(PAUSER_ROLE) {
        address target = address(_migrationStorage().target);
        if (target != address(0)) {
            IMigrationLifecycle lifecycle = IMigrationLifecycle(target);
            uint256 count = lifecycle.migratedCount();
            if (count != 0 && !lifecycle.migrationFinalized()) revert MigrationOutstanding(count);
        }
        _unpause();
    }

    /// @notice Accepts stakes coming back from the migration target, and nothing else.
    receive() external payable {
        if (msg.sender != address(_migrationStorage().target)) revert UnexpectedEtherSender(msg.sender);
    }

    function _target() private view returns (INodeRegistryV2 target) {
        target = _migrationStorage().target;
        if (address(target) == address(0)) revert MigrationTargetNotSet();
    }
}

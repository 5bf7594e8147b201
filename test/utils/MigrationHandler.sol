// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GovernedUpgradeable} from "../../contracts/common/GovernedUpgradeable.sol";
import {IMigrationLifecycle} from "../../contracts/interfaces/IMigrationLifecycle.sol";
import {IPaymentEscrowV2} from "../../contracts/interfaces/IPaymentEscrowV2.sol";
import {DepositRecord, JobRecord, NodeRecord} from "../../contracts/migration/MigrationRecords.sol";
import {NodeRegistryV1_1} from "../../contracts/v1_1/NodeRegistryV1_1.sol";
import {PaymentEscrowV1_1} from "../../contracts/v1_1/PaymentEscrowV1_1.sol";
import {MigrationStack, MigrationState, V1Records} from "./MigrationFixture.sol";
import {StackHandler} from "./StackHandler.sol";

/**
 * @title MigrationHandler
 * @notice The invariant fuzzer's only target during the migration window. Its actions are the
 * operator's: migrate and roll back node batches and deposit batches through the V1.1 proxies,
 * import and return historical job batches on JobMarketplaceV2, with random batch sizes.
 *
 * Valid actions are bounded so that they apply to the current state (a size within what is
 * left, the right cursor, the exact records of the last deposit batch); such a call that
 * reverts is a bug and is recorded in `problems`, which every invariant asserts to be zero (the
 * runner itself ignores reverts, failOnRevert = false). Invalid actions (a replayed or skipped
 * cursor, an out-of-range size, tampered rollback records, a rollback by someone other than the
 * batch's sender, V1 unpaused with batches outstanding) must revert with exactly the expected
 * error and leave every balance, total, cursor and commitment as it was; anything else is a
 * problem too.
 *
 * The handler keeps, as ghost state, the records currently imported into each V2 contract and
 * where each batch starts: the records of a deposit batch are computed from V1 before the batch
 * and are what the rollback must hand back.
 */
contract MigrationHandler is StackHandler {
    uint256 internal constant MAX_TAMPER = 1e18;

    /// @dev Every V1 job, the history the marketplace imports.
    JobRecord[] internal _v1Jobs;

    // ------------------------------------------------------------ ghost: what V2 holds now
    NodeRecord[] internal _nodes;
    /// @dev Index in `_nodes` of each node batch's first record.
    uint256[] internal _nodeBatchStarts;
    DepositRecord[] internal _deposits;
    /// @dev Index in `_deposits` of each deposit batch's first record, and its first V1 user.
    uint256[] internal _depositBatchStarts;
    uint256[] internal _depositBatchUserStarts;
    /// @dev The next V1 user to migrate, as V1.1 should track it.
    uint256 public ghostUserCursor;
    uint256 public ghostJobCount;
    uint256[] internal _jobBatchStarts;

    constructor(MigrationStack memory stack, address admin_, JobRecord[] memory v1Jobs) StackHandler(stack, admin_) {
        for (uint256 i = 0; i < v1Jobs.length; ++i) _v1Jobs.push(v1Jobs[i]);
    }

    // ================================================================ nodes

    /// @notice Migrates the next 1…(nodes left) nodes through V1.1.
    function migrateNodes(uint256 countSeed) external {
        uint256 cursor = _nodes.length;
        uint256 left = registryV1.nodeCount() - cursor;
        if (left == 0) return _skip("migrateNodes");
        uint256 count = bound(countSeed, 1, left);
        NodeRecord[] memory records = V1Records.nodes(registryV1, cursor, cursor + count);
        if (
            !_act(
                operator,
                address(registryV1),
                0,
                abi.encodeCall(registryV1.migrateNodes, (cursor, records)),
                "migrateNodes"
            )
        ) {
            return;
        }
        _nodeBatchStarts.push(cursor);
        for (uint256 i = 0; i < records.length; ++i) _nodes.push(records[i]);
        ++succeeded["migrateNodes"];
    }

    /// @notice Takes the last node batch back; with none, the rollback must revert.
    function rollbackNodes() external {
        bytes memory call = abi.encodeCall(registryV1.rollbackNodes, ());
        if (_nodeBatchStarts.length == 0) {
            return _expectRevert(operator, address(registryV1), 0, call, _nothingToRollBack(), "rollbackNodes: none");
        }
        if (!_act(operator, address(registryV1), 0, call, "rollbackNodes")) return;
        uint256 start = _nodeBatchStarts[_nodeBatchStarts.length - 1];
        _nodeBatchStarts.pop();
        while (_nodes.length > start) _nodes.pop();
        ++succeeded["rollbackNodes"];
    }

    // ================================================================ deposits

    /// @notice Migrates the deposits of the next 1…(users left) V1 users through V1.1. A range
    /// whose users hold nothing only moves the cursor (no batch reaches V2).
    function migrateDeposits(uint256 countSeed) external {
        uint256 cursor = ghostUserCursor;
        uint256 left = escrowV1.userCount() - cursor;
        bytes memory call;
        if (left == 0) {
            call = abi.encodeCall(escrowV1.migrateDeposits, (cursor, 1));
            bytes memory err = abi.encodeWithSelector(GovernedUpgradeable.ValueOutOfRange.selector, 1, 1, 0);
            return _expectRevert(operator, address(escrowV1), 0, call, err, "migrateDeposits: none left");
        }
        uint256 count = bound(countSeed, 1, left);
        DepositRecord[] memory records = V1Records.deposits(escrowV1, cursor, cursor + count);
        call = abi.encodeCall(escrowV1.migrateDeposits, (cursor, count));
        if (!_act(operator, address(escrowV1), 0, call, "migrateDeposits")) return;
        ghostUserCursor = cursor + count;
        if (records.length != 0) {
            _depositBatchStarts.push(_deposits.length);
            _depositBatchUserStarts.push(cursor);
            for (uint256 i = 0; i < records.length; ++i) _deposits.push(records[i]);
        }
        _check(escrowV1.migrationUserCursor() == ghostUserCursor, "migrateDeposits: user cursor");
        ++succeeded["migrateDeposits"];
    }

    /// @notice Hands the last deposit batch's records back; with none, the rollback must revert.
    function rollbackDeposits() external {
        uint256 batches = _depositBatchStarts.length;
        if (batches == 0) {
            bytes memory none = abi.encodeCall(escrowV1.rollbackDeposits, (new DepositRecord[](0)));
            return _expectRevert(operator, address(escrowV1), 0, none, _nothingToRollBack(), "rollbackDeposits: none");
        }
        DepositRecord[] memory records = _lastDepositBatch();
        bytes memory call = abi.encodeCall(escrowV1.rollbackDeposits, (records));
        if (!_act(operator, address(escrowV1), 0, call, "rollbackDeposits")) return;
        uint256 start = _depositBatchStarts[batches - 1];
        ghostUserCursor = _depositBatchUserStarts[batches - 1];
        _depositBatchStarts.pop();
        _depositBatchUserStarts.pop();
        // With no batch left, V1.1 walks again from the first user (empty ranges included).
        if (_depositBatchStarts.length == 0) ghostUserCursor = 0;
        while (_deposits.length > start) _deposits.pop();
        _check(escrowV1.migrationUserCursor() == ghostUserCursor, "rollbackDeposits: user cursor");
        ++succeeded["rollbackDeposits"];
    }

    // ================================================================ jobs

    /// @notice Imports the next 1…(jobs left) V1 jobs as history.
    function importJobs(uint256 countSeed) external {
        uint256 cursor = ghostJobCount;
        uint256 left = _v1Jobs.length - cursor;
        if (left == 0) return _skip("importJobs");
        uint256 count = bound(countSeed, 1, left);
        bytes memory call = abi.encodeCall(marketplaceV2.importHistoricalJobs, (cursor, _jobSlice(cursor, count)));
        if (!_act(operator, address(marketplaceV2), 0, call, "importJobs")) return;
        _jobBatchStarts.push(cursor);
        ghostJobCount = cursor + count;
        ++succeeded["importJobs"];
    }

    /// @notice Returns the last job batch; with none, the call must revert.
    function returnJobs() external {
        bytes memory call = abi.encodeCall(marketplaceV2.returnLastBatch, ());
        if (_jobBatchStarts.length == 0) {
            return _expectRevert(operator, address(marketplaceV2), 0, call, _nothingToRollBack(), "returnJobs: none");
        }
        if (!_act(operator, address(marketplaceV2), 0, call, "returnJobs")) return;
        ghostJobCount = _jobBatchStarts[_jobBatchStarts.length - 1];
        _jobBatchStarts.pop();
        ++succeeded["returnJobs"];
    }

    // ================================================================ invalid calls

    /**
     * @notice A batch stating a cursor other than the current one (a replay when lower, a gap
     * when higher) reverts with the cursor error naming both: `UnexpectedCursor` from V2 for
     * nodes and jobs, `UnexpectedUserCursor` from V1.1 for deposits.
     */
    function tryWrongCursor(uint256 kind, uint256 cursorSeed) external {
        kind %= 3;
        if (kind == 0) {
            uint256 current = _nodes.length;
            uint256 wrong = _otherThan(current, cursorSeed, registryV1.nodeCount());
            // V1's record at that position as it is now (its stake zero when already migrated):
            // V1.1's checks pass and the cursor is V2's to refuse.
            NodeRecord[] memory records = V1Records.nodes(registryV1, wrong, wrong + 1);
            bytes memory call = abi.encodeCall(registryV1.migrateNodes, (wrong, records));
            _expectRevert(operator, address(registryV1), 0, call, _unexpectedCursor(wrong, current), "nodes: cursor");
        } else if (kind == 1) {
            uint256 current = ghostUserCursor;
            uint256 wrong = _otherThan(current, cursorSeed, escrowV1.userCount());
            bytes memory call = abi.encodeCall(escrowV1.migrateDeposits, (wrong, 1));
            bytes memory err = abi.encodeWithSelector(PaymentEscrowV1_1.UnexpectedUserCursor.selector, wrong, current);
            _expectRevert(operator, address(escrowV1), 0, call, err, "deposits: cursor");
        } else {
            uint256 current = ghostJobCount;
            uint256 wrong = _otherThan(current, cursorSeed, _v1Jobs.length);
            bytes memory call = abi.encodeCall(marketplaceV2.importHistoricalJobs, (wrong, _jobSlice(wrong, 1)));
            _expectRevert(operator, address(marketplaceV2), 0, call, _unexpectedCursor(wrong, current), "jobs: cursor");
        }
    }

    /// @notice A batch size of zero or beyond what is left reverts: `ValueOutOfRange` from V1.1,
    /// `EmptyBatch` from the marketplace (which cannot know how much history is left).
    function tryBadSize(uint256 kind, uint256 sizeSeed) external {
        kind %= 3;
        if (kind == 0) {
            uint256 cursor = _nodes.length;
            uint256 left = registryV1.nodeCount() - cursor;
            uint256 size = _badSize(sizeSeed, left);
            // V1.1 counts the records before reading any: V1's from the cursor, then empty ones.
            if (size > left) size = left + 1 + (size % 4);
            NodeRecord[] memory records = new NodeRecord[](size);
            NodeRecord[] memory known = V1Records.nodes(registryV1, cursor, cursor + left);
            for (uint256 i = 0; i < known.length && i < size; ++i) records[i] = known[i];
            bytes memory call = abi.encodeCall(registryV1.migrateNodes, (cursor, records));
            _expectRevert(operator, address(registryV1), 0, call, _outOfRange(size, left), "nodes: size");
        } else if (kind == 1) {
            uint256 cursor = ghostUserCursor;
            uint256 left = escrowV1.userCount() - cursor;
            uint256 size = _badSize(sizeSeed, left);
            bytes memory call = abi.encodeCall(escrowV1.migrateDeposits, (cursor, size));
            _expectRevert(operator, address(escrowV1), 0, call, _outOfRange(size, left), "deposits: size");
        } else {
            bytes memory call = abi.encodeCall(marketplaceV2.importHistoricalJobs, (ghostJobCount, new JobRecord[](0)));
            bytes memory err = abi.encodeWithSelector(IMigrationLifecycle.EmptyBatch.selector);
            _expectRevert(operator, address(marketplaceV2), 0, call, err, "jobs: empty");
        }
    }

    /**
     * @notice Rollbacks that must be refused: the operator going to V2 directly for a batch that
     * V1.1 sent (`NotBatchSource`: funds return only where they came from), deposit records
     * that are not the last batch's (`BatchRecordsMismatch`), and a caller without the role.
     */
    function tryBadRollback(uint256 kind, uint256 seed) external {
        kind %= 5;
        if (kind == 0) {
            bytes memory call = abi.encodeCall(registryV2.returnLastBatch, ());
            bytes memory err =
                _nodeBatchStarts.length == 0 ? _nothingToRollBack() : _notBatchSource(operator, address(registryV1));
            _expectRevert(operator, address(registryV2), 0, call, err, "nodes: rollback by operator");
        } else if (kind == 1) {
            DepositRecord[] memory records =
                _depositBatchStarts.length == 0 ? new DepositRecord[](0) : _lastDepositBatch();
            bytes memory call = abi.encodeCall(escrowV2.returnLastBatch, (records));
            bytes memory err =
                _depositBatchStarts.length == 0 ? _nothingToRollBack() : _notBatchSource(operator, address(escrowV1));
            _expectRevert(operator, address(escrowV2), 0, call, err, "deposits: rollback by operator");
        } else if (kind == 2) {
            if (_depositBatchStarts.length == 0) return _skip("tryBadRollback: deposits");
            DepositRecord[] memory records = _tamper(_lastDepositBatch(), seed);
            bytes memory call = abi.encodeCall(escrowV1.rollbackDeposits, (records));
            bytes memory err = abi.encodeWithSelector(IPaymentEscrowV2.BatchRecordsMismatch.selector);
            _expectRevert(operator, address(escrowV1), 0, call, err, "deposits: tampered records");
        } else if (kind == 3) {
            bytes memory call = abi.encodeCall(registryV1.rollbackNodes, ());
            bytes32 role = registryV1.MIGRATOR_ROLE();
            _expectRevert(stranger, address(registryV1), 0, call, _unauthorized(stranger, role), "nodes: stranger");
        } else {
            bytes memory call = abi.encodeCall(marketplaceV2.returnLastBatch, ());
            bytes32 role = marketplaceV2.MIGRATOR_ROLE();
            _expectRevert(stranger, address(marketplaceV2), 0, call, _unauthorized(stranger, role), "jobs: stranger");
        }
    }

    /// @notice V1 stays paused while V2 holds any of its records: `MigrationOutstanding`.
    function tryUnpauseV1(uint256 kind) external {
        bool nodes = kind % 2 == 0;
        uint256 outstanding = nodes ? _nodes.length : _deposits.length;
        if (outstanding == 0) return _skip("tryUnpauseV1");
        address target = nodes ? address(registryV1) : address(escrowV1);
        bytes memory err = abi.encodeWithSelector(NodeRegistryV1_1.MigrationOutstanding.selector, outstanding);
        _expectRevert(admin, target, 0, abi.encodeCall(GovernedUpgradeable.unpause, ()), err, "unpause V1");
    }

    // ================================================================ views for the invariants

    function importedNodes() external view returns (NodeRecord[] memory) {
        return _nodes;
    }

    function importedDeposits() external view returns (DepositRecord[] memory) {
        return _deposits;
    }

    /// @dev The V1 jobs imported so far: history `1…ghostJobCount`.
    function importedJobs() external view returns (JobRecord[] memory) {
        return _jobSlice(0, ghostJobCount);
    }

    function nodeBatchCount() external view returns (uint256) {
        return _nodeBatchStarts.length;
    }

    function depositBatchCount() external view returns (uint256) {
        return _depositBatchStarts.length;
    }

    function jobBatchCount() external view returns (uint256) {
        return _jobBatchStarts.length;
    }

    // ================================================================ internals

    /// @dev The state a refused migration call must leave as it was (MigrationState).
    function _stateDigest() internal view override returns (bytes32) {
        return MigrationState.digest(_stack());
    }

    function _lastDepositBatch() internal view returns (DepositRecord[] memory records) {
        uint256 start = _depositBatchStarts[_depositBatchStarts.length - 1];
        records = new DepositRecord[](_deposits.length - start);
        for (uint256 i = 0; i < records.length; ++i) records[i] = _deposits[start + i];
    }

    /// @dev The last batch's records, changed one way: an amount raised, a record dropped, or
    /// one record's user replaced. Each gives a fold other than V2's commitment.
    function _tamper(DepositRecord[] memory records, uint256 seed) internal view returns (DepositRecord[] memory) {
        uint256 index = (seed >> 8) % records.length;
        uint256 mode = seed % 3;
        if (mode == 0) {
            records[index].amount += bound(seed >> 16, 1, MAX_TAMPER);
        } else if (mode == 1) {
            assembly ("memory-safe") {
                mstore(records, sub(mload(records), 1))
            }
        } else {
            records[index].user = stranger;
        }
        return records;
    }

    function _jobSlice(uint256 from, uint256 count) internal view returns (JobRecord[] memory records) {
        records = new JobRecord[](count);
        for (uint256 i = 0; i < count; ++i) records[i] = _v1Jobs[from + i];
    }

    /// @dev A value in [0, limit) other than `current` (limit is at least 2 in the fixture).
    function _otherThan(uint256 current, uint256 seed, uint256 limit) internal pure returns (uint256 value) {
        value = bound(seed, 0, limit - 2);
        if (value >= current) ++value;
    }

    /// @dev Zero or more than `left`, each half the time.
    function _badSize(uint256 seed, uint256 left) internal pure returns (uint256) {
        return seed % 2 == 0 ? 0 : bound(seed >> 1, left + 1, left + 1_000);
    }

    function _outOfRange(uint256 size, uint256 left) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(GovernedUpgradeable.ValueOutOfRange.selector, size, 1, left);
    }

    function _unexpectedCursor(uint256 expected, uint256 actual) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMigrationLifecycle.UnexpectedCursor.selector, expected, actual);
    }

    function _nothingToRollBack() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMigrationLifecycle.NothingToRollBack.selector);
    }

    function _notBatchSource(address caller, address source) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMigrationLifecycle.NotBatchSource.selector, caller, source);
    }
}

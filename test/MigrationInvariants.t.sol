// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {GovernedUpgradeable} from "../contracts/common/GovernedUpgradeable.sol";
import {IMigrationLifecycle} from "../contracts/interfaces/IMigrationLifecycle.sol";
import {IJobMarketplaceV2} from "../contracts/interfaces/IJobMarketplaceV2.sol";
import {INodeRegistryV2} from "../contracts/interfaces/INodeRegistryV2.sol";
import {DepositRecord, JobRecord, NodeRecord} from "../contracts/migration/MigrationRecords.sol";
import {MigrationLifecycle} from "../contracts/migration/MigrationLifecycle.sol";
import {StateCommitment} from "../contracts/migration/StateCommitment.sol";
import {InvariantSuite} from "./utils/InvariantSuite.sol";
import {MigrationFixture, MigrationState, V1Records} from "./utils/MigrationFixture.sol";
import {MigrationHandler} from "./utils/MigrationHandler.sol";

/**
 * @title MigrationInvariantTest
 * @notice The migration window under random sequences of the operator's batches: node and
 * deposit batches migrated and rolled back through the V1.1 proxies, job history imported and
 * returned, with random sizes, interleaved with invalid calls (replayed or skipped cursors,
 * out-of-range sizes, tampered or misdirected rollbacks, V1 unpaused early) that must revert
 * with their error and change nothing. `MigrationHandler` drives it all.
 *
 * Budget: each invariant_* runs its own campaign of 64 runs × 32 calls (hardhat.config.ts), so
 * the four below make 8,192 handler calls, each followed by its invariant's check.
 */
contract MigrationInvariantTest is MigrationFixture, InvariantSuite {
    MigrationHandler internal handler;

    /// @dev V1 before the first batch: every operator and user, and what each held.
    address[] internal _operators;
    address[] internal _users;
    mapping(address operator => uint256) internal _initialStake;
    mapping(address user => mapping(address token => uint256)) internal _initialFree;
    uint256 internal _initialStaked;
    mapping(address token => uint256) internal _initialEscrowed;

    function setUp() public {
        _deployMigration();
        handler = new MigrationHandler(_stack(), admin, V1Records.jobs(marketplace));
        vm.label(address(handler), "MigrationHandler");
        _targets.push(address(handler));

        NodeRecord[] memory nodes = V1Records.nodes(registry, 0, registry.nodeCount());
        for (uint256 i = 0; i < nodes.length; ++i) {
            _operators.push(nodes[i].operator);
            _initialStake[nodes[i].operator] = nodes[i].stake;
        }
        _initialStaked = registry.totalStaked();
        _users = escrow.getUsersPage(0, escrow.userCount());
        address[2] memory tokens = [ETH, address(usdc)];
        for (uint256 t = 0; t < tokens.length; ++t) {
            for (uint256 i = 0; i < _users.length; ++i) {
                _initialFree[_users[i]][tokens[t]] = escrow.balanceOf(_users[i], tokens[t]);
            }
            _initialEscrowed[tokens[t]] = escrow.totalFree(tokens[t]);
        }
    }

    /// @dev Read by the invariant runner: the handler's actions, weighted so that most calls
    /// are valid batches and rollbacks.
    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        bytes4[] memory actions = new bytes4[](20);
        uint256 n = 0;
        n = _weigh(actions, n, MigrationHandler.migrateNodes.selector, 3);
        n = _weigh(actions, n, MigrationHandler.rollbackNodes.selector, 2);
        n = _weigh(actions, n, MigrationHandler.migrateDeposits.selector, 3);
        n = _weigh(actions, n, MigrationHandler.rollbackDeposits.selector, 2);
        n = _weigh(actions, n, MigrationHandler.importJobs.selector, 3);
        n = _weigh(actions, n, MigrationHandler.returnJobs.selector, 2);
        n = _weigh(actions, n, MigrationHandler.tryWrongCursor.selector, 2);
        n = _weigh(actions, n, MigrationHandler.tryBadSize.selector, 1);
        n = _weigh(actions, n, MigrationHandler.tryBadRollback.selector, 1);
        n = _weigh(actions, n, MigrationHandler.tryUnpauseV1.selector, 1);
        assertEq(n, actions.length, "targetSelectors: weights do not fill the list");
        selectors = _selectors(address(handler), actions);
    }

    // ================================================================ funds

    /// @notice Every operator's V1 stake plus V2 stake equals its stake before the migration,
    /// to the wei, whatever batches were migrated and rolled back.
    function invariant_V1PlusV2StakeOfEveryOperatorIsConstant() public view {
        _assertHandlerHadNoProblems();
        for (uint256 i = 0; i < _operators.length; ++i) {
            address op = _operators[i];
            uint256 v1 = registry.getNode(op).stake;
            uint256 v2 = registryV2.getNode(op).stake;
            assertEq(v1 + v2, _initialStake[op], "operator's V1 + V2 stake");
        }
        assertEq(registry.totalStaked() + registryV2.totalStaked(), _initialStaked, "V1 + V2 totalStaked");
    }

    /// @notice Every user's V1 free balance plus V2 balance, in ETH and in USDC, equals the free
    /// balance it had before the migration, to the wei.
    function invariant_V1FreePlusV2BalanceOfEveryUserAndTokenIsConstant() public view {
        _assertHandlerHadNoProblems();
        address[2] memory tokens = [ETH, address(usdc)];
        for (uint256 t = 0; t < tokens.length; ++t) {
            for (uint256 i = 0; i < _users.length; ++i) {
                address user = _users[i];
                uint256 sum = escrow.balanceOf(user, tokens[t]) + escrowV2.balanceOf(user, tokens[t]);
                assertEq(sum, _initialFree[user][tokens[t]], "user's V1 + V2 balance");
            }
            assertEq(
                escrow.totalFree(tokens[t]) + escrowV2.totalFree(tokens[t]),
                _initialEscrowed[tokens[t]],
                "V1 + V2 totalFree"
            );
        }
    }

    /// @notice Each registry holds exactly `totalStaked()` in ETH and each escrow exactly
    /// `totalFree + totalLocked` of each token, so together they hold what V1 held before: no
    /// wei left contract custody, and the operator's wallet never held any.
    function invariant_EveryContractHoldsExactlyWhatItAccountsFor() public view {
        _assertHandlerHadNoProblems();
        assertEq(address(registry).balance, registry.totalStaked(), "V1 registry balance != totalStaked");
        assertEq(address(registryV2).balance, registryV2.totalStaked(), "V2 registry balance != totalStaked");
        assertEq(address(registry).balance + address(registryV2).balance, _initialStaked, "stake left custody");
        address[2] memory tokens = [ETH, address(usdc)];
        for (uint256 t = 0; t < tokens.length; ++t) {
            address token = tokens[t];
            uint256 heldV1 = MigrationState.holding(_stack(), address(escrow), token);
            uint256 heldV2 = MigrationState.holding(_stack(), address(escrowV2), token);
            assertEq(heldV1, escrow.totalFree(token) + escrow.totalLocked(token), "V1 escrow != free + locked");
            assertEq(heldV2, escrowV2.totalFree(token) + escrowV2.totalLocked(token), "V2 escrow != free + locked");
            assertEq(heldV1 + heldV2, _initialEscrowed[token], "deposits left custody");
            assertEq(MigrationState.holding(_stack(), operator, token), 0, "operator's wallet held funds");
        }
        assertEq(address(marketplaceV2).balance, 0, "marketplace holds ETH");
    }

    // ================================================================ commitments

    /// @notice Each V2 commitment is the fold (MigrationRecords.leaf, StateCommitment.fold) of
    /// exactly the records imported and not rolled back, in order; `migratedCount()` is their
    /// number and `migrationBatchCount()` the number of batches. Read back from V2's storage,
    /// the nodes and balances fold to the same commitment, and the job counts are the records'.
    function invariant_V2CommitmentsEqualTheFoldOfTheImportedRecords() public view {
        _assertHandlerHadNoProblems();

        NodeRecord[] memory nodes = handler.importedNodes();
        assertEq(uint256(registryV2.migrationCommitment()), uint256(V1Records.fold(nodes)), "node commitment");
        assertEq(registryV2.migratedCount(), nodes.length, "node count");
        assertEq(registryV2.nodeCount(), nodes.length, "V2 node list");
        assertEq(registryV2.migrationBatchCount(), handler.nodeBatchCount(), "node batches");
        for (uint256 i = 0; i < nodes.length; ++i) nodes[i] = _readBack(registryV2.getNodesPage(i, 1)[0]);
        assertEq(uint256(registryV2.migrationCommitment()), uint256(V1Records.fold(nodes)), "node read-back");

        DepositRecord[] memory deposits = handler.importedDeposits();
        assertEq(uint256(escrowV2.migrationCommitment()), uint256(V1Records.fold(deposits)), "deposit commitment");
        assertEq(escrowV2.migratedCount(), deposits.length, "deposit count");
        assertEq(escrowV2.migrationBatchCount(), handler.depositBatchCount(), "deposit batches");
        for (uint256 i = 0; i < deposits.length; ++i) {
            deposits[i].amount = escrowV2.balanceOf(deposits[i].user, deposits[i].token);
        }
        assertEq(uint256(escrowV2.migrationCommitment()), uint256(V1Records.fold(deposits)), "deposit read-back");
        assertEq(escrowV1_1.migrationUserCursor(), handler.ghostUserCursor(), "V1.1 user cursor");

        JobRecord[] memory jobs = handler.importedJobs();
        bytes32 acc = StateCommitment.EMPTY;
        uint256[6] memory byStatus;
        for (uint256 i = 0; i < jobs.length; ++i) {
            acc = StateCommitment.fold(acc, this.jobLeaf(jobs[i]));
            ++byStatus[jobs[i].status];
        }
        assertEq(uint256(marketplaceV2.migrationCommitment()), uint256(acc), "job commitment");
        assertEq(marketplaceV2.migratedCount(), jobs.length, "job count");
        assertEq(marketplaceV2.jobCount(), jobs.length, "V2 job ids");
        assertEq(marketplaceV2.migrationBatchCount(), handler.jobBatchCount(), "job batches");
        for (uint8 s = 3; s <= 5; ++s) {
            assertEq(marketplaceV2.countByStatus(IJobMarketplaceV2.JobStatus(s)), byStatus[s], "job count by status");
        }
    }

    // ================================================================ internals

    /// @dev A V2 node as the record it was imported from.
    function _readBack(INodeRegistryV2.Node memory node) internal pure returns (NodeRecord memory) {
        return
            NodeRecord({
                operator: node.operator,
                stake: node.stake,
                registeredAt: node.registeredAt,
                unstakeRequestedAt: node.unstakeRequestedAt,
                reputation: node.reputation,
                active: node.status == INodeRegistryV2.NodeStatus.Active,
                peerId: node.peerId,
                region: node.region,
                models: node.models
            });
    }

    function _assertHandlerHadNoProblems() internal view {
        _assertNoProblems("MigrationHandler", address(handler));
    }
}

/**
 * @title MigrationFinalizeFuzzTest
 * @notice Finalize on a fuzzed migration (any prefix of the nodes, users and jobs, each
 * migrated in one batch): with the right expectations it closes every entry point for good;
 * with any wrong one it reverts with the error naming what differed and changes nothing.
 */
contract MigrationFinalizeFuzzTest is MigrationFixture {
    /// @dev Entry point `which`, called by `caller`, did not revert with `expected` (`ok` when it
    /// did not revert at all; `actual` is its return or revert data).
    error UnexpectedOutcome(uint256 which, address caller, bool ok, bytes expected, bytes actual);

    /// @dev How many entry points `_entryPoint` knows.
    uint256 internal constant ENTRY_POINTS = 14;

    function setUp() public {
        _deployMigration();
    }

    // ================================================================ after finalize

    /**
     * @notice After all three V2 contracts finalize with the right expectations, no call
     * reaches a migration entry point: each one of them (the V2 imports, rollbacks and
     * finalize, and the V1.1 migrate and rollback paths into them), from any caller (the
     * operator and the V1.1 proxies that were migrators, the admin, anyone), reverts and
     * changes nothing; MIGRATOR_ROLE is gone and cannot be granted again.
     */
    function testFuzz_NothingReachesAnEntryPointAfterFinalize(
        uint256 nodes,
        uint256 users,
        uint256 jobs,
        uint256 callerSeed,
        uint256 argSeed,
        address anyone
    ) public {
        (nodes, users, jobs) = _boundPrefix(nodes, users, jobs);
        Expectations[3] memory expected = _migratePrefix(nodes, users, jobs);
        IMigrationLifecycle[3] memory v2 = _lifecycles();
        for (uint256 c = 0; c < 3; ++c) _finalize(v2[c], expected[c]);
        _assertMigratorsRevoked(v2);

        address[5] memory callers = [operator, address(registryV1_1), address(escrowV1_1), admin, anyone];
        address caller = callers[callerSeed % callers.length];
        for (uint256 which = 0; which < ENTRY_POINTS; ++which) {
            (address target, bytes memory data, bytes memory err) = _entryPoint(which, caller, argSeed, expected);
            _assertRevertsWithAndChangesNothing(which, caller, target, data, err);
        }
        _assertMigratorRoleCannotBeGranted(v2, anyone);
    }

    /// @dev Calls entry point `which` as `caller`: it must revert with `err` and change nothing.
    function _assertRevertsWithAndChangesNothing(
        uint256 which,
        address caller,
        address target,
        bytes memory data,
        bytes memory err
    ) internal {
        bytes32 before = MigrationState.digest(_stack());
        vm.prank(caller);
        (bool ok, bytes memory ret) = target.call(data);
        if (ok || keccak256(ret) != keccak256(err)) revert UnexpectedOutcome(which, caller, ok, err, ret);
        assertEq(uint256(MigrationState.digest(_stack())), uint256(before), "state changed");
    }

    /// @dev Even the admin cannot make `account` a migrator again.
    function _assertMigratorRoleCannotBeGranted(IMigrationLifecycle[3] memory v2, address account) internal {
        for (uint256 c = 0; c < 3; ++c) {
            IAccessControl v2c = IAccessControl(address(v2[c]));
            bytes32 role = _migratorRole(v2[c]);
            vm.expectRevert(IMigrationLifecycle.MigrationAlreadyFinalized.selector);
            vm.prank(admin);
            v2c.grantRole(role, account);
            assertFalse(v2c.hasRole(role, account), "role granted after finalize");
        }
    }

    /// @dev Finalized, and none of the accounts that held MIGRATOR_ROLE holds it any more.
    function _assertMigratorsRevoked(IMigrationLifecycle[3] memory v2) internal view {
        address[3] memory formerMigrators = [operator, address(registryV1_1), address(escrowV1_1)];
        for (uint256 c = 0; c < 3; ++c) {
            assertTrue(v2[c].migrationFinalized(), "finalized");
            bytes32 role = _migratorRole(v2[c]);
            for (uint256 i = 0; i < formerMigrators.length; ++i) {
                assertFalse(IAccessControl(address(v2[c])).hasRole(role, formerMigrators[i]), "migrator kept role");
            }
        }
    }

    /**
     * @dev Entry point `which` as `caller` would call it, with plausible arguments (the next
     * cursor, real records), and the revert it must give. Every V2 entry point checks the
     * window before the caller's role, so any caller gets `MigrationAlreadyFinalized`; the
     * V1.1 paths check their own role first, and for the operator either reach V2 (and get the
     * same error) or stop at V1.1's range check when nothing is left to migrate.
     */
    function _entryPoint(
        uint256 which,
        address caller,
        uint256 argSeed,
        Expectations[3] memory expected
    ) internal view returns (address target, bytes memory data, bytes memory err) {
        if (which < 10) {
            (target, data) = _v2EntryPoint(which, argSeed, expected);
            return (target, data, abi.encodeWithSelector(IMigrationLifecycle.MigrationAlreadyFinalized.selector));
        }
        return _v1_1EntryPoint(which, caller, argSeed);
    }

    /// @dev V2 entry point `which` (0 to 9) with plausible arguments.
    function _v2EntryPoint(
        uint256 which,
        uint256 argSeed,
        Expectations[3] memory expected
    ) internal view returns (address, bytes memory) {
        if (which == 0) {
            uint256 cursor = argSeed % 2 == 0 ? 0 : registryV2.migratedCount();
            NodeRecord[] memory records = V1Records.nodes(registry, 0, 1);
            return (address(registryV2), abi.encodeCall(registryV2.batchMigrateNodes, (cursor, records)));
        }
        if (which == 1) return (address(registryV2), abi.encodeCall(registryV2.returnLastBatch, ()));
        if (which == 2) return (address(registryV2), _finalizeCall(expected[0]));
        DepositRecord[] memory deposits = _someDeposits();
        if (which == 3) {
            DepositRecord memory d = deposits[argSeed % deposits.length];
            return (address(escrowV2), abi.encodeCall(escrowV2.migrateDeposit, (d.user, d.token, d.amount)));
        }
        if (which == 4) {
            uint256 cursor = escrowV2.migratedCount();
            return (address(escrowV2), abi.encodeCall(escrowV2.batchMigrateDeposits, (cursor, deposits)));
        }
        if (which == 5) return (address(escrowV2), abi.encodeCall(escrowV2.returnLastBatch, (deposits)));
        if (which == 6) return (address(escrowV2), _finalizeCall(expected[1]));
        if (which == 7) {
            // The next job, or the last one again when all were imported.
            JobRecord[] memory history = V1Records.jobs(marketplace);
            uint256 jobs = marketplaceV2.migratedCount();
            uint256 from = jobs == history.length ? jobs - 1 : jobs;
            bytes memory data = abi.encodeCall(
                marketplaceV2.importHistoricalJobs,
                (jobs, _slice(history, from, from + 1))
            );
            return (address(marketplaceV2), data);
        }
        if (which == 8) return (address(marketplaceV2), abi.encodeCall(marketplaceV2.returnLastBatch, ()));
        return (address(marketplaceV2), _finalizeCall(expected[2]));
    }

    /// @dev V1.1 path `which` (10 to 13) into V2, as `caller`, and the revert it must give.
    function _v1_1EntryPoint(
        uint256 which,
        address caller,
        uint256 argSeed
    ) internal view returns (address target, bytes memory data, bytes memory err) {
        // Both proxies name their role keccak256("MIGRATOR_ROLE").
        bytes32 role = registryV1_1.MIGRATOR_ROLE();
        target = which < 12 ? address(registryV1_1) : address(escrowV1_1);
        err = abi.encodeWithSelector(IMigrationLifecycle.MigrationAlreadyFinalized.selector);
        if (which == 10) {
            uint256 cursor = registryV2.migratedCount();
            uint256 left = registry.nodeCount() - cursor;
            if (left == 0) err = abi.encodeWithSelector(GovernedUpgradeable.ValueOutOfRange.selector, 1, 1, 0);
            // V1's own records, so that V1.1's checks pass and the refusal is V2's (or, with no
            // node left, V1.1's count check on one empty record).
            NodeRecord[] memory records =
                left == 0 ? new NodeRecord[](1) : V1Records.nodes(registry, cursor, cursor + bound(argSeed, 1, left));
            data = abi.encodeCall(registryV1_1.migrateNodes, (cursor, records));
        } else if (which == 11) {
            data = abi.encodeCall(registryV1_1.rollbackNodes, ());
        } else if (which == 12) {
            // Everyone left, including the last user, who holds a balance: the batch is not empty.
            uint256 cursor = escrowV1_1.migrationUserCursor();
            uint256 left = escrow.userCount() - cursor;
            if (left == 0) err = abi.encodeWithSelector(GovernedUpgradeable.ValueOutOfRange.selector, 1, 1, 0);
            data = abi.encodeCall(escrowV1_1.migrateDeposits, (cursor, left == 0 ? 1 : left));
        } else {
            data = abi.encodeCall(escrowV1_1.rollbackDeposits, (_migratedDeposits));
        }
        if (!IAccessControl(target).hasRole(role, caller)) {
            err = abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role);
        }
    }

    /// @dev The deposit records migrated, or V1's when none was: real records either way.
    function _someDeposits() internal view returns (DepositRecord[] memory) {
        if (_migratedDeposits.length != 0) return _migratedDeposits;
        return V1Records.deposits(escrow, 0, escrow.userCount());
    }

    // ================================================================ wrong expectations

    /**
     * @notice Finalize with one wrong expectation (the commitment, the count, the token list or
     * one token's funds, perturbed at a random index by a random delta) reverts with the error
     * that names it and its two values, leaves the contract unfinalized with its migrator and
     * every balance as it was; the right expectations then still finalize.
     */
    function testFuzz_FinalizeWithAnyWrongExpectationRevertsAndChangesNothing(
        uint256 nodes,
        uint256 users,
        uint256 jobs,
        uint256 contractSeed,
        uint256 fieldSeed,
        uint256 indexSeed,
        uint256 delta
    ) public {
        (nodes, users, jobs) = _boundPrefix(nodes, users, jobs);
        Expectations[3] memory expected = _migratePrefix(nodes, users, jobs);
        uint256 c = contractSeed % 3;
        IMigrationLifecycle target = _lifecycles()[c];
        Expectations memory right = expected[c];
        (Expectations memory wrong, bytes memory err) = _perturb(right, fieldSeed % 4, indexSeed, delta);

        bytes32 before = MigrationState.digest(_stack());
        vm.expectRevert(err);
        vm.prank(operator);
        target.finalizeMigration(wrong.commitment, wrong.count, wrong.tokens, wrong.funds);
        assertEq(uint256(MigrationState.digest(_stack())), uint256(before), "state changed");
        assertFalse(target.migrationFinalized(), "finalized");
        assertTrue(IAccessControl(address(target)).hasRole(_migratorRole(target), operator), "migrator lost role");

        _finalize(target, right);
        assertTrue(target.migrationFinalized(), "right expectations did not finalize");
    }

    /// @dev `right` with one field changed, and the error finalize must give for it.
    function _perturb(
        Expectations memory right,
        uint256 field,
        uint256 indexSeed,
        uint256 delta
    ) internal pure returns (Expectations memory wrong, bytes memory err) {
        wrong = Expectations(right.commitment, right.count, _copy(right.tokens), _copy(right.funds));
        uint256 n = right.tokens.length;
        bool up = indexSeed % 2 == 0;
        indexSeed >>= 1;
        if (field == 0) {
            delta = bound(delta, 1, type(uint256).max);
            unchecked {
                wrong.commitment = bytes32(uint256(right.commitment) + delta);
            }
            err = abi.encodeWithSelector(
                IMigrationLifecycle.CommitmentMismatch.selector,
                wrong.commitment,
                right.commitment
            );
        } else if (field == 1) {
            delta = bound(delta, 1, type(uint64).max);
            wrong.count = up || right.count < delta ? right.count + delta : right.count - delta;
            err = abi.encodeWithSelector(IMigrationLifecycle.CountMismatch.selector, wrong.count, right.count);
        } else if (field == 2) {
            // Replace a token, drop one or insert one (the marketplace's list is empty: insert).
            uint256 mode = n == 0 ? 2 : indexSeed % 3;
            indexSeed /= 3;
            if (mode == 0) {
                uint256 i = indexSeed % n;
                unchecked {
                    uint160 shifted = uint160(right.tokens[i]) + uint160(bound(delta, 1, type(uint160).max));
                    wrong.tokens[i] = address(shifted);
                }
            } else if (mode == 1) {
                wrong.tokens = _remove(right.tokens, indexSeed % n);
            } else {
                wrong.tokens = _insert(right.tokens, indexSeed % (n + 1), address(uint160(delta)));
            }
            err = abi.encodeWithSelector(
                IMigrationLifecycle.TokenListMismatch.selector,
                right.tokens,
                wrong.tokens,
                wrong.funds.length
            );
        } else if (n == 0) {
            // No token to fund: any amount named is one too many.
            wrong.funds = new uint256[](1);
            wrong.funds[0] = delta;
            err = abi.encodeWithSelector(IMigrationLifecycle.TokenListMismatch.selector, right.tokens, wrong.tokens, 1);
        } else {
            uint256 i = indexSeed % n;
            delta = bound(delta, 1, type(uint128).max);
            wrong.funds[i] = up || right.funds[i] < delta ? right.funds[i] + delta : right.funds[i] - delta;
            err = abi.encodeWithSelector(
                IMigrationLifecycle.FundsMismatch.selector,
                right.tokens[i],
                wrong.funds[i],
                right.funds[i]
            );
        }
    }

    // ================================================================ internals

    function _boundPrefix(
        uint256 nodes,
        uint256 users,
        uint256 jobs
    ) internal view returns (uint256, uint256, uint256) {
        return (
            bound(nodes, 0, registry.nodeCount()),
            bound(users, 0, escrow.userCount()),
            bound(jobs, 0, marketplace.jobCount())
        );
    }

    function _lifecycles() internal view returns (IMigrationLifecycle[3] memory) {
        return
            [
                IMigrationLifecycle(address(registryV2)),
                IMigrationLifecycle(address(escrowV2)),
                IMigrationLifecycle(address(marketplaceV2))
            ];
    }

    function _migratorRole(IMigrationLifecycle target) internal view returns (bytes32) {
        return MigrationLifecycle(address(target)).MIGRATOR_ROLE();
    }

    function _finalize(IMigrationLifecycle target, Expectations memory e) internal {
        vm.prank(operator);
        target.finalizeMigration(e.commitment, e.count, e.tokens, e.funds);
    }

    function _finalizeCall(Expectations memory e) internal pure returns (bytes memory) {
        return abi.encodeCall(IMigrationLifecycle.finalizeMigration, (e.commitment, e.count, e.tokens, e.funds));
    }

    function _copy(address[] memory list) internal pure returns (address[] memory out) {
        out = new address[](list.length);
        for (uint256 i = 0; i < list.length; ++i) out[i] = list[i];
    }

    function _copy(uint256[] memory list) internal pure returns (uint256[] memory out) {
        out = new uint256[](list.length);
        for (uint256 i = 0; i < list.length; ++i) out[i] = list[i];
    }

    function _remove(address[] memory list, uint256 index) internal pure returns (address[] memory out) {
        out = new address[](list.length - 1);
        for (uint256 i = 0; i < out.length; ++i) out[i] = list[i < index ? i : i + 1];
    }

    function _insert(address[] memory list, uint256 index, address token) internal pure returns (address[] memory out) {
        out = new address[](list.length + 1);
        for (uint256 i = 0; i < out.length; ++i) {
            if (i < index) out[i] = list[i];
            else if (i == index) out[i] = token;
            else out[i] = list[i - 1];
        }
    }
}

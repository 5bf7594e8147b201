// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMigrationLifecycle} from "../contracts/interfaces/IMigrationLifecycle.sol";
import {DepositRecord} from "../contracts/migration/MigrationRecords.sol";
import {StateCommitment} from "../contracts/migration/StateCommitment.sol";
import {NodeRegistryV1_1} from "../contracts/v1_1/NodeRegistryV1_1.sol";
import {PaymentEscrowV1_1} from "../contracts/v1_1/PaymentEscrowV1_1.sol";
import {InvariantSuite} from "./utils/InvariantSuite.sol";
import {MigrationFixture} from "./utils/MigrationFixture.sol";
import {MigrationHandler} from "./utils/MigrationHandler.sol";
import {LifecycleHandler} from "./utils/LifecycleHandler.sol";
import {V1Handler} from "./utils/V1Handler.sol";

/**
 * @title LifecycleInvariantTest
 * @notice The whole lifecycle in every run: V1 in use, paused and upgraded to V1.1, drained,
 * migrated batch by batch with rollbacks and refused calls, finalized, then V2 in use.
 * `LifecycleHandler` walks the phases (its `advance` is one action in six, so most runs of the
 * default depth reach V2); the invariants below hold in every phase.
 *
 * Budget: each invariant_* runs its own campaign (hardhat.config.ts: 64 runs × 32 calls by
 * default), so the four make 8,192 handler calls.
 */
contract LifecycleInvariantTest is MigrationFixture, InvariantSuite {
    V1Handler internal v1;
    LifecycleHandler internal handler;
    address[] internal _holders;

    function setUp() public {
        _deployBothGenerations();
        v1 = new V1Handler(registry, escrow, marketplace, usdc, admin, treasury, _actors());
        vm.label(address(v1), "V1Handler");
        // A warm start through the handler (so its ghost totals see it): three nodes that between
        // them serve every model, renters with ETH and USDC, two open jobs.
        v1.registerNode(1, 0.5 ether, 1); // bob: llama
        v1.registerNode(2, 1 ether, 3); // carol: llama, mistral
        v1.registerNode(3, 2 ether, 6); // dave: mistral, qwen
        v1.depositEth(0, 10 ether);
        v1.depositUsdc(1, 50_000e6);
        v1.postJob(0, 0, 1 ether, 1 days, 0);
        v1.postJob(1, 1, 1_000e6, 2 days, 2);

        address granter = _account("granter");
        vm.startPrank(admin);
        escrowV2.grantRole(escrowV2.CREDITS_ROLE(), granter);
        vm.stopPrank();

        handler = new LifecycleHandler(
            v1,
            _stack(),
            LifecycleHandler.Setup({
                registryV1_1Impl: address(new NodeRegistryV1_1()),
                escrowV1_1Impl: address(new PaymentEscrowV1_1()),
                admin: admin,
                treasury: treasury,
                granter: granter
            })
        );
        vm.label(address(handler), "LifecycleHandler");
        _targets.push(address(handler));
        _holders = v1.holders();
    }

    /// @dev Read by the invariant runner: `act` five times for one `advance`.
    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        bytes4[] memory actions = new bytes4[](6);
        for (uint256 i = 0; i < 5; ++i) actions[i] = LifecycleHandler.act.selector;
        actions[5] = LifecycleHandler.advance.selector;
        selectors = _selectors(address(handler), actions);
    }

    // ================================================================ funds

    /**
     * @notice Per token, what the six proxies (V1 registry, escrow and marketplace, the same
     * in V2) hold equals the sum of every account's claims on them (V1 and V2 stakes, free
     * balances and unspent credits, the treasury's fees among them) plus open locks and V2's
     * credit pool, and equals what wallets paid in minus what they took out. In every phase.
     */
    function invariant_everyWeiIsAccountedForAcrossV1AndV2() public view {
        _assertNoProblems();
        address[2] memory tokens = [ETH, address(usdc)];
        for (uint256 t = 0; t < 2; ++t) {
            address token = tokens[t];
            uint256 held = _held(token);
            uint256 claims = escrow.totalLocked(token) + escrowV2.totalLocked(token) + escrowV2.creditPool(token);
            for (uint256 i = 0; i < _holders.length; ++i) {
                address h = _holders[i];
                claims += escrow.balanceOf(h, token) + escrowV2.balanceOf(h, token);
                claims += escrowV2.creditsOf(h, token).amount;
                if (token == ETH) claims += registry.getNode(h).stake + registryV2.getNode(h).stake;
            }
            assertEq(held, claims, "held != every account's claims");

            uint256 paidIn = v1.ghostDeposited(token) + handler.ghostV2In(token);
            uint256 takenOut = v1.ghostWithdrawn(token) + handler.ghostV2Out(token);
            if (token == ETH) {
                paidIn += v1.ghostStakeDeposited() + handler.ghostV2StakeIn();
                takenOut += v1.ghostStakeWithdrawn() + handler.ghostV2StakeOut();
            }
            assertEq(held, paidIn - takenOut, "held != paid in - taken out");
        }
    }

    // ================================================================ records

    /**
     * @notice No node or deposit is in both generations, and none in neither: before the
     * snapshot V2 holds nothing; while migrating, each snapshot record is either still in V1
     * with its full amount and absent from V2, or gone from V1 and in V2 with that amount,
     * exactly for the first `migratedCount()` records; after finalize V1 holds nothing.
     */
    function invariant_noRecordIsInBothGenerationsOrInNeither() public view {
        _assertNoProblems();
        LifecycleHandler.Phase phase = handler.phase();
        if (phase < LifecycleHandler.Phase.Migrating) {
            assertEq(registryV2.nodeCount(), 0, "V2 nodes before the snapshot");
            assertEq(_held(address(registryV2), ETH) + _held(address(escrowV2), ETH), 0, "V2 ETH before");
            assertEq(_held(address(escrowV2), address(usdc)), 0, "V2 USDC before");
            assertEq(marketplaceV2.jobCount(), 0, "V2 jobs before the snapshot");
        } else if (phase == LifecycleHandler.Phase.Migrating) {
            _assertNodesInExactlyOneGeneration();
            _assertDepositsInExactlyOneGeneration();
            assertEq(marketplaceV2.jobCount(), marketplaceV2.migratedCount(), "V2 jobs beyond the history");
            assertLe(marketplaceV2.migratedCount(), handler.snapshotCount(2), "more history than V1 had");
        } else {
            assertEq(registry.totalStaked() + address(registry).balance, 0, "V1 still holds stake");
            for (uint256 t = 0; t < 2; ++t) {
                address token = t == 0 ? ETH : address(usdc);
                assertEq(escrow.totalFree(token) + escrow.totalLocked(token), 0, "V1 still owes deposits");
                assertEq(_held(address(escrow), token), 0, "V1 still holds deposits");
            }
        }
    }

    function _assertNodesInExactlyOneGeneration() internal view {
        (address[] memory operators, uint256[] memory stakes) = handler.snapshotNodes();
        uint256 migrated = registryV2.migratedCount();
        assertEq(registryV2.nodeCount(), migrated, "V2 nodes != migrated");
        for (uint256 i = 0; i < operators.length; ++i) {
            uint256 inV1 = registry.getNode(operators[i]).stake;
            bool inV2 = registryV2.isRegistered(operators[i]);
            if (i < migrated) {
                assertEq(inV1, 0, "migrated node still staked in V1");
                assertTrue(inV2, "migrated node missing from V2");
                assertEq(registryV2.getNode(operators[i]).stake, stakes[i], "migrated stake");
            } else {
                assertEq(inV1, stakes[i], "node left V1 without reaching V2");
                assertFalse(inV2, "unmigrated node in V2");
            }
        }
    }

    function _assertDepositsInExactlyOneGeneration() internal view {
        DepositRecord[] memory deposits = handler.snapshotDeposits();
        uint256 migrated = escrowV2.migratedCount();
        for (uint256 i = 0; i < deposits.length; ++i) {
            DepositRecord memory d = deposits[i];
            uint256 inV1 = escrow.balanceOf(d.user, d.token);
            uint256 inV2 = escrowV2.balanceOf(d.user, d.token);
            assertEq(inV1 + inV2, d.amount, "deposit lost or duplicated");
            assertEq(i < migrated ? inV2 : inV1, d.amount, "deposit in the wrong generation");
        }
    }

    // ================================================================ commitments

    /**
     * @notice Each V2 commitment is the fold of a prefix of the V1 snapshot's records (nothing
     * before the snapshot, the first `migratedCount()` while migrating) and, once finalized,
     * of the whole snapshot. V1 stays paused from the upgrade on.
     */
    function invariant_V2CommitmentIsASnapshotPrefixAndTheWholeSnapshotAfterFinalize() public view {
        _assertNoProblems();
        LifecycleHandler.Phase phase = handler.phase();
        IMigrationLifecycle[3] memory v2 = [
            IMigrationLifecycle(address(registryV2)),
            IMigrationLifecycle(address(escrowV2)),
            IMigrationLifecycle(address(marketplaceV2))
        ];
        for (uint256 k = 0; k < 3; ++k) {
            bytes32 commitment = v2[k].migrationCommitment();
            uint256 count = v2[k].migratedCount();
            if (phase < LifecycleHandler.Phase.Migrating) {
                assertEq(uint256(commitment), uint256(StateCommitment.EMPTY), "commitment before the snapshot");
                assertEq(count, 0, "count before the snapshot");
            } else {
                assertEq(uint256(commitment), uint256(handler.snapshotPrefix(k, count)), "not a snapshot prefix");
            }
            if (phase == LifecycleHandler.Phase.V2) {
                assertTrue(v2[k].migrationFinalized(), "V2 open but not finalized");
                assertEq(count, handler.snapshotCount(k), "finalized short of the snapshot");
            } else {
                assertFalse(v2[k].migrationFinalized(), "finalized before the copy");
            }
        }
        if (phase != LifecycleHandler.Phase.V1) {
            assertTrue(registry.paused() && escrow.paused() && marketplace.paused(), "V1 reopened");
        }
    }

    // ================================================================ rollbacks

    /**
     * @notice A rollback restores V1 exactly: the handler compares V1's digest after each
     * rollback with the one before its batch (a difference is a problem), and whenever V2 holds
     * no batch V1's registry and escrow equal the snapshot, every node, balance and total.
     */
    function invariant_aRollbackRestoresV1Exactly() public view {
        _assertNoProblems();
        if (handler.phase() != LifecycleHandler.Phase.Migrating) return;
        if (registryV2.migrationBatchCount() == 0) {
            assertEq(uint256(handler.registryDigest()), uint256(handler.snapRegistryDigest()), "V1 registry");
        }
        if (escrowV2.migrationBatchCount() == 0) {
            assertEq(uint256(handler.escrowDigest()), uint256(handler.snapEscrowDigest()), "V1 escrow");
        }
    }

    // ================================================================ a walk through every phase

    /**
     * @notice One scripted run through every phase, with each kind of action at least once,
     * ends in V2 with no problem recorded: the fuzzer's campaigns start from the same setUp,
     * so this shows that every phase and action is reachable and valid there.
     */
    function test_OneWalkThroughEveryPhaseIsValid() public {
        for (uint256 which = 0; which < 16; ++which) handler.act(which, which + 1, which + 2, which + 3);
        handler.advance();
        assertTrue(handler.phase() == LifecycleHandler.Phase.Drain, "not draining");
        for (uint256 which = 0; which < 5; ++which) handler.act(which, 7, 0, 0);
        handler.advance();
        assertTrue(handler.phase() == LifecycleHandler.Phase.Migrating, "not migrating");
        for (uint256 round = 0; round < 3; ++round) {
            for (uint256 which = 0; which < 12; ++which) handler.act(which, round + which, round * 7 + which, 0);
        }
        handler.advance();
        assertTrue(handler.phase() == LifecycleHandler.Phase.V2, "not in V2");
        for (uint256 round = 0; round < 3; ++round) {
            // `c` picks the job's fate in bits 96 and up: completed, cancelled, left open.
            uint256 c = ((round + 1) << 96) | 3 ether;
            for (uint256 which = 0; which < 8; ++which) handler.act(which, round * 3 + which, 5 ether, c);
        }
        invariant_everyWeiIsAccountedForAcrossV1AndV2();
        invariant_noRecordIsInBothGenerationsOrInNeither();
        invariant_V2CommitmentIsASnapshotPrefixAndTheWholeSnapshotAfterFinalize();
        assertGe(handler.succeeded("rollback restores V1 registry"), 1, "no node rollback");
        assertGe(handler.succeeded("v2 deposit"), 1, "no V2 deposit");
        assertGe(handler.succeeded("v2 job settled"), 1, "no V2 settlement");
        assertGe(handler.succeeded("grant credits"), 1, "no credits");
    }

    // ================================================================ internals

    function _held(address token) internal view returns (uint256 sum) {
        address[6] memory proxies = [
            address(registry),
            address(escrow),
            address(marketplace),
            address(registryV2),
            address(escrowV2),
            address(marketplaceV2)
        ];
        for (uint256 i = 0; i < proxies.length; ++i) sum += _held(proxies[i], token);
    }

    function _held(address holder, address token) internal view returns (uint256) {
        return token == ETH ? holder.balance : usdc.balanceOf(holder);
    }

    function _assertNoProblems() internal view {
        _assertNoProblems("LifecycleHandler", address(handler));
        _assertNoProblems("V1Handler", address(v1));
        MigrationHandler migration = handler.migration();
        if (address(migration) != address(0)) _assertNoProblems("MigrationHandler", address(migration));
    }
}

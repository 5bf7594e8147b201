// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {GovernedUpgradeable} from "../../contracts/common/GovernedUpgradeable.sol";
import {IMigrationLifecycle} from "../../contracts/interfaces/IMigrationLifecycle.sol";
import {INodeRegistryV2} from "../../contracts/interfaces/INodeRegistryV2.sol";
import {IPaymentEscrowV2} from "../../contracts/interfaces/IPaymentEscrowV2.sol";
import {DepositRecord, JobRecord, MigrationRecords, NodeRecord} from "../../contracts/migration/MigrationRecords.sol";
import {StateCommitment} from "../../contracts/migration/StateCommitment.sol";
import {JobMarketplaceV1} from "../../contracts/v1/JobMarketplaceV1.sol";
import {PaymentEscrowV1_1} from "../../contracts/v1_1/PaymentEscrowV1_1.sol";
import {Models} from "./Common.sol";
import {MigrationStack, MigrationState, V1_1Upgrade, V1Records} from "./MigrationFixture.sol";
import {MigrationHandler} from "./MigrationHandler.sol";
import {StackHandler} from "./StackHandler.sol";
import {V1Handler} from "./V1Handler.sol";

/**
 * @title LifecycleHandler
 * @notice The invariant fuzzer's only target for the whole lifecycle, V1 to V2, in one run.
 * `act` does one random action of the current phase; `advance` moves to the next phase:
 *
 * 1. `V1`: users and hosts on V1 (through `V1Handler`: deposits, withdrawals, the job
 *    lifecycle, node registration, stake and unstake, time).
 * 2. `Drain`: V1 paused and upgraded in place to V1.1; open jobs are completed, cancelled or
 *    expired (allowed while paused); a deposit batch while locks remain must revert
 *    `OpenLocksRemain`, a V1 deposit `EnforcedPause`. Advancing expires what is still open and
 *    takes the V1 snapshot (records, prefix commitments, V1 digests).
 * 3. `Migrating`: the operator's batches through `MigrationHandler` (nodes, deposits, job
 *    history, rollbacks of the last batch, wrong cursors, sizes, callers and rollbacks), plus
 *    strangers calling entry points, V2 users calling too early and a finalize before the copy
 *    is complete. Every batch remembers V1's digest before it; its rollback must restore it.
 *    Advancing copies what is left and finalizes the three V2 contracts with the snapshot's
 *    expectations.
 * 4. `V2`: users on V2 (deposits, withdrawals, jobs posted, settled or cancelled, credits
 *    granted and expired, nodes staking and unstaking, time).
 *
 * As in the other handlers, a valid call that reverts or a failed post-condition is recorded in
 * `problems` (the runner ignores reverts); the invariants assert that it stays zero, and that
 * `V1Handler` and `MigrationHandler` recorded none either.
 */
contract LifecycleHandler is StackHandler {
    enum Phase {
        V1,
        Drain,
        Migrating,
        V2
    }

    /// @notice The V1.1 implementations and the accounts the handler acts as.
    struct Setup {
        address registryV1_1Impl;
        address escrowV1_1Impl;
        address admin;
        address treasury;
        /// @dev Holds CREDITS_ROLE on PaymentEscrowV2.
        address granter;
    }

    uint256 internal constant MAX_ETH = 50 ether;
    uint256 internal constant MAX_USDC = 1_000_000e6;
    uint256 internal constant MAX_PRICE_PER_TOKEN = 1e12;
    uint256 internal constant MAX_CREDIT_LIFETIME = 10 days;
    uint256 internal constant MAX_WARP = 2 days;

    V1Handler public immutable v1;
    JobMarketplaceV1 public immutable marketplaceV1;
    address public immutable treasury;
    address public immutable granter;
    address internal immutable _registryImpl;
    address internal immutable _escrowImpl;

    Phase public phase;
    /// @dev Created when the snapshot is taken (it needs V1's finished job history).
    MigrationHandler public migration;
    /// @dev The V2 phase's clock (the V1 phases use `V1Handler.currentTime`).
    uint256 public currentTime;

    // ------------------------------------------------------------ the V1 snapshot (after the drain)
    /// @dev Operator and stake of V1 node `i`, and the fold of the first `k` node records.
    address[] internal _snapOperators;
    uint256[] internal _snapStakes;
    bytes32[] internal _nodePrefix;
    DepositRecord[] internal _snapDeposits;
    bytes32[] internal _depositPrefix;
    bytes32[] internal _jobPrefix;
    uint256[2] internal _snapFunds;
    uint256 internal _snapStaked;
    bytes32 public snapRegistryDigest;
    bytes32 public snapEscrowDigest;

    /// @dev V1's registry (escrow) digest before each node (deposit) batch still in V2.
    bytes32[] internal _nodeBatchDigests;
    bytes32[] internal _depositBatchDigests;

    // ------------------------------------------------------------ ghost flows into V2 from wallets
    mapping(address token => uint256) public ghostV2In;
    mapping(address token => uint256) public ghostV2Out;
    uint256 public ghostV2StakeIn;
    uint256 public ghostV2StakeOut;
    uint256 internal _grants;

    constructor(V1Handler v1_, MigrationStack memory stack, Setup memory setup) StackHandler(stack, setup.admin) {
        v1 = v1_;
        marketplaceV1 = v1_.marketplace();
        treasury = setup.treasury;
        granter = setup.granter;
        _registryImpl = setup.registryV1_1Impl;
        _escrowImpl = setup.escrowV1_1Impl;
    }

    // ================================================================ entry points

    /// @notice One random action of the current phase.
    function act(uint256 which, uint256 a, uint256 b, uint256 c) external {
        if (phase == Phase.V1) _actV1(which % 16, a, b, c);
        else if (phase == Phase.Drain) _actDrain(which % 5, a, b);
        else if (phase == Phase.Migrating) _actMigrating(which % 12, a, b);
        else _actV2(which % 8, a, b, c);
    }

    /// @notice Moves to the next phase (nothing after V2).
    function advance() external {
        if (phase == Phase.V1) _pauseAndUpgrade();
        else if (phase == Phase.Drain) _drainAndSnapshot();
        else if (phase == Phase.Migrating) _completeAndFinalize();
        else return _skip("advance");
        ++succeeded["advance"];
    }

    // ================================================================ phase 1: V1

    function _actV1(uint256 which, uint256 a, uint256 b, uint256 c) internal {
        if (which == 0) v1.depositEth(a, b);
        else if (which == 1) v1.depositUsdc(a, b);
        else if (which == 2) v1.withdraw(a, b, c);
        else if (which <= 4) v1.postJob(a, b, c, a >> 128, b >> 128);
        else if (which <= 6) v1.claimJob(a, b);
        else if (which <= 8) v1.completeJob(a, bytes32(b));
        else if (which == 9) v1.cancelJob(a);
        else if (which == 10) v1.expireJob(a, b);
        else if (which == 11) v1.registerNode(a, b, c);
        else if (which == 12) v1.addStake(a, b);
        else if (which == 13) v1.requestUnstake(a);
        else if (which == 14) v1.withdrawStake(a);
        else v1.warp(a);
    }

    /// @dev Governance's step: pause V1, upgrade the registry and escrow in place to V1.1
    /// pointed at V2, and hand out the migrator roles.
    function _pauseAndUpgrade() internal {
        address[3] memory targets = [address(registryV1), address(escrowV1), address(marketplaceV1)];
        for (uint256 i = 0; i < 3; ++i) {
            _act(admin, targets[i], 0, abi.encodeCall(GovernedUpgradeable.pause, ()), "pause V1");
        }
        for (uint256 i = 0; i < V1_1Upgrade.STEPS; ++i) {
            (address target, bytes memory data, string memory name) = V1_1Upgrade.step(
                _stack(),
                _registryImpl,
                _escrowImpl,
                i
            );
            _act(admin, target, 0, data, name);
        }
        _check(keccak256(bytes(registryV1.version())) == keccak256("1.1.0"), "registry not upgraded");
        phase = Phase.Drain;
    }

    // ================================================================ phase 2: drain

    function _actDrain(uint256 which, uint256 a, uint256 b) internal {
        if (which == 0) v1.completeJob(a, bytes32(b));
        else if (which == 1) v1.cancelJob(a);
        else if (which == 2) v1.expireJob(a, b);
        else if (which == 3) _tryDepositBatchWithOpenLocks();
        else _tryV1DepositWhilePaused(a);
    }

    /// @notice While a job lock is open in V1, no deposit can leave it: `OpenLocksRemain`
    /// naming the first token (in V1's list) with locked funds.
    function _tryDepositBatchWithOpenLocks() internal {
        address[] memory tokens = escrowV1.tokens();
        for (uint256 t = 0; t < tokens.length; ++t) {
            uint256 locked = escrowV1.totalLocked(tokens[t]);
            if (locked == 0) continue;
            bytes memory call = abi.encodeCall(escrowV1.migrateDeposits, (0, 1));
            bytes memory err = abi.encodeWithSelector(PaymentEscrowV1_1.OpenLocksRemain.selector, tokens[t], locked);
            return _expectRevert(operator, address(escrowV1), 0, call, err, "deposits: open locks");
        }
        _skip("deposits: open locks");
    }

    /// @notice Paused V1 takes no new money.
    function _tryV1DepositWhilePaused(uint256 amount) internal {
        amount = bound(amount, 1, MAX_ETH);
        address user = v1.actors()[amount % 4];
        vm.deal(user, user.balance + amount);
        bytes memory err = abi.encodeWithSelector(PausableUpgradeable.EnforcedPause.selector);
        bytes memory call = abi.encodeWithSignature("deposit(address,uint256)", ETH, amount);
        _expectRevert(user, address(escrowV1), amount, call, err, "V1 deposit while paused");
    }

    /// @dev Expires every job still open (after its deadline), then freezes V1 into the
    /// snapshot the migration must reproduce, and hands the operator's work to a
    /// `MigrationHandler` that starts from it.
    function _drainAndSnapshot() internal {
        uint256 jobs = v1.ghostJobCount();
        for (uint256 i = 0; i < jobs && _v1Locked() != 0; ++i) v1.expireJob(0, i);
        _check(_v1Locked() == 0, "drain: locks remain");

        uint256 nodeCount = registryV1.nodeCount();
        NodeRecord[] memory nodes = nodeCount == 0 ? new NodeRecord[](0) : V1Records.nodes(registryV1, 0, nodeCount);
        bytes32 acc = StateCommitment.EMPTY;
        _nodePrefix.push(acc);
        for (uint256 i = 0; i < nodes.length; ++i) {
            _snapOperators.push(nodes[i].operator);
            _snapStakes.push(nodes[i].stake);
            _snapStaked += nodes[i].stake;
            acc = StateCommitment.fold(acc, MigrationRecords.leaf(nodes[i]));
            _nodePrefix.push(acc);
        }

        DepositRecord[] memory deposits = V1Records.deposits(escrowV1, 0, escrowV1.userCount());
        acc = StateCommitment.EMPTY;
        _depositPrefix.push(acc);
        for (uint256 i = 0; i < deposits.length; ++i) {
            _snapDeposits.push(deposits[i]);
            _snapFunds[deposits[i].token == ETH ? 0 : 1] += deposits[i].amount;
            acc = StateCommitment.fold(acc, MigrationRecords.leaf(deposits[i]));
            _depositPrefix.push(acc);
        }

        JobRecord[] memory history = V1Records.jobs(marketplaceV1);
        acc = StateCommitment.EMPTY;
        _jobPrefix.push(acc);
        for (uint256 i = 0; i < history.length; ++i) {
            acc = StateCommitment.fold(acc, this.jobLeaf(history[i]));
            _jobPrefix.push(acc);
        }

        snapRegistryDigest = registryDigest();
        snapEscrowDigest = escrowDigest();
        migration = new MigrationHandler(_stack(), admin, history);
        phase = Phase.Migrating;
    }

    // ================================================================ phase 3: migration

    function _actMigrating(uint256 which, uint256 a, uint256 b) internal {
        if (which == 0) _migrateNodes(a);
        else if (which == 1) _rollbackNodes();
        else if (which == 2) _migrateDeposits(a);
        else if (which == 3) _rollbackDeposits();
        else if (which == 4) migration.importJobs(a);
        else if (which == 5) migration.returnJobs();
        else if (which == 6) _tryWrongCursor(a, b);
        else if (which == 7) migration.tryBadSize(a, b);
        else if (which == 8) migration.tryBadRollback(a, b);
        else if (which == 9) migration.tryUnpauseV1(a);
        else if (which == 10) _tryStrangerMigrates(a);
        else _tryTooEarly(a);
    }

    function _migrateNodes(uint256 countSeed) internal {
        bytes32 before = registryDigest();
        uint256 batches = registryV2.migrationBatchCount();
        migration.migrateNodes(countSeed);
        if (registryV2.migrationBatchCount() > batches) _nodeBatchDigests.push(before);
    }

    /// @notice A node rollback leaves V1's registry exactly as before that batch.
    function _rollbackNodes() internal {
        uint256 batches = registryV2.migrationBatchCount();
        migration.rollbackNodes();
        if (registryV2.migrationBatchCount() == batches) return;
        _check(registryDigest() == _nodeBatchDigests[_nodeBatchDigests.length - 1], "node rollback: V1 differs");
        _nodeBatchDigests.pop();
        ++succeeded["rollback restores V1 registry"];
    }

    function _migrateDeposits(uint256 countSeed) internal {
        bytes32 before = escrowDigest();
        uint256 batches = escrowV2.migrationBatchCount();
        migration.migrateDeposits(countSeed);
        if (escrowV2.migrationBatchCount() > batches) _depositBatchDigests.push(before);
    }

    /// @notice A deposit rollback leaves V1's escrow exactly as before that batch.
    function _rollbackDeposits() internal {
        uint256 batches = escrowV2.migrationBatchCount();
        migration.rollbackDeposits();
        if (escrowV2.migrationBatchCount() == batches) return;
        _check(escrowDigest() == _depositBatchDigests[_depositBatchDigests.length - 1], "deposit rollback: V1 differs");
        _depositBatchDigests.pop();
        ++succeeded["rollback restores V1 escrow"];
    }

    /// @dev `MigrationHandler.tryWrongCursor` needs two nodes, users and jobs to pick a wrong
    /// cursor among; V1 activity may have left fewer nodes (withdrawn stakes).
    function _tryWrongCursor(uint256 kind, uint256 seed) internal {
        if (registryV1.nodeCount() < 2 || escrowV1.userCount() < 2 || _jobPrefix.length < 3) {
            return _skip("tryWrongCursor");
        }
        migration.tryWrongCursor(kind, seed);
    }

    /// @notice Someone without MIGRATOR_ROLE cannot start a batch on V1.1 or on V2.
    function _tryStrangerMigrates(uint256 kind) internal {
        kind %= 3;
        if (kind == 0) {
            bytes memory call = abi.encodeCall(escrowV1.migrateDeposits, (escrowV1.migrationUserCursor(), 1));
            bytes memory err = _unauthorized(stranger, escrowV1.MIGRATOR_ROLE());
            _expectRevert(stranger, address(escrowV1), 0, call, err, "stranger: V1.1 deposits");
        } else if (kind == 1) {
            uint256 cursor = registryV2.migratedCount();
            bytes memory call = abi.encodeCall(registryV1.migrateNodes, (cursor, new NodeRecord[](1)));
            bytes memory err = _unauthorized(stranger, registryV1.MIGRATOR_ROLE());
            _expectRevert(stranger, address(registryV1), 0, call, err, "stranger: V1.1 nodes");
        } else {
            // Straight to V2 with a forged record: V2 itself refuses the caller.
            bytes memory call = abi.encodeCall(
                escrowV2.batchMigrateDeposits,
                (escrowV2.migratedCount(), new DepositRecord[](1))
            );
            bytes memory err = _unauthorized(stranger, escrowV2.MIGRATOR_ROLE());
            _expectRevert(stranger, address(escrowV2), 0, call, err, "stranger: V2 deposits");
        }
    }

    /// @notice Before finalize, V2 serves nobody (`MigrationInProgress`) and cannot be
    /// finalized on an incomplete copy (`CommitmentMismatch` against the snapshot's).
    function _tryTooEarly(uint256 seed) internal {
        uint256 kind = seed % 3;
        if (kind == 0) return _tryV2DepositTooEarly(v1.actors()[(seed >> 8) % 4]);
        IMigrationLifecycle target =
            kind == 1 ? IMigrationLifecycle(address(registryV2)) : IMigrationLifecycle(address(escrowV2));
        bytes32 expected = kind == 1 ? _nodePrefix[_nodePrefix.length - 1] : _depositPrefix[_depositPrefix.length - 1];
        bytes32 actual = target.migrationCommitment();
        if (actual == expected) return _skip("finalize too early");
        (address[] memory tokens, uint256[] memory funds) = kind == 1 ? _registryFunds() : _escrowFunds();
        uint256 count = kind == 1 ? _snapOperators.length : _snapDeposits.length;
        bytes memory call = abi.encodeCall(target.finalizeMigration, (expected, count, tokens, funds));
        bytes memory err = abi.encodeWithSelector(IMigrationLifecycle.CommitmentMismatch.selector, expected, actual);
        _expectRevert(operator, address(target), 0, call, err, "finalize too early");
    }

    function _tryV2DepositTooEarly(address user) internal {
        vm.deal(user, user.balance + 1 ether);
        bytes memory call = abi.encodeCall(escrowV2.deposit, (ETH, 1 ether));
        bytes memory err = abi.encodeWithSelector(IMigrationLifecycle.MigrationInProgress.selector);
        _expectRevert(user, address(escrowV2), 1 ether, call, err, "V2 deposit too early");
    }

    /// @dev The operator's last batches (all that is left, one batch each), then finalize on each
    /// V2 contract with what the snapshot says: its commitment, count and funds.
    function _completeAndFinalize() internal {
        _migrateNodes(type(uint256).max);
        _migrateDeposits(type(uint256).max);
        migration.importJobs(type(uint256).max);

        (address[] memory tokens, uint256[] memory funds) = _registryFunds();
        bytes memory call = abi.encodeCall(
            registryV2.finalizeMigration,
            (_nodePrefix[_nodePrefix.length - 1], _snapOperators.length, tokens, funds)
        );
        _act(operator, address(registryV2), 0, call, "finalize registry");
        (tokens, funds) = _escrowFunds();
        call = abi.encodeCall(
            escrowV2.finalizeMigration,
            (_depositPrefix[_depositPrefix.length - 1], _snapDeposits.length, tokens, funds)
        );
        _act(operator, address(escrowV2), 0, call, "finalize escrow");
        call = abi.encodeCall(
            marketplaceV2.finalizeMigration,
            (_jobPrefix[_jobPrefix.length - 1], _jobPrefix.length - 1, new address[](0), new uint256[](0))
        );
        _act(operator, address(marketplaceV2), 0, call, "finalize marketplace");

        // Right after finalize, V2 holds exactly the snapshot and V1 nothing.
        for (uint256 i = 0; i < _snapOperators.length; ++i) {
            _check(registryV2.getNode(_snapOperators[i]).stake == _snapStakes[i], "finalize: V2 stake");
        }
        for (uint256 i = 0; i < _snapDeposits.length; ++i) {
            DepositRecord storage d = _snapDeposits[i];
            _check(escrowV2.balanceOf(d.user, d.token) == d.amount, "finalize: V2 balance");
        }
        _check(registryV1.totalStaked() == 0 && address(registryV1).balance == 0, "finalize: V1 stake left");
        _check(escrowV1.totalFree(ETH) == 0 && escrowV1.totalFree(address(usdc)) == 0, "finalize: V1 balance left");
        currentTime = v1.currentTime();
        phase = Phase.V2;
    }

    // ================================================================ phase 4: V2

    function _actV2(uint256 which, uint256 a, uint256 b, uint256 c) internal {
        vm.warp(currentTime);
        if (which == 0) _v2Deposit(a, b);
        else if (which == 1) _v2Withdraw(a, b, c);
        else if (which <= 3) _v2Job(a, b, c);
        else if (which == 4) _v2Credits(a, b, c);
        else if (which == 5) _v2Stake(a, b);
        else if (which == 6) _v2Unstake(a);
        else _setTime(currentTime + bound(a, 1, MAX_WARP));
    }

    function _v2Deposit(uint256 holderSeed, uint256 amount) internal {
        address holder = _holder(holderSeed);
        address token = _token(holderSeed >> 8);
        amount = bound(amount, 1, token == ETH ? MAX_ETH : MAX_USDC);
        if (_fund(holder, token, amount, abi.encodeCall(escrowV2.deposit, (token, amount)), "v2 deposit")) {
            ++succeeded["v2 deposit"];
        }
    }

    function _v2Withdraw(uint256 holderSeed, uint256 tokenSeed, uint256 amount) internal {
        address token = _token(tokenSeed);
        address holder = _holderWithV2Balance(holderSeed, token);
        if (holder == address(0)) return _skip("v2 withdraw");
        amount = bound(amount, 1, escrowV2.balanceOf(holder, token));
        uint256 walletBefore = _wallet(holder, token);
        if (!_act(holder, address(escrowV2), 0, abi.encodeCall(escrowV2.withdraw, (token, amount)), "v2 withdraw")) {
            return;
        }
        _check(_wallet(holder, token) == walletBefore + amount, "v2 withdraw: wallet not paid");
        ghostV2Out[token] += amount;
        ++succeeded["v2 withdraw"];
    }

    /// @notice A renter with a V2 balance posts a job; one time in three it stays open, else the
    /// host that serves it claims and completes it (settlement with fee and refund) or the
    /// renter cancels it. A finished job moves no wei between the three parties' total.
    function _v2Job(uint256 renterSeed, uint256 hostSeed, uint256 amountSeed) internal {
        address token = _token(renterSeed >> 8);
        address renter = _holderWithV2Balance(renterSeed, token);
        if (renter == address(0)) return _skip("v2 job");
        bytes32 model = _modelId(hostSeed);
        address host = _v2Host(hostSeed >> 8, model);
        if (host == address(0)) return _skip("v2 job");
        if (registryV2.priceOf(host, model) == 0) {
            uint256 price = bound(amountSeed >> 128, 1, MAX_PRICE_PER_TOKEN);
            if (
                !_act(host, address(registryV2), 0, abi.encodeCall(registryV2.setModelPrice, (model, price)), "price")
            ) {
                return;
            }
        }
        uint256 amount = bound(amountSeed, 1, _min(escrowV2.balanceOf(renter, token), type(uint96).max));
        uint256 partiesBefore = _v2Holdings(renter, token) + _v2Holdings(host, token) + _v2Holdings(treasury, token);
        bytes memory post = abi.encodeCall(
            marketplaceV2.postJob,
            (model, keccak256(abi.encode(renterSeed, amountSeed)), token, amount, currentTime + 1 hours)
        );
        (bool ok, bytes memory ret) = _call(renter, address(marketplaceV2), 0, post);
        if (!ok) return _problem("v2 postJob", ret);
        uint256 jobId = abi.decode(ret, (uint256));
        uint256 stage = (amountSeed >> 96) % 3;
        if (stage == 0) return _count("v2 job left open");
        if (stage == 1) {
            if (!_act(host, address(marketplaceV2), 0, abi.encodeCall(marketplaceV2.claimJob, (jobId)), "v2 claim")) {
                return;
            }
            uint256 tokensUsed = bound(amountSeed >> 64, 0, 1e9);
            bytes memory complete = abi.encodeCall(marketplaceV2.completeJob, (jobId, keccak256("r"), tokensUsed));
            if (!_act(host, address(marketplaceV2), 0, complete, "v2 complete")) return;
        } else if (
            !_act(renter, address(marketplaceV2), 0, abi.encodeCall(marketplaceV2.cancelJob, (jobId)), "v2 cancel")
        ) {
            return;
        }
        uint256 partiesAfter = _v2Holdings(renter, token) + _v2Holdings(host, token) + _v2Holdings(treasury, token);
        if (renter == host || renter == treasury || host == treasury) return _count("v2 job settled");
        _check(partiesAfter == partiesBefore, "v2 job: parties' total changed");
        _count("v2 job settled");
    }

    /// @notice Someone funds the credit pool; the granter grants part of it to a user with an
    /// expiry; credits already expired go back to the pool.
    function _v2Credits(uint256 seed, uint256 amount, uint256 expirySeed) internal {
        address token = _token(seed);
        if (seed % 5 == 0) return _v2ExpireCredits(seed >> 8, token);
        address funder = _holder(seed >> 8);
        amount = bound(amount, 1, token == ETH ? MAX_ETH : MAX_USDC);
        if (!_fund(funder, token, amount, abi.encodeCall(escrowV2.fundCreditPool, (token, amount)), "fund pool")) {
            return;
        }
        uint256 granted = bound(amount >> 3, 1, escrowV2.creditPool(token));
        uint64 expiresAt = uint64(currentTime + bound(expirySeed, 1, MAX_CREDIT_LIFETIME));
        bytes memory grant = abi.encodeCall(
            escrowV2.grantCredits,
            (keccak256(abi.encode("grant", ++_grants)), _holder(seed >> 16), token, granted, expiresAt)
        );
        if (_act(granter, address(escrowV2), 0, grant, "grant credits")) ++succeeded["grant credits"];
    }

    function _v2ExpireCredits(uint256 seed, address token) internal {
        address[] memory all = v1.holders();
        for (uint256 i = 0; i < all.length; ++i) {
            address user = all[((seed % all.length) + i) % all.length];
            IPaymentEscrowV2.CreditBucket memory bucket = escrowV2.creditsOf(user, token);
            if (bucket.amount == 0 || currentTime <= bucket.expiresAt) continue;
            uint256 pool = escrowV2.creditPool(token);
            bytes memory call = abi.encodeCall(escrowV2.expireCredits, (user, token));
            if (!_act(stranger, address(escrowV2), 0, call, "expire credits")) return;
            _check(escrowV2.creditPool(token) == pool + bucket.amount, "expire credits: pool");
            return _count("expire credits");
        }
        _skip("expire credits");
    }

    /// @notice An actor registers on V2 (one model) or, when registered, adds stake.
    function _v2Stake(uint256 actorSeed, uint256 amount) internal {
        address host = v1.actors()[actorSeed % 4];
        amount = bound(amount, registryV2.minimumStake(), MAX_ETH);
        vm.deal(host, host.balance + amount);
        bytes memory call;
        if (registryV2.isRegistered(host)) {
            if (registryV2.getNode(host).unstakeRequestedAt != 0) return _skip("v2 stake");
            call = abi.encodeCall(registryV2.addStake, ());
        } else {
            bytes32[] memory models = new bytes32[](1);
            models[0] = _modelId(actorSeed >> 8);
            call = abi.encodeCall(registryV2.registerNode, ("peer", models, "eu-west"));
        }
        if (!_act(host, address(registryV2), amount, call, "v2 stake")) return;
        ghostV2StakeIn += amount;
        ++succeeded["v2 stake"];
    }

    /// @notice A registered actor asks to leave; one that asked withdraws after the cooldown.
    function _v2Unstake(uint256 actorSeed) internal {
        address[] memory actors = v1.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            address host = actors[(actorSeed + i) % actors.length];
            if (!registryV2.isRegistered(host)) continue;
            INodeRegistryV2.Node memory node = registryV2.getNode(host);
            if (node.unstakeRequestedAt == 0) {
                if (_act(host, address(registryV2), 0, abi.encodeCall(registryV2.requestUnstake, ()), "v2 unstake")) {
                    _count("v2 request unstake");
                }
                return;
            }
            uint256 availableAt = node.unstakeRequestedAt + registryV2.unstakeCooldown();
            if (currentTime < availableAt) _setTime(availableAt);
            uint256 walletBefore = host.balance;
            if (
                !_act(host, address(registryV2), 0, abi.encodeCall(registryV2.withdrawStake, ()), "v2 withdraw stake")
            ) {
                return;
            }
            _check(host.balance == walletBefore + node.stake, "v2 withdraw stake: payout");
            ghostV2StakeOut += node.stake;
            return _count("v2 withdraw stake");
        }
        _skip("v2 unstake");
    }

    // ================================================================ views for the invariants

    /// @notice V1's registry: every node's record, the total and the ETH held.
    function registryDigest() public view returns (bytes32) {
        uint256 count = registryV1.nodeCount();
        NodeRecord[] memory nodes = count == 0 ? new NodeRecord[](0) : V1Records.nodes(registryV1, 0, count);
        return keccak256(abi.encode(nodes, registryV1.totalStaked(), address(registryV1).balance));
    }

    /// @notice V1's escrow: every user's balance in each token, the totals and what it holds
    /// (not the user cursor, which an empty range moves without a batch).
    function escrowDigest() public view returns (bytes32) {
        address[] memory users = escrowV1.getUsersPage(0, escrowV1.userCount());
        address[2] memory tokens = [ETH, address(usdc)];
        bytes memory acc;
        for (uint256 t = 0; t < 2; ++t) {
            for (uint256 i = 0; i < users.length; ++i) acc = abi.encode(acc, escrowV1.balanceOf(users[i], tokens[t]));
            acc = abi.encode(
                acc,
                escrowV1.totalFree(tokens[t]),
                escrowV1.totalLocked(tokens[t]),
                _wallet(address(escrowV1), tokens[t])
            );
        }
        return keccak256(acc);
    }

    function snapshotNodes() external view returns (address[] memory operators, uint256[] memory stakes) {
        return (_snapOperators, _snapStakes);
    }

    function snapshotDeposits() external view returns (DepositRecord[] memory) {
        return _snapDeposits;
    }

    /// @notice The fold of the snapshot's first `count` node, deposit or job records (`kind` 0, 1, 2).
    function snapshotPrefix(uint256 kind, uint256 count) external view returns (bytes32) {
        return
            kind == 0
                ? _nodePrefix[count]
                : kind == 1
                    ? _depositPrefix[count]
                    : _jobPrefix[count];
    }

    /// @notice How many records of each kind the snapshot has.
    function snapshotCount(uint256 kind) external view returns (uint256) {
        return
            (
                kind == 0
                    ? _nodePrefix.length
                    : kind == 1
                        ? _depositPrefix.length
                        : _jobPrefix.length
            ) - 1;
    }

    /// @notice `MigrationRecords.leaf` of a job record (it takes calldata).
    function jobLeaf(JobRecord calldata record) external pure returns (bytes32) {
        return MigrationRecords.leaf(record);
    }

    // ================================================================ internals

    function _registryFunds() internal view returns (address[] memory tokens, uint256[] memory funds) {
        tokens = new address[](1);
        funds = new uint256[](1);
        funds[0] = _snapStaked;
    }

    function _escrowFunds() internal view returns (address[] memory tokens, uint256[] memory funds) {
        tokens = new address[](2);
        tokens[1] = address(usdc);
        funds = new uint256[](2);
        funds[0] = _snapFunds[0];
        funds[1] = _snapFunds[1];
    }

    function _v1Locked() internal view returns (uint256) {
        return escrowV1.totalLocked(ETH) + escrowV1.totalLocked(address(usdc));
    }

    /// @dev Gives `holder` `amount` and makes it pay that into V2's escrow with `call`.
    function _fund(
        address holder,
        address token,
        uint256 amount,
        bytes memory call,
        string memory action
    ) internal returns (bool) {
        uint256 value = 0;
        if (token == ETH) {
            vm.deal(holder, holder.balance + amount);
            value = amount;
        } else {
            usdc.mint(holder, amount);
            if (!_act(holder, address(usdc), 0, abi.encodeCall(usdc.approve, (address(escrowV2), amount)), action)) {
                return false;
            }
        }
        if (!_act(holder, address(escrowV2), value, call, action)) return false;
        ghostV2In[token] += amount;
        return true;
    }

    /// @dev Free balance plus unspent credits of `user` in V2.
    function _v2Holdings(address user, address token) internal view returns (uint256) {
        return escrowV2.balanceOf(user, token) + escrowV2.creditsOf(user, token).amount;
    }

    /// @dev The first actor from `seed` on that is active on V2 and serves `model`.
    function _v2Host(uint256 seed, bytes32 model) internal view returns (address) {
        address[] memory actors = v1.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            address host = actors[((seed % actors.length) + i) % actors.length];
            if (registryV2.isActiveNode(host) && registryV2.supportsModel(host, model)) return host;
        }
        return address(0);
    }

    function _holderWithV2Balance(uint256 seed, address token) internal view returns (address) {
        address[] memory all = v1.holders();
        for (uint256 i = 0; i < all.length; ++i) {
            address holder = all[((seed % all.length) + i) % all.length];
            if (escrowV2.balanceOf(holder, token) != 0) return holder;
        }
        return address(0);
    }

    /// @dev One of V1Handler's actors or the treasury: every account that ever holds funds.
    function _holder(uint256 seed) internal view returns (address) {
        address[] memory all = v1.holders();
        return all[seed % all.length];
    }

    /// @dev One of the three model ids V1 used and V2 registered.
    function _modelId(uint256 seed) internal pure returns (bytes32) {
        return Models.id(seed % Models.COUNT);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function _setTime(uint256 time) internal {
        currentTime = time;
        vm.warp(time);
    }

    /// @dev What a refused call must leave as it was, in either generation: both V1 digests
    /// and V2's commitments, counts and totals.
    function _stateDigest() internal view override returns (bytes32) {
        bytes memory acc = abi.encode(registryDigest(), escrowDigest(), escrowV1.migrationUserCursor());
        IMigrationLifecycle[3] memory v2 = MigrationState.lifecycles(_stack());
        for (uint256 i = 0; i < 3; ++i) {
            acc = abi.encode(acc, v2[i].migrationCommitment(), v2[i].migratedCount(), v2[i].migrationFinalized());
        }
        acc = abi.encode(
            acc,
            address(registryV2).balance,
            address(escrowV2).balance,
            usdc.balanceOf(address(escrowV2))
        );
        return keccak256(acc);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {NodeRegistryV1} from "../../contracts/v1/NodeRegistryV1.sol";
import {PaymentEscrowV1} from "../../contracts/v1/PaymentEscrowV1.sol";
import {JobMarketplaceV1} from "../../contracts/v1/JobMarketplaceV1.sol";
import {IJobMarketplaceV1} from "../../contracts/interfaces/IJobMarketplaceV1.sol";
import {INodeRegistryV1} from "../../contracts/interfaces/INodeRegistryV1.sol";
import {TestUSDC} from "../../contracts/local/TestUSDC.sol";
import {GovernedUpgradeable} from "../../contracts/common/GovernedUpgradeable.sol";
import {Models} from "./Common.sol";
import {HandlerBase} from "./HandlerBase.sol";

/**
 * @title V1Handler
 * @notice The invariant fuzzer's only target. Each action drives one real user (or admin)
 * action through the proxies, as one of a small set of actors, with inputs bounded so that the
 * action is valid in the current state: it picks an actor, job or node for which the action
 * applies, and does nothing when none does or when the contract is paused for that action.
 *
 * Since every call it makes is valid, a call that reverts is a contract bug. The runner would
 * discard such a revert silently (failOnRevert = false), so the handler makes its calls with
 * a low-level `call`, records any revert (and any failed post-condition) in `problems`, and
 * the invariant test asserts that it stays zero. Ghost variables record what went in and out.
 */
contract V1Handler is HandlerBase {
    uint256 internal constant MAX_ETH_DEPOSIT = 100 ether;
    uint256 internal constant MAX_USDC_DEPOSIT = 10_000_000e6;
    uint256 internal constant MAX_STAKE = 50 ether;
    uint256 internal constant MAX_JOB_LIFETIME = 5 days;
    uint256 internal constant MAX_WARP = 2 days;

    NodeRegistryV1 public immutable registry;
    PaymentEscrowV1 public immutable escrow;
    JobMarketplaceV1 public immutable marketplace;
    address public immutable treasury;

    address[] internal _actors;

    /// @dev The chain time this run has reached. Every action starts by warping to it, so time
    /// only moves forward, through `warp`, `expireJob` and `withdrawStake`.
    uint256 public currentTime;

    struct GhostJob {
        address renter;
        address token;
        uint256 price;
        uint256 deadline;
        uint8 model;
        address host;
        IJobMarketplaceV1.JobStatus status;
    }

    /// @dev Job id `i + 1` is `_jobs[i]`.
    GhostJob[] internal _jobs;

    // ------------------------------------------------------------ ghost totals
    mapping(address token => uint256) public ghostDeposited;
    mapping(address token => uint256) public ghostWithdrawn;
    /// @dev Sum of the prices of the jobs still Posted or Claimed.
    mapping(address token => uint256) public ghostLocked;
    mapping(address token => uint256) public ghostFees;
    uint256[6] internal _ghostCountByStatus;
    uint256 public ghostStakeDeposited;
    uint256 public ghostStakeWithdrawn;
    uint256 public ghostSlashed;
    /// @dev ETH the treasury withdrew from its escrow balance (fees) into its wallet.
    uint256 public ghostTreasuryEthWithdrawn;

    modifier atCurrentTime() {
        vm.warp(currentTime);
        _;
    }

    constructor(
        NodeRegistryV1 registry_,
        PaymentEscrowV1 escrow_,
        JobMarketplaceV1 marketplace_,
        TestUSDC usdc_,
        address admin_,
        address treasury_,
        address[] memory actors_
    ) HandlerBase(usdc_, admin_) {
        registry = registry_;
        escrow = escrow_;
        marketplace = marketplace_;
        treasury = treasury_;
        _actors = actors_;
        currentTime = block.timestamp;
    }

    // ================================================================ escrow users

    function depositEth(uint256 actorSeed, uint256 amount) external atCurrentTime {
        if (escrow.paused()) return _skip("depositEth");
        if (_deposit(_actor(actorSeed), ETH, bound(amount, 1, MAX_ETH_DEPOSIT))) ++succeeded["depositEth"];
    }

    function depositUsdc(uint256 actorSeed, uint256 amount) external atCurrentTime {
        if (escrow.paused()) return _skip("depositUsdc");
        if (_deposit(_actor(actorSeed), address(usdc), bound(amount, 1, MAX_USDC_DEPOSIT))) {
            ++succeeded["depositUsdc"];
        }
    }

    /// @dev An actor or the treasury with a free balance withdraws part or all of it.
    function withdraw(uint256 holderSeed, uint256 tokenSeed, uint256 amount) external atCurrentTime {
        if (escrow.paused()) return _skip("withdraw");
        address token = _token(tokenSeed);
        address holder = _holderWithBalance(holderSeed, token);
        if (holder == address(0)) return _skip("withdraw");
        amount = bound(amount, 1, escrow.balanceOf(holder, token));
        uint256 walletBefore = _wallet(holder, token);
        bool ok = _act(holder, address(escrow), 0, abi.encodeCall(escrow.withdraw, (token, amount)), "withdraw");
        if (!ok) return;
        _check(_wallet(holder, token) == walletBefore + amount, "withdraw: wallet not paid");
        ghostWithdrawn[token] += amount;
        if (holder == treasury && token == ETH) ghostTreasuryEthWithdrawn += amount;
        ++succeeded["withdraw"];
    }

    // ================================================================ jobs

    /// @dev Posts a job priced within the renter's free balance (topping it up first when empty).
    function postJob(
        uint256 actorSeed,
        uint256 tokenSeed,
        uint256 price,
        uint256 lifetime,
        uint256 modelSeed
    ) external atCurrentTime {
        if (marketplace.paused() || escrow.paused()) return _skip("postJob");
        address renter = _actor(actorSeed);
        address token = _token(tokenSeed);
        if (escrow.balanceOf(renter, token) == 0) {
            uint256 topUp = bound(price, 1, token == ETH ? MAX_ETH_DEPOSIT : MAX_USDC_DEPOSIT);
            if (!_deposit(renter, token, topUp)) return;
        }
        price = bound(price, 1, escrow.balanceOf(renter, token));
        _post(renter, token, price, currentTime + bound(lifetime, 1, MAX_JOB_LIFETIME), uint8(modelSeed % 3));
    }

    function _post(address renter, address token, uint256 price, uint256 deadline, uint8 model) internal {
        bytes memory data = abi.encodeCall(
            marketplace.postJob,
            (Models.name(model), keccak256(abi.encode(_jobs.length + 1, renter, price)), price, deadline, token)
        );
        (bool ok, bytes memory ret) = _call(renter, address(marketplace), 0, data);
        if (!ok) return _problem("postJob", ret);
        _check(abi.decode(ret, (uint256)) == _jobs.length + 1, "postJob: unexpected id");
        _jobs.push(GhostJob(renter, token, price, deadline, model, address(0), IJobMarketplaceV1.JobStatus.Posted));
        ++_ghostCountByStatus[uint8(IJobMarketplaceV1.JobStatus.Posted)];
        ghostLocked[token] += price;
        ++succeeded["postJob"];
    }

    /// @dev An active node serving the model claims a posted job before its deadline: the first
    /// such (job, node) pair from the seeds on.
    function claimJob(uint256 jobSeed, uint256 hostSeed) external atCurrentTime {
        if (marketplace.paused()) return _skip("claimJob");
        uint256 n = _jobs.length;
        for (uint256 j = 0; j < n; ++j) {
            uint256 jobId = (((jobSeed % n) + j) % n) + 1;
            GhostJob storage job = _jobs[jobId - 1];
            if (job.status != IJobMarketplaceV1.JobStatus.Posted || currentTime > job.deadline) continue;
            for (uint256 i = 0; i < _actors.length; ++i) {
                address host = _actors[((hostSeed % _actors.length) + i) % _actors.length];
                if (!registry.isActiveNode(host) || !registry.supportsModel(host, Models.name(job.model))) continue;
                bool ok = _act(
                    host,
                    address(marketplace),
                    0,
                    abi.encodeCall(marketplace.claimJob, (jobId)),
                    "claimJob"
                );
                if (!ok) return;
                job.host = host;
                _move(job, IJobMarketplaceV1.JobStatus.Claimed);
                ++succeeded["claimJob"];
                return;
            }
        }
        _skip("claimJob");
    }

    /// @dev The assigned host completes a claimed job before its deadline (allowed while paused),
    /// also when it has withdrawn its stake and left the registry since claiming.
    function completeJob(uint256 jobSeed, bytes32 resultHash) external atCurrentTime {
        uint256 jobId = _findJob(jobSeed, _bit(IJobMarketplaceV1.JobStatus.Claimed), true);
        if (jobId == 0) return _skip("completeJob");
        GhostJob storage job = _jobs[jobId - 1];
        if (resultHash == bytes32(0)) resultHash = keccak256(abi.encode("result", jobId));
        uint256 fee = (job.price * escrow.feeBps()) / escrow.BPS_DENOMINATOR();
        uint256 hostBefore = escrow.balanceOf(job.host, job.token);
        uint256 treasuryBefore = escrow.balanceOf(treasury, job.token);
        bool ok = _act(
            job.host,
            address(marketplace),
            0,
            abi.encodeCall(marketplace.completeJob, (jobId, resultHash)),
            "completeJob"
        );
        if (!ok) return;
        _check(escrow.balanceOf(job.host, job.token) == hostBefore + job.price - fee, "completeJob: host credit");
        _check(escrow.balanceOf(treasury, job.token) == treasuryBefore + fee, "completeJob: treasury fee");
        ghostLocked[job.token] -= job.price;
        ghostFees[job.token] += fee;
        _move(job, IJobMarketplaceV1.JobStatus.Completed);
        ++succeeded["completeJob"];
    }

    /// @dev The renter cancels a job nobody claimed (allowed while paused).
    function cancelJob(uint256 jobSeed) external atCurrentTime {
        uint256 jobId = _findJob(jobSeed, _bit(IJobMarketplaceV1.JobStatus.Posted), false);
        if (jobId == 0) return _skip("cancelJob");
        GhostJob storage job = _jobs[jobId - 1];
        uint256 renterBefore = escrow.balanceOf(job.renter, job.token);
        bool ok = _act(
            job.renter,
            address(marketplace),
            0,
            abi.encodeCall(marketplace.cancelJob, (jobId)),
            "cancelJob"
        );
        if (!ok) return;
        _check(escrow.balanceOf(job.renter, job.token) == renterBefore + job.price, "cancelJob: refund");
        ghostLocked[job.token] -= job.price;
        _move(job, IJobMarketplaceV1.JobStatus.Cancelled);
        ++succeeded["cancelJob"];
    }

    /// @dev Anyone expires a posted or claimed job (allowed while paused), warping past its
    /// deadline first when needed.
    function expireJob(uint256 jobSeed, uint256 callerSeed) external atCurrentTime {
        uint256 mask = _bit(IJobMarketplaceV1.JobStatus.Posted) | _bit(IJobMarketplaceV1.JobStatus.Claimed);
        uint256 jobId = _findJob(jobSeed, mask, false);
        if (jobId == 0) return _skip("expireJob");
        GhostJob storage job = _jobs[jobId - 1];
        if (currentTime <= job.deadline) _setTime(job.deadline + 1);
        uint256 renterBefore = escrow.balanceOf(job.renter, job.token);
        bool ok = _act(
            _holder(callerSeed),
            address(marketplace),
            0,
            abi.encodeCall(marketplace.expireJob, (jobId)),
            "expireJob"
        );
        if (!ok) return;
        _check(escrow.balanceOf(job.renter, job.token) == renterBefore + job.price, "expireJob: refund");
        ghostLocked[job.token] -= job.price;
        _move(job, IJobMarketplaceV1.JobStatus.Expired);
        ++succeeded["expireJob"];
    }

    // ================================================================ nodes

    /// @dev An unregistered actor registers with a stake of at least the minimum, serving one to
    /// three of the models.
    function registerNode(uint256 actorSeed, uint256 stake, uint256 modelMask) external atCurrentTime {
        if (registry.paused()) return _skip("registerNode");
        address host = _findActor(actorSeed, false);
        if (host == address(0)) return _skip("registerNode");
        stake = bound(stake, registry.minimumStake(), MAX_STAKE);
        modelMask = bound(modelMask, 1, 7);
        string[] memory models = new string[](_popCount(modelMask));
        uint256 count = 0;
        for (uint256 i = 0; i < 3; ++i) if ((modelMask >> i) & 1 == 1) models[count++] = Models.name(i);

        vm.deal(host, stake);
        bool ok = _act(
            host,
            address(registry),
            stake,
            abi.encodeCall(registry.registerNode, ("peer", models, "eu-west")),
            "registerNode"
        );
        if (!ok) return;
        ghostStakeDeposited += stake;
        ++succeeded["registerNode"];
    }

    function addStake(uint256 actorSeed, uint256 amount) external atCurrentTime {
        if (registry.paused()) return _skip("addStake");
        address host = _findActor(actorSeed, true);
        if (host == address(0)) return _skip("addStake");
        amount = bound(amount, 1, MAX_STAKE);
        vm.deal(host, amount);
        bool ok = _act(host, address(registry), amount, abi.encodeCall(registry.addStake, ()), "addStake");
        if (!ok) return;
        ghostStakeDeposited += amount;
        ++succeeded["addStake"];
    }

    function requestUnstake(uint256 actorSeed) external atCurrentTime {
        if (registry.paused()) return _skip("requestUnstake");
        address host = _findNode(actorSeed, false);
        if (host == address(0)) return _skip("requestUnstake");
        bool ok = _act(host, address(registry), 0, abi.encodeCall(registry.requestUnstake, ()), "requestUnstake");
        if (ok) ++succeeded["requestUnstake"];
    }

    /// @dev A leaving node whose stake still meets the minimum cancels its unstake.
    function cancelUnstake(uint256 actorSeed) external atCurrentTime {
        if (registry.paused()) return _skip("cancelUnstake");
        address host = _findNode(actorSeed, true);
        if (host == address(0) || registry.getNode(host).stake < registry.minimumStake()) {
            return _skip("cancelUnstake");
        }
        bool ok = _act(host, address(registry), 0, abi.encodeCall(registry.cancelUnstake, ()), "cancelUnstake");
        if (ok) ++succeeded["cancelUnstake"];
    }

    /// @dev A leaving node withdraws its stake, warping to the end of its cooldown when needed.
    function withdrawStake(uint256 actorSeed) external atCurrentTime {
        if (registry.paused()) return _skip("withdrawStake");
        address host = _findNode(actorSeed, true);
        if (host == address(0)) return _skip("withdrawStake");
        INodeRegistryV1.Node memory node = registry.getNode(host);
        uint256 availableAt = uint256(node.unstakeRequestedAt) + registry.unstakeCooldown();
        if (currentTime < availableAt) _setTime(availableAt);
        uint256 walletBefore = host.balance;
        bool ok = _act(host, address(registry), 0, abi.encodeCall(registry.withdrawStake, ()), "withdrawStake");
        if (!ok) return;
        _check(host.balance == walletBefore + node.stake, "withdrawStake: payout");
        ghostStakeWithdrawn += node.stake;
        ++succeeded["withdrawStake"];
    }

    /// @dev The slasher takes part or all of a node's stake (allowed while paused).
    function slash(uint256 actorSeed, uint256 amount) external atCurrentTime {
        address host = _findActor(actorSeed, true);
        if (host == address(0)) return _skip("slash");
        uint256 stake = registry.getNode(host).stake;
        if (stake == 0) return _skip("slash");
        amount = bound(amount, 1, stake);
        uint256 treasuryBefore = treasury.balance;
        bool ok = _act(
            admin,
            address(registry),
            0,
            abi.encodeCall(registry.slash, (host, amount, "fuzzed misbehaviour")),
            "slash"
        );
        if (!ok) return;
        _check(treasury.balance == treasuryBefore + amount, "slash: treasury not paid");
        ghostSlashed += amount;
        ++succeeded["slash"];
    }

    // ================================================================ time and admin

    function warp(uint256 secondsAhead) external {
        _setTime(currentTime + bound(secondsAhead, 1, MAX_WARP));
        ++succeeded["warp"];
    }

    /// @dev Unpauses whatever is paused; otherwise pauses one contract one time in three, so
    /// that the stack runs unpaused most of the time.
    function togglePause(uint256 contractSeed, uint256 roll) external atCurrentTime {
        address[3] memory targets = [address(registry), address(escrow), address(marketplace)];
        bool any = false;
        for (uint256 i = 0; i < 3; ++i) {
            if (!GovernedUpgradeable(targets[i]).paused()) continue;
            _act(admin, targets[i], 0, abi.encodeCall(GovernedUpgradeable.unpause, ()), "unpause");
            any = true;
        }
        if (!any && roll % 3 == 0) {
            _act(admin, targets[contractSeed % 3], 0, abi.encodeCall(GovernedUpgradeable.pause, ()), "pause");
        }
        ++succeeded["togglePause"];
    }

    function setFeeBps(uint256 feeBps) external atCurrentTime {
        feeBps = bound(feeBps, 0, escrow.MAX_FEE_BPS());
        bool ok = _act(admin, address(escrow), 0, abi.encodeCall(escrow.setFeeBps, (feeBps)), "setFeeBps");
        if (ok) ++succeeded["setFeeBps"];
    }

    // ================================================================ views for the invariants

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    /// @dev The actors followed by the treasury: everyone who can hold an escrow balance.
    function holders() external view returns (address[] memory all) {
        all = new address[](_actors.length + 1);
        for (uint256 i = 0; i < _actors.length; ++i) all[i] = _actors[i];
        all[_actors.length] = treasury;
    }

    function ghostCountByStatus(IJobMarketplaceV1.JobStatus status) external view returns (uint256) {
        return _ghostCountByStatus[uint8(status)];
    }

    function ghostJobStatus(uint256 jobId) external view returns (IJobMarketplaceV1.JobStatus) {
        return _jobs[jobId - 1].status;
    }

    function ghostJobCount() external view returns (uint256) {
        return _jobs.length;
    }

    // ================================================================ internals

    /// @dev Gives `user` `amount` of `token` and deposits it; false when the deposit reverted.
    function _deposit(address user, address token, uint256 amount) internal returns (bool ok) {
        if (token == ETH) {
            vm.deal(user, amount);
            ok = _act(user, address(escrow), amount, abi.encodeCall(escrow.deposit, (ETH, amount)), "deposit");
        } else {
            usdc.mint(user, amount);
            ok = _act(user, address(usdc), 0, abi.encodeCall(usdc.approve, (address(escrow), amount)), "approve");
            if (!ok) return false;
            ok = _act(user, address(escrow), 0, abi.encodeCall(escrow.deposit, (token, amount)), "deposit");
        }
        if (ok) ghostDeposited[token] += amount;
    }

    function _setTime(uint256 time) internal {
        currentTime = time;
        vm.warp(time);
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev An actor or, one time in five, the treasury.
    function _holder(uint256 seed) internal view returns (address) {
        uint256 index = seed % (_actors.length + 1);
        return index == _actors.length ? treasury : _actors[index];
    }

    /// @dev The first actor or treasury from `seed` on with a free balance in `token`.
    function _holderWithBalance(uint256 seed, address token) internal view returns (address) {
        uint256 n = _actors.length + 1;
        for (uint256 i = 0; i < n; ++i) {
            address holder = _holder((seed % n) + i);
            if (escrow.balanceOf(holder, token) != 0) return holder;
        }
        return address(0);
    }

    /// @dev The first actor from `seed` on that is (or is not) registered; zero when none.
    function _findActor(uint256 seed, bool registered) internal view returns (address) {
        for (uint256 i = 0; i < _actors.length; ++i) {
            address actor = _actors[((seed % _actors.length) + i) % _actors.length];
            if (registry.isRegistered(actor) == registered) return actor;
        }
        return address(0);
    }

    /// @dev The first registered actor from `seed` on whose unstake is (or is not) pending.
    function _findNode(uint256 seed, bool leaving) internal view returns (address) {
        for (uint256 i = 0; i < _actors.length; ++i) {
            address actor = _actors[((seed % _actors.length) + i) % _actors.length];
            if (!registry.isRegistered(actor)) continue;
            if ((registry.getNode(actor).unstakeRequestedAt != 0) == leaving) return actor;
        }
        return address(0);
    }

    /// @dev The first job from `seed` on whose status is in `statusMask` (when `live`, only
    /// jobs within their deadline); zero when none.
    function _findJob(uint256 seed, uint256 statusMask, bool live) internal view returns (uint256) {
        uint256 n = _jobs.length;
        for (uint256 i = 0; i < n; ++i) {
            uint256 index = ((seed % n) + i) % n;
            GhostJob storage job = _jobs[index];
            if (_bit(job.status) & statusMask == 0) continue;
            if (live && currentTime > job.deadline) continue;
            return index + 1;
        }
        return 0;
    }

    function _move(GhostJob storage job, IJobMarketplaceV1.JobStatus next) internal {
        --_ghostCountByStatus[uint8(job.status)];
        ++_ghostCountByStatus[uint8(next)];
        job.status = next;
    }

    function _bit(IJobMarketplaceV1.JobStatus status) internal pure returns (uint256) {
        return uint256(1) << uint8(status);
    }

    function _popCount(uint256 mask) internal pure returns (uint256 count) {
        for (; mask != 0; mask >>= 1) count += mask & 1;
    }
}
